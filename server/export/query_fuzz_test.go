package export_test

import (
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/consentd/consentd/server/export"
	"github.com/consentd/consentd/server/ledger"
)

// FuzzParseQuery feeds arbitrary query strings (parsed as the route and
// the CLI parse them, url.ParseQuery) to ParseQuery. It must never panic.
// A refusal is a *ParamError naming a parameter that was given; an
// accepted query is within bounds (known format, method, category and
// country; 1970 <= from <= to) and round-trips: written back as
// parameters, it parses to the same Query.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"", "from=2026-11-01&to=2026-11-02", "from=2026-11-01T02:00:00%2B02:00&to=2026-11-01T12:00:00.5009Z",
		"format=ndjson&method=withdraw&category=analytics:no&country=FI", "category=marketing:yes&country=unknown",
		"from=2026-13-01", "to=yesterday", "from=2026-11-01T02:00:00+02:00", "from=1969-12-31", "from=2027-01-01",
		"format=xlsx", "method=expired", "category=ads:yes", "category=analytics:maybe", "country=fi",
		"granularity=day", "method=gpc&method=custom", "from=&to=&format=", "%zz=1", "from=9999-12-31T23:59:59.999999999Z",
		"to=0000-01-01", "from=2026-11-01T00:00:00-23:59", "category=:yes", "category=analytics:yes:no", "country=%00",
		"delimiter=%3B", "delimiter=,&format=csv", "delimiter=;", "delimiter=%09", "format=ndjson&delimiter=%3B",
	} {
		f.Add(seed)
	}
	site := testSite()
	cats := []string{"necessary", "analytics", "marketing"}
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw) // the route ignores escaping errors the same way
		q, err := export.ParseQuery(site, v, now)
		if err != nil {
			var pe *export.ParamError
			if !errors.As(err, &pe) || pe.Msg == "" {
				t.Fatalf("%q: refusal %v (%T) is not a *ParamError with a message", raw, err, err)
			}
			if _, given := v[pe.Param]; !given {
				t.Fatalf("%q: ParamError names %q, which was not given", raw, pe.Param)
			}
			return
		}
		switch {
		case q.Format != export.CSV && q.Format != export.NDJSON:
			t.Fatalf("%q: format %q", raw, q.Format)
		case q.Method != "" && !slices.Contains(ledger.ClientMethods, q.Method):
			t.Fatalf("%q: method %q", raw, q.Method)
		case q.Category != "" && !slices.Contains(cats, q.Category):
			t.Fatalf("%q: category %q", raw, q.Category)
		case q.Country != "" && q.Country != export.Unknown && !validCountry(q.Country):
			t.Fatalf("%q: country %q", raw, q.Country)
		case !q.From.IsZero() && q.From.Before(time.Unix(0, 0)):
			t.Fatalf("%q: from %v before 1970", raw, q.From)
		case q.Delimiter != export.Comma && (q.Delimiter != export.Semicolon || q.Format != export.CSV):
			t.Fatalf("%q: delimiter %q with format %s", raw, q.Delimiter, q.Format)
		case q.From.After(q.To):
			t.Fatalf("%q: from %v after to %v", raw, q.From, q.To)
		case q.To.Location() != time.UTC || q.From.Location() != time.UTC:
			t.Fatalf("%q: times not in UTC: %v %v", raw, q.From, q.To)
		case q.To.Nanosecond()%int(time.Millisecond) != 0 || q.From.Nanosecond()%int(time.Millisecond) != 0:
			t.Fatalf("%q: times not whole milliseconds: %v %v", raw, q.From, q.To)
		}
		back, err := export.ParseQuery(site, values(q), now)
		if err != nil {
			t.Fatalf("%q: accepted as %+v, written back as %q: %v", raw, q, values(q).Encode(), err)
		}
		if !equalQuery(back, q) {
			t.Fatalf("%q: round trip\n got %+v\nwant %+v", raw, back, q)
		}
	})
}

// values writes q back as the parameters that ask for it.
func values(q export.Query) url.Values {
	v := url.Values{"to": {q.To.Format(time.RFC3339Nano)}, "format": {q.Format}}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339Nano))
	}
	if q.Method != "" {
		v.Set("method", q.Method)
	}
	if q.Category != "" {
		state := ":no"
		if q.Granted {
			state = ":yes"
		}
		v.Set("category", q.Category+state)
	}
	if q.Country != "" {
		v.Set("country", q.Country)
	}
	if q.Format == export.CSV {
		v.Set("delimiter", string(rune(q.Delimiter)))
	}
	return v
}

func equalQuery(a, b export.Query) bool {
	return a.From.Equal(b.From) && a.To.Equal(b.To) && a.Format == b.Format && a.Method == b.Method &&
		a.Category == b.Category && (a.Category == "" || a.Granted == b.Granted) && a.Country == b.Country &&
		a.Delimiter == b.Delimiter
}

func validCountry(c string) bool {
	return len(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z'
}
