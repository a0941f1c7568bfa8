package site

import (
	"strings"
	"testing"

	"github.com/consentd/consentd/config/region"
)

func TestModeFor(t *testing.T) {
	site := &Site{Regions: []RegionRule{
		{Region: "US-TX", Mode: region.ModeNotice}, // a single subdivision before its group
		{Region: "us-privacy", Mode: region.ModeOptOut},
		{Region: "eea", Mode: region.ModeOptIn},
		{Region: "uk", Mode: region.ModeOptIn},
		{Region: "ch", Mode: region.ModeOptIn},
		{Region: "BR", Mode: region.ModeOptIn},
		{Region: "us", Mode: region.ModeNotice},
		{Region: region.Default, Mode: region.ModeNotice},
	}}
	tests := []struct {
		country, subdivision, want string
	}{
		{"FI", "", region.ModeOptIn}, {"SE", "AB", region.ModeOptIn}, {"DE", "", region.ModeOptIn}, {"NO", "", region.ModeOptIn}, // eea
		{"GB", "ENG", region.ModeOptIn}, {"CH", "", region.ModeOptIn}, {"BR", "SP", region.ModeOptIn},
		{"US", "CA", region.ModeOptOut}, {"US", "VA", region.ModeOptOut}, // us-privacy
		{"US", "TX", region.ModeNotice}, // the earlier, more specific rule
		{"US", "AL", region.ModeNotice}, // us: a state without a privacy law
		{"US", "", region.ModeNotice},   // country database: no subdivision
		{"JP", "", region.ModeNotice},   // default
		{"", "", region.ModeOptIn},      // unknown country: always the safe default
		{"", "CA", region.ModeOptIn},
	}
	for _, tt := range tests {
		if got := site.ModeFor(tt.country, tt.subdivision); got != tt.want {
			t.Errorf("ModeFor(%q, %q) = %s, want %s", tt.country, tt.subdivision, got, tt.want)
		}
	}
	if got := (&Site{}).ModeFor("US", "CA"); got != region.ModeOptIn {
		t.Errorf("a site without regions: %s, want opt-in everywhere", got)
	}
	if got := (&Site{Regions: []RegionRule{{Region: "eea", Mode: region.ModeOptIn}}}).ModeFor("JP", ""); got != region.ModeOptIn {
		t.Errorf("no matching rule: %s, want opt-in", got)
	}
}

func TestRegionsValidation(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		want  string // "" = valid
	}{
		{"valid", "[{region: eea, mode: opt-in}, {region: US-CA, mode: opt-out}, {region: FI, mode: notice}, {region: default, mode: notice}]", ""},
		{"unknown group", "[{region: europe, mode: opt-in}]", `regions[0].region: unknown region "europe": expected a region group (br, ca, ch, eea, eu, nordics, uk, us, us-ca, us-privacy)`},
		{"not a country", "[{region: XX, mode: opt-in}]", `regions[0].region: unknown region "XX"`},
		{"lower-case country", "[{region: fi, mode: opt-in}]", `regions[0].region: unknown region "fi"`},
		{"bad subdivision country", "[{region: XX-CA, mode: opt-in}]", `regions[0].region: unknown region "XX-CA"`},
		{"no region", "[{mode: opt-in}]", `regions[0].region: required`},
		{"bad mode", "[{region: eea, mode: optin}]", `regions[0].mode: "optin" is not a mode: expected one of opt-in, opt-out, notice`},
		{"duplicate", "[{region: eea, mode: opt-in}, {region: eea, mode: notice}]", `regions[1].region: duplicate region "eea"`},
		{"after default", "[{region: default, mode: notice}, {region: eea, mode: opt-in}]", `regions[1].region: comes after default and would never match`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x/acme.yaml", []byte(strings.Replace(minimalSite, "categories:", "regions: "+tt.rules+"\ncategories:", 1)))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("valid rules refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), "x/acme.yaml: "+tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
