package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunNoticeImport(t *testing.T) {
	src := filepath.Join("..", "..", "config", "noticeimport", "testdata", "vuokraamo.txt")
	dir := t.TempDir()
	existing := filepath.Join(dir, "taken.yaml")
	if err := os.WriteFile(existing, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // in stdout
		stderr     string // in stderr
		outFile    string // written, and checkable
		outContent string
	}{
		{"to stdout", []string{src}, 0, "id: vuokraamo", `"1. Rekisterinpitäjä" → notice.controllers[0] (name, businessId, address, phone, email)`, "", ""},
		{"summary names the gaps", []string{"--site", "venevuokraamo", src}, 0, "id: venevuokraamo",
			"no legal basis stated: notices made from the old henkilötietolaki template did not ask for it", "", ""},
		{"to a file", []string{"--out", filepath.Join(dir, "drafts", "vene.yaml"), "--site", "vene", src}, 0, "", "→ " + filepath.Join(dir, "drafts", "vene.yaml"),
			filepath.Join(dir, "drafts", "vene.yaml"), "businessId: 2345678-0"},
		{"never overwrites", []string{"--out", existing, src}, 1, "", "file exists", "", ""},
		{"language chosen", []string{"--lang", "de", src}, 1, "", `--lang "de"`, "", ""},
		{"no file", nil, 2, "", "expected one file", "", ""},
		{"two files", []string{src, src}, 2, "", "expected one file", "", ""},
		{"missing file", []string{filepath.Join(dir, "none.txt")}, 1, "", "no such file", "", ""},
		{"help", []string{"--help"}, 0, "Usage: consentd notice import", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runNotice(append([]string{"import"}, tt.args...), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
			if tt.outFile != "" {
				b, err := os.ReadFile(tt.outFile)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(b), tt.outContent) {
					t.Errorf("%s lacks %q", tt.outFile, tt.outContent)
				}
				// The written draft passes notice check (warnings allowed).
				var out, errOut bytes.Buffer
				if code := runNotice([]string{"check", tt.outFile}, &out, &errOut); code != 0 {
					t.Errorf("notice check of the draft: exit %d\n%s%s", code, out.String(), errOut.String())
				}
			}
		})
	}
}
