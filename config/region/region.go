// Package region is the vocabulary of regional consent: the modes a site
// maps regions to, the built-in region groups (regions.yaml: eea, uk,
// us-privacy, …) and the ISO 3166-1 country codes (country.go). A site's
// own table of regions and modes, and its check, are the site model's.
package region

import (
	_ "embed"
	"fmt"
	"regexp"
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

// Default is the region of a site's rule that matches any known
// location not matched by an earlier rule.
const Default = "default"

//go:embed regions.yaml
var regionsYAML []byte

// Groups are region groups: group name → member codes (countries like
// FI, subdivisions like US-CA).
type Groups map[string][]string

var (
	countryCode     = regexp.MustCompile(`^[A-Z]{2}$`)
	subdivisionCode = regexp.MustCompile(`^[A-Z]{2}-[A-Z0-9]{1,3}$`)
)

// builtin is parsed once from the embedded file and never changed.
var builtin = parse(regionsYAML)

// Builtin returns the built-in region groups (config/region/regions.yaml).
// The map is shared: callers must not change it.
func Builtin() Groups { return builtin }

// parse reads config/region/regions.yaml. The data is checked by a test,
// so an error here is a build defect.
func parse(b []byte) Groups {
	var doc struct {
		Groups Groups `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		panic(fmt.Sprintf("config/region/regions.yaml: %v", err))
	}
	return doc.Groups
}

// Names returns the group names, sorted.
func (g Groups) Names() []string {
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
func (g Groups) Matches(region, country, subdivision string) bool {
	if region == Default {
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

// Known reports whether r can appear in a site's regions list: a group
// name, an assigned ISO country code, a subdivision code of one, or
// "default".
func (g Groups) Known(r string) bool {
	_, isGroup := g[r]
	return isGroup || r == Default || (countryCode.MatchString(r) && IsCountry(r)) ||
		(subdivisionCode.MatchString(r) && IsCountry(r[:2]))
}
