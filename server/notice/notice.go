// Package notice renders a site's privacy notice (the model in
// config/notice, imported here as noticecfg) to safe HTML — a fragment
// shared by the standalone page GET /n/{site} and the widget's notice
// view — and computes the notice versions: per language, the SHA-256 of a
// canonical snapshot of everything the visitor is shown. docs/notice.md
// describes the format for site owners.
package notice

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/consentd/consentd/config/i18n"
	noticecfg "github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/site"
)

//go:embed fragment.tmpl page.tmpl notice.css
var files embed.FS

// Format names the snapshot encoding. A new encoding gets a new name, so
// an old version can always be recomputed from its stored snapshot.
const Format = "consentd-notice/1"

// Snapshot is exactly what a visitor was shown in one language: the
// notice, the banner texts and the policy version. Its canonical JSON
// encoding (Encode) is stored in Redis under its SHA-256, the version.
type Snapshot struct {
	Format        string            `json:"format"`
	Site          string            `json:"site"`
	Name          string            `json:"name"`
	Lang          string            `json:"lang"`
	PolicyVersion string            `json:"policyVersion"`
	UI            map[string]string `json:"ui"`
	HTML          string            `json:"html"`
}

// Encode returns the canonical encoding: JSON with the fields in the
// order above, map keys sorted, no HTML escaping, no trailing newline
// (and no spare capacity: the bytes may be kept).
func (s *Snapshot) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode notice snapshot: %w", err)
	}
	return bytes.Clone(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// Version returns the hex SHA-256 of an encoded snapshot.
func Version(encoded []byte) string {
	sum := sha256.Sum256(encoded)
	return hex.EncodeToString(sum[:])
}

// Document is the notice in one language.
type Document struct {
	Lang     string
	Version  string // Version(Snapshot)
	Snapshot []byte // canonical encoding of the Snapshot
	Fragment string // the notice HTML (also in Snapshot)
	Page     []byte // the standalone HTML page
}

// Set is a site's notice in every language of the site.
type Set struct {
	Site string
	Docs map[string]*Document // by language
	// JSON is the structured notice for integrations (GET /n/{site}.json).
	JSON []byte
	// Fallback are the pages for a language the site does not have: the
	// default language's page with a note saying so, keyed by the
	// language asked for (a built-in one the site lacks), "" for any other.
	Fallback map[string][]byte
}

// Versions returns language → notice version.
func (s *Set) Versions() map[string]string {
	m := make(map[string]string, len(s.Docs))
	for l, d := range s.Docs {
		m[l] = d.Version
	}
	return m
}

// UIStrings returns the widget's banner texts in a language (the widget
// package's Strings); they are part of what a version stands for.
type UIStrings func(lang string) (map[string]string, error)

// Check fails, with errors naming the file and field, when the site's
// strings section has unknown keys or a language without built-in texts
// lacks some: what Build would refuse, without rendering anything.
func Check(site *site.Site, ui UIStrings) error {
	base, err := ui("en")
	if err != nil {
		return fmt.Errorf("site %s: %w", site.ID, err)
	}
	widgetKeys := make(map[string]bool, len(base))
	for k := range base {
		widgetKeys[k] = true
	}
	return checkStrings(site, widgetKeys)
}

// Build renders site's notice in each of its languages: the snapshots
// and versions (as Snapshots), the pages, the fallback pages and the
// structured JSON. It fails as Check does.
func Build(site *site.Site, ui UIStrings) (*Set, error) {
	set, err := Snapshots(site, ui)
	if err != nil {
		return nil, err
	}
	for _, lang := range site.Languages {
		d := set.Docs[lang]
		if d.Page, err = renderPage(site, lang, d.Fragment, d.Version, "", ""); err != nil {
			return nil, fmt.Errorf("site %s: %w", site.ID, err)
		}
	}
	def := set.Docs[site.DefaultLanguage]
	set.Fallback = map[string][]byte{}
	for _, asked := range FallbackKeys(site) {
		if set.Fallback[asked], err = fallbackPage(site, def.Fragment, def.Version, asked); err != nil {
			return nil, err
		}
	}
	if set.JSON, err = JSON(site, set.Versions()); err != nil {
		return nil, err
	}
	return set, nil
}

// Snapshots renders site's notice snapshot in each of its languages: a
// Set whose documents have their version, snapshot and fragment but no
// page, and no JSON or fallback pages. That is what loading a site needs
// (the versions go into the widget, the snapshots to the store); Page,
// FallbackPage and JSON render the rest, byte for byte as Build does,
// when it is asked for. It fails as Check does.
func Snapshots(site *site.Site, ui UIStrings) (*Set, error) {
	if err := Check(site, ui); err != nil {
		return nil, err
	}
	set := &Set{Site: site.ID, Docs: make(map[string]*Document, len(site.Languages))}
	for _, lang := range site.Languages {
		d, err := Doc(site, ui, lang)
		if err != nil {
			return nil, err
		}
		set.Docs[lang] = d
	}
	return set, nil
}

// Doc renders site's notice in lang: fragment, snapshot and version (no
// page).
func Doc(site *site.Site, ui UIStrings, lang string) (*Document, error) {
	frag, err := renderFragment(site, lang)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", site.ID, err)
	}
	strs, err := UIFor(site, lang, ui)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", site.ID, err)
	}
	snap := Snapshot{Format: Format, Site: site.ID, Name: site.Name, Lang: lang,
		PolicyVersion: site.PolicyVersion, UI: strs, HTML: frag}
	enc, err := snap.Encode()
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", site.ID, err)
	}
	return &Document{Lang: lang, Version: Version(enc), Snapshot: enc, Fragment: frag}, nil
}

