package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/consentd/consentd/config/controllers"
	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/auth"
	"github.com/consentd/consentd/server/servertest"
)

// TestTokenCreateRoundTrip: the printed lines, pasted into the site file,
// load, and the printed token then passes the check for that site.
func TestTokenCreateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(file, []byte(servertest.DemoSite(t, "http://127.0.0.1:1")), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if code := runTokenCreate([]string{"--site", "demo", "--name", "dpo", "--sites-dir", dir}, &out, &errOut, now); code != 0 {
		t.Fatalf("exit %d: %s", code, &errOut)
	}
	token := regexp.MustCompile(`(?m)^  (cdt_[A-Za-z0-9_-]{43})$`).FindStringSubmatch(out.String())
	_, block, ok := strings.Cut(out.String(), "reload consentd (kill -HUP <pid>):\n\n")
	if token == nil || !ok || !strings.Contains(block, `created: "2026-11-23"`) {
		t.Fatalf("output:\n%s", &out)
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("\n" + block)
	f.Close()
	s, err := site.Load(file)
	if err != nil {
		t.Fatalf("pasted lines do not load: %v", err)
	}
	if v, name := auth.NewTokens(site.Sites{"demo": s}, nil).Check("Bearer "+token[1], "demo"); v != auth.OK || name != "dpo" {
		t.Fatalf("Check = %v %q", v, name)
	}
	if strings.Contains(string(must(os.ReadFile(file))), token[1]) {
		t.Fatal("the token itself ended up in the site file")
	}
}

// TestTokenCreateSeveralSites: with several --site, the printed entry,
// pasted into the controllers file, loads, and the printed token grants
// each of those sites and no other. A second token's entry goes under
// the first's tokens: line.
func TestTokenCreateSeveralSites(t *testing.T) {
	t.Setenv("CONSENTD_CONTROLLERS", "")
	root := t.TempDir()
	dir := filepath.Join(root, "sites")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	demo := servertest.DemoSite(t, "http://127.0.0.1:1")
	for id, src := range map[string]string{"demo": demo, "shop": strings.Replace(demo, "\nid: demo\n", "\nid: shop\n", 1),
		"other": strings.Replace(demo, "\nid: demo\n", "\nid: other\n", 1)} {
		if err := os.WriteFile(filepath.Join(dir, id+".yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sites, err := site.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "controllers.yaml")
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	create := func(name, intro string, ids ...string) string {
		t.Helper()
		args := []string{"--name", name, "--sites-dir", dir}
		for _, id := range ids {
			args = append(args, "--site", id)
		}
		var out, errOut bytes.Buffer
		if code := runTokenCreate(args, &out, &errOut, now); code != 0 {
			t.Fatalf("exit %d: %s", code, &errOut)
		}
		token := regexp.MustCompile(`(?m)^  (cdt_[A-Za-z0-9_-]{43})$`).FindStringSubmatch(out.String())
		_, block, ok := strings.Cut(out.String(), intro+", then reload consentd (kill -HUP <pid>):\n\n")
		if token == nil || !ok || !strings.Contains(block, `created: "2026-12-05"`) {
			t.Fatalf("output:\n%s", &out)
		}
		f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString(block)
		f.Close()
		return token[1]
	}
	anna := create("anna (dpo)", "Create "+file+" with these lines", "shop", "demo")
	bert := create("bert", "Add under tokens: in "+file, "other", "shop")
	ctl, err := controllers.Load(file, sites)
	if err != nil {
		t.Fatalf("pasted entries do not load: %v\n%s", err, must(os.ReadFile(file)))
	}
	tokens := auth.NewTokens(sites, ctl)
	for _, tt := range []struct {
		token, site string
		want        auth.Verdict
		name        string
	}{
		{anna, "shop", auth.OK, "anna (dpo)"}, {anna, "demo", auth.OK, "anna (dpo)"}, {anna, "other", auth.OtherSite, ""},
		{bert, "other", auth.OK, "bert"}, {bert, "shop", auth.OK, "bert"}, {bert, "demo", auth.OtherSite, ""},
	} {
		if v, name := tokens.Check("Bearer "+tt.token, tt.site); v != tt.want || name != tt.name {
			t.Errorf("%s on %s: %v %q, want %v %q", tt.name, tt.site, v, name, tt.want, tt.name)
		}
	}
	if strings.Contains(string(must(os.ReadFile(file))), anna) {
		t.Fatal("the token itself ended up in the controllers file")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestTokenUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no command", nil, 2, "missing command"},
		{"unknown command", []string{"list"}, 2, `unknown command "list"`},
		{"no site", []string{"create"}, 2, "--site is required"},
		{"unknown flag", []string{"create", "--site", "demo", "--ttl", "1d"}, 2, "flag provided but not defined: -ttl"},
		{"extra argument", []string{"create", "--site", "demo", "x"}, 2, `unexpected argument "x"`},
		{"empty name", []string{"create", "--site", "demo", "--name", ""}, 2, "--name must be 1 to 64 characters"},
		{"no such site", []string{"create", "--site", "nosuch", "--sites-dir", dir}, 1, `site "nosuch": ` + filepath.Join(dir, "nosuch.yaml")},
		{"no such site among several", []string{"create", "--site", "demo", "--site", "nosuch", "--sites-dir", dir}, 1, `site "demo": `},
		{"a site twice", []string{"create", "--site", "demo", "--site", "demo"}, 2, `invalid value "demo" for flag -site: site "demo" given twice`},
		{"help", []string{"--help"}, 0, ""},
		{"create help", []string{"create", "--help"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := runToken(tt.args, &out, &errOut); code != tt.code || !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tt.code, tt.stderr)
			}
			if tt.code == 0 && !strings.Contains(out.String(), "Usage: consentd token create") {
				t.Errorf("help not printed: %q", out.String())
			}
		})
	}
}

// TestTokenCreateControllersOff: with the controllers file turned off, a
// token for several sites has nowhere to be declared.
func TestTokenCreateControllersOff(t *testing.T) {
	t.Setenv("CONSENTD_CONTROLLERS", "off")
	var out, errOut bytes.Buffer
	code := runTokenCreate([]string{"--site", "a", "--site", "b", "--sites-dir", t.TempDir()}, &out, &errOut, time.Now())
	if code != 2 || !strings.Contains(errOut.String(), "CONSENTD_CONTROLLERS=off turns off") {
		t.Fatalf("exit %d, stderr %q", code, &errOut)
	}
}
