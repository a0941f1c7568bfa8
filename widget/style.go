package widget

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// The site's part of the widget's style sheet: its banner layout and its
// theme, appended to style.css when its bundle is built (bundle, load).

// themeVars maps the site's theme keys (site.ThemeKeys) to the custom
// properties of style.css.
var themeVars = map[string]string{
	"accent":     "--cd-accent",
	"accentText": "--cd-accent-fg",
	"background": "--cd-bg",
	"text":       "--cd-fg",
	"border":     "--cd-border",
	"radius":     "--cd-radius",
	"font":       "--cd-font",
}

// themeValue is what a theme value may contain: the config checks each
// key's form (site.ThemeKeys); this is the last line of defence against
// CSS injection, as the value is written into the style sheet.
var themeValue = regexp.MustCompile(`^[A-Za-z0-9 #.,'"-]{1,200}$`)

// layouts are the style sheets of each banner layout (banner.layout; the
// config checks the value), appended to style.css in this order, then
// phone.css, which overrides them on small screens. A bundle carries only
// its site's layout: less to download and to parse before the banner.
var layouts = map[string][]string{
	"bar":   {"layout-bar.css"},
	"cloud": {"layout-bar.css", "layout-cloud.css"},
	"box":   {"layout-box.css"},
}

// layoutCSS is the CSS of the site's banner layout (the public JSON's
// banner.layout, bar when absent) and phone.css, to append to style.css.
func layoutCSS(fsys fs.FS, raw json.RawMessage) (string, error) {
	var b struct {
		Layout string `json:"layout"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", err
		}
	}
	if b.Layout == "" {
		b.Layout = "bar"
	}
	files, ok := layouts[b.Layout]
	if !ok {
		return "", fmt.Errorf("layout: %q is not a layout: expected one of %s", b.Layout, strings.Join(slices.Sorted(maps.Keys(layouts)), ", "))
	}
	var css strings.Builder
	for _, f := range append(files, "phone.css") {
		data, err := fs.ReadFile(fsys, root+"/"+f)
		if err != nil {
			return "", fmt.Errorf("layout %s: %w", b.Layout, err)
		}
		css.Write(data)
		css.WriteByte('\n')
	}
	return css.String(), nil
}

// themeCSS is the site's theme (the public JSON's banner.theme and
// banner.dark) as CSS appended to style.css: the light colours only when
// the visitor's scheme is not dark, the dark ones only when it is; radius
// and font of the light theme apply to both unless dark sets them. An
// absent banner or theme gives "".
func themeCSS(raw json.RawMessage) (string, error) {
	var b struct {
		Theme map[string]string `json:"theme"`
		Dark  map[string]string `json:"dark"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", err
		}
	}
	decls := func(field string, theme map[string]string, keep func(k string) bool) (string, error) {
		var out strings.Builder
		for _, k := range slices.Sorted(maps.Keys(theme)) {
			if !keep(k) {
				continue
			}
			name, v := themeVars[k], theme[k]
			if name == "" {
				return "", fmt.Errorf("%s.%s: unknown theme setting", field, k)
			}
			if !themeValue.MatchString(v) {
				return "", fmt.Errorf("%s.%s: %q is not a valid value", field, k, v)
			}
			fmt.Fprintf(&out, "%s:%s;", name, v)
		}
		return out.String(), nil
	}
	shape := func(k string) bool { return k == "radius" || k == "font" }
	var css strings.Builder
	for _, part := range []struct {
		field, media string
		theme        map[string]string
		keep         func(string) bool
	}{
		{"theme", "", b.Theme, shape},
		{"theme", "not all and (prefers-color-scheme:dark)", b.Theme, func(k string) bool { return !shape(k) }},
		{"dark", "(prefers-color-scheme:dark)", b.Dark, func(string) bool { return true }},
	} {
		d, err := decls(part.field, part.theme, part.keep)
		if err != nil || d == "" {
			if err != nil {
				return "", err
			}
			continue
		}
		if part.media != "" {
			fmt.Fprintf(&css, "@media %s{:host{%s}}", part.media, d)
		} else {
			fmt.Fprintf(&css, ":host{%s}", d)
		}
	}
	return css.String(), nil
}

// minifyCSS minifies the style sheet contents (named file in messages).
func minifyCSS(file, contents string) api.TransformResult {
	return api.Transform(contents, api.TransformOptions{
		Loader:            api.LoaderCSS,
		Sourcefile:        file,
		MinifyWhitespace:  true,
		MinifySyntax:      true,
		MinifyIdentifiers: true,
		Charset:           api.CharsetUTF8,
		LegalComments:     api.LegalCommentsNone,
		LogLevel:          api.LogLevelSilent,
	})
}
