// Package widget builds the consent widget: the TypeScript sources under src
// are embedded in the binary and bundled with esbuild, once per site, into one
// minified script with the site's public configuration inlined.
package widget

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/evanw/esbuild/pkg/api"

	"github.com/consentd/consentd/config/i18n"
)

//go:embed src
var sources embed.FS

const (
	// root is the directory of the sources inside the embedded FS; no import
	// may leave it.
	root = "src"
	// entry is the entry point, relative to the embedded FS.
	entry = root + "/main.ts"
	// siteModule is the import path of the virtual module with the site JSON.
	siteModule = "consentd:site"
	// i18nModule is the import path of the virtual module with the built-in
	// UI strings of the site's languages (src/i18n/<lang>.json), keyed by
	// language; English too when a site language has none built in.
	i18nModule = "consentd:i18n"

	nsSource = "consentd"      // esbuild namespace of the embedded files
	nsSite   = "consentd-site" // esbuild namespace of the virtual modules
)

// Build bundles the widget for one site. siteJSON is the public site config
// (a JSON object with id, languages, categories and so on); it is inlined
// through a virtual module "consentd:site" (JSON loader) so esbuild minifies
// it with the code. Of the built-in UI strings only the site's languages are
// bundled (virtual module "consentd:i18n"): a one-language site carries one
// language. The result is one minified IIFE script in UTF-8.
//
// Build reads only the embedded sources and is safe for concurrent use.
func Build(siteJSON []byte) ([]byte, error) {
	js, _, err := bundle(sources, siteJSON)
	if err != nil {
		return nil, err
	}
	return append([]byte(CompileHint), js...), nil
}

// CompileHint is the first line of every site's bundle: V8's explicit
// compile hint (Chrome 136 and later; other engines read a comment). It
// has Chrome compile all of the bundle's functions on the thread that
// streams the script in, instead of each on the page's main thread when
// it is first called, which took about 2 ms of the time to the banner
// (docs/performance.md, "Widget: time to the banner"). All of the
// bundle's functions run at load or when the banner is used; the settings,
// the notice view and the later script (Core) are scripts of their own.
// Anything put in front of a bundle goes after this line.
const CompileHint = "//# allFunctionsCalledOnLoad\n"

// bundle is Build from the sources in fsys (the embedded ones, or test
// files) that also returns esbuild's warnings.
func bundle(fsys fs.FS, siteJSON []byte) ([]byte, []api.Message, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(siteJSON, &obj); err != nil {
		return nil, nil, fmt.Errorf("widget: site JSON: %w", err)
	}
	if obj == nil {
		return nil, nil, errors.New("widget: site JSON: not an object")
	}
	var langs []string
	_ = json.Unmarshal(obj["languages"], &langs) // absent or not a list: English only
	flags := siteFlags(obj)
	i18n, err := builtinStrings(fsys, langs, func(key string) bool {
		f, ok := featureStrings[key]
		return !viewString(key) && (!ok || flags[f])
	})
	if err != nil {
		return nil, nil, fmt.Errorf("widget: %w", err)
	}
	theme, err := themeCSS(obj["banner"])
	if err != nil {
		return nil, nil, fmt.Errorf("widget: site JSON: banner: %w", err)
	}
	layout, err := layoutCSS(fsys, obj["banner"])
	if err != nil {
		return nil, nil, fmt.Errorf("widget: site JSON: banner: %w", err)
	}
	siteJSON, err = pruneSite(obj)
	if err != nil {
		return nil, nil, fmt.Errorf("widget: site JSON: %w", err)
	}
	core, err := CoreFile()
	if err != nil {
		return nil, nil, err
	}
	define := defines(flags)
	define["CD_CORE"] = strconv.Quote(core)
	return build(entry, embedPlugin(fsys, string(siteJSON), i18n, layout+theme), define)
}

// Features are the widget's optional parts, each a constant for esbuild
// (Define) that is true only for a site that uses it, so the code of the
// others is dropped from its bundle (declared in src/site.d.ts).
var features = []string{"CD_GCM", "CD_UET", "CD_CLARITY", "CD_CLOSE", "CD_DOMAIN", "CD_GPC_REJECT", "CD_SERVER_COOKIE", "CD_INFO"}

// viewString reports whether key is one of the UI texts only the settings and the notice view use:
// their scripts carry them for every built-in language (i18n.ts
// complete), so the page's bundle leaves them out.
func viewString(key string) bool {
	return slices.Contains(prefsStrings, key) || slices.Contains(noticeStrings, key)
}

// The texts of each view.
var (
	prefsStrings  = []string{"alwaysOn", "close", "consentId", "copied", "copy", "language", "save", "session"}
	noticeStrings = []string{"close", "loading", "noticeError", "noticePage"}
)

