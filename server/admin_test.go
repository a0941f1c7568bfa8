package server_test

import (
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/auth"
	"github.com/consentd/consentd/server/servertest"
)

// adminEnv starts the demo site with one admin token, and a second site
// with its own (and the sites of o.Sites, if any); it returns both tokens.
func adminEnv(t *testing.T, o servertest.Options) (env *servertest.Env, demoToken, otherToken string) {
	t.Helper()
	demoToken, _ = auth.New()
	otherToken, _ = auth.New()
	more := o.Sites
	o.Sites = func(u string) map[string]string {
		sites := map[string]string{
			"demo.yaml":  servertest.DemoSite(t, u) + "\nadminTokens:\n  - name: dpo\n    hash: " + auth.Hash(demoToken) + "\n",
			"other.yaml": servertest.PlainSite("other", "Other Oy", "ads") + "adminTokens:\n  - name: ops\n    hash: " + auth.Hash(otherToken) + "\n",
		}
		if more != nil {
			maps.Copy(sites, more(u))
		}
		return sites
	}
	return servertest.Start(t, o), demoToken, otherToken
}

func adminGet(t *testing.T, url, token string) response {
	t.Helper()
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return get(t, url, h)
}

// adminRoutes are every admin route, with a path that exists for the
// demo site; the auth matrix runs over all of them.
var adminRoutes = []string{
	"/v1/sites/demo/consents/3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f",
	"/v1/sites/demo/consents",
	"/v1/sites/demo/stats",
	"/v1/sites/demo/checkpoints",
	"/v1/sites/demo/scans",
}

// admittedStatus is what a good token gets from route on an empty store:
// 404 for a consent ID look-up, 200 otherwise.
func admittedStatus(route string) int {
	if strings.Contains(route, "/consents/") {
		return 404
	}
	return 200
}

