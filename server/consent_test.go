package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

const testOrigin = "https://www.oppimo.fi"

// noticeVersion returns the demo site's current notice version.
func noticeVersion(t *testing.T, env *servertest.Env) string {
	return env.NoticeVersion(t, "demo", "fi")
}

func validBody(nv string) map[string]any {
	return map[string]any{
		"site":          "demo",
		"consentId":     "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f",
		"choices":       map[string]any{"necessary": true, "analytics": true, "marketing": false},
		"method":        "custom",
		"noticeVersion": nv,
		"language":      "fi",
		"url":           "https://www.oppimo.fi/kurssit?email=a@b.fi#top",
	}
}

type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func post(t *testing.T, env *servertest.Env, body string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.URL+"/v1/consent", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", testOrigin)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit returns the valid body with one change applied.
func edit(nv string, f func(m map[string]any)) func() string {
	return func() string {
		m := validBody(nv)
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
}

func TestConsentRejectsBadInput(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	nv := noticeVersion(t, env)
	choices := func(c map[string]any) func(m map[string]any) {
		return func(m map[string]any) { m["choices"] = c }
	}
	tests := []struct {
		name       string
		body       func() string
		header     map[string]string
		wantStatus int
		wantField  string
	}{
		{"wrong content type", edit(nv, func(map[string]any) {}), map[string]string{"Content-Type": "text/plain"}, 415, "Content-Type"},
		{"no content type", edit(nv, func(map[string]any) {}), map[string]string{"Content-Type": ""}, 415, "Content-Type"},
		{"body over 8 KiB", edit(nv, func(m map[string]any) { m["url"] = "https://x.fi/" + strings.Repeat("a", 9000) }), nil, 413, "body"},
		{"not JSON", func() string { return "site=demo" }, nil, 400, "body"},
		{"empty body", func() string { return "" }, nil, 400, "body"},
		{"JSON array", func() string { return "[]" }, nil, 400, "body"},
		{"trailing data", func() string { return edit(nv, func(map[string]any) {})() + "{}" }, nil, 400, "body"},
		{"invalid UTF-8", func() string { return `{"site":"demo","url":"https://x.fi/` + "\xff" + `"}` }, nil, 400, "body"},
		{"unknown field", edit(nv, func(m map[string]any) { m["extra"] = 1 }), nil, 400, "extra"},
		{"site not a string", edit(nv, func(m map[string]any) { m["site"] = 7 }), nil, 400, "site"},
		{"no site", edit(nv, func(m map[string]any) { delete(m, "site") }), nil, 400, "site"},
		{"unknown site", edit(nv, func(m map[string]any) { m["site"] = "nope" }), nil, 400, "site"},
		{"no Origin", edit(nv, func(map[string]any) {}), map[string]string{"Origin": ""}, 403, "Origin"},
		{"foreign Origin", edit(nv, func(map[string]any) {}), map[string]string{"Origin": "https://evil.example"}, 403, "Origin"},
		{"bad consentId", edit(nv, func(m map[string]any) { m["consentId"] = "abc" }), nil, 400, "consentId"},
		{"uppercase consentId", edit(nv, func(m map[string]any) { m["consentId"] = "3F2B6C1E-8D4A-4B7E-9C0D-2A1B3C4D5E6F" }), nil, 400, "consentId"},
		{"unknown method", edit(nv, func(m map[string]any) { m["method"] = "click" }), nil, 400, "method"},
		{"no method", edit(nv, func(m map[string]any) { delete(m, "method") }), nil, 400, "method"},
		{"no choices", edit(nv, func(m map[string]any) { delete(m, "choices") }), nil, 400, "choices"},
		{"choices not an object", edit(nv, func(m map[string]any) { m["choices"] = []bool{true} }), nil, 400, "choices"},
		{"unknown category", edit(nv, choices(map[string]any{"necessary": true, "analytics": true, "marketing": false, "ads": true})), nil, 400, "choices.ads"},
		{"choice not a bool", edit(nv, choices(map[string]any{"necessary": true, "analytics": "yes", "marketing": false})), nil, 400, "choices.analytics"},
		{"required category false", edit(nv, choices(map[string]any{"necessary": false, "analytics": true, "marketing": false})), nil, 400, "choices.necessary"},
		{"category missing", edit(nv, choices(map[string]any{"necessary": true, "analytics": true})), nil, 400, "choices.marketing"},
		{"accept_all with a false", edit(nv, func(m map[string]any) { m["method"] = "accept_all" }), nil, 400, "method"},
		{"reject_all with a true", edit(nv, func(m map[string]any) { m["method"] = "reject_all" }), nil, 400, "method"},
		{"gpc with a sale or sharing category granted", edit(nv, func(m map[string]any) {
			m["method"], m["choices"] = "gpc", map[string]any{"necessary": true, "analytics": true, "marketing": true}
		}), map[string]string{"Sec-GPC": "1"}, 400, "method"},
		{"gpc in the opt-in mode", edit(nv, func(m map[string]any) { m["method"] = "gpc" }), map[string]string{"Sec-GPC": "1"}, 400, "method"},
		{"close without a close button", edit(nv, func(m map[string]any) {
			m["method"], m["choices"] = "close", map[string]any{"necessary": true, "analytics": false, "marketing": false}
		}), nil, 400, "method"},
		{"bad notice version", edit(nv, func(m map[string]any) { m["noticeVersion"] = "v1" }), nil, 400, "noticeVersion"},
		{"no notice version", edit(nv, func(m map[string]any) { delete(m, "noticeVersion") }), nil, 400, "noticeVersion"},
		{"language not of site", edit(nv, func(m map[string]any) { m["language"] = "de" }), nil, 400, "language"},
		{"relative url", edit(nv, func(m map[string]any) { m["url"] = "/page" }), nil, 400, "url"},
		{"javascript url", edit(nv, func(m map[string]any) { m["url"] = "javascript:alert(1)" }), nil, 400, "url"},
		{"bad idempotency key", edit(nv, func(map[string]any) {}), map[string]string{"Idempotency-Key": "a b"}, 400, "Idempotency-Key"},
		{"lone surrogate in url", func() string {
			return strings.Replace(edit(nv, func(m map[string]any) { m["url"] = "https://x.fi/LONE" })(), "LONE", `\ud800`, 1)
		}, nil, 400, "url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, env, tt.body(), tt.header)
			if r.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", r.Status, tt.wantStatus, r.Raw)
			}
			if r.Body["field"] != tt.wantField {
				t.Errorf("field %v, want %q; body %s", r.Body["field"], tt.wantField, r.Raw)
			}
			if msg, _ := r.Body["error"].(string); msg == "" {
				t.Errorf("no error message: %s", r.Raw)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	if n := env.Records(t, "demo"); n != 0 {
		t.Fatalf("bad requests wrote %d records", n)
	}
}

func TestConsentStoresRecord(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		p, _ := config.ParsePrefixes("127.0.0.1")
		c.TrustedProxies = p
	}})
	nv := noticeVersion(t, env)
	r := post(t, env, jsonOf(t, validBody(nv)), map[string]string{
		"X-Forwarded-For": "203.0.113.9, 198.51.100.23",
		"User-Agent":      "Mozilla/5.0 (test)",
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	if r.Header.Get("Access-Control-Allow-Origin") != testOrigin || r.Header.Get("Access-Control-Expose-Headers") != "Retry-After" {
		t.Errorf("CORS headers %v", r.Header)
	}
	for _, k := range []string{"recordId", "consentId", "time", "noticeVersion"} {
		if s, _ := r.Body[k].(string); s == "" {
			t.Errorf("receipt lacks %s: %s", k, r.Raw)
		}
	}
	ctx := context.Background()
	entries := env.Redis.XRange(ctx, ledger.LogKey("demo"), "-", "+").Val()
	if len(entries) != 1 {
		t.Fatalf("%d entries", len(entries))
	}
	e, err := ledger.DecodeEntry(entries[0].Values)
	if err != nil {
		t.Fatal(err)
	}
	want := ledger.Stored{
		RecordID:      r.Body["recordId"].(string),
		ConsentID:     "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f",
		Site:          "demo",
		Method:        "custom",
		Choices:       map[string]bool{"analytics": true, "marketing": false, "necessary": true},
		NoticeVersion: nv,
		PolicyVersion: "2026-11-01",
		Language:      "fi",
		URL:           "https://www.oppimo.fi/kurssit", // query and fragment dropped
		UserAgent:     "Mozilla/5.0 (test)",
		IP:            "198.51.100.0", // rightmost untrusted hop, truncated to /24
		Mode:          "opt-in",       // no geo source: every visitor gets the safe default
		Time:          r.Body["time"].(string),
		V:             2,
		CV:            1,
		GPC:           new(bool),
		Seq:           1,
		Prev:          proof.Genesis,
		Hash:          e.Hash,
	}
	if h, claimed, _, err := proof.RecordHash([]byte(entries[0].Values["record"].(string))); err != nil || h.String() != claimed || r.Body["hash"] != claimed {
		t.Errorf("record hash %s, stored %s, answered %v (%v)", h, claimed, r.Body["hash"], err)
	}
	if jsonOf(t, e) != jsonOf(t, want) {
		t.Errorf("stored\n %s\nwant\n %s", jsonOf(t, e), jsonOf(t, want))
	}
	if raw := jsonOf(t, entries[0].Values); strings.Contains(raw, "198.51.100.23") || strings.Contains(raw, "203.0.113") {
		t.Error("a raw IP was stored")
	}
}

func TestConsentGeneratesConsentIDAndIgnoresSpoofedXFF(t *testing.T) {
	env := servertest.Start(t, servertest.Options{}) // no trusted proxies
	m := validBody(noticeVersion(t, env))
	delete(m, "consentId")
	m["method"] = "accept_all"
	m["choices"] = map[string]any{"necessary": true, "analytics": true, "marketing": true}
	r := post(t, env, jsonOf(t, m), map[string]string{"X-Forwarded-For": "198.51.100.23"})
	if r.Status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	id, _ := r.Body["consentId"].(string)
	if len(id) != 36 {
		t.Fatalf("generated consent id %q", id)
	}
	e, err := ledger.DecodeEntry(env.Redis.XRange(context.Background(), ledger.LogKey("demo"), "-", "+").Val()[0].Values)
	if err != nil {
		t.Fatal(err)
	}
	if e.ConsentID != id || e.IP != "127.0.0.0" {
		t.Fatalf("consent_id %v ip %v (X-Forwarded-For from an untrusted peer must be ignored)", e.ConsentID, e.IP)
	}
}

func TestConsentIdempotencyKey(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	body := jsonOf(t, validBody(noticeVersion(t, env)))
	h := map[string]string{"Idempotency-Key": "0b6d2c1a-retry-test"}
	first := post(t, env, body, h)
	second := post(t, env, body, h)
	if first.Status != http.StatusCreated || second.Status != http.StatusOK {
		t.Fatalf("statuses %d, %d; want 201, 200", first.Status, second.Status)
	}
	if first.Body["recordId"] != second.Body["recordId"] || second.Body["duplicate"] != true {
		t.Fatalf("retry answered %s, first %s", second.Raw, first.Raw)
	}
	// The same key with another decision: refused, nothing stored, and
	// the first decision's retry is still answered.
	other := validBody(noticeVersion(t, env))
	other["method"], other["choices"] = "reject_all", map[string]any{"necessary": true, "analytics": false, "marketing": false}
	if r := post(t, env, jsonOf(t, other), h); r.Status != http.StatusUnprocessableEntity || r.Body["field"] != "Idempotency-Key" {
		t.Fatalf("key reused for another decision: %d %s; want 422 naming Idempotency-Key", r.Status, r.Raw)
	}
	if third := post(t, env, body, h); third.Status != http.StatusOK || third.Body["recordId"] != first.Body["recordId"] {
		t.Fatalf("retry after the refusal: %d %s", third.Status, third.Raw)
	}
	if n := env.Records(t, "demo"); n != 1 {
		t.Fatalf("XLEN %d, want 1", n)
	}
}

func TestCORSPreflight(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	tests := []struct {
		name, origin, method, headers string
		want                          int
	}{
		{"allowed", testOrigin, "POST", "content-type, idempotency-key", 204},
		{"foreign origin", "https://evil.example", "POST", "content-type", 403},
		{"no origin", "", "POST", "content-type", 403},
		{"wrong method", testOrigin, "DELETE", "", 405},
		{"extra header", testOrigin, "POST", "content-type, x-evil", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodOptions, env.URL+"/v1/consent", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			req.Header.Set("Access-Control-Request-Method", tt.method)
			if tt.headers != "" {
				req.Header.Set("Access-Control-Request-Headers", tt.headers)
			}
			r := do(t, req)
			if r.Status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.want, r.Raw)
			}
			if tt.want == 204 {
				if r.Header.Get("Access-Control-Allow-Origin") != tt.origin || !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") ||
					r.Header.Get("Access-Control-Allow-Methods") != "POST" || !strings.Contains(r.Header.Get("Vary"), "Origin") {
					t.Errorf("preflight headers %v", r.Header)
				}
			} else if r.Header.Get("Access-Control-Allow-Origin") == "https://evil.example" {
				t.Error("foreign origin was allowed")
			}
		})
	}
}

