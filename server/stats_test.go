package server_test

import (
	"testing"
	"time"

	"github.com/consentd/consentd/server/servertest"
)

func TestStatsMatchRecords(t *testing.T) {
	env, token, otherToken := adminEnv(t, servertest.Options{})
	nv := noticeVersion(t, env)
	decisions := []struct {
		method               string
		analytics, marketing bool
	}{
		{"accept_all", true, true},
		{"accept_all", true, true},
		{"reject_all", false, false},
		{"custom", true, false},
		{"withdraw", false, false},
	}
	for _, d := range decisions {
		body := edit(nv, func(b map[string]any) {
			delete(b, "consentId")
			b["method"] = d.method
			b["choices"] = map[string]any{"necessary": true, "analytics": d.analytics, "marketing": d.marketing}
		})()
		if r := post(t, env, body, nil); r.Status != 201 {
			t.Fatalf("post: %d %s", r.Status, r.Raw)
		}
	}
	// Yesterday to tomorrow, so a test running across midnight (UTC) holds.
	day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format("2006-01-02") }
	r := adminGet(t, env.URL+"/v1/sites/demo/stats?from="+day(-1)+"&to="+day(1), token)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	tot := r.Body["totals"].(map[string]any)
	want := map[string]float64{"decisions": 5, "acceptAll": 2, "rejectAll": 1, "custom": 1, "withdrawals": 1, "gpc": 0}
	for k, v := range want {
		if tot[k] != v {
			t.Errorf("totals.%s = %v, want %v", k, tot[k], v)
		}
	}
	opt := tot["optIn"].(map[string]any)
	a := opt["analytics"].(map[string]any)
	m := opt["marketing"].(map[string]any)
	if a["yes"] != 3.0 || a["no"] != 2.0 || a["rate"] != 0.6 || m["yes"] != 2.0 || m["rate"] != 0.4 {
		t.Errorf("opt-in %v", opt)
	}
	if _, ok := opt["necessary"]; ok {
		t.Error("a required category has no opt-in rate")
	}
	if c := tot["countries"].(map[string]any); c["unknown"] != 5.0 {
		t.Errorf("countries %v", c)
	}
	if p := r.Body["periods"].([]any); len(p) != 3 {
		t.Errorf("periods %v", p)
	}

	for _, tt := range []struct{ query, field string }{
		{"from=yesterday", "from"}, {"granularity=hour", "granularity"}, {"from=2026-11-02&to=2026-11-01", "from"}, {"x=1", "x"},
	} {
		if r := adminGet(t, env.URL+"/v1/sites/demo/stats?"+tt.query, token); r.Status != 400 || r.Body["field"] != tt.field {
			t.Errorf("%s: %d %s", tt.query, r.Status, r.Raw)
		}
	}
	for tok, status := range map[string]int{"": 401, "cdt_bad": 401, otherToken: 403} {
		if r := adminGet(t, env.URL+"/v1/sites/demo/stats", tok); r.Status != status {
			t.Errorf("token %q: %d, want %d", tok, r.Status, status)
		}
	}
}
