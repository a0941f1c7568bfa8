package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// completeSite is a valid site whose notice lacks nothing.
const completeSite = `id: complete
name: Acme Oy
origins: [https://www.acme.fi]
languages: [en]
policyVersion: "1"
categories:
  - id: necessary
    required: true
    label: {en: Necessary}
    description: {en: Needed.}
notice:
  registerName: {en: Customer register}
  country: FI
  updated: 2026-01-15
  controllers:
    - name: Acme Oy
      businessId: 1234567-1
      email: privacy@acme.fi
  contacts:
    - name: Data protection officer
      dpo: true
      email: dpo@acme.fi
  purposes:
    - purpose: {en: Customer service}
      legalBasis: [contract]
  dataCategories:
    - items: [{en: Name}, {en: E-mail address}]
  sources: [{en: The customer}]
  requirement: {en: Needed to deliver the order.}
  recipients: {none: true}
  transfers: {outsideEEA: false}
  retention:
    - {data: {en: Orders}, period: {en: Six years}}
  security: {en: Access control and encryption.}
  automatedDecisions: {used: false}
`

func TestRunNotice(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	complete := write("complete.yaml", completeSite)
	// Valid, but the notice lacks retention, requirement and security.
	incomplete := write("incomplete.yaml", strings.NewReplacer(
		"id: complete", "id: incomplete",
		"  requirement: {en: Needed to deliver the order.}\n", "",
		"  retention:\n    - {data: {en: Orders}, period: {en: Six years}}\n", "",
		"  security: {en: Access control and encryption.}\n", "",
	).Replace(completeSite))
	// Two errors: a bad e-mail and an EEA transfer country.
	invalid := write("invalid.yaml", strings.NewReplacer(
		"id: complete", "id: invalid",
		"email: privacy@acme.fi", "email: privacy(at)acme.fi",
		"transfers: {outsideEEA: false}", "transfers: {outsideEEA: true, countries: [SE], safeguards: [scc]}",
	).Replace(completeSite))
	// Valid YAML, but a text key the renderer does not know.
	badKey := write("badkey.yaml", strings.NewReplacer(
		"id: complete", "id: badkey",
		"categories:", "strings: {en: {notice.contorller: Controller}}\ncategories:",
	).Replace(completeSite))
	missing := filepath.Join(dir, "missing.yaml")
	// Changes against complete: the DPO's e-mail (not what consent is
	// asked for), a purpose (it is), and the site's own consentVersion.
	// (Each a complete.yaml of its own directory: the file name is the id.)
	for _, d := range []string{"contact", "purpose", "forced"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	contact := write("contact/complete.yaml", strings.Replace(completeSite, "email: dpo@acme.fi", "email: tietosuoja@acme.fi", 1))
	purpose := write("purpose/complete.yaml", strings.Replace(completeSite, "purpose: {en: Customer service}", "purpose: {en: Customer service and marketing}", 1))
	forced := write("forced/complete.yaml", strings.Replace(completeSite, `policyVersion: "1"`, "policyVersion: \"1\"\nconsentVersion: \"2\"", 1))

	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    []string // substrings of stdout
		stderr    []string // substrings of stderr
		notStdout string   // must not be in stdout
	}{
		{"clean file", []string{"check", complete}, 0,
			[]string{complete + ": notice complete (0 warnings)\n"}, nil, "Art."},
		{"warnings", []string{"check", incomplete}, 0,
			[]string{
				incomplete + ": notice.retention: Art. 13(2)(a): no retention period: add notice.retention rows",
				incomplete + ": notice.requirement: Art. 13(2)(e): ",
				incomplete + ": notice.security: good practice: ",
				incomplete + ": notice incomplete (3 warnings)\n",
			}, nil, ""},
		{"strict with warnings", []string{"check", "--strict", incomplete}, 1,
			[]string{incomplete + ": notice incomplete (3 warnings)"}, nil, ""},
		{"strict after the files", []string{"check", complete, incomplete, "--strict"}, 1,
			[]string{complete + ": notice complete", incomplete + ": notice incomplete"}, nil, ""},
		{"strict and clean", []string{"check", "-strict", complete}, 0,
			[]string{complete + ": notice complete (0 warnings)"}, nil, ""},
		{"invalid file", []string{"check", invalid, complete}, 1,
			[]string{complete + ": notice complete"},
			[]string{
				invalid + ": notice.controllers[0].email: \"privacy(at)acme.fi\" is not an e-mail address",
				invalid + `: notice.transfers.countries[0]: "SE" is in the EU/EEA`,
				invalid + ": invalid (2 errors)",
			}, invalid},
		{"unknown text key", []string{"check", badKey}, 1, nil,
			[]string{badKey + ": strings.en.notice.contorller: unknown text key", badKey + ": invalid (1 error)"}, ""},
		{"missing file", []string{"check", missing}, 1, nil,
			[]string{missing + ": open ", missing + ": invalid (1 error)"}, ""},
		{"files after --", []string{"check", "--", complete}, 0,
			[]string{complete + ": notice complete"}, nil, ""},
		{"no files", []string{"check"}, 2, nil,
			[]string{"no files given", "Usage: consentd notice check"}, ""},
		{"no command", nil, 2, nil,
			[]string{"missing command", "Usage: consentd notice check"}, ""},
		{"unknown command", []string{"lint", complete}, 2, nil,
			[]string{`unknown command "lint"`, "Usage:"}, ""},
		{"unknown flag", []string{"check", "--fix", complete}, 2, nil,
			[]string{"flag provided but not defined: -fix", "Usage: consentd notice check"}, ""},
		{"notice --help", []string{"--help"}, 0,
			[]string{"Usage: consentd notice check [--strict] [--against OLD] FILE..."}, nil, ""},
		{"check --help", []string{"check", "--help"}, 0,
			[]string{"Usage: consentd notice check [--strict] [--against OLD] FILE...", "--strict", "--against OLD"}, nil, ""},
		{"against: not material", []string{"check", "--against", complete, contact}, 0,
			[]string{contact + ": against " + complete + ": not what consent is asked for: stored decisions stay valid"}, nil, ""},
		{"against: material", []string{"check", "--against", complete, purpose}, 0,
			[]string{purpose + ": against " + complete + ": what consent is asked for changed: visitors are asked again"}, nil, ""},
		{"against: forced", []string{"check", forced, "--against", complete}, 0,
			[]string{forced + ": against " + complete + ": consentVersion changed: every visitor is asked again"}, nil, ""},
		{"against: missing file", []string{"check", "--against", missing, complete}, 1, nil,
			[]string{missing + ": open "}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runNotice(tt.args, &out, &errOut)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, &out, &errOut)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, &out)
				}
			}
			for _, want := range tt.stderr {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, &errOut)
				}
			}
			if tt.notStdout != "" && strings.Contains(out.String(), tt.notStdout) {
				t.Errorf("stdout contains %q:\n%s", tt.notStdout, &out)
			}
			if len(tt.stderr) == 0 && errOut.Len() > 0 {
				t.Errorf("unexpected stderr:\n%s", &errOut)
			}
		})
	}
}
