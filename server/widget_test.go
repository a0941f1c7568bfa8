package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/consentd/consentd/server/servertest"
)

func get(t *testing.T, url string, header map[string]string) response {
	t.Helper()
	req := mustReq(t, http.MethodGet, url)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// Let the test see the encoding the server chose.
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

func TestWidgetDelivery(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	plain := get(t, env.URL+"/w/demo.js", nil)
	if plain.Status != 200 || !strings.HasPrefix(plain.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET /w/demo.js: %d %s", plain.Status, plain.Header.Get("Content-Type"))
	}
	if cc := plain.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=300") || strings.Contains(cc, "immutable") {
		t.Errorf("plain URL Cache-Control %q", cc)
	}
	if !strings.Contains(plain.Raw, `"demo"`) || !strings.Contains(plain.Raw, "Välttämättömät") {
		t.Error("bundle does not inline the site config as UTF-8")
	}
	etag := plain.Header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{16}"$`).MatchString(etag) {
		t.Fatalf("ETag %q is not strong", etag)
	}
	for _, h := range []string{"Vary", "Content-Location", "Cross-Origin-Resource-Policy"} {
		if plain.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}

	br := get(t, env.URL+"/w/demo.js", map[string]string{"Accept-Encoding": "gzip, deflate, br"})
	if br.Header.Get("Content-Encoding") != "br" || br.Header.Get("ETag") == etag {
		t.Fatalf("br: encoding %q etag %q", br.Header.Get("Content-Encoding"), br.Header.Get("ETag"))
	}
	if b, err := io.ReadAll(brotli.NewReader(strings.NewReader(br.Raw))); err != nil || string(b) != plain.Raw {
		t.Fatalf("brotli body does not decode to the bundle: %v", err)
	}
	gz := get(t, env.URL+"/w/demo.js", map[string]string{"Accept-Encoding": "gzip;q=1, br;q=0"})
	if gz.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("br;q=0 must not get br: %q", gz.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(gz.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != plain.Raw {
		t.Fatal("gzip body does not decode to the bundle")
	}
	t.Logf("bundle: %d bytes raw, %d gzip, %d brotli", len(plain.Raw), len(gz.Raw), len(br.Raw))

	nm := get(t, env.URL+"/w/demo.js", map[string]string{"If-None-Match": etag})
	if nm.Status != http.StatusNotModified || nm.Raw != "" || nm.Header.Get("ETag") != etag {
		t.Fatalf("If-None-Match: %d %q", nm.Status, nm.Raw)
	}
	if r := get(t, env.URL+"/w/demo.js", map[string]string{"If-None-Match": `"0000000000000000"`}); r.Status != 200 {
		t.Fatalf("stale If-None-Match: %d", r.Status)
	}

	hashed := get(t, env.URL+plain.Header.Get("Content-Location"), nil)
	if hashed.Status != 200 || hashed.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || hashed.Raw != plain.Raw {
		t.Fatalf("hashed URL: %d %q", hashed.Status, hashed.Header.Get("Cache-Control"))
	}
	stale := get(t, env.URL+"/w/demo.0123456789abcdef.js", nil)
	if stale.Status != 200 || strings.Contains(stale.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("stale hash: %d %q (must serve the current widget, not immutable)", stale.Status, stale.Header.Get("Cache-Control"))
	}

	// The later script, by the name the bundle carries: its hash is its
	// ETag, and it is cached for a year; another hash gets the current
	// script for 5 minutes.
	name := regexp.MustCompile(`_core\.([0-9a-f]{16})\.js`).FindStringSubmatch(plain.Raw)
	if name == nil {
		t.Fatal("the bundle names no later script _core.HASH.js")
	}
	core := get(t, env.URL+"/w/"+name[0], nil)
	if core.Status != 200 || core.Header.Get("ETag") != `"`+name[1]+`"` || core.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		core.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(core.Raw, "__consentdCore") {
		t.Fatalf("later script %s: %d ETag %q Cache-Control %q", name[0], core.Status, core.Header.Get("ETag"), core.Header.Get("Cache-Control"))
	}
	old := get(t, env.URL+"/w/_core.0123456789abcdef.js", nil)
	if old.Status != 200 || old.Raw != core.Raw || !strings.Contains(old.Header.Get("Cache-Control"), "max-age=300") {
		t.Fatalf("later script of another build: %d %q", old.Status, old.Header.Get("Cache-Control"))
	}
}

func TestUnknownWidgetIsHarmlessJS(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	tests := []struct{ path, mustContain string }{
		{"/w/nosuch.js", `unknown site \"nosuch\"`},
		{"/w/nosuch.0123456789abcdef.js", `unknown site \"nosuch\"`},
		{"/w/%3Cscript%3E.js", "no such widget"},
		{"/w/demo.css", "no such widget"},
	}
	for _, tt := range tests {
		r := get(t, env.URL+tt.path, nil)
		if r.Status != 404 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("%s: %d %s", tt.path, r.Status, r.Header.Get("Content-Type"))
		}
		if !strings.HasPrefix(r.Raw, "console.warn(") || strings.Count(r.Raw, "\n") != 1 || !strings.Contains(r.Raw, tt.mustContain) {
			t.Errorf("%s: body %q", tt.path, r.Raw)
		}
		if strings.Contains(r.Raw, "<script>") {
			t.Errorf("%s: request text echoed unescaped: %q", tt.path, r.Raw)
		}
	}
}

