package export

// The export's parameters, read the same way for the HTTP route and
// consentd export.

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/ledger"
)

// Unknown is the country filter value that selects records without a
// country (the same word as the report counters use).
const Unknown = ledger.Unknown

// PageSize is how many stream entries one XRANGE reads.
const PageSize = 1000

// Params are the query parameters ParseQuery accepts.
var Params = []string{"from", "to", "format", "method", "category", "country", "delimiter"}

// Query is a parsed export request. The time range selects stream
// entries by their ID (the millisecond Redis stored the entry, which is
// within milliseconds of the record's time), both ends included.
type Query struct {
	From     time.Time // first millisecond included; zero: from the first entry
	To       time.Time // last millisecond included
	Format   string    // CSV or NDJSON
	Method   string    // "": any method
	Category string    // "": no category filter
	Granted  bool      // with Category: granted (true) or denied (false)
	Country  string    // "": any; Unknown: records without a country; else an ISO code
	// Delimiter separates CSV cells: Comma (default; also when zero) or
	// Semicolon.
	Delimiter byte
}

// ParamError is a bad query parameter: Param names it, Msg says what is
// expected.
type ParamError struct{ Param, Msg string }

// Error formats the problem.
func (e *ParamError) Error() string { return e.Param + ": " + e.Msg }

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// ParseQuery reads an export request for site:
//
//	from, to   RFC 3339 time (2026-11-01T12:00:00Z) or date (2026-11-01, UTC);
//	           a date in from is its midnight, a date in to its last
//	           millisecond (the whole day is included); default: from the
//	           first record to now
//	format     csv (default) or ndjson
//	method     one of ledger.ClientMethods
//	category   ID or ID:yes (granted), ID:no (denied); ID a category of site
//	country    ISO 3166-1 alpha-2, upper case, or "unknown" (no country)
//	delimiter  for csv: "," (default) or ";" (%3B in a URL)
//
// An empty value counts as not given. Any other parameter, a repeated one
// or a bad value is a *ParamError.
func ParseQuery(site *site.Site, q url.Values, now time.Time) (Query, error) {
	for _, k := range sortedKeys(q) {
		if !slices.Contains(Params, k) {
			return Query{}, &ParamError{k, "unknown parameter: expected " + strings.Join(Params, ", ")}
		}
		if len(q[k]) > 1 {
			return Query{}, &ParamError{k, "given more than once"}
		}
	}
	out := Query{To: now.UTC().Truncate(time.Millisecond), Format: CSV}
	if v := q.Get("from"); v != "" {
		t, err := parseTime("from", v, false)
		if err != nil {
			return Query{}, err
		}
		out.From = t
	}
	if v := q.Get("to"); v != "" {
		t, err := parseTime("to", v, true)
		if err != nil {
			return Query{}, err
		}
		out.To = t
	}
	if out.From.After(out.To) {
		msg := "must not be after to"
		if q.Get("to") == "" {
			msg += " (default: now)"
		}
		return Query{}, &ParamError{"from", msg}
	}
	switch f := q.Get("format"); f {
	case "", CSV:
	case NDJSON:
		out.Format = NDJSON
	case Proof:
		out.Format = Proof
		for _, k := range []string{"from", "to", "method", "category", "country"} {
			if q.Get(k) != "" {
				return Query{}, &ParamError{k, "a proof bundle holds the whole log (a verifiable chain): leave out from, to, method, category and country"}
			}
		}
	default:
		return Query{}, &ParamError{"format", fmt.Sprintf("%q is not a format: expected csv or ndjson", f)}
	}
	d, err := parseDelimiter(q.Get("delimiter"), out.Format)
	if err != nil {
		return Query{}, err
	}
	out.Delimiter = d
	if m := q.Get("method"); m != "" {
		if !slices.Contains(ledger.ClientMethods, m) {
			return Query{}, &ParamError{"method", fmt.Sprintf("%q is not a method: expected one of %s", m, strings.Join(ledger.ClientMethods, ", "))}
		}
		out.Method = m
	}
	if c := q.Get("category"); c != "" {
		id, state, hasState := strings.Cut(c, ":")
		switch {
		case !hasState || state == "yes":
			out.Granted = true
		case state == "no":
			out.Granted = false
		default:
			return Query{}, &ParamError{"category", fmt.Sprintf("%q: expected ID, ID:yes or ID:no", c)}
		}
		if !slices.Contains(categoryIDs(site), id) {
			return Query{}, &ParamError{"category", fmt.Sprintf("%q is not a category of site %s: expected one of %s", id, site.ID, strings.Join(categoryIDs(site), ", "))}
		}
		out.Category = id
	}
	if c := q.Get("country"); c != "" {
		if c != Unknown && !countryPattern.MatchString(c) {
			return Query{}, &ParamError{"country", fmt.Sprintf("%q: expected an ISO 3166-1 alpha-2 code in upper case (FI) or unknown", c)}
		}
		out.Country = c
	}
	return out, nil
}

// parseDelimiter reads the delimiter parameter of an export in format;
// not given, it is Comma.
func parseDelimiter(v, format string) (byte, error) {
	switch {
	case v == "":
		return Comma, nil
	case format != CSV:
		return 0, &ParamError{"delimiter", "only for format=csv"}
	case v == string(Comma):
		return Comma, nil
	case v == string(Semicolon):
		return Semicolon, nil
	}
	return 0, &ParamError{"delimiter", fmt.Sprintf("%q is not a delimiter: expected , or ; (%%3B in a URL)", v)}
}

// parseTime reads an RFC 3339 time or a YYYY-MM-DD date (UTC). A date
// that ends a range (end) stands for the last millisecond of its day.
func parseTime(param, v string, end bool) (time.Time, error) {
	var t time.Time
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		t = d
		if end {
			t = d.Add(24*time.Hour - time.Millisecond)
		}
	} else if ts, err := time.Parse(time.RFC3339Nano, v); err == nil {
		t = ts.UTC().Truncate(time.Millisecond)
	} else {
		msg := fmt.Sprintf("%q is not a time: expected RFC 3339 (2026-11-01T12:00:00Z) or a date (2026-11-01, UTC)", v)
		if strings.Contains(v, " ") {
			msg += "; a + in a URL must be sent as %2B"
		}
		return time.Time{}, &ParamError{param, msg}
	}
	if t.Before(time.Unix(0, 0)) {
		return time.Time{}, &ParamError{param, fmt.Sprintf("%q is before 1970", v)}
	}
	return t, nil
}

// Filename is the attachment name of an export, such as
// consents-demo-20261101-20261123.csv (consents-demo-until-20261123.csv
// when it starts at the first record).
func Filename(site *site.Site, q Query) string {
	from := "until"
	if !q.From.IsZero() {
		from = q.From.UTC().Format("20060102")
	}
	if q.Format == Proof {
		return "consents-" + site.ID + "-" + from + "-" + q.To.UTC().Format("20060102") + ".proof.zip"
	}
	return "consents-" + site.ID + "-" + from + "-" + q.To.UTC().Format("20060102") + "." + q.Format
}

// ContentType is the media type of an export in format f.
func ContentType(f string) string {
	if f == NDJSON {
		return "application/x-ndjson"
	}
	if f == Proof {
		return "application/zip"
	}
	return "text/csv; charset=utf-8"
}

func sortedKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