func TestConsentRedisDownIs503(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	body := jsonOf(t, validBody(noticeVersion(t, env)))
	if r := post(t, env, body, nil); r.Status != 201 {
		t.Fatalf("status %d", r.Status)
	}
	_ = env.RedisSrv.Kill()
	r := post(t, env, body, nil)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || r.Body["error"] == nil {
		t.Fatalf("status %d Retry-After %q body %s", r.Status, r.Header.Get("Retry-After"), r.Raw)
	}
	ready := do(t, mustReq(t, http.MethodGet, env.URL+"/readyz"))
	if ready.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz %d with Redis down", ready.Status)
	}
	if h := do(t, mustReq(t, http.MethodGet, env.URL+"/healthz")); h.Status != 200 {
		t.Fatalf("healthz %d", h.Status)
	}
}

func TestRateLimit(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Config: func(c *config.Config) { c.RateLimit = 3 }})
	body := jsonOf(t, validBody(noticeVersion(t, env)))
	for i := 0; i < 3; i++ {
		if r := post(t, env, body, nil); r.Status != 201 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Raw)
		}
	}
	r := post(t, env, body, nil)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || r.Body["error"] == nil {
		t.Fatalf("4th request: %d %v %s", r.Status, r.Header, r.Raw)
	}
}

