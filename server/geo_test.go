package server_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/geo/geotest"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
	"github.com/consentd/consentd/widget"
)

// geoEnv runs the demo site (eea/uk/ch opt-in, us-privacy opt-out,
// default notice) with the City test database and, when trustLoopback,
// the loopback test client as a trusted proxy with CF-IPCountry.
func geoEnv(t *testing.T, trustLoopback bool) *servertest.Env {
	t.Helper()
	db := filepath.Join(t.TempDir(), "geo.mmdb")
	if err := geotest.Write(db, true); err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.GeoIPDB = db
		c.CountryHeader, c.RegionHeader = "CF-IPCountry", "CF-Region-Code"
		if trustLoopback {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}
	}})
}

func TestConsentRecordsCountryAndMode(t *testing.T) {
	env := geoEnv(t, true)
	nv := noticeVersion(t, env)
	tests := []struct {
		name                string
		header              map[string]string
		wantCountry, wantMd string
	}{
		{"FI by database (IPv4)", map[string]string{"X-Forwarded-For": "192.0.2.5"}, "FI", "opt-in"},
		{"DE by database (IPv6)", map[string]string{"X-Forwarded-For": "2001:db8:3::1"}, "DE", "opt-in"},
		{"GB", map[string]string{"X-Forwarded-For": "192.0.2.50"}, "GB", "opt-in"},
		{"California", map[string]string{"X-Forwarded-For": "198.51.100.3"}, "US", "opt-out"},
		{"Texas", map[string]string{"X-Forwarded-For": "2001:db8:11::9"}, "US", "opt-out"},
		{"US, state unknown", map[string]string{"X-Forwarded-For": "198.51.100.33"}, "US", "notice"},
		{"Japan: default", map[string]string{"X-Forwarded-For": "203.0.113.1"}, "JP", "notice"},
		{"unknown address", map[string]string{"X-Forwarded-For": "8.8.8.8"}, "", "opt-in"},
		{"CDN header wins", map[string]string{"X-Forwarded-For": "192.0.2.5", "CF-IPCountry": "US", "CF-Region-Code": "CA"}, "US", "opt-out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := edit(nv, func(m map[string]any) { delete(m, "consentId") })()
			if rec := storedRecord(t, env, body, tt.header); rec.Country != tt.wantCountry || rec.Mode != tt.wantMd {
				t.Errorf("record country %q mode %q, want %q %q", rec.Country, rec.Mode, tt.wantCountry, tt.wantMd)
			}
		})
	}
}

// TestSpoofedLocationFromUntrustedPeer: without trusted proxies, neither
// X-Forwarded-For nor the CDN header moves the visitor.
func TestSpoofedLocationFromUntrustedPeer(t *testing.T) {
	env := geoEnv(t, false)
	body := edit(noticeVersion(t, env), func(m map[string]any) { delete(m, "consentId") })()
	r := post(t, env, body, map[string]string{"X-Forwarded-For": "198.51.100.3", "CF-IPCountry": "US", "CF-Region-Code": "CA"})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	h, _, _ := env.Ledger.History(context.Background(), "demo", r.Body["consentId"].(string))
	if rec := h[0].Record; rec.Country != "" || rec.Mode != "opt-in" {
		t.Errorf("spoofed location believed: %q %q", rec.Country, rec.Mode)
	}
	w := get(t, env.URL+"/w/demo.js", map[string]string{"CF-IPCountry": "US", "CF-Region-Code": "CA"})
	if !strings.HasPrefix(w.Raw, widget.CompileHint+`window.__consentdGeo={m:"opt-in",c:""};`) {
		t.Errorf("widget prologue %.60q", w.Raw)
	}
}