// viewI18n is the consentd:i18n module of a view script: the texts keys
// in every built-in language.
func viewI18n(keys []string) (string, error) {
	return builtinStrings(sources, i18n.BuiltinLanguages, func(key string) bool { return slices.Contains(keys, key) })
}

// featureStrings are the UI texts only a feature uses: a bundle without
// the feature leaves them out.
var featureStrings = map[string]string{"closeReject": "CD_CLOSE", "infoText": "CD_INFO", "ok": "CD_INFO"}

// siteFlags says which features the site (public JSON) uses.
func siteFlags(obj map[string]json.RawMessage) map[string]bool {
	var s struct {
		ConsentMode *json.RawMessage `json:"consentMode"`
		Signals     struct {
			UET     []string            `json:"uet"`
			Clarity map[string][]string `json:"clarity"`
		} `json:"signals"`
		Banner struct {
			CloseRejects bool `json:"closeRejects"`
		} `json:"banner"`
		CookieDomain string `json:"cookieDomain"`
		GPCInOptIn   string `json:"gpcInOptIn"`
		ServerCookie bool   `json:"serverCookie"`
		Categories   []struct {
			Required bool `json:"required"`
		} `json:"categories"`
	}
	b, _ := json.Marshal(obj)
	_ = json.Unmarshal(b, &s) // a field of another type: the feature is off
	// Only required categories: nothing to choose, an information banner.
	info := true
	for _, c := range s.Categories {
		info = info && c.Required
	}
	return map[string]bool{
		"CD_GCM": s.ConsentMode != nil, "CD_UET": len(s.Signals.UET) > 0, "CD_CLARITY": len(s.Signals.Clarity) > 0,
		"CD_CLOSE": s.Banner.CloseRejects, "CD_DOMAIN": s.CookieDomain != "", "CD_GPC_REJECT": s.GPCInOptIn == "reject",
		"CD_SERVER_COOKIE": s.ServerCookie, "CD_INFO": info,
	}
}

// defines are esbuild's Define of a build: each feature constant, true
// when flags has it.
func defines(flags map[string]bool) map[string]string {
	define := make(map[string]string, len(features)+1)
	for _, f := range features {
		define[f] = strconv.FormatBool(flags[f])
	}
	return define
}

// build bundles the entry point (a path in the embedded FS) with plugin
// into one minified IIFE script in UTF-8, with the constants of define.
func build(entryPoint string, plugin api.Plugin, define map[string]string) ([]byte, []api.Message, error) {
	result := api.Build(api.BuildOptions{
		Define:            define,
		EntryPoints:       []string{entryPoint},
		Bundle:            true,
		Write:             false,
		Format:            api.FormatIIFE,
		Platform:          api.PlatformBrowser,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Target:            api.ES2020,
		Charset:           api.CharsetUTF8,
		LegalComments:     api.LegalCommentsNone,
		LogLevel:          api.LogLevelSilent,
		Plugins:           []api.Plugin{plugin},
	})
	if len(result.Errors) > 0 {
		return nil, result.Warnings, fmt.Errorf("widget: esbuild: %w", messagesError(result.Errors))
	}
	if len(result.OutputFiles) != 1 {
		return nil, result.Warnings, fmt.Errorf("widget: esbuild wrote %d files, want 1", len(result.OutputFiles))
	}
	return result.OutputFiles[0].Contents, result.Warnings, nil
}

// NoticeView builds the notice view (src/noticeview.ts): the privacy
// notice in a modal dialog, with its styles (src/notice.css). It is the
// same for every site; the server serves it at /w/_notice.js and the
// widget loads it when the visitor first opens the notice, so the bundle
// of every page view does not carry it. It sets
// window.__consentdNotice (see noticeview.ts).
func NoticeView() ([]byte, error) {
	texts, err := viewI18n(noticeStrings)
	if err != nil {
		return nil, fmt.Errorf("widget: %w", err)
	}
	js, _, err := build(root+"/noticeview.ts", embedPlugin(sources, "{}", texts, ""), defines(nil))
	return js, err
}

// PrefsView builds the settings (src/prefsview.ts): the modal dialog with
// a switch per category, with its styles (src/prefs.css, src/dialog.css).
// It is the same for every site (the widget hands it the site's
// configuration); the server serves it at /w/_prefs.js and the widget
// loads it when the visitor first touches the banner or opens the
// settings, so the bundle of every page view does not carry it. It sets
// window.__consentdPrefs (see prefsview.ts).
func PrefsView() ([]byte, error) {
	texts, err := viewI18n(prefsStrings)
	if err != nil {
		return nil, fmt.Errorf("widget: %w", err)
	}
	js, _, err := build(root+"/prefsview.ts", embedPlugin(sources, "{}", texts, ""), defines(nil))
	return js, err
}

