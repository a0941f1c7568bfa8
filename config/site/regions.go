package site

import (
	"fmt"
	"slices"
	"strings"

	"github.com/consentd/consentd/config/region"
)

// RegionRule maps a region to a mode in a site's regions list.
type RegionRule struct {
	// Region is a built-in group (eea, uk, us-ca, …), an ISO country code
	// (FI), a subdivision code (US-CA) or "default".
	Region string `yaml:"region"`
	// Mode is one of region.Modes.
	Mode string `yaml:"mode"`
}

// ModeFor returns the site's mode for a visitor's location: the mode of
// the first rule of the site's regions list that matches, opt-in when
// none does, and always opt-in when the country is unknown (the safe
// default).
func (s *Site) ModeFor(country, subdivision string) string {
	if country == "" {
		return region.ModeOptIn
	}
	groups := region.Builtin()
	for _, r := range s.Regions {
		if groups.Matches(r.Region, country, subdivision) {
			return r.Mode
		}
	}
	return region.ModeOptIn
}

// regions checks a site's regions list: known regions, known modes, no
// region twice, nothing after "default" (it would never match).
func (v *validator) regions(rules []RegionRule) {
	groups := region.Builtin()
	seen := map[string]bool{}
	for i, r := range rules {
		p := fmt.Sprintf("regions[%d]", i)
		switch {
		case r.Region == "":
			v.Add(p+".region", "required: a region group (%s), a country code such as FI, a subdivision such as US-CA, or default",
				strings.Join(groups.Names(), ", "))
		case !groups.Known(r.Region):
			v.Add(p+".region", "unknown region %q: expected a region group (%s), an ISO country code such as FI, a subdivision such as US-CA, or default",
				r.Region, strings.Join(groups.Names(), ", "))
		case seen[r.Region]:
			v.Add(p+".region", "duplicate region %q", r.Region)
		}
		seen[r.Region] = true
		if !slices.Contains(region.Modes, r.Mode) {
			v.Add(p+".mode", "%q is not a mode: expected one of %s", r.Mode, strings.Join(region.Modes, ", "))
		}
		if i > 0 && rules[i-1].Region == region.Default {
			v.Add(p+".region", "comes after default and would never match: put default last")
		}
	}
}
