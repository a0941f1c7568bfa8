package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

// fiOnly is a valid site in Finnish only.
const fiOnly = `id: fionly
name: Suomi Oy
origins: [https://fi.example]
languages: [fi]
policyVersion: "1"
categories:
  - id: necessary
    required: true
    label: {fi: Välttämättömät}
    description: {fi: Tarvitaan.}
`

func TestNoticePage(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Sites: func(base string) map[string]string {
		return map[string]string{"demo.yaml": servertest.DemoSite(t, base), "fionly.yaml": fiOnly}
	}})
	tests := []struct {
		name     string
		path     string
		header   map[string]string
		status   int
		lang     string // expected <html lang> and Content-Language
		errField string
		note     string // the note of a page in another language than asked for
	}{
		{"default language", "/n/demo", nil, 200, "fi", "", ""},
		{"lang parameter", "/n/demo?lang=sv", nil, 200, "sv", "", ""},
		{"Accept-Language", "/n/demo", map[string]string{"Accept-Language": "en-GB,en;q=0.9"}, 200, "en", "", ""},
		{"lang parameter wins", "/n/demo?lang=fi", map[string]string{"Accept-Language": "en"}, 200, "fi", "", ""},
		{"a language the site lacks", "/n/demo?lang=de", nil, 200, "fi", "", `<p class="note" role="note" lang="fi">Tätä selostetta ei ole saatavilla pyytämälläsi kielellä. Se näytetään suomeksi.</p>`},
		{"a built-in language the site lacks", "/n/fionly?lang=en", nil, 200, "fi", "", `<p class="note" role="note" lang="en">This notice is not available in English. It is shown in Finnish.</p>`},
		{"markup as lang is not reflected", "/n/fionly?lang=%3Cb%3Ex", nil, 200, "fi", "", `lang="fi">Tätä selostetta ei ole saatavilla pyytämälläsi kielellä.`},
		{"structured notice, a language the site lacks", "/n/demo.json?lang=de", nil, 400, "", "lang", ""},
		{"unknown site", "/n/nosuch", nil, 404, "", "site", ""},
		{"malformed site", "/n/..%2fetc", nil, 404, "", "site", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, env.URL+tt.path, tt.header)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Raw)
			}
			if tt.errField != "" {
				if r.Body["field"] != tt.errField || r.Body["error"] == "" {
					t.Fatalf("error body %s", r.Raw)
				}
				return
			}
			if !strings.Contains(r.Raw, `<html lang="`+tt.lang+`">`) || r.Header.Get("Content-Language") != tt.lang {
				t.Errorf("language: Content-Language %q, page starts %.80q", r.Header.Get("Content-Language"), r.Raw)
			}
			if tt.note != "" && !strings.Contains(r.Raw, tt.note) || tt.note == "" && strings.Contains(r.Raw, `class="note"`) {
				t.Errorf("want note %q in the page", tt.note)
			}
			csp := r.Header.Get("Content-Security-Policy")
			ancestors := "frame-ancestors " + env.URL + " https://www.oppimo.fi"
			if strings.HasPrefix(tt.path, "/n/fionly") {
				ancestors = "frame-ancestors https://fi.example"
			}
			if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src 'sha256-") || !strings.Contains(csp, ancestors) {
				t.Errorf("CSP %q", csp)
			}
			if r.Header.Get("X-Frame-Options") != "" {
				t.Error("X-Frame-Options set: the site could not frame its own notice")
			}
			if strings.Contains(r.Raw, "<script") {
				t.Error("the notice page has a script")
			}
		})
	}
	if r := get(t, env.URL+"/n/demo", nil); !strings.Contains(r.Header.Get("Vary"), "Accept-Language") {
		t.Errorf("negotiated page without Vary: Accept-Language: %v", r.Header)
	}
}

// structured is the part of GET /n/{site}.json the tests read.
type structured struct {
	Versions map[string]string `json:"versions"`
	Notice   struct {
		Rights             map[string]json.RawMessage `json:"rights"`
		ComplaintAuthority struct {
			Email string `json:"email"`
		} `json:"complaintAuthority"`
		Controllers []struct {
			Name string `json:"name"`
		} `json:"controllers"`
	} `json:"notice"`
	Cookies []struct {
		ID string `json:"id"`
	} `json:"cookies"`
}

