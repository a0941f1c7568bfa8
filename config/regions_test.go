package config

import (
	"sort"
	"strings"
	"testing"
)

func TestBuiltinRegionData(t *testing.T) {
	g := BuiltinRegions()
	for name, members := range g {
		seen := map[string]bool{}
		for _, m := range members {
			c, _, _ := strings.Cut(m, "-")
			if !isISOCountry(c) || !(countryCode.MatchString(m) || subdivisionCode.MatchString(m)) {
				t.Errorf("group %s: %q is not a country or subdivision code", name, m)
			}
			if seen[m] {
				t.Errorf("group %s: %q twice", name, m)
			}
			seen[m] = true
		}
	}
	eea := append([]string{}, g["eu"]...)
	eea = append(eea, "IS", "LI", "NO")
	sort.Strings(eea)
	got := append([]string{}, g["eea"]...)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(eea, " ") || len(g["eu"]) != 27 {
		t.Errorf("eea must be the 27 EU states plus IS, LI, NO: %v", got)
	}
	if !g.Matches("us-privacy", "US", "CA") {
		t.Error("California must be in us-privacy")
	}
}

func TestModeFor(t *testing.T) {
	site := &Site{Regions: []RegionRule{
		{Region: "US-TX", Mode: ModeNotice}, // a single subdivision before its group
		{Region: "us-privacy", Mode: ModeOptOut},
		{Region: "eea", Mode: ModeOptIn},
		{Region: "uk", Mode: ModeOptIn},
		{Region: "ch", Mode: ModeOptIn},
		{Region: "BR", Mode: ModeOptIn},
		{Region: "us", Mode: ModeNotice},
		{Region: RegionDefault, Mode: ModeNotice},
	}}
	tests := []struct {
		country, subdivision, want string
	}{
		{"FI", "", ModeOptIn}, {"SE", "AB", ModeOptIn}, {"DE", "", ModeOptIn}, {"NO", "", ModeOptIn}, // eea
		{"GB", "ENG", ModeOptIn}, {"CH", "", ModeOptIn}, {"BR", "SP", ModeOptIn},
		{"US", "CA", ModeOptOut}, {"US", "VA", ModeOptOut}, // us-privacy
		{"US", "TX", ModeNotice}, // the earlier, more specific rule
		{"US", "AL", ModeNotice}, // us: a state without a privacy law
		{"US", "", ModeNotice},   // country database: no subdivision
		{"JP", "", ModeNotice},   // default
		{"", "", ModeOptIn},      // unknown country: always the safe default
		{"", "CA", ModeOptIn},
	}
	for _, tt := range tests {
		if got := site.ModeFor(tt.country, tt.subdivision); got != tt.want {
			t.Errorf("ModeFor(%q, %q) = %s, want %s", tt.country, tt.subdivision, got, tt.want)
		}
	}
	if got := (&Site{}).ModeFor("US", "CA"); got != ModeOptIn {
		t.Errorf("a site without regions: %s, want opt-in everywhere", got)
	}
	if got := (&Site{Regions: []RegionRule{{Region: "eea", Mode: ModeOptIn}}}).ModeFor("JP", ""); got != ModeOptIn {
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
			_, err := ParseSite("x/acme.yaml", []byte(strings.Replace(minimalSite, "categories:", "regions: "+tt.rules+"\ncategories:", 1)))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("valid rules refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), "x/acme.yaml: "+tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
