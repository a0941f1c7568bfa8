package region

import (
	"sort"
	"strings"
	"testing"
)

func TestBuiltinRegionData(t *testing.T) {
	g := Builtin()
	for name, members := range g {
		seen := map[string]bool{}
		for _, m := range members {
			c, _, _ := strings.Cut(m, "-")
			if !IsCountry(c) || !(countryCode.MatchString(m) || subdivisionCode.MatchString(m)) {
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

func TestCountryLists(t *testing.T) {
	if got := len(strings.Fields(isoCountries)); got != 249 {
		t.Errorf("isoCountries has %d codes, want the 249 assigned ones", got)
	}
	eea := Builtin()["eea"]
	if len(eea) != 30 {
		t.Errorf("eeaCountries has %d codes, want 30 (27 EU + IS, LI, NO)", len(eea))
	}
	for _, c := range eea {
		if !IsCountry(c) {
			t.Errorf("EEA country %q is not in isoCountries", c)
		}
	}
	tests := []struct {
		code     string
		iso, eea bool
	}{
		{"FI", true, true}, {"NO", true, true}, {"US", true, false}, {"GB", true, false}, {"CH", true, false},
		{"UK", false, false}, {"XK", false, false}, {"fi", false, false}, {"F", false, false}, {"D ", false, false}, {"E\nF", false, false},
	}
	for _, tt := range tests {
		if IsCountry(tt.code) != tt.iso || InEEA(tt.code) != tt.eea {
			t.Errorf("%q: iso %v, eea %v; want %v, %v", tt.code, IsCountry(tt.code), InEEA(tt.code), tt.iso, tt.eea)
		}
	}
}