func TestNoticeJSONAndSnapshots(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	r := get(t, env.URL+"/n/demo.json", nil)
	var n structured
	if err := json.Unmarshal([]byte(r.Raw), &n); err != nil || r.Status != 200 {
		t.Fatalf("%d %v %.200s", r.Status, err, r.Raw)
	}
	if len(n.Versions) != 3 || len(n.Notice.Rights) != 9 || n.Notice.ComplaintAuthority.Email != "tietosuoja@om.fi" ||
		len(n.Notice.Controllers) == 0 || len(n.Cookies) != 3 {
		t.Errorf("structured notice: %+v", n)
	}
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("structured notice is not readable cross-origin")
	}

	for lang, v := range n.Versions {
		r := get(t, env.URL+"/n/demo/v/"+v, nil)
		if r.Status != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") || r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("%s snapshot: %d %v", lang, r.Status, r.Header)
		}
		if sum := sha256.Sum256([]byte(r.Raw)); hex.EncodeToString(sum[:]) != v {
			t.Errorf("%s: sha256(snapshot) is not its version", lang)
		}
		if r.Body["lang"] != lang || !strings.Contains(r.Body["html"].(string), `<section id="cdn-rights"`) {
			t.Errorf("%s snapshot body %.200s", lang, r.Raw)
		}
	}
	for _, tt := range []struct {
		version string
		status  int
	}{{"xyz", 400}, {strings.Repeat("0", 64), 404}, {strings.Repeat("A", 64), 400}} {
		if r := get(t, env.URL+"/n/demo/v/"+tt.version, nil); r.Status != tt.status || r.Body["field"] != "version" {
			t.Errorf("version %s: %d %s", tt.version, r.Status, r.Raw)
		}
	}
}

// TestNoticeVersionChange changes one word of the notice: the version
// changes, the old one stays retrievable (from Redis, also for a server
// that never saw it), decisions citing it are still accepted, and
// unknown versions are refused.
func TestNoticeVersionChange(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	old := env.NoticeVersion(t, "demo", "fi")
	oldSV := env.NoticeVersion(t, "demo", "sv")

	path := filepath.Join(env.SitesDir, "demo.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const from, to = "Autamme kehittämään palvelua", "Autamme parantamaan palvelua"
	if !strings.Contains(string(b), from) {
		t.Fatalf("demo.yaml no longer contains %q; update the test", from)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), from, to, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.Reload(); err != nil {
		t.Fatal(err)
	}
	cur := env.NoticeVersion(t, "demo", "fi")
	if cur == old {
		t.Fatal("changing one Finnish word did not change the fi version")
	}
	if env.NoticeVersion(t, "demo", "sv") != oldSV {
		t.Error("the sv version changed, though no Swedish text did")
	}

	// The old version's snapshot is in Redis, and a fresh ledger (another
	// instance, or this one after a restart) can read it.
	ctx := context.Background()
	fresh := ledger.New(redis.NewClient(&redis.Options{Addr: env.RedisSrv.Addr}), ledger.Options{})
	defer fresh.Close(ctx)
	snap, ok, err := fresh.Notice(ctx, "demo", old)
	if err != nil || !ok {
		t.Fatalf("old version not in Redis: ok=%v err=%v", ok, err)
	}
	if sum := sha256.Sum256(snap); hex.EncodeToString(sum[:]) != old || !strings.Contains(string(snap), from) {
		t.Error("stored snapshot does not hash to its version or lacks the old text")
	}
	if r := get(t, env.URL+"/n/demo/v/"+old, nil); r.Status != 200 || !strings.Contains(r.Raw, from) {
		t.Errorf("GET old version: %d", r.Status)
	}

	for _, tt := range []struct {
		name     string
		version  string
		lang     string
		status   int
		errField string
	}{
		{"current", cur, "fi", 201, ""},
		{"earlier, kept", old, "fi", 201, ""},
		{"unknown", strings.Repeat("ab", 32), "fi", 400, "noticeVersion"},
		{"other language's version", oldSV, "fi", 400, "language"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := edit(tt.version, func(m map[string]any) { m["language"] = tt.lang; delete(m, "consentId") })()
			r := post(t, env, body, nil)
			if r.Status != tt.status || (tt.errField != "" && r.Body["field"] != tt.errField) {
				t.Errorf("%d %s", r.Status, r.Raw)
			}
		})
	}
}

func TestIncompleteNoticeIsLoggedAtStart(t *testing.T) {
	const bare = `id: bare
name: Bare Oy
origins: [https://bare.example]
languages: [en]
policyVersion: "1"
categories:
  - id: necessary
    required: true
    label: {en: Necessary}
    description: {en: Needed.}
`
	var log servertest.LogBuffer
	env := servertest.Start(t, servertest.Options{
		Sites: func(string) map[string]string { return map[string]string{"bare.yaml": bare} },
		Log:   &log,
	})
	for _, want := range []string{`field=notice.retention article=13(2)(a)`, `field=notice.complaintAuthority`, `field=notice.controllers`} {
		if !strings.Contains(log.String(), "msg=\"privacy notice incomplete\" site=bare "+want) {
			t.Errorf("log lacks warning %s:\n%s", want, log.String())
		}
	}
	// Still served: a gap is a warning, not an error.
	if r := get(t, env.URL+"/n/bare", nil); r.Status != 200 || !strings.Contains(r.Raw, `id="cdn-rights"`) {
		t.Errorf("bare notice: %d", r.Status)
	}
}