func TestAdminAuthMatrix(t *testing.T) {
	var log servertest.LogBuffer
	// Four failed sign-ins per route: the failure limit must not cut in.
	limit := func(c *config.Config) { c.AdminFailLimit = 4*len(adminRoutes) + 1 }
	env, demoToken, otherToken := adminEnv(t, servertest.Options{Log: &log, Config: limit})
	for _, route := range adminRoutes {
		for _, tt := range []struct {
			name   string
			token  string
			status int
		}{
			{"no token", "", 401},
			{"bad token", "cdt_" + strings.Repeat("x", 43), 401},
			{"the hash as token", auth.Hash(demoToken), 401},
			{"other site's token", otherToken, 403},
			{"good token", demoToken, admittedStatus(route)}, // authorised
		} {
			t.Run(route+" "+tt.name, func(t *testing.T) {
				r := adminGet(t, env.URL+route, tt.token)
				if r.Status != tt.status {
					t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Raw)
				}
				if tt.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Bearer realm="consentd"`) {
					t.Errorf("401 without WWW-Authenticate: %v", r.Header)
				}
				if tt.token != demoToken && r.Body["field"] != "Authorization" {
					t.Errorf("body %s", r.Raw)
				}
				if r.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
				}
			})
		}
	}
	if strings.Contains(log.String(), demoToken) || strings.Contains(log.String(), otherToken) {
		t.Fatal("a token appears in the log")
	}
	if !strings.Contains(log.String(), `msg="admin request" site=demo token=dpo`) {
		t.Error("admitted admin requests are not logged with the token's name")
	}
}

func TestAdminFailedSignInsAreLimited(t *testing.T) {
	env, demoToken, _ := adminEnv(t, servertest.Options{Config: func(c *config.Config) { c.AdminFailLimit = 3 }})
	url := env.URL + adminRoutes[0]
	for i, tok := range []string{"cdt_wrong", "", demoToken, demoToken, demoToken, demoToken, "cdt_wrong2"} {
		want := 401
		if tok == demoToken {
			want = 404 // authorised: neither the sign-in nor the 404 counts as a failure
		}
		if r := adminGet(t, url, tok); r.Status != want {
			t.Fatalf("request %d: %d, want %d", i+1, r.Status, want)
		}
	}
	// 3 failures a minute: one is given back every 20 s.
	r := adminGet(t, url, "cdt_wrong")
	if after, err := strconv.Atoi(r.Header.Get("Retry-After")); r.Status != http.StatusTooManyRequests || err != nil || after < 1 || after > 20 {
		t.Fatalf("4th failure: %d, Retry-After %q; want 429 within 20 s", r.Status, r.Header.Get("Retry-After"))
	}
	if r := adminGet(t, url, demoToken); r.Status != http.StatusTooManyRequests {
		t.Errorf("locked-out address with a good token: %d, want 429", r.Status)
	}
}

// TestReloadRefusesSharedTokenHash: a reload whose site files give one
// token hash to two sites fails as a whole, naming both files, and the
// running sites and tokens stay as they were.
func TestReloadRefusesSharedTokenHash(t *testing.T) {
	env, demoToken, otherToken := adminEnv(t, servertest.Options{})
	file := filepath.Join(env.SitesDir, "other.yaml")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// other.yaml ends with its token list: add demo's token to it.
	shared := string(src) + "  - name: shared\n    hash: " + auth.Hash(demoToken) + "\n"
	if err := os.WriteFile(file, []byte(shared), 0o644); err != nil {
		t.Fatal(err)
	}
	err = env.Server.Reload()
	if err == nil || !strings.Contains(err.Error(), "other.yaml: adminTokens[1].hash: the same token hash is in ") ||
		!strings.Contains(err.Error(), "demo.yaml (adminTokens[0].hash): a token in a site file grants that site only") {
		t.Fatalf("Reload error = %v", err)
	}
	for _, tt := range []struct {
		name, route, token string
		status             int
	}{
		{"demo's token on demo", "/v1/sites/demo/stats", demoToken, 200},
		{"demo's token on other", "/v1/sites/other/stats", demoToken, 403},
		{"other's token on other", "/v1/sites/other/stats", otherToken, 200},
	} {
		if r := adminGet(t, env.URL+tt.route, tt.token); r.Status != tt.status {
			t.Errorf("%s after the refused reload: %d, want %d: %s", tt.name, r.Status, tt.status, r.Raw)
		}
	}
	if n := servertest.Metric(t, env.URL+"/metrics", "consentd_config_reloads_total", map[string]string{"result": "error"}); n != 1 {
		t.Errorf("consentd_config_reloads_total{result=\"error\"} = %v: the failed reload is not counted", n)
	}
}

func TestConsentHistory(t *testing.T) {
	env, token, _ := adminEnv(t, servertest.Options{})
	nv := noticeVersion(t, env)
	const cid = "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f"
	for _, m := range []map[string]any{
		{"method": "accept_all", "choices": map[string]any{"necessary": true, "analytics": true, "marketing": true}},
		{"method": "custom", "choices": map[string]any{"necessary": true, "analytics": true, "marketing": false}},
		{"method": "withdraw", "choices": map[string]any{"necessary": true, "analytics": false, "marketing": false}},
	} {
		body := edit(nv, func(b map[string]any) { b["method"], b["choices"] = m["method"], m["choices"] })()
		if r := post(t, env, body, nil); r.Status != 201 {
			t.Fatalf("post: %d %s", r.Status, r.Raw)
		}
	}
	r := adminGet(t, env.URL+"/v1/sites/demo/consents/"+cid, token)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	recs, _ := r.Body["records"].([]any)
	if len(recs) != 3 || r.Body["consent_id"] != cid {
		t.Fatalf("records: %s", r.Raw)
	}
	var methods []string
	for _, x := range recs {
		rec := x.(map[string]any)
		methods = append(methods, rec["method"].(string))
		if rec["notice_version"] != nv || rec["consent_id"] != cid {
			t.Errorf("record %v", rec)
		}
	}
	if strings.Join(methods, ",") != "accept_all,custom,withdraw" {
		t.Errorf("order %v, want oldest first", methods)
	}
	if n, _ := r.Body["notices"].(map[string]any); n[nv] != "/n/demo/v/"+nv {
		t.Errorf("notices %v", r.Body["notices"])
	}
	if r := adminGet(t, env.URL+"/v1/sites/demo/consents/NOT-A-UUID", token); r.Status != 400 || r.Body["field"] != "consentId" {
		t.Errorf("bad id: %d %s", r.Status, r.Raw)
	}
}