// TestWidgetRegionPrologueAndCaching: the plain widget URL carries the
// visitor's mode, is private to the browser and revalidates per region;
// the content-hashed URL stays the same for everyone.
func TestWidgetRegionPrologueAndCaching(t *testing.T) {
	env := geoEnv(t, true)
	fi := map[string]string{"CF-IPCountry": "FI"}
	ca := map[string]string{"CF-IPCountry": "US", "CF-Region-Code": "CA"}
	a := get(t, env.URL+"/w/demo.js", fi)
	b := get(t, env.URL+"/w/demo.js", ca)
	for _, tt := range []struct {
		r        response
		prologue string
	}{{a, `window.__consentdGeo={m:"opt-in",c:"FI"};`}, {b, `window.__consentdGeo={m:"opt-out",c:"US"};`}} {
		// The compile hint stays the first line: it must come before any code.
		if tt.r.Status != 200 || !strings.HasPrefix(tt.r.Raw, widget.CompileHint+tt.prologue) {
			t.Errorf("prologue %.60q, want %s", tt.r.Raw, tt.prologue)
		}
		if cc := tt.r.Header.Get("Cache-Control"); cc != "private, max-age=300" {
			t.Errorf("Cache-Control %q: a shared cache could hand one region's mode to another", cc)
		}
		if v := tt.r.Header.Values("Vary"); !strings.Contains(strings.Join(v, ","), "CF-IPCountry") {
			t.Errorf("Vary %v", v)
		}
		if tt.r.Header.Get("Content-Location") != "" {
			t.Error("Content-Location claims the variant equals the hashed bundle")
		}
	}
	if a.Header.Get("ETag") == b.Header.Get("ETag") {
		t.Fatal("the FI and US-CA variants share an ETag")
	}
	// A browser that cached the FI variant and is now in California must
	// not get 304.
	stale := map[string]string{"If-None-Match": a.Header.Get("ETag")}
	for k, v := range ca {
		stale[k] = v
	}
	if r := get(t, env.URL+"/w/demo.js", stale); r.Status != 200 || !strings.Contains(r.Raw[:90], `m:"opt-out"`) {
		t.Errorf("revalidation from another region: %d %.60q", r.Status, r.Raw)
	}
	if r := get(t, env.URL+"/w/demo.js", map[string]string{"If-None-Match": a.Header.Get("ETag"), "CF-IPCountry": "FI"}); r.Status != 304 {
		t.Errorf("revalidation from the same region: %d, want 304", r.Status)
	}
	// The hashed URL: no prologue, immutable, one body for all.
	hashed, ok := env.Server.BundlePath("demo")
	if !ok {
		t.Fatal("no demo bundle")
	}
	h1, h2 := get(t, env.URL+hashed, fi), get(t, env.URL+hashed, ca)
	if strings.HasPrefix(h1.Raw, "window.__consentdGeo") || h1.Raw != h2.Raw || !strings.Contains(h1.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("hashed URL varies or carries a region: %.60q", h1.Raw)
	}
}

// TestGPCSignalRecorded: a post's Sec-GPC: 1 is recorded on its record
// whatever its mode and method (and its absence as false); method gpc is
// taken in the opt-out mode with the sale or sharing categories denied.
func TestGPCSignalRecorded(t *testing.T) {
	env := geoEnv(t, true)
	nv := noticeVersion(t, env)
	denied := map[string]any{"necessary": true, "analytics": true, "marketing": false}
	tests := []struct {
		name    string
		method  string
		header  map[string]string
		wantGPC bool
	}{
		{"opt-out, gpc", "gpc", map[string]string{"X-Forwarded-For": "198.51.100.3", "Sec-GPC": "1"}, true},
		{"opt-in, custom, signal on", "custom", map[string]string{"X-Forwarded-For": "192.0.2.5", "Sec-GPC": "1"}, true},
		{"opt-in, custom, no signal", "custom", map[string]string{"X-Forwarded-For": "192.0.2.5"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := edit(nv, func(m map[string]any) {
				delete(m, "consentId")
				m["method"], m["choices"] = tt.method, denied
			})()
			if rec := storedRecord(t, env, body, tt.header); rec.GPC == nil || *rec.GPC != tt.wantGPC || rec.Method != tt.method {
				t.Errorf("record gpc %v method %s, want %v %s", rec.GPC, rec.Method, tt.wantGPC, tt.method)
			}
		})
	}
}

// storedRecord posts body (without a consentId) and returns the record
// stored for it.
func storedRecord(t *testing.T, env *servertest.Env, body string, header map[string]string) ledger.Stored {
	t.Helper()
	r := post(t, env, body, header)
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	h, _, err := env.Ledger.History(context.Background(), "demo", r.Body["consentId"].(string))
	if err != nil || len(h) != 1 {
		t.Fatalf("history of the post: %v %v", h, err)
	}
	return h[0].Record
}
