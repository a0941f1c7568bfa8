// Package report turns a site's daily counters (ledger.DailyKey) into the
// controllers' reports: decisions by method, opt-in rate per category,
// decisions by country and by regional mode, per day, ISO week or month.
// Reports never scan the log; they sum counters.
package report

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Granularities a report can be made at.
const (
	Day   = "day"
	Week  = "week" // ISO 8601 weeks, Monday to Sunday
	Month = "month"
)

// MaxDays bounds a report's range (ten years and a bit: the longest
// retention a site may have).
const MaxDays = 3660

// Query is a parsed report request.
type Query struct {
	From, To    time.Time // UTC midnights; both days included
	Granularity string
}

// ParamError is a bad query parameter.
type ParamError struct{ Param, Msg string }

// Error formats the problem.
func (e *ParamError) Error() string { return e.Param + ": " + e.Msg }

// ParseQuery reads from, to (YYYY-MM-DD, UTC; default: the 30 days up to
// today) and granularity (day, week or month; default day).
func ParseQuery(q url.Values, now time.Time) (Query, error) {
	return parseQuery(q, now, []string{"from", "to", "granularity"})
}

// ParseRange reads from and to as ParseQuery does, for figures of the
// range as a whole (the overview of a token's sites): granularity is not
// one of its parameters.
func ParseRange(q url.Values, now time.Time) (Query, error) {
	return parseQuery(q, now, []string{"from", "to"})
}

// parseQuery reads the parameters params (a subset of ParseQuery's) and
// refuses any other.
func parseQuery(q url.Values, now time.Time, params []string) (Query, error) {
	for k := range q {
		if !slices.Contains(params, k) {
			return Query{}, &ParamError{k, "unknown parameter: expected " + strings.Join(params, ", ")}
		}
	}
	today := now.UTC().Truncate(24 * time.Hour)
	out := Query{To: today, From: today.AddDate(0, 0, -29), Granularity: Day}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &out.From}, {"to", &out.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				return Query{}, &ParamError{p.name, fmt.Sprintf("%q is not a date: expected YYYY-MM-DD (UTC)", v)}
			}
			*p.dst = t
		}
	}
	if q.Get("from") == "" && q.Get("to") != "" {
		out.From = out.To.AddDate(0, 0, -29)
	}
	switch g := q.Get("granularity"); g {
	case "", Day, Week, Month:
		if g != "" {
			out.Granularity = g
		}
	default:
		return Query{}, &ParamError{"granularity", fmt.Sprintf("%q is not a granularity: expected day, week or month", g)}
	}
	if out.From.After(out.To) {
		return Query{}, &ParamError{"from", "must not be after to"}
	}
	if n := Days(out); n > MaxDays {
		return Query{}, &ParamError{"from", fmt.Sprintf("the range has %d days: at most %d", n, MaxDays)}
	}
	return out, nil
}

// Days returns how many days the query covers.
func Days(q Query) int { return int(q.To.Sub(q.From)/(24*time.Hour)) + 1 }

// DayKeys returns the query's days as YYYY-MM-DD, oldest first (the
// days of ledger.DailyCounters).
func DayKeys(q Query) []string {
	out := make([]string, 0, Days(q))
	for d := q.From; !d.After(q.To); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format("2006-01-02"))
	}
	return out
}

// Report is GET /v1/sites/{site}/stats.
type Report struct {
	Site        string   `json:"site"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	Granularity string   `json:"granularity"`
	Categories  []string `json:"categories"` // the optional categories reported on
	Totals      Period   `json:"totals"`
	Periods     []Period `json:"periods"`
}

// Period is the sum of the counters of some days.
type Period struct {
	Start       string `json:"start"`
	End         string `json:"end"`
	Decisions   int64  `json:"decisions"`
	AcceptAll   int64  `json:"acceptAll"`
	RejectAll   int64  `json:"rejectAll"`
	Custom      int64  `json:"custom"`
	GPC         int64  `json:"gpc"`
	Withdrawals int64  `json:"withdrawals"`
	// Closed are refusals by the banner's close button (closeRejects).
	Closed    int64            `json:"closed"`
	OptIn     map[string]OptIn `json:"optIn"`
	Countries map[string]int64 `json:"countries"`
	Modes     map[string]int64 `json:"modes"`
	raw       map[string]int64 // summed counters
}

// OptIn is how often an optional category was granted and denied, and
// the rate granted/(granted+denied); Rate is null when neither happened.
type OptIn struct {
	Yes  int64    `json:"yes"`
	No   int64    `json:"no"`
	Rate *float64 `json:"rate"`
}

// Build sums the daily counters (one map per day of DayKeys(q), as
// ledger.DailyCounters returns them) into periods of q's granularity.
// categories are the site's optional categories, in config order.
func Build(site string, q Query, categories []string, days []map[string]string) Report {
	r := Report{Site: site, From: q.From.Format("2006-01-02"), To: q.To.Format("2006-01-02"),
		Granularity: q.Granularity, Categories: categories}
	total := Period{Start: r.From, End: r.To, raw: map[string]int64{}}
	var cur *Period
	for i, d := 0, q.From; !d.After(q.To); i, d = i+1, d.AddDate(0, 0, 1) {
		start := periodStart(d, q.Granularity)
		if start.Before(q.From) {
			start = q.From
		}
		if cur == nil || cur.Start != start.Format("2006-01-02") {
			r.Periods = append(r.Periods, Period{Start: start.Format("2006-01-02"), raw: map[string]int64{}})
			cur = &r.Periods[len(r.Periods)-1]
		}
		cur.End = d.Format("2006-01-02")
		if i < len(days) {
			for k, v := range days[i] {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					continue // not a counter written by the ledger
				}
				cur.raw[k] += n
				total.raw[k] += n
			}
		}
	}
	for i := range r.Periods {
		r.Periods[i].finish(categories)
	}
	total.finish(categories)
	r.Totals = total
	return r
}

func periodStart(d time.Time, g string) time.Time {
	switch g {
	case Week:
		wd := (int(d.Weekday()) + 6) % 7 // Monday = 0
		return d.AddDate(0, 0, -wd)
	case Month:
		return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return d
}

// finish derives the reported figures from the summed counters.
func (p *Period) finish(categories []string) {
	c := p.raw
	p.Decisions = c["decisions"]
	p.AcceptAll, p.RejectAll, p.Custom = c["method:accept_all"], c["method:reject_all"], c["method:custom"]
	p.GPC, p.Withdrawals, p.Closed = c["method:gpc"], c["method:withdraw"], c["method:close"]
	p.OptIn = make(map[string]OptIn, len(categories))
	for _, id := range categories {
		o := OptIn{Yes: c["cat:"+id+":yes"], No: c["cat:"+id+":no"]}
		if o.Yes+o.No > 0 {
			rate := float64(o.Yes) / float64(o.Yes+o.No)
			o.Rate = &rate
		}
		p.OptIn[id] = o
	}
	p.Countries, p.Modes = map[string]int64{}, map[string]int64{}
	for k, v := range c {
		if code, ok := strings.CutPrefix(k, "country:"); ok {
			p.Countries[code] = v
		} else if m, ok := strings.CutPrefix(k, "mode:"); ok {
			p.Modes[m] = v
		}
	}
	p.raw = nil
}
