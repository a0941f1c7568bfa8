package scan

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consentd/consentd/config/site"
)

// The consent decision cookie the widget writes and the prefix of its
// localStorage keys (docs/widget.md, "The decision"): expected on every
// site, as required, whether or not the site file lists them.
const (
	decisionCookie = "consentd"
	widgetStorage  = "consentd.*"
)

// Declaration is one cookie (or storage item) the site file declares:
// categories[].services[].cookies[].
type Declaration struct {
	Category string `json:"category"`
	Required bool   `json:"required"`
	Service  string `json:"service"`
	// Name is the declared name; a * matches any text (_pk_id.*).
	Name string `json:"name"`
	// Duration is as declared: "session" or a number with min, h, d, mo
	// or y ("13mo").
	Duration string `json:"duration"`
	// Implicit: not in the site file, but the widget's own (consentd).
	Implicit bool `json:"implicit,omitempty"`
}

// Declarations are a site file's declared cookies, in file order.
type Declarations []Declaration

// Declared lists the cookies s declares, and the widget's own decision
// cookie and storage keys as required when s does not list them.
func Declared(s *site.Site) Declarations {
	var ds Declarations
	for _, c := range s.Categories {
		for _, svc := range c.Services {
			for _, ck := range svc.Cookies {
				ds = append(ds, Declaration{Category: c.ID, Required: c.Required, Service: svc.Name, Name: ck.Name, Duration: ck.Duration})
			}
		}
	}
	required := ""
	for _, c := range s.Categories {
		if c.Required {
			required = c.ID
			break
		}
	}
	for _, name := range []string{decisionCookie, widgetStorage} {
		if _, ok := ds.Match(name); !ok {
			ds = append(ds, Declaration{Category: required, Required: true, Service: "consentd", Name: name, Duration: "session", Implicit: true})
		}
	}
	return ds
}

// Match returns the declaration of a cookie or storage key called name:
// an exact name before a pattern, a longer pattern before a shorter one,
// then the first in the file.
func (ds Declarations) Match(name string) (Declaration, bool) {
	best, found := -1, false
	for i, d := range ds {
		if !MatchName(d.Name, name) {
			continue
		}
		if !found || moreSpecific(d.Name, ds[best].Name) {
			best, found = i, true
		}
	}
	if !found {
		return Declaration{}, false
	}
	return ds[best], true
}

// moreSpecific reports whether pattern a says more of a name than b: no
// wildcard beats a wildcard, then more literal characters win.
func moreSpecific(a, b string) bool {
	aw, bw := strings.Contains(a, "*"), strings.Contains(b, "*")
	if aw != bw {
		return !aw
	}
	return len(strings.ReplaceAll(a, "*", "")) > len(strings.ReplaceAll(b, "*", ""))
}

// MatchName reports whether name matches pattern, in which each * stands
// for any text (also none), as the widget matches the cookies it deletes
// on withdrawal (docs/widget.md, "Withdrawal").
func MatchName(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return len(name) >= len(last) && strings.HasSuffix(name, last)
}

// Lengths of the units of a declared duration. A month is a twelfth of a
// Gregorian year and a year 365.25 days, so "13mo" is never shorter than
// the 13 calendar months a script may count.
const (
	day   = 24 * time.Hour
	month = 2629746 * time.Second // 365.2425 days / 12
	year  = 12 * month
)

// ParseDuration reads a declared duration: "session" (session reports
// true and d is 0) or a positive number with min, h, d, mo or y.
func ParseDuration(s string) (d time.Duration, session bool, err error) {
	if s == "session" {
		return 0, true, nil
	}
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"min", time.Minute}, {"mo", month}, {"h", time.Hour}, {"d", day}, {"y", year}}
	for _, u := range units {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n <= 0 || num[0] == '+' {
			break
		}
		return time.Duration(n) * u.unit, false, nil
	}
	return 0, false, fmt.Errorf("%q is not a duration: expected \"session\" or a number with min, h, d, mo or y, e.g. 13mo", s)
}

// FormatDuration writes a lifetime the way site files declare one,
// rounded up to a whole unit: 0 is "session"; under two hours in
// minutes, under two days in hours, under 60 days in days, under two
// years in months, else in years.
func FormatDuration(d time.Duration) string {
	ceil := func(unit time.Duration) int64 { return int64((d + unit - 1) / unit) }
	switch {
	case d <= 0:
		return "session"
	case d < 2*time.Hour:
		return fmt.Sprintf("%dmin", ceil(time.Minute))
	case d < 2*day:
		return fmt.Sprintf("%dh", ceil(time.Hour))
	case d < 60*day:
		return fmt.Sprintf("%dd", ceil(day))
	case d < 2*year:
		return fmt.Sprintf("%dmo", ceil(month))
	default:
		return fmt.Sprintf("%dy", ceil(year))
	}
}

// lifetimeTolerance is how much longer than declared a cookie may live
// before the scan reports it: 2 % of the declared lifetime and a minute,
// for rounding and the time between setting and reading a cookie.
func lifetimeTolerance(declared time.Duration) time.Duration {
	return declared/50 + time.Minute
}

// LongerThanDeclared reports whether a cookie living observed (0: a
// session cookie) outlives the declared duration by more than the
// tolerance. A persistent cookie declared "session" always does.
func LongerThanDeclared(observed time.Duration, declared string) (bool, error) {
	d, session, err := ParseDuration(declared)
	if err != nil {
		return false, err
	}
	if observed <= 0 {
		return false, nil
	}
	if session {
		return true, nil
	}
	return observed > d+lifetimeTolerance(d), nil
}
