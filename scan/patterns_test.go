package scan

import (
	"regexp"
	"strings"
	"testing"
)

// TestPatterns checks the built-in table: every entry valid, names a
// site file accepts, no entry hidden behind an earlier one.
func TestPatterns(t *testing.T) {
	ps, err := BuiltinPatterns()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 20 {
		t.Fatalf("%d patterns: the table did not load whole", len(ps))
	}
	// The cookie names site files accept (config/site/validate.go).
	name := regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
	for i, p := range ps {
		if !name.MatchString(p.Name) {
			t.Errorf("pattern %q: not a name a site file accepts", p.Name)
		}
		if p.URL != "" && !strings.HasPrefix(p.URL, "https://") {
			t.Errorf("pattern %q: url %q is not https", p.Name, p.URL)
		}
		if p.Description == "" {
			t.Errorf("pattern %q: no description", p.Name)
		}
		// An earlier pattern matching this one's literal name would hide it.
		literal := strings.ReplaceAll(p.Name, "*", "x")
		if q, _ := ps[:i].Lookup(literal); q.Name != "" {
			t.Errorf("pattern %q is hidden by the earlier %q", p.Name, q.Name)
		}
	}
}

func TestPatternLookup(t *testing.T) {
	ps, err := BuiltinPatterns()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		cookie, want string // want: "service / category", "" for none
	}{
		{"_ga", "Google Analytics / analytics"},
		{"_ga_1A2B3C4D", "Google Analytics / analytics"},
		{"_gid", "Google Analytics / analytics"},
		{"_pk_id.1.1fff", "Matomo / analytics"},
		{"_pk_ses.1.1fff", "Matomo / analytics"},
		{"_fbp", "Meta Pixel / marketing"},
		{"_gcl_au", "Google Ads / marketing"},
		{"_hjSessionUser_123456", "Hotjar / analytics"},
		{"_hjid", "Hotjar / analytics"},
		{"_clck", "Microsoft Clarity / analytics"},
		{"_clsk", "Microsoft Clarity / analytics"},
		{"_uetsid", "Microsoft Advertising / marketing"},
		{"_uetvid", "Microsoft Advertising / marketing"},
		{"li_sugr", "LinkedIn Insight Tag / marketing"},
		{"bcookie", "LinkedIn Insight Tag / marketing"},
		{"VISITOR_INFO1_LIVE", "YouTube / marketing"},
		{"YSC", "YouTube / marketing"},
		{"PHPSESSID", "Site session (PHP) / necessary"},
		{"ab_test", ""},
		{"_g", ""},
		{"ga", ""},
	} {
		got := ""
		if p, ok := ps.Lookup(tt.cookie); ok {
			got = p.Service + " / " + p.Category
		}
		if got != tt.want {
			t.Errorf("Lookup(%q) = %q, want %q", tt.cookie, got, tt.want)
		}
	}
}

func TestParsePatternsRefuses(t *testing.T) {
	for _, tt := range []struct{ name, yaml, want string }{
		{"unknown field", "- {name: a, service: S, provider: P, category: analytics, duration: 1d, description: d, extra: 1}", "field extra not found"},
		{"bad category", "- {name: a, service: S, provider: P, category: ads, duration: 1d, description: d}", `category "ads"`},
		{"bad duration", "- {name: a, service: S, provider: P, category: analytics, duration: 1w, description: d}", `"1w" is not a duration`},
		{"no service", "- {name: a, provider: P, category: analytics, duration: 1d, description: d}", "service and provider are required"},
	} {
		_, err := ParsePatterns([]byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}
