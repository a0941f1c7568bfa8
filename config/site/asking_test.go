package site

import (
	"strings"
	"testing"
)

// TestAskingDefaults: a site file without the asking fields gets the
// documented defaults.
func TestAskingDefaults(t *testing.T) {
	s, err := Parse("sites/acme.yaml", []byte(minimalSite))
	if err != nil {
		t.Fatal(err)
	}
	if s.ReaskAfterRejectDays != 180 || s.GPCInOptIn != "banner" || s.Banner.Reopen != "bottom-left" ||
		s.Banner.CloseRejects || s.CookieDomain != "" || s.ConsentVersion != "" {
		t.Errorf("defaults: reask %d, gpc %q, reopen %q, close %v, domain %q, version %q", s.ReaskAfterRejectDays,
			s.GPCInOptIn, s.Banner.Reopen, s.Banner.CloseRejects, s.CookieDomain, s.ConsentVersion)
	}
	p, err := s.Public()
	if err != nil {
		t.Fatal(err)
	}
	if p.ConsentVersion != s.ConsentVersionOf() || !strings.HasPrefix(p.ConsentVersion, "cv1:") || len(p.ConsentVersion) != 36 {
		t.Errorf("public consentVersion %q", p.ConsentVersion)
	}
}

// TestAskingErrors: each bad value is named by its field, with what is
// expected.
func TestAskingErrors(t *testing.T) {
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"reask too long", "reaskAfterRejectDays: 1000", "reaskAfterRejectDays: 1000 is out of range: expected 1 to 730 days"},
		{"gpc", "gpcInOptIn: ignore", `gpcInOptIn: "ignore" is not a choice: expected banner (default) or reject`},
		{"reopen", "banner: {reopen: top}", `banner.reopen: "top" is not a place: expected bottom-left, bottom-right, off`},
		{"cookie domain with scheme", "cookieDomain: https://acme.fi", `cookieDomain: "https://acme.fi" is not a domain`},
		{"cookie domain ip", "cookieDomain: 10.0.0.1", `cookieDomain: "10.0.0.1" is not a domain`},
		{"cookie domain tld", "cookieDomain: fi", `cookieDomain: "fi" is not a domain`},
		{"uet category", "signals: {uet: [ads]}", `signals.uet[0]: unknown category "ads"`},
		{"uet empty", "signals: {uet: []}", `signals.uet: empty`},
		{"clarity type", "signals: {clarity: {ad_Storage: [analytics], analytics_Storage: [analytics], x: [analytics]}}", `signals.clarity.x: unknown Clarity consent type`},
		{"clarity half", "signals: {clarity: {analytics_Storage: [analytics]}}", `signals.clarity.ad_Storage: missing`},
		{"version too long", "consentVersion: " + strings.Repeat("x", 65), "consentVersion: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("sites/acme.yaml", []byte(minimalSite+tt.yaml+"\n"))
			if err == nil || !strings.Contains(err.Error(), "sites/acme.yaml: "+tt.want) {
				t.Errorf("error %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
	for _, ok := range []string{"cookieDomain: acme.fi", "cookieDomain: .Acme.fi", "gpcInOptIn: reject", "banner: {reopen: off, closeRejects: true}",
		"signals: {uet: [analytics], clarity: {ad_Storage: [analytics], analytics_Storage: [analytics]}}"} {
		s, err := Parse("sites/acme.yaml", []byte(minimalSite+ok+"\n"))
		if err != nil {
			t.Errorf("%s: %v", ok, err)
		} else if strings.HasPrefix(ok, "cookieDomain") && s.CookieDomain != "acme.fi" {
			t.Errorf("%s: cookieDomain %q, want acme.fi", ok, s.CookieDomain)
		}
	}
}

// TestCompareConsent: the consent version moves with what consent is given
// to and only with it.
func TestCompareConsent(t *testing.T) {
	base := minimalSite + "notice:\n  controllers:\n    - {name: Acme Oy, phone: \"09 123\"}\n"
	for _, tt := range []struct {
		name     string
		old, new string
		want     Change
	}{
		{"same file", "", "", ChangeNone},
		{"controller's phone", `phone: "09 123"`, `phone: "09 999"`, ChangeNone},
		{"banner look", "policyVersion: \"1\"", "policyVersion: \"1\"\nbanner: {layout: box}", ChangeNone},
		{"cookie lifetime", "duration: 13mo", "duration: 25mo", ChangeMaterial},
		{"service purpose", "purpose: {fi: Tilastot., en: Statistics.}", "purpose: {fi: Tilastot ja mainonta., en: Statistics and ads.}", ChangeMaterial},
		{"provider", "provider: Acme Oy", "provider: Tracker Inc", ChangeMaterial},
		{"controller", "name: Acme Oy, phone", "name: Acme Group Oy, phone", ChangeMaterial},
		{"category description", "description: {fi: Tilastot., en: Statistics.}", "description: {fi: Tilastot ja profilointi., en: Statistics and profiling.}", ChangeMaterial},
		{"forced", "policyVersion: \"1\"", "policyVersion: \"1\"\nconsentVersion: \"2\"", ChangeForced},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, err := Parse("sites/acme.yaml", []byte(base))
			if err != nil {
				t.Fatal(err)
			}
			src := base
			if tt.old != "" {
				if !strings.Contains(base, tt.old) {
					t.Fatalf("test setup: %q not in the site", tt.old)
				}
				src = strings.Replace(base, tt.old, tt.new, 1)
			}
			after, err := Parse("sites/acme.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if got := CompareConsent(before, after); got != tt.want {
				t.Errorf("CompareConsent = %v, want %v", got, tt.want)
			}
		})
	}
}