// Core builds the widget's later script (src/coreview.ts): the blocking
// of marked scripts and iframes, the sending of decisions and the corner
// link with its styles (src/corner.css). It is the same for every site
// (the page's bundle hands it the site's configuration, state and texts,
// the placeholders' included); the server serves it at /w/_core.HASH.js (CoreFile), and the
// page's bundle loads it after its first task, so that the banner does not
// wait for this code. It sets window.__consentdCore (see core.ts).
func Core() ([]byte, error) {
	js, _, err := build(root+"/coreview.ts", embedPlugin(sources, "{}", "{}", ""), defines(nil))
	return js, err
}

// CoreFile is the file name under /w/ by which every bundle loads the
// later script: "_core.HASH.js", HASH the first 16 hex digits of the
// SHA-256 of Core's output (server/asset's Hash of it). The server
// serves that name cached for a year. Core is built once per process
// for it: its output depends only on the embedded sources.
func CoreFile() (string, error) {
	return coreFile()
}

var coreFile = sync.OnceValues(func() (string, error) {
	js, err := Core()
	if err != nil {
		return "", fmt.Errorf("widget: later script: %w", err)
	}
	sum := sha256.Sum256(js)
	return "_core." + hex.EncodeToString(sum[:8]) + ".js", nil
})

// pruneSite returns the site JSON without the fields of the public site
// config (site.PublicSite) that the widget does not use, so the bundle
// is smaller: the site's name and policy version, the services' URLs and
// the cookies' descriptions (the notice shows them), and the banner's
// theme (it is in the style sheet, themeCSS).
func pruneSite(site map[string]json.RawMessage) ([]byte, error) {
	delete(site, "name")
	delete(site, "policyVersion")
	delete(site, "gpcInOptIn") // feature flags (siteFlags)
	delete(site, "serverCookie")
	if raw, ok := site["banner"]; ok {
		var b map[string]json.RawMessage
		if err := json.Unmarshal(raw, &b); err == nil && b != nil {
			delete(b, "theme")
			delete(b, "dark")
			delete(b, "closeRejects") // a feature flag (siteFlags)
			if site["banner"], err = marshal(b); err != nil {
				return nil, err
			}
		}
	}
	err := eachIn(site, "categories", func(c map[string]json.RawMessage) error {
		return eachIn(c, "services", func(s map[string]json.RawMessage) error {
			delete(s, "url")
			return eachIn(s, "cookies", func(k map[string]json.RawMessage) error {
				delete(k, "description")
				return nil
			})
		})
	})
	if err != nil {
		return nil, err
	}
	return marshal(site)
}

// eachIn calls f on each object of the list obj[key], when there is one,
// and keeps the changed list.
func eachIn(obj map[string]json.RawMessage, key string, f func(map[string]json.RawMessage) error) error {
	raw, ok := obj[key]
	if !ok {
		return nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	for _, o := range list {
		if o == nil {
			continue
		}
		if err := f(o); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	b, err := marshal(list)
	obj[key] = b
	return err
}

// marshal is json.Marshal without HTML escaping (esbuild escapes "</script").
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
}

// builtinStrings is the JSON object of the virtual module "consentd:i18n":
// language → the contents of src/i18n/<lang>.json, for each of langs that
// has such a file, in the order given, and "en" as well when one of langs
// has none (the widget falls back to English, see i18n.ts).
func builtinStrings(fsys fs.FS, langs []string, keep func(key string) bool) (string, error) {
	var b strings.Builder
	seen := map[string]bool{}
	add := func(lang string) (bool, error) {
		if seen[lang] {
			return true, nil
		}
		data, err := fs.ReadFile(fsys, root+"/i18n/"+lang+".json")
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		var texts map[string]json.RawMessage
		if err := json.Unmarshal(data, &texts); err != nil {
			return false, fmt.Errorf("%s/i18n/%s.json: not a JSON object: %w", root, lang, err)
		}
		for key := range texts {
			if !keep(key) {
				delete(texts, key)
			}
		}
		if data, err = json.Marshal(texts); err != nil {
			return false, err
		}
		seen[lang] = true
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		q, _ := json.Marshal(lang)
		b.Write(q)
		b.WriteByte(':')
		b.Write(data)
		return true, nil
	}
	fallback := len(langs) == 0
	for _, l := range langs {
		found, err := add(l)
		if err != nil {
			return "", err
		}
		fallback = fallback || !found
	}
	if fallback {
		if _, err := add("en"); err != nil {
			return "", err
		}
	}
	return "{" + b.String() + "}", nil
}

// embedPlugin serves every module from fsys (the embedded sources), the
// site config as the virtual module "consentd:site" and the built-in
// strings of its languages as "consentd:i18n"; extra (the site's layout
// and theme) is appended to style.css. Nothing is read from disk.
func embedPlugin(fsys fs.FS, siteJSON, i18n, extra string) api.Plugin {
	return api.Plugin{
		Name: "consentd-embed",
		Setup: func(b api.PluginBuild) {
			b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
				if args.Path == siteModule || args.Path == i18nModule {
					return api.OnResolveResult{Path: args.Path, Namespace: nsSite}, nil
				}
				p, err := resolve(fsys, args)
				if err != nil {
					return api.OnResolveResult{}, err
				}
				return api.OnResolveResult{Path: p, Namespace: nsSource}, nil
			})
			b.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: nsSite}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
				if args.Path == i18nModule {
					return api.OnLoadResult{Contents: &i18n, Loader: api.LoaderJSON}, nil
				}
				return api.OnLoadResult{Contents: &siteJSON, Loader: api.LoaderJSON}, nil
			})
			b.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: nsSource}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
				return load(fsys, args, extra)
			})
		},
	}
}

