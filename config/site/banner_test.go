package site

import (
	"strings"
	"testing"
)

func TestBannerAndConsentModeValidation(t *testing.T) {
	tests := []struct {
		name, yaml, want string // want "" = valid
	}{
		{"defaults", "", ""},
		{"box centre", "banner: {layout: box, position: center}", ""},
		{"theme", "banner: {theme: {accent: '#1a4d2e', accentText: '#fff', radius: 4px, font: 'Inter, sans-serif'}, dark: {accent: '#9fd8b0', accentText: '#000'}}", ""},
		{"consent mode", "consentMode: {ad_storage: [analytics], analytics_storage: [analytics], ad_user_data: [analytics], ad_personalization: [analytics], waitForUpdate: 800}", ""},
		{"bad layout", "banner: {layout: popup}", `banner.layout: "popup" is not a layout: expected bar, box or cloud`},
		{"position of another layout", "banner: {layout: bar, position: center}", `banner.position: "center" is not a position of the bar layout: expected one of bottom, top`},
		{"unknown theme key", "banner: {theme: {shadow: none}}", `banner.theme.shadow: unknown theme setting: expected one of accent, accentText, background, border, font, radius, text`},
		{"CSS injection in a colour", "banner: {theme: {accent: 'red;}:host{display:none'}}", `banner.theme.accent: "red;}:host{display:none" is not a valid value: expected a hex colour`},
		{"CSS injection in a font", "banner: {theme: {font: 'x;}*{color:red'}}", `banner.theme.font: "x;}*{color:red" is not a valid value`},
		{"bad radius", "banner: {theme: {radius: 10vw}}", `banner.theme.radius: "10vw" is not a valid value: expected a length`},
		{"low contrast text", "banner: {theme: {text: '#999999'}}", `banner.theme.text: contrast of #999999 on #ffffff is 2.85:1: WCAG 2.2 AA needs at least 4.5:1`},
		{"low contrast button", "banner: {dark: {accent: '#333333'}}", `banner.dark.accentText: contrast of #111111 on #333333 is`},
		{"unknown signal", "consentMode: {ads_storage: [marketing]}", `consentMode.ads_storage: unknown Consent Mode signal`},
		{"missing v2 signal", "consentMode: {ad_storage: [marketing], analytics_storage: [analytics], ad_user_data: [marketing]}", `consentMode.ad_personalization: missing: Consent Mode v2 needs all of`},
		{"unknown category", "consentMode: {ad_storage: [ads], analytics_storage: [analytics], ad_user_data: [marketing], ad_personalization: [marketing]}", `consentMode.ad_storage[0]: unknown category "ads"`},
		{"empty list", "consentMode: {ad_storage: [], analytics_storage: [analytics], ad_user_data: [marketing], ad_personalization: [marketing]}", `consentMode.ad_storage: required: the categories that grant ad_storage`},
		{"sale or sharing on a required category", "", `categories[0].saleShare: a required category cannot be a sale or sharing`},
		{"wait too long", "consentMode: {waitForUpdate: 60000}", `consentMode.waitForUpdate: 60000 is out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(minimalSite, "categories:", tt.yaml+"\ncategories:", 1)
			if strings.HasPrefix(tt.name, "sale or sharing") {
				src = strings.Replace(src, "required: true", "required: true\n    saleShare: true", 1)
			}
			s, err := Parse("x/acme.yaml", []byte(src))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), "x/acme.yaml: "+tt.want)):
				t.Fatalf("got %v\nwant %q", err, tt.want)
			case tt.want == "":
				if p, _ := s.Public(); p.Banner.Layout == "" || p.Banner.Position == "" {
					t.Errorf("defaults not applied: %+v", p.Banner)
				}
			}
		})
	}
}

func TestContrastRatio(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want float64
	}{{"#000", "#fff", 21}, {"#ffffff", "#ffffff", 1}, {"#0b57d0", "#fff", 6.39}} {
		if got := contrastRatio(tt.a, tt.b); got < tt.want-0.01 || got > tt.want+0.01 {
			t.Errorf("contrast(%s, %s) = %.2f, want %.2f", tt.a, tt.b, got, tt.want)
		}
	}
}
