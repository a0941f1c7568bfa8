// Package lifetime is the syntax of a cookie's lifetime, shared by site
// files and the service catalogue: "session", or a whole number with a
// unit, min, h, d, mo or y ("30min", "24h", "13mo", "2y").
package lifetime

import (
	"regexp"
	"strconv"
	"time"
)

// Expected says what a lifetime looks like, for error messages.
const Expected = `"session" or a number with min, h, d, mo or y, e.g. 13mo`

var pattern = regexp.MustCompile(`^(session|([1-9][0-9]{0,4})(min|h|d|mo|y))$`)

// Valid reports whether s is a lifetime.
func Valid(s string) bool { return pattern.MatchString(s) }

// day, month and year as durations: a month is a twelfth of a year, so
// 24mo and 2y are the same lifetime.
const (
	day   = 24 * time.Hour
	year  = 36525 * day / 100
	month = year / 12
)

var units = map[string]time.Duration{"min": time.Minute, "h": time.Hour, "d": day, "mo": month, "y": year}

// Approx returns s as a duration for comparing lifetimes (a month is
// 1/12 of 365.25 days); a session is 0. ok is false when s is not Valid.
func Approx(s string) (d time.Duration, ok bool) {
	m := pattern.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	if s == "session" {
		return 0, true
	}
	n, _ := strconv.Atoi(m[2]) // at most five digits
	return time.Duration(n) * units[m[3]], true
}

// Same reports whether a and b are the same lifetime within one per cent
// (13mo and 395d are; 13mo and 2y are not). An invalid
// lifetime is the same only as itself.
func Same(a, b string) bool {
	da, oka := Approx(a)
	db, okb := Approx(b)
	if !oka || !okb {
		return a == b
	}
	if (da == 0) != (db == 0) {
		return false
	}
	diff := da - db
	if diff < 0 {
		diff = -diff
	}
	return diff <= max(da, db)/100
}