// resolve maps an import (or the entry point) to a file path in fsys. Entry points are relative to the FS root, imports to the importer's
// directory; a path without extension gets ".ts". Paths outside src and bare
// package imports are refused: the widget has no dependencies.
func resolve(fsys fs.FS, args api.OnResolveArgs) (string, error) {
	var p string
	switch {
	case args.Kind == api.ResolveEntryPoint:
		p = path.Clean(args.Path)
	case args.Namespace != nsSource:
		return "", fmt.Errorf("import %q from outside the embedded sources", args.Path)
	case strings.HasPrefix(args.Path, "./") || strings.HasPrefix(args.Path, "../"):
		p = path.Join(path.Dir(args.Importer), args.Path)
	default:
		return "", fmt.Errorf("import %q: only relative imports, %q and %q are allowed", args.Path, siteModule, i18nModule)
	}
	if !strings.HasPrefix(p, root+"/") || !fs.ValidPath(p) {
		return "", fmt.Errorf("import %q resolves to %q, outside %s/", args.Path, p, root)
	}
	for _, candidate := range []string{p, p + ".ts"} {
		if info, err := fs.Stat(fsys, candidate); err == nil && !info.IsDir() {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("import %q: no file %s or %s.ts", args.Path, p, p)
}

// load reads one embedded file. TypeScript and JSON are handed to esbuild as
// they are; CSS is minified first and then imported as a string, with
// extra appended to style.css.
func load(fsys fs.FS, args api.OnLoadArgs, extra string) (api.OnLoadResult, error) {
	data, err := fs.ReadFile(fsys, args.Path)
	if err != nil {
		return api.OnLoadResult{}, fmt.Errorf("read %s: %w", args.Path, err)
	}
	contents := string(data)

	if args.Path == root+"/style.css" {
		contents += "\n" + extra
	}
	switch path.Ext(args.Path) {
	case ".ts":
		return api.OnLoadResult{Contents: &contents, Loader: api.LoaderTS}, nil
	case ".json":
		return api.OnLoadResult{Contents: &contents, Loader: api.LoaderJSON}, nil
	case ".css":
		css := minifyCSS(args.Path, contents)
		if len(css.Errors) > 0 {
			return api.OnLoadResult{Errors: css.Errors, Warnings: css.Warnings}, nil
		}
		minified := strings.TrimSpace(string(css.Code))
		return api.OnLoadResult{Contents: &minified, Loader: api.LoaderText, Warnings: css.Warnings}, nil
	default:
		return api.OnLoadResult{}, fmt.Errorf("%s: unsupported file type", args.Path)
	}
}

// messagesError joins esbuild messages into one error, each as
// "file:line:column: text" when esbuild knows the location.
func messagesError(msgs []api.Message) error {
	errs := make([]error, 0, len(msgs))
	for _, m := range msgs {
		text := m.Text
		if m.PluginName != "" {
			text = "[" + m.PluginName + "] " + text
		}
		if l := m.Location; l != nil {
			text = fmt.Sprintf("%s:%d:%d: %s", l.File, l.Line, l.Column+1, text)
		}
		errs = append(errs, errors.New(text))
	}
	return errors.Join(errs...)
}

// Strings returns the widget's built-in UI texts in lang (the banner's
// title, text and button labels), English when the widget has no
// translation for lang — the same fallback as the widget itself. They are
// part of what a notice version stands for.
func Strings(lang string) (map[string]string, error) {
	b, err := sources.ReadFile("src/i18n/" + lang + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		b, err = sources.ReadFile("src/i18n/en.json")
	}
	if err != nil {
		return nil, fmt.Errorf("widget strings %s: %w", lang, err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("widget strings %s: %w", lang, err)
	}
	return m, nil
}
