package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentd/consentd/scan"
	"github.com/consentd/consentd/server/servertest"
)

func TestScanUsage(t *testing.T) {
	dir := t.TempDir()
	getenv := func(string) string { return "" }
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string // in stderr (stdout for --help)
	}{
		{"help", []string{"--help"}, 0, "Usage: consentd scan"},
		{"nothing", nil, 2, "--site is required"},
		{"no address", []string{"--site", "demo"}, 2, "which address?"},
		{"two addresses", []string{"--site", "demo", "https://a.fi/", "https://b.fi/"}, 2, "one address only"},
		{"not a web address", []string{"--site", "demo", "www.example.fi"}, 2, "is not a web address"},
		{"pages", []string{"--site", "demo", "--pages", "0", "https://a.fi/"}, 2, "--pages 0"},
		{"unknown flag", []string{"--site", "demo", "--recorder", "https://a.fi/"}, 2, "flag provided but not defined: -recorder"},
		{"no such site", []string{"https://a.fi/", "--site", "nope", "--sites-dir", dir}, 2, `no site file for "nope" in ` + dir},
		{"no chromium", []string{"--site", "demo", "--sites", filepath.Join("..", "..", "config", "sites"), "--chromium", filepath.Join(dir, "chromium"), "https://a.fi/"},
			2, "chromium not found: install it"},
	} {
		var stdout, stderr bytes.Buffer
		code := scanCmd(context.Background(), tt.args, &stdout, &stderr, getenv)
		out := stderr.String()
		if tt.code == 0 {
			out = stdout.String()
		}
		if code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("%s: code %d, output %q; want %d and %q", tt.name, code, out, tt.code, tt.want)
		}
	}
}

func TestScanExitCode(t *testing.T) {
	for _, tt := range []struct {
		name       string
		violations int
		complete   bool
		want       int
	}{
		{"clean", 0, true, 0},
		{"violations", 2, true, 1},
		{"violations in an incomplete scan", 1, false, 1},
		{"incomplete, nothing found", 0, false, 2},
	} {
		r := &scan.Report{Complete: tt.complete, Findings: scan.Findings{Violations: make([]scan.Violation, tt.violations)}}
		if got := scanExitCode(r); got != tt.want {
			t.Errorf("%s: exit code %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestScanCommand runs consentd scan against a page on loopback that sets
// an undeclared cookie before consent: exit code 1, the summary on
// stdout, progress on stderr, the three files in --out.
func TestScanCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium, consentd and Redis")
	}
	ps := httptest.NewUnstartedServer(nil)
	page := "http://" + ps.Listener.Addr().String()
	env := servertest.Start(t, servertest.Options{Sites: func(base string) map[string]string {
		s := servertest.DemoSite(t, base)
		return map[string]string{"demo.yaml": strings.Replace(s, "origins:\n", "origins:\n  - "+page+"\n", 1)}
	}})
	ps.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" && r.URL.Path != "/b" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>t</title><script src="%s/w/demo.js"></script>
<script>document.cookie = "tracker_id=42; path=/; max-age=3600";</script></head><body><a href="/b">b</a></body></html>`, env.URL)
	})
	ps.Start()
	t.Cleanup(ps.Close)

	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	code := scanCmd(context.Background(), []string{"--site", "demo", page + "/", "--pages", "2", "--out", out}, &stdout, &stderr,
		func(name string) string {
			if name == "CONSENTD_SITES_DIR" {
				return env.SitesDir
			}
			return ""
		})
	if code != 1 {
		t.Fatalf("exit code %d, want 1\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	for _, want := range []string{"VIOLATIONS (cookies and storage without consent): 2", "before consent", "after reject all",
		"cookie tracker_id", "inline script of " + page + "/", "wrote " + filepath.Join(out, "report.html")} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}
	if !strings.Contains(stderr.String(), "pass 3/3 accept-all: 3/3 pages") {
		t.Errorf("stderr has no progress:\n%s", &stderr)
	}
	var r scan.Report
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil || r.Site != "demo" || len(r.Pages) != 2 {
		t.Errorf("report.json: %v, %+v", err, r.Pages)
	}
	for _, f := range []string{"report.html", "site-patch.yaml"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
