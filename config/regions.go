package config

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Regional consent modes: how the widget behaves for a visitor.
const (
	ModeOptIn  = "opt-in"  // banner; nothing optional before consent
	ModeOptOut = "opt-out" // optional categories on until the visitor opts out; "Do Not Sell or Share" link; GPC applied
	ModeNotice = "notice"  // a small notice link only
)

// Modes lists the regional modes.
var Modes = []string{ModeOptIn, ModeOptOut, ModeNotice}

// RegionDefault is the region of a site's rule that matches any known
// location not matched by an earlier rule.
const RegionDefault = "default"

// RegionRule maps a region to a mode in a site's regions list.
type RegionRule struct {
	// Region is a built-in group (eea, uk, us-ca, …), an ISO country code
	// (FI), a subdivision code (US-CA) or "default".
	Region string `yaml:"region"`
	Mode   string `yaml:"mode"`
}

//go:embed regions.yaml
var regionsYAML []byte

// RegionGroups are the built-in region groups (config/regions.yaml):
// group name → member codes (countries like FI, subdivisions like US-CA).
type RegionGroups map[string][]string

var (
	countryCode     = regexp.MustCompile(`^[A-Z]{2}$`)
	subdivisionCode = regexp.MustCompile(`^[A-Z]{2}-[A-Z0-9]{1,3}$`)
)

// builtinRegions is parsed once from the embedded file and never changed.
var builtinRegions = parseRegions(regionsYAML)

// BuiltinRegions returns the built-in region groups. The map is shared:
// callers must not change it.
func BuiltinRegions() RegionGroups { return builtinRegions }

// parseRegions reads config/regions.yaml. The data is checked by a test,
// so an error here is a build defect.
func parseRegions(b []byte) RegionGroups {
	var doc struct {
		Groups RegionGroups `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		panic(fmt.Sprintf("config/regions.yaml: %v", err))
	}
	return doc.Groups
}

// ModeFor returns the site's mode for a visitor's location: the mode of
// the first rule of the site's regions list that matches, opt-in when
// none does, and always opt-in when the country is unknown (the safe
// default).
func (s *Site) ModeFor(country, subdivision string) string {
	if country == "" {
		return ModeOptIn
	}
	for _, r := range s.Regions {
		if builtinRegions.Matches(r.Region, country, subdivision) {
			return r.Mode
		}
	}
	return ModeOptIn
}

// Names returns the group names, sorted.
func (g RegionGroups) Names() []string {
	out := make([]string, 0, len(g))
	for n := range g {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Matches reports whether region (a group name, a country or a
// subdivision code, or "default") covers a location with the given
// country and subdivision (ISO codes; subdivision without the country
// prefix, as GeoIP databases give it: "CA" for California).
func (g RegionGroups) Matches(region, country, subdivision string) bool {
	if region == RegionDefault {
		return country != ""
	}
	members, isGroup := g[region]
	if !isGroup {
		members = []string{region}
	}
	for _, m := range members {
		c, sub, hasSub := strings.Cut(m, "-")
		if c == country && (!hasSub || sub == subdivision) {
			return true
		}
	}
	return false
}

// validRegion reports whether r can appear in a site's regions list.
func (g RegionGroups) validRegion(r string) bool {
	_, isGroup := g[r]
	return isGroup || r == RegionDefault || (countryCode.MatchString(r) && isISOCountry(r)) ||
		(subdivisionCode.MatchString(r) && isISOCountry(r[:2]))
}

// regions checks a site's regions list: known regions, known modes, no
// region twice, nothing after "default" (it would never match).
func (v *validator) regions(rules []RegionRule) {
	seen := map[string]bool{}
	for i, r := range rules {
		p := fmt.Sprintf("regions[%d]", i)
		switch {
		case r.Region == "":
			v.add(p+".region", "required: a region group (%s), a country code such as FI, a subdivision such as US-CA, or default",
				strings.Join(builtinRegions.Names(), ", "))
		case !builtinRegions.validRegion(r.Region):
			v.add(p+".region", "unknown region %q: expected a region group (%s), an ISO country code such as FI, a subdivision such as US-CA, or default",
				r.Region, strings.Join(builtinRegions.Names(), ", "))
		case seen[r.Region]:
			v.add(p+".region", "duplicate region %q", r.Region)
		}
		seen[r.Region] = true
		if !slices.Contains(Modes, r.Mode) {
			v.add(p+".mode", "%q is not a mode: expected one of %s", r.Mode, strings.Join(Modes, ", "))
		}
		if i > 0 && rules[i-1].Region == RegionDefault {
			v.add(p+".region", "comes after default and would never match: put default last")
		}
	}
}