func TestReloadKeepsOldConfigWhenInvalid(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	before := get(t, env.URL+"/w/demo.js", nil)
	file := filepath.Join(env.SitesDir, "demo.yaml")
	good, _ := os.ReadFile(file)

	if err := os.WriteFile(file, bytes.Replace(good, []byte("id: analytics"), []byte("id: necessary"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	err := env.Server.Reload()
	if err == nil || !strings.Contains(err.Error(), `demo.yaml: categories[1].id: duplicate id "necessary"`) {
		t.Fatalf("Reload error = %v", err)
	}
	if r := get(t, env.URL+"/w/demo.js", nil); r.Header.Get("ETag") != before.Header.Get("ETag") {
		t.Fatal("an invalid reload replaced the running config")
	}

	if err := os.WriteFile(file, bytes.Replace(good, []byte("Analytiikka"), []byte("Tilastointi"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.Reload(); err != nil {
		t.Fatalf("valid reload: %v", err)
	}
	after := get(t, env.URL+"/w/demo.js", nil)
	if after.Header.Get("ETag") == before.Header.Get("ETag") || !strings.Contains(after.Raw, "Tilastointi") {
		t.Fatal("a valid reload did not take effect")
	}
}

func TestOperationalEndpoints(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	for _, p := range []string{"/healthz", "/readyz"} {
		r := get(t, env.URL+p, nil)
		if r.Status != 200 || r.Raw != `{"status":"ok"}` {
			t.Errorf("%s: %d %s", p, r.Status, r.Raw)
		}
		for h, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "strict-origin-when-cross-origin"} {
			if r.Header.Get(h) != v {
				t.Errorf("%s: %s = %q", p, h, r.Header.Get(h))
			}
		}
		if r.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-ID", p)
		}
	}
	post(t, env, jsonOf(t, validBody(noticeVersion(t, env))), nil)
	get(t, env.URL+"/favicon.ico", nil)
	m := get(t, env.URL+"/metrics", nil)
	for _, want := range []string{
		`consentd_http_requests_total{code="201",method="POST",route="/v1/consent"} 1`,
		`consentd_http_request_duration_seconds_bucket{method="GET",route="/healthz"`,
		"consentd_ledger_batch_records_count 1",
		"consentd_redis_errors_total 0",
		`consentd_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(m.Raw, want) {
			t.Errorf("/metrics lacks %q\n%s", want, grepLines(m.Raw, "route="))
		}
	}
	if r := get(t, env.URL+"/no/such/route", nil); r.Status != 404 || !strings.Contains(r.Raw, `"error"`) {
		t.Errorf("unknown route: %d %s", r.Status, r.Raw)
	}
	demo := get(t, env.URL+"/", nil)
	if demo.Status != 200 || !strings.Contains(demo.Raw, `src="/w/demo.js"`) || !strings.Contains(demo.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("demo page: %d CSP %q", demo.Status, demo.Header.Get("Content-Security-Policy"))
	}
}

func TestOversizedBodies(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	// Over the consent limit (8 KiB) but under the server's read limit: the
	// handler answers a clean 413 naming the field.
	r := post(t, env, `{"site":"`+strings.Repeat("a", 12<<10)+`"}`, nil)
	if r.Status != http.StatusRequestEntityTooLarge || r.Body["field"] != "body" || r.Body["error"] == nil {
		t.Fatalf("12 KiB body: %d %.200s", r.Status, r.Raw)
	}
	// Over the read limit (16 KiB): fasthttp refuses before reading the body,
	// answers 413 and closes; a client still writing may only see the reset.
	// Either way nothing is stored and the server keeps serving.
	req := mustReq(t, http.MethodPost, env.URL+"/v1/consent")
	req.Body = io.NopCloser(strings.NewReader(`{"site":"` + strings.Repeat("a", 256<<10) + `"}`))
	req.ContentLength = int64(256<<10 + 11)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("256 KiB body: status %d", res.StatusCode)
		}
	}
	if h := get(t, env.URL+"/healthz", nil); h.Status != 200 {
		t.Fatalf("healthz after oversized body: %d", h.Status)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.Contains(l, "_bucket") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
