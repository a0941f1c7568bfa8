package site

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Banner layouts and positions.
const (
	LayoutBar   = "bar"
	LayoutBox   = "box"
	LayoutCloud = "cloud"
)

// positions are the positions each layout allows; the first is the default.
var positions = map[string][]string{
	LayoutBar:   {"bottom", "top"},
	LayoutBox:   {"bottom-right", "bottom-left", "center"},
	LayoutCloud: {"bottom", "top"},
}

// ThemeKeys are the theme settings a site may give, and what each value
// must look like. They become the widget's --cd-* custom properties.
var ThemeKeys = map[string]*regexp.Regexp{
	"accent":     colorPattern, // buttons, links, focus ring
	"accentText": colorPattern, // text on the accent colour
	"background": colorPattern,
	"text":       colorPattern,
	"border":     colorPattern,
	"radius":     regexp.MustCompile(`^(0|[0-9]{1,2}(\.[0-9]+)?(px|em|rem))$`),
	"font":       regexp.MustCompile(`^[A-Za-z0-9 ,'"-]{1,200}$`),
}

var colorPattern = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// Consent Mode v2 signals.
var gcmSignals = []string{"ad_storage", "analytics_storage", "ad_user_data", "ad_personalization",
	"functionality_storage", "personalization_storage", "security_storage"}

// DefaultWaitForUpdate is Consent Mode's wait_for_update (ms) by default.
const DefaultWaitForUpdate = 500

// defaultTheme is the widget's own light and dark theme (widget/src/style.css),
// used to check the contrast of a partial site theme.
var defaultTheme = map[string]map[string]string{
	"light": {"accent": "#0b57d0", "accentText": "#ffffff", "background": "#ffffff", "text": "#1a1a1a"},
	"dark":  {"accent": "#8ab4f8", "accentText": "#111111", "background": "#1e1e1e", "text": "#f2f2f2"},
}

func (b *Banner) applyDefaults() {
	if b.Layout == "" {
		b.Layout = LayoutBar
	}
	if b.Position == "" && positions[b.Layout] != nil {
		b.Position = positions[b.Layout][0]
	}
}

func (v *validator) banner(b Banner) {
	allowed, ok := positions[b.Layout]
	if !ok {
		v.Add("banner.layout", "%q is not a layout: expected bar, box or cloud", b.Layout)
	} else if !slices.Contains(allowed, b.Position) {
		v.Add("banner.position", "%q is not a position of the %s layout: expected one of %s", b.Position, b.Layout, strings.Join(allowed, ", "))
	}
	for _, scheme := range []struct {
		name  string
		theme map[string]string
	}{{"theme", b.Theme}, {"dark", b.Dark}} {
		keys := make([]string, 0, len(scheme.theme))
		for k := range scheme.theme {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		valid := true
		for _, k := range keys {
			p := "banner." + scheme.name + "." + k
			re, known := ThemeKeys[k]
			switch {
			case !known:
				v.Add(p, "unknown theme setting: expected one of %s", strings.Join(themeKeyNames(), ", "))
				valid = false
			case !re.MatchString(scheme.theme[k]):
				v.Add(p, "%q is not a valid value: %s", scheme.theme[k], themeHint(k))
				valid = false
			}
		}
		if valid {
			v.contrast("banner."+scheme.name, scheme.theme, defaultTheme[map[string]string{"theme": "light", "dark": "dark"}[scheme.name]])
		}
	}
}

// contrast requires WCAG 2.2 AA contrast (4.5:1) for text on the
// background and for button text on the accent colour, with the
// widget's defaults for what the site leaves out.
func (v *validator) contrast(field string, theme, defaults map[string]string) {
	get := func(k string) string {
		if c, ok := theme[k]; ok {
			return c
		}
		return defaults[k]
	}
	for _, pair := range [][2]string{{"text", "background"}, {"accentText", "accent"}} {
		_, setA := theme[pair[0]]
		_, setB := theme[pair[1]]
		if !setA && !setB {
			continue
		}
		if r := contrastRatio(get(pair[0]), get(pair[1])); r < 4.5 {
			v.Add(field+"."+pair[0], "contrast of %s on %s is %.2f:1: WCAG 2.2 AA needs at least 4.5:1", get(pair[0]), get(pair[1]), r)
		}
	}
}

// contrastRatio is the WCAG contrast ratio of two #rgb or #rrggbb colours.
func contrastRatio(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	h := strings.TrimPrefix(hex, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	var rgb [3]float64
	for i := range rgb {
		n, _ := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		c := float64(n) / 255
		if c <= 0.04045 {
			rgb[i] = c / 12.92
		} else {
			rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}

func themeKeyNames() []string {
	out := make([]string, 0, len(ThemeKeys))
	for k := range ThemeKeys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func themeHint(k string) string {
	switch k {
	case "radius":
		return "expected a length such as 8px, 0.5em or 0"
	case "font":
		return "expected a font family list such as \"Inter, sans-serif\" (letters, digits, spaces, commas, quotes, '-')"
	}
	return "expected a hex colour such as #0b57d0"
}

func (v *validator) consentMode(s *Site) {
	cm := s.ConsentMode
	names := make([]string, 0, len(cm.Signals))
	for k := range cm.Signals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, sig := range names {
		p := "consentMode." + sig
		if !slices.Contains(gcmSignals, sig) {
			v.Add(p, "unknown Consent Mode signal: expected one of %s", strings.Join(gcmSignals, ", "))
			continue
		}
		if len(cm.Signals[sig]) == 0 {
			v.Add(p, "required: the categories that grant %s, e.g. [marketing]", sig)
		}
		for i, id := range cm.Signals[sig] {
			if _, ok := s.Category(id); !ok {
				v.Add(fmt.Sprintf("%s[%d]", p, i), "unknown category %q", id)
			}
		}
	}
	if len(cm.Signals) > 0 {
		for _, sig := range gcmSignals[:4] {
			if _, ok := cm.Signals[sig]; !ok {
				v.Add("consentMode."+sig, "missing: Consent Mode v2 needs all of ad_storage, analytics_storage, ad_user_data, ad_personalization")
			}
		}
	}
	if cm.WaitForUpdate < 0 || cm.WaitForUpdate > 10000 {
		v.Add("consentMode.waitForUpdate", "%d is out of range: expected 0 to 10000 ms (default %d)", cm.WaitForUpdate, DefaultWaitForUpdate)
	}
	for i, c := range s.Categories {
		if c.SaleShare && c.Required {
			v.Add(fmt.Sprintf("categories[%d].saleShare", i), "a required category cannot be a sale or sharing the visitor may refuse: remove saleShare or required")
		}
	}
}
