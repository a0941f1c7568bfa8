package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/consentd/consentd/config/site"
)

func TestRunCatalogue(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		out    []string
		errOut []string
	}{
		{"list", []string{"list"}, 0, []string{"NAME  ", "TITLE", "CATEGORY", "PROVIDER", "google-analytics-4  Google Analytics 4  analytics  Google Ireland Limited (IE)"}, nil},
		{"show", []string{"show", "google-analytics-4"}, 0, []string{"name: google-analytics-4\n", "sources:\n", "checked: \"2026-12-05\""}, nil},
		{"show --service", []string{"show", "google-analytics-4", "--service"}, 0, []string{
			"# Google Analytics 4 (catalogue entry google-analytics-4), suggested category: analytics\n",
			"# Provider: Google Ireland Limited, Gordon House, Barrow Street, Dublin 4, IE\n",
			"- use: google-analytics-4\n", "  # cookies:\n", "  #   - name: _ga_*\n"}, nil},
		{"unknown entry", []string{"show", "google-analytic"}, 1, nil,
			[]string{`consentd catalogue show: no entry "google-analytic": did you mean google-analytics-4? (consentd catalogue list shows every entry)`}},
		{"no name", []string{"show"}, 2, nil, []string{"expected one entry name, got 0", "Usage: consentd catalogue list"}},
		{"two names", []string{"show", "a", "b"}, 2, nil, []string{"expected one entry name, got 2"}},
		{"bad flag", []string{"show", "--yaml", "x"}, 2, nil, []string{"flag provided but not defined: --yaml"}},
		{"list takes no argument", []string{"list", "x"}, 2, nil, []string{`unexpected argument "x"`}},
		{"no command", nil, 2, nil, []string{"missing command"}},
		{"unknown command", []string{"find"}, 2, nil, []string{`unknown command "find"`}},
		{"help", []string{"--help"}, 0, []string{"Usage: consentd catalogue list\n       consentd catalogue show [--service] NAME"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := runCatalogue(tt.args, &out, &errOut); code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errOut.String())
			}
			// the list's columns are as wide as their longest cell
			cols := out.String()
			if tt.name == "list" {
				cols = regexp.MustCompile(` {2,}`).ReplaceAllString(cols, "  ")
			}
			for _, w := range tt.out {
				if !strings.Contains(cols, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.errOut {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
		})
	}
}

// What show --service prints pastes into a site file: as it is, and with
// every field uncommented (an override of everything) it loads.
func TestCatalogueShowServicePastes(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runCatalogue([]string{"show", "--service", "google-analytics-4"}, &out, &errOut); code != 0 {
		t.Fatal(errOut.String())
	}
	var svc, uncommented []string
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		svc = append(svc, "      "+line)
		if rest, ok := strings.CutPrefix(line, "  # "); ok && !strings.HasPrefix(rest, "Filled in") {
			line = "  " + rest
		}
		uncommented = append(uncommented, "      "+line)
	}
	head := `id: paste
name: Paste Oy
origins: [https://www.paste.fi]
languages: [fi, sv, en]
policyVersion: "1"
categories:
  - id: analytics
    label: {fi: Analytiikka, sv: Analys, en: Analytics}
    description: {fi: Tilastot., sv: Statistik., en: Statistics.}
    services:
`
	for name, lines := range map[string][]string{"as printed": svc, "uncommented": uncommented} {
		s, err := site.Parse("paste.yaml", []byte(head+strings.Join(lines, "\n")+"\n"))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, strings.Join(lines, "\n"))
		}
		if got := s.Categories[0].Services[0]; got.Name != "Google Analytics 4" || len(got.Cookies) != 2 || got.Purpose["sv"] == "" {
			t.Errorf("%s: service = %+v", name, got)
		}
	}
}

func TestNoticeCheckCatalogueWarnings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "complete.yaml")
	body := strings.Replace(completeSite, "    description: {en: Needed.}\n", `    description: {en: Needed.}
  - id: analytics
    label: {en: Analytics}
    description: {en: Statistics.}
    services:
      - name: Google Analytics 4
        provider: Google Ireland Limited
        purpose: {en: Statistics.}
        cookies:
          - {name: _ga, duration: 13mo, description: {en: Visitor ID.}}
          - {name: _gid, duration: 24h, description: {en: Visitor ID for a day.}}
`, 1)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := runNotice([]string{"check", path}, &out, &errOut)
	want := []string{
		path + ": categories[1].services[0].cookies[0].duration: catalogue: _ga lasts 2y in the catalogue entry google-analytics-4, not 13mo\n",
		path + `: categories[1].services[0].cookies[1].name: catalogue: "_gid" is not a cookie of Google Analytics 4 in the catalogue entry google-analytics-4 (it lists _ga, _ga_*)` + "\n",
		path + ": categories[1].services[0].cookies: catalogue: the catalogue entry google-analytics-4 also lists _ga_*; add them, or use: google-analytics-4\n",
		path + ": notice complete (0 warnings), 3 catalogue warnings\n",
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("stdout lacks %q:\n%s", w, out.String())
		}
	}
	out.Reset()
	if code := runNotice([]string{"check", "--strict", path}, &out, &errOut); code != 1 {
		t.Errorf("--strict with catalogue warnings: exit %d, want 1", code)
	}
}