func mustReq(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestConsentReadsEveryForwardedForLine(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		p, _ := config.ParsePrefixes("127.0.0.1, 10.0.0.0/8")
		c.TrustedProxies = p
	}})
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/consent", strings.NewReader(jsonOf(t, validBody(noticeVersion(t, env)))))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", testOrigin)
	req.Header.Add("X-Forwarded-For", "203.0.113.50")
	req.Header.Add("X-Forwarded-For", "10.1.2.3") // a second proxy added its own line
	if r := do(t, req); r.Status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	e, err := ledger.DecodeEntry(env.Redis.XRange(context.Background(), ledger.LogKey("demo"), "-", "+").Val()[0].Values)
	if err != nil {
		t.Fatal(err)
	}
	if e.IP != "203.0.113.0" {
		t.Fatalf("ip %q, want 203.0.113.0 (client behind two trusted proxies)", e.IP)
	}
}

// TestConsentRefusalMethods: a site with a close button (closeRejects)
// records close, and with gpcInOptIn: reject records gpc in the opt-in
// mode; each only as a refusal of every optional category.
func TestConsentRefusalMethods(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Sites: func(base string) map[string]string {
		site := servertest.DemoSite(t, base)
		site = strings.Replace(site, "banner:\n  layout: bar\n", "banner:\n  layout: bar\n  closeRejects: true\n", 1)
		return map[string]string{"demo.yaml": site + "gpcInOptIn: reject\n"}
	}})
	nv := noticeVersion(t, env)
	refused := map[string]any{"necessary": true, "analytics": false, "marketing": false}
	granted := map[string]any{"necessary": true, "analytics": true, "marketing": false}
	for _, tt := range []struct {
		method  string
		choices map[string]any
		header  map[string]string
		status  int
	}{
		{"close", refused, nil, 201},
		{"close", granted, nil, 400},
		{"gpc", refused, map[string]string{"Sec-GPC": "1"}, 201},
		{"gpc", granted, map[string]string{"Sec-GPC": "1"}, 400},
	} {
		body := validBody(nv)
		body["method"], body["choices"], body["consentId"] = tt.method, tt.choices, nil
		delete(body, "consentId")
		r := post(t, env, jsonOf(t, body), tt.header)
		if r.Status != tt.status || (tt.status == 400 && r.Body["field"] != "method") {
			t.Errorf("%s %v: status %d, want %d: %s", tt.method, tt.choices, r.Status, tt.status, r.Raw)
		}
	}
	recs := servertest.Records(t, env.Redis, "demo")
	if recs != 2 {
		t.Errorf("%d records, want 2", recs)
	}
}
