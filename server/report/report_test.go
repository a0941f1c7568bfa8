package report

import (
	"net/url"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name, query          string
		from, to, gran, perr string
	}{
		{"defaults: the last 30 days", "", "2026-10-25", "2026-11-23", "day", ""},
		{"range", "from=2026-01-01&to=2026-03-31&granularity=month", "2026-01-01", "2026-03-31", "month", ""},
		{"only to", "to=2026-02-28", "2026-01-30", "2026-02-28", "day", ""},
		{"one day", "from=2026-11-01&to=2026-11-01&granularity=week", "2026-11-01", "2026-11-01", "week", ""},
		{"bad from", "from=1.11.2026", "", "", "", "from"},
		{"bad to", "to=2026-13-01", "", "", "", "to"},
		{"time instead of date", "from=2026-11-01T00:00:00Z", "", "", "", "from"},
		{"from after to", "from=2026-11-02&to=2026-11-01", "", "", "", "from"},
		{"too long", "from=2010-01-01&to=2026-11-01", "", "", "", "from"},
		{"bad granularity", "granularity=year", "", "", "", "granularity"},
		{"unknown parameter", "site=other", "", "", "", "site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			q, err := ParseQuery(v, now)
			if tt.perr != "" {
				pe, ok := err.(*ParamError)
				if !ok || pe.Param != tt.perr || pe.Msg == "" {
					t.Fatalf("err %v, want a ParamError for %s", err, tt.perr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := q.From.Format("2006-01-02") + " " + q.To.Format("2006-01-02") + " " + q.Granularity; got != tt.from+" "+tt.to+" "+tt.gran {
				t.Errorf("got %s", got)
			}
		})
	}
}

// ParseRange takes from and to as ParseQuery does, and no granularity.
func TestParseRange(t *testing.T) {
	v, _ := url.ParseQuery("from=2026-11-01&to=2026-11-10")
	if q, err := ParseRange(v, now); err != nil || q.From.Format("2006-01-02") != "2026-11-01" || Days(q) != 10 {
		t.Errorf("ParseRange = %+v, %v", q, err)
	}
	if q, err := ParseRange(url.Values{}, now); err != nil || q.To.Format("2006-01-02") != "2026-11-23" || Days(q) != 30 {
		t.Errorf("defaults = %+v, %v", q, err)
	}
	for query, param := range map[string]string{"granularity=week": "granularity", "from=x": "from", "site=a": "site"} {
		v, _ := url.ParseQuery(query)
		if _, err := ParseRange(v, now); err == nil || err.(*ParamError).Param != param {
			t.Errorf("%s: %v, want a ParamError for %s", query, err, param)
		}
	}
	v, _ = url.ParseQuery("granularity=week")
	if _, err := ParseRange(v, now); err == nil || err.Error() != "granularity: unknown parameter: expected from, to" {
		t.Errorf("granularity: %v", err)
	}
}

func TestBuild(t *testing.T) {
	v, _ := url.ParseQuery("from=2026-11-01&to=2026-11-10&granularity=week")
	q, err := ParseQuery(v, now)
	if err != nil {
		t.Fatal(err)
	}
	days := make([]map[string]string, Days(q)) // 1.11. (Sunday) … 10.11. (Tuesday)
	days[0] = map[string]string{"decisions": "2", "method:accept_all": "1", "method:reject_all": "1",
		"cat:analytics:yes": "1", "cat:analytics:no": "1", "country:FI": "2", "mode:opt-in": "2"}
	days[1] = map[string]string{"decisions": "3", "method:custom": "2", "method:withdraw": "1",
		"cat:analytics:yes": "1", "cat:analytics:no": "2", "cat:marketing:no": "3", "country:SE": "1", "country:unknown": "2", "mode:unknown": "3"}
	days[9] = map[string]string{"decisions": "1", "method:gpc": "1", "cat:marketing:no": "1", "country:US": "1", "mode:opt-out": "1", "junk": "x"}
	r := Build("demo", q, []string{"analytics", "marketing"}, days)

	if len(r.Periods) != 3 {
		t.Fatalf("periods %+v", r.Periods)
	}
	wantSpans := [][2]string{{"2026-11-01", "2026-11-01"}, {"2026-11-02", "2026-11-08"}, {"2026-11-09", "2026-11-10"}}
	for i, w := range wantSpans {
		if r.Periods[i].Start != w[0] || r.Periods[i].End != w[1] {
			t.Errorf("period %d: %s…%s, want %s…%s", i, r.Periods[i].Start, r.Periods[i].End, w[0], w[1])
		}
	}
	tot := r.Totals
	if tot.Decisions != 6 || tot.AcceptAll != 1 || tot.RejectAll != 1 || tot.Custom != 2 || tot.Withdrawals != 1 || tot.GPC != 1 {
		t.Errorf("totals %+v", tot)
	}
	if a := tot.OptIn["analytics"]; a.Yes != 2 || a.No != 3 || a.Rate == nil || *a.Rate != 0.4 {
		t.Errorf("analytics opt-in %+v", a)
	}
	if m := tot.OptIn["marketing"]; m.Yes != 0 || m.No != 4 || m.Rate == nil || *m.Rate != 0 {
		t.Errorf("marketing opt-in %+v", m)
	}
	if p := r.Periods[2].OptIn["analytics"]; p.Rate != nil {
		t.Errorf("a period without analytics decisions must have rate null, got %v", *p.Rate)
	}
	if tot.Countries["FI"] != 2 || tot.Countries["unknown"] != 2 || tot.Countries["US"] != 1 || tot.Modes["opt-in"] != 2 || tot.Modes["unknown"] != 3 {
		t.Errorf("countries %v modes %v", tot.Countries, tot.Modes)
	}

	v, _ = url.ParseQuery("from=2026-01-30&to=2026-03-02&granularity=month")
	q, _ = ParseQuery(v, now)
	r = Build("demo", q, nil, make([]map[string]string, Days(q)))
	if len(r.Periods) != 3 || r.Periods[0].Start != "2026-01-30" || r.Periods[1].Start != "2026-02-01" || r.Periods[1].End != "2026-02-28" || r.Periods[2].End != "2026-03-02" {
		t.Errorf("months %+v", r.Periods)
	}
}
