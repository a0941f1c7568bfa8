package server_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/consentd/consentd/server/servertest"
)

// overview is GET /v1/sites.
type overview struct {
	Token    string `json:"token"`
	From, To string
	Sites    []struct {
		Site, Name string
		Categories []string
		Totals     struct {
			Decisions, AcceptAll, RejectAll int64
			OptIn                           map[string]struct {
				Yes, No int64
				Rate    *float64
			}
		}
	}
}

// TestOverview: GET /v1/sites lists the sites a token grants, in the
// order declared, each with the figures /v1/sites/{site}/stats gives
// for the same period; 401 without a valid token.
func TestOverview(t *testing.T) {
	var log servertest.LogBuffer
	env, demoToken, _, anna := controllersEnv(t, servertest.Options{Log: &log})
	nv := noticeVersion(t, env)
	for _, choice := range []bool{true, true, false} {
		body := edit(nv, func(b map[string]any) {
			delete(b, "consentId")
			b["method"] = "custom"
			b["choices"] = map[string]any{"necessary": true, "analytics": choice, "marketing": false}
		})()
		if r := post(t, env, body, nil); r.Status != 201 {
			t.Fatalf("post: %d %s", r.Status, r.Raw)
		}
	}
	day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format("2006-01-02") }
	period := "?from=" + day(-1) + "&to=" + day(1)

	r := adminGet(t, env.URL+"/v1/sites"+period, anna)
	var got overview
	if r.Status != 200 || json.Unmarshal([]byte(r.Raw), &got) != nil {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if got.Token != "anna" || got.From != day(-1) || got.To != day(1) || len(got.Sites) != 2 ||
		got.Sites[0].Site != "shop" || got.Sites[0].Name != "Shop Oy" || got.Sites[1].Site != "demo" {
		t.Fatalf("overview %s", r.Raw)
	}
	shop, demo := got.Sites[0], got.Sites[1]
	if shop.Totals.Decisions != 0 || strings.Join(shop.Categories, ",") != "ads" || shop.Totals.OptIn["ads"].Rate != nil {
		t.Errorf("shop %+v", shop)
	}
	a := demo.Totals.OptIn["analytics"]
	if demo.Totals.Decisions != 3 || strings.Join(demo.Categories, ",") != "analytics,marketing" || a.Yes != 2 || a.No != 1 || a.Rate == nil {
		t.Errorf("demo %+v", demo)
	}
	// The same figures as the site's own report.
	stats := adminGet(t, env.URL+"/v1/sites/demo/stats"+period, anna)
	if sites, _ := r.Body["sites"].([]any); len(sites) != 2 || !reflect.DeepEqual(sites[1].(map[string]any)["totals"], stats.Body["totals"]) {
		t.Errorf("overview of demo\n%v\nstats totals\n%v", sites, stats.Body["totals"])
	}

	// A site file's token: its one site.
	r = adminGet(t, env.URL+"/v1/sites", demoToken)
	if err := json.Unmarshal([]byte(r.Raw), &got); err != nil || r.Status != 200 || got.Token != "dpo" || len(got.Sites) != 1 || got.Sites[0].Site != "demo" {
		t.Errorf("demo's token: %d %s", r.Status, r.Raw)
	}
	for _, tt := range []struct {
		name, query, token string
		status             int
		field              string
	}{
		{"no token", "", "", 401, "Authorization"},
		{"invalid token", "", "cdt_nope", 401, "Authorization"},
		{"granularity", "?granularity=week", anna, 400, "granularity"},
		{"bad date", "?from=1.12.2026", anna, 400, "from"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := adminGet(t, env.URL+"/v1/sites"+tt.query, tt.token)
			if r.Status != tt.status || r.Body["field"] != tt.field {
				t.Fatalf("%d %s, want %d naming %s", r.Status, r.Raw, tt.status, tt.field)
			}
			if tt.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Bearer realm="consentd"`) {
				t.Errorf("401 without WWW-Authenticate: %v", r.Header)
			}
		})
	}
	if r := adminGet(t, env.URL+"/v1/sites", anna); r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	if strings.Contains(log.String(), anna) || !strings.Contains(log.String(), `msg="admin request" sites="[shop demo]" token=anna`) {
		t.Errorf("GET /v1/sites is not logged with the token's name and sites")
	}
}
