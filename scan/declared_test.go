package scan

import (
	"testing"
	"time"

	"github.com/consentd/consentd/config/site"
)

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    time.Duration
		session bool
		err     bool
	}{
		{"session", 0, true, false},
		{"30min", 30 * time.Minute, false, false},
		{"1h", time.Hour, false, false},
		{"365d", 365 * day, false, false},
		{"13mo", 13 * month, false, false},
		{"2y", 2 * year, false, false},
		{"1mo", 2629746 * time.Second, false, false},
		{"", 0, false, true},
		{"0d", 0, false, true},
		{"-1d", 0, false, true},
		{"+1d", 0, false, true},
		{"1w", 0, false, true},
		{"mo", 0, false, true},
		{"1.5h", 0, false, true},
		{"Session", 0, false, true},
	} {
		d, session, err := ParseDuration(tt.in)
		if (err != nil) != tt.err || d != tt.want || session != tt.session {
			t.Errorf("ParseDuration(%q) = %v, %v, %v; want %v, %v, error %v", tt.in, d, session, err, tt.want, tt.session, tt.err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tt := range []struct {
		in   time.Duration
		want string
	}{
		{0, "session"},
		{-time.Second, "session"},
		{time.Second, "1min"},
		{30 * time.Minute, "30min"},
		{90*time.Minute + time.Second, "91min"},
		{2 * time.Hour, "2h"},
		{24 * time.Hour, "24h"},
		{2 * day, "2d"},
		{59 * day, "59d"},
		{60 * day, "2mo"},
		{395 * day, "13mo"},
		{400 * day, "14mo"},
		{2 * year, "2y"},
	} {
		if got := FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
		// What FormatDuration writes is a duration ParseDuration reads, never shorter.
		if d, _, err := ParseDuration(tt.want); err != nil || (tt.in > 0 && d < tt.in) {
			t.Errorf("ParseDuration(%q) = %v, %v: shorter than %v", tt.want, d, err, tt.in)
		}
	}
}

func TestLongerThanDeclared(t *testing.T) {
	for _, tt := range []struct {
		name     string
		observed time.Duration
		declared string
		want     bool
	}{
		{"session cookie declared session", 0, "session", false},
		{"session cookie declared 1d", 0, "1d", false},
		{"persistent cookie declared session", time.Hour, "session", true},
		{"Matomo's 393 days within 13mo", 393 * day, "13mo", false},
		{"exactly declared", 365 * day, "365d", false},
		{"within tolerance (2 % + 1 min)", 365*day + 7*day, "365d", false},
		{"over tolerance", 365*day + 8*day, "365d", true},
		{"400 days declared 3mo", 400 * day, "3mo", true},
		{"31 minutes declared 30min", 31 * time.Minute, "30min", false},
		{"32 minutes declared 30min", 32 * time.Minute, "30min", true},
	} {
		got, err := LongerThanDeclared(tt.observed, tt.declared)
		if err != nil || got != tt.want {
			t.Errorf("%s: LongerThanDeclared(%v, %q) = %v, %v; want %v", tt.name, tt.observed, tt.declared, got, err, tt.want)
		}
	}
	if _, err := LongerThanDeclared(time.Hour, "1 week"); err == nil {
		t.Error("a bad declared duration: no error")
	}
}

func TestMatchName(t *testing.T) {
	for _, tt := range []struct {
		pattern, name string
		want          bool
	}{
		{"_ga", "_ga", true},
		{"_ga", "_gat", false},
		{"_ga_*", "_ga_ABC123", true},
		{"_ga_*", "_ga", false},
		{"_ga_*", "_ga_", true},
		{"_pk_id.*", "_pk_id.1.abcd", true},
		{"_pk_id.*", "_pk_ses.1.abcd", false},
		{"_hj*", "_hjSessionUser_123", true},
		{"*_session", "oppimo_session", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXcYb", false},
		{"a*a", "a", false},
		{"*", "anything", true},
	} {
		if got := MatchName(tt.pattern, tt.name); got != tt.want {
			t.Errorf("MatchName(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func testSite(cats ...site.Category) *site.Site {
	return &site.Site{ID: "t", Languages: []string{"en"}, Categories: cats}
}

func category(id string, required bool, service string, cookies ...string) site.Category {
	c := site.Category{ID: id, Required: required, Services: []site.Service{{Name: service}}}
	for i := 0; i+1 < len(cookies); i += 2 {
		c.Services[0].Cookies = append(c.Services[0].Cookies, site.Cookie{Name: cookies[i], Duration: cookies[i+1]})
	}
	return c
}

func TestDeclaredMatch(t *testing.T) {
	s := testSite(
		category("necessary", true, "Shop", "shop_session", "session"),
		category("analytics", false, "Google Analytics", "_ga_*", "2y", "_ga", "2y"),
		category("marketing", false, "Ads", "_g*", "3mo"),
	)
	ds := Declared(s)
	for _, tt := range []struct {
		name, want string // want: "category service pattern", or "" for no match
	}{
		{"_ga", "analytics Google Analytics _ga"},       // exact before a pattern
		{"_ga_XYZ", "analytics Google Analytics _ga_*"}, // longer pattern first
		{"_gid", "marketing Ads _g*"},
		{"shop_session", "necessary Shop shop_session"},
		{"consentd", "necessary consentd consentd"},         // the widget's own, implicit
		{"consentd.queue", "necessary consentd consentd.*"}, // its storage keys
		{"other", ""},
	} {
		d, ok := ds.Match(tt.name)
		got := ""
		if ok {
			got = d.Category + " " + d.Service + " " + d.Name
		}
		if got != tt.want {
			t.Errorf("Match(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	// A site that declares the decision cookie itself keeps its declaration.
	s2 := testSite(category("required", true, "Consent", "consentd", "365d"))
	if d, _ := Declared(s2).Match("consentd"); d.Implicit || d.Duration != "365d" {
		t.Errorf("declared consentd: %+v", d)
	}
}