// Page renders the standalone page in lang, one of the site's languages
// (Build's Docs[lang].Page). versions are the site's notice versions by
// language (Set.Versions).
func Page(site *site.Site, versions map[string]string, lang string) ([]byte, error) {
	v, ok := versions[lang]
	if !ok {
		return nil, fmt.Errorf("site %s: no notice version in %q", site.ID, lang)
	}
	frag, err := renderFragment(site, lang)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", site.ID, err)
	}
	page, err := renderPage(site, lang, frag, v, "", "")
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", site.ID, err)
	}
	return page, nil
}

// FallbackKeys are the keys of a site's fallback pages: "" (any language
// that is not built in) and each built-in language the site lacks.
func FallbackKeys(site *site.Site) []string {
	keys := []string{""}
	for _, l := range i18n.BuiltinLanguages {
		if !site.HasLanguage(l) {
			keys = append(keys, l)
		}
	}
	return keys
}

// FallbackKey is the key of the fallback page that answers a request for
// asked, a language the site lacks: asked when it is built in, else "".
// Every other language shares the "" page.
func FallbackKey(site *site.Site, asked string) string {
	if site.HasLanguage(asked) || !slices.Contains(i18n.BuiltinLanguages, asked) {
		return ""
	}
	return asked
}

// FallbackPage renders the page for a request in a language the site
// lacks (Build's Fallback[FallbackKey(site, asked)]): the default
// language's page with a note saying so.
func FallbackPage(site *site.Site, versions map[string]string, asked string) ([]byte, error) {
	v, ok := versions[site.DefaultLanguage]
	if !ok {
		return nil, fmt.Errorf("site %s: no notice version in %q", site.ID, site.DefaultLanguage)
	}
	frag, err := renderFragment(site, site.DefaultLanguage)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", site.ID, err)
	}
	return fallbackPage(site, frag, v, FallbackKey(site, asked))
}

// fallbackPage renders the fallback page of key (a FallbackKey) from the
// default language's fragment and version.
func fallbackPage(site *site.Site, frag, version, key string) ([]byte, error) {
	note, noteLang := missingLanguageNote(site, site.DefaultLanguage, key)
	page, err := renderPage(site, site.DefaultLanguage, frag, version, note, noteLang)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", site.ID, err)
	}
	return page, nil
}

// JSON renders the structured notice (Build's Set.JSON; GET
// /n/{site}.json) with the site's notice versions by language.
func JSON(site *site.Site, versions map[string]string) ([]byte, error) {
	js, err := structured(site, versions)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", site.ID, err)
	}
	return js, nil
}

// UIFor returns the widget's texts in lang as the visitor sees them: the
// built-in ones overridden by the site's strings.<lang>."widget.<key>".
func UIFor(site *site.Site, lang string, ui UIStrings) (map[string]string, error) {
	base, err := ui(lang)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range site.Strings[lang] {
		if key, ok := strings.CutPrefix(k, "widget."); ok {
			out[key] = v
		}
	}
	return out, nil
}

// pageCSS is the standalone page's style sheet, inlined and allowed by
// its hash in the page's Content-Security-Policy.
var pageCSS = mustRead("notice.css")

// PageCSP is the Content-Security-Policy of the standalone page: nothing
// but its own inline style sheet.
var PageCSP = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + b64(sum[:]) + "'; img-src 'self'; base-uri 'none'; form-action 'none'"
}()

var pageTmpl = template.Must(template.New("page").ParseFS(files, "page.tmpl"))

type pageView struct {
	Lang, Title, SiteName string
	Note, NoteLang        string // a language the site does not have was asked for
	L                     map[string]string
	CSS                   template.CSS
	Langs                 []pageLang
	Fragment              template.HTML
	Version, VersionPath  string
}

type pageLang struct {
	Lang, Name string
	Current    bool
}

// renderPage renders the standalone page in lang around the notice
// fragment of that language and its version, with a note (in noteLang)
// above the title when one is given. The bytes are exactly as long as
// the page (no spare capacity): they are kept.
func renderPage(site *site.Site, lang, fragment, version, note, noteLang string) ([]byte, error) {
	v := pageView{Lang: lang, L: labelsFor(site, lang), SiteName: site.Name, CSS: template.CSS(pageCSS), // #nosec G203 -- our own embedded file
		Fragment: template.HTML(fragment), // #nosec G203 -- rendered by html/template
		Version:  version, VersionPath: "/n/" + site.ID + "/v/" + version, Note: note, NoteLang: noteLang}
	v.Title = noticeTitle(site, v.L, lang)
	if len(site.Languages) > 1 {
		for _, l := range site.Languages {
			v.Langs = append(v.Langs, pageLang{Lang: l, Name: labelsFor(site, l)["langName"], Current: l == lang})
		}
	}
	var b bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&b, "page.tmpl", v); err != nil {
		return nil, fmt.Errorf("render notice page: %w", err)
	}
	return bytes.Clone(b.Bytes()), nil
}

// structuredNotice is GET /n/{site}.json: the notice with the built-in
// defaults filled in (every right, the complaint authority), the cookies
// from the categories, and the current version per language.
type structuredNotice struct {
	Format          string                `json:"format"`
	Site            string                `json:"site"`
	Name            string                `json:"name"`
	Languages       []string              `json:"languages"`
	DefaultLanguage string                `json:"defaultLanguage"`
	PolicyVersion   string                `json:"policyVersion"`
	Versions        map[string]string     `json:"versions"`
	Notice          noticecfg.Notice      `json:"notice"`
	Cookies         []site.PublicCategory `json:"cookies"`
	// Catalogue names the service catalogue entries the site uses and
	// their version; left out when it uses none.
	Catalogue *site.CatalogueUse `json:"catalogue,omitempty"`
}

func structured(site *site.Site, versions map[string]string) ([]byte, error) {
	n := site.Notice
	n.Rights = make(map[string]noticecfg.Right, len(noticecfg.Rights))
	for _, id := range noticecfg.RightKeys {
		if _, named := site.Notice.Rights[id]; id == noticecfg.RightDirectMarketing && !named {
			continue
		}
		text, applies := site.Notice.RightText(id)
		a := applies
		n.Rights[id] = noticecfg.Right{Applies: &a, Text: text}
	}
	if a, ok := site.ComplaintAuthority(); ok {
		n.ComplaintAuthority = &a
	}
	n.Country = site.NoticeCountry()
	pub, err := site.Public()
	if err != nil {
		return nil, err
	}
	out := structuredNotice{Format: "consentd-notice-data/1", Site: site.ID, Name: site.Name, Languages: site.Languages,
		DefaultLanguage: site.DefaultLanguage, PolicyVersion: site.PolicyVersion, Versions: versions,
		Notice: n, Cookies: pub.Categories}
	if site.Catalogue.Version != "" {
		c := site.Catalogue
		out.Catalogue = &c
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode structured notice: %w", err)
	}
	return bytes.Clone(b), nil // MarshalIndent leaves up to twice the length in capacity
}

func mustRead(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time; cannot fail
	}
	return string(b)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// languageIn names a language as a sentence of another needs it, for the
// note of a page shown in another language than asked for: note language
// → language → name ("englanniksi", "på engelska", "in English").
var languageIn = map[string]map[string]string{
	"fi": {"fi": "suomeksi", "sv": "ruotsiksi", "en": "englanniksi"},
	"sv": {"fi": "finska", "sv": "svenska", "en": "engelska"},
	"en": {"fi": "Finnish", "sv": "Swedish", "en": "English"},
}

// missingLanguageNote is the note of a page in lang shown when asked (a
// built-in language the site does not have, or "" for any other) was
// asked for, and the language of the note: asked's own when built in,
// else the page's.
func missingLanguageNote(site *site.Site, lang, asked string) (note, noteLang string) {
	noteLang = asked
	if asked == "" {
		noteLang = lang
	}
	L := labelsFor(site, noteLang)
	name := func(l string) string {
		if n := languageIn[noteLang][l]; n != "" {
			return n
		}
		return labelsFor(site, l)["langName"]
	}
	tmpl := L["langMissing"]
	if asked == "" {
		tmpl = L["langMissingOther"]
	}
	return strings.NewReplacer("{requested}", name(asked), "{shown}", name(lang)).Replace(tmpl), noteLang
}
