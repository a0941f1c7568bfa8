package site

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const minimalSite = `
id: acme
name: Acme Oy
origins: [https://www.acme.fi]
languages: [fi, en]
policyVersion: "1"
categories:
  - id: necessary
    required: true
    label: {fi: Välttämättömät, en: Necessary}
    description: {fi: Tarvitaan., en: Needed.}
  - id: analytics
    label: {fi: Analytiikka, en: Analytics}
    description: {fi: Tilastot., en: Statistics.}
    services:
      - name: Matomo
        provider: Acme Oy
        purpose: {fi: Tilastot., en: Statistics.}
        cookies:
          - name: _pk_id.*
            duration: 13mo
            description: {fi: Tunniste., en: Identifier.}
`

func TestParseValid(t *testing.T) {
	s, err := Parse("sites/acme.yaml", []byte(minimalSite))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if s.DefaultLanguage != "fi" || s.ConsentExpiryDays != DefaultConsentExpiryDays || s.LogRetentionDays != DefaultLogRetentionDays {
		t.Errorf("defaults not applied: %+v", s)
	}
	if !s.AllowsOrigin("https://www.acme.fi") || s.AllowsOrigin("https://evil.example") {
		t.Error("AllowsOrigin wrong")
	}
	if _, ok := s.Category("analytics"); !ok {
		t.Error("Category(analytics) not found")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		replace [2]string // old, new applied to minimalSite
		want    string
	}{
		{"duplicate category id", "acme.yaml", [2]string{"- id: analytics", "- id: necessary"}, `acme.yaml: categories[1].id: duplicate id "necessary"`},
		{"bad category id", "acme.yaml", [2]string{"- id: analytics", "- id: Analytics!"}, `categories[1].id: "Analytics!" is not a valid id`},
		{"id vs file name", "other.yaml", [2]string{}, `other.yaml: id: "acme" does not match the file name`},
		{"missing name", "acme.yaml", [2]string{"name: Acme Oy", ""}, "acme.yaml: name: required"},
		{"origin with path", "acme.yaml", [2]string{"https://www.acme.fi]", "https://www.acme.fi/page]"}, `origins[0]: "https://www.acme.fi/page" is not an origin`},
		{"origin with default port", "acme.yaml", [2]string{"https://www.acme.fi]", "https://www.acme.fi:443]"}, `origins[0]: "https://www.acme.fi:443" has the default port`},
		{"wildcard origin", "acme.yaml", [2]string{"https://www.acme.fi]", "https://*.acme.fi]"}, `origins[0]`},
		{"language without texts", "acme.yaml", [2]string{"[fi, en]", "[fi, de]"}, `languages[1]: language "de" has no built-in texts (built in: fi, sv, en): add strings.de`},
		{"not a language code", "acme.yaml", [2]string{"[fi, en]", "[fi, EN]"}, `languages[1]: "EN" is not a language code`},
		{"token stored in clear", "acme.yaml", [2]string{"categories:", "adminTokens: [{name: a, hash: cdt_abc}]\ncategories:"}, `adminTokens[0].hash: is a token, not its hash`},
		{"malformed token hash", "acme.yaml", [2]string{"categories:", "adminTokens: [{name: a, hash: md5:abc}]\ncategories:"}, `adminTokens[0].hash: is not a token hash: expected sha256:`},
		{"token without name", "acme.yaml", [2]string{"categories:", "adminTokens: [{hash: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}]\ncategories:"}, `adminTokens[0].name: required`},
		{"duplicate token", "acme.yaml", [2]string{"categories:", "adminTokens: [{name: a, hash: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}, {name: a, hash: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}]\ncategories:"}, `adminTokens[1].hash: duplicate token hash`},
		{"bad token date", "acme.yaml", [2]string{"categories:", "adminTokens: [{name: a, hash: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, created: yesterday}]\ncategories:"}, `adminTokens[0].created: "yesterday" is not a date`},
		{"strings for another language", "acme.yaml", [2]string{"categories:", "strings: {de: {notice.toc: Inhalt}}\ncategories:"}, `strings.de: language "de" is not one of the site's languages (fi, en)`},
		{"malformed string key", "acme.yaml", [2]string{"categories:", "strings: {en: {toc: Contents}}\ncategories:"}, `strings.en.toc: is not a text key: expected widget.<key> or notice.<key>`},
		{"empty string", "acme.yaml", [2]string{"categories:", "strings: {en: {notice.toc: \"\"}}\ncategories:"}, `strings.en.notice.toc: required`},
		{"missing translation", "acme.yaml", [2]string{"label: {fi: Analytiikka, en: Analytics}", "label: {fi: Analytiikka}"}, "categories[1].label.en: missing translation"},
		{"extra translation", "acme.yaml", [2]string{"label: {fi: Analytiikka, en: Analytics}", "label: {fi: Analytiikka, en: Analytics, sv: Analys}"}, `categories[1].label.sv: language "sv" is not one of the site's languages`},
		{"bad duration", "acme.yaml", [2]string{"duration: 13mo", "duration: forever"}, `categories[1].services[0].cookies[0].duration: "forever" is not a duration`},
		{"bad cookie name", "acme.yaml", [2]string{"name: _pk_id.*", "name: \"bad name\""}, `cookies[0].name: "bad name" is not a cookie name`},
		{"missing provider", "acme.yaml", [2]string{"provider: Acme Oy", ""}, "categories[1].services[0].provider: required"},
		{"unknown field", "acme.yaml", [2]string{"policyVersion:", "colour: red\npolicyVersion:"}, "acme.yaml: line 6: field colour not found"},
		{"wrong type", "acme.yaml", [2]string{"policyVersion: \"1\"", "policyVersion: \"1\"\nconsentExpiryDays: soon"}, "acme.yaml: line 7: cannot unmarshal"},
		{"expiry out of range", "acme.yaml", [2]string{"policyVersion: \"1\"", "policyVersion: \"1\"\nconsentExpiryDays: 9999"}, "consentExpiryDays: 9999 is out of range"},
		{"default language not listed", "acme.yaml", [2]string{"languages: [fi, en]", "languages: [fi, en]\ndefaultLanguage: sv"}, `defaultLanguage: "sv" is not one of the site's languages`},
		{"no categories", "acme.yaml", [2]string{"categories:", "categories: []\nx:"}, "acme.yaml: line"},
		{"empty file", "acme.yaml", [2]string{minimalSite, ""}, "acme.yaml: file is empty"},
		{"control character", "acme.yaml", [2]string{"name: Acme Oy", "name: \"Acme\\u0007\""}, "name: contains a control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := minimalSite
			if tt.replace[0] != "" {
				if !strings.Contains(src, tt.replace[0]) {
					t.Fatalf("test setup: %q not in minimal site", tt.replace[0])
				}
				src = strings.Replace(src, tt.replace[0], tt.replace[1], 1)
			}
			_, err := Parse("sites/"+tt.file, []byte(src))
			if err == nil {
				t.Fatalf("want error containing %q, got nil", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	src := strings.NewReplacer("name: Acme Oy", "name: \"\"", "duration: 13mo", "duration: 0d").Replace(minimalSite)
	_, err := Parse("sites/acme.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "name: required") || !strings.Contains(err.Error(), "duration") {
		t.Fatalf("want both problems reported, got %v", err)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "no site files") {
		t.Fatalf("empty dir: want 'no site files', got %v", err)
	}
	write("acme.yaml", minimalSite)
	write("README.txt", "not a site")
	sites, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if got := sites.IDs(); len(got) != 1 || got[0] != "acme" {
		t.Fatalf("IDs = %v", got)
	}
	write("broken.yaml", "id: broken\n")
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "broken.yaml: name: required") {
		t.Fatalf("broken file: got %v", err)
	}
}

// TestLoadDirSharedTokenHash: a token of a site file grants that site
// only, so one token hash in two site files is refused, naming the file and field of each
// later one and the first file that has it; the whole set fails.
func TestLoadDirSharedTokenHash(t *testing.T) {
	hash := func(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }
	site := func(id string, hashes ...string) string {
		src := strings.Replace(minimalSite, "id: acme", "id: "+id, 1) + "adminTokens:\n"
		for i, h := range hashes {
			src += fmt.Sprintf("  - name: t%d\n    hash: %s\n", i, h)
		}
		return src
	}
	tests := []struct {
		name  string
		files map[string]string
		want  []string // parts of the error; none: loads
	}{
		{"a hash per site", map[string]string{"a.yaml": site("a", hash('1')), "b.yaml": site("b", hash('2'))}, nil},
		{"a hash in two files", map[string]string{"a.yaml": site("a", hash('1'), hash('2')), "b.yaml": site("b", hash('3'), hash('2'))}, []string{
			"b.yaml: adminTokens[1].hash: the same token hash is in ",
			"a.yaml (adminTokens[1].hash): a token in a site file grants that site only; to give one token several sites, declare it once in the controllers file",
			"(consentd token create --site b --site …)",
		}},
		{"a hash in three files", map[string]string{"a.yaml": site("a", hash('1')), "b.yaml": site("b", hash('1')), "c.yaml": site("c", hash('1'))}, []string{
			"b.yaml: adminTokens[0].hash: the same token hash is in ",
			"c.yaml: adminTokens[0].hash: the same token hash is in ",
			"--site b", "--site c",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, src := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sites, err := LoadDir(dir)
			if tt.want == nil {
				if err != nil || len(sites) != len(tt.files) {
					t.Fatalf("LoadDir: %d sites, %v", len(sites), err)
				}
				return
			}
			if err == nil || sites != nil {
				t.Fatalf("loaded %v, want an error", sites.IDs())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "a.yaml: adminTokens") {
				t.Errorf("the first file with the hash is named at fault: %v", err)
			}
		})
	}
}

func TestDemoSiteIsValid(t *testing.T) {
	if _, err := Load("../sites/demo.yaml"); err != nil {
		t.Fatalf("the shipped demo site must be valid: %v", err)
	}
}

// TestYAMLErrorsNameFileTypes: yaml.v3's messages name the Go type a value
// did not fit; a type of the site file reads the same whichever package
// holds it.
func TestYAMLErrorsNameFileTypes(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"notice: 3", "line 7: cannot unmarshal !!int `3` into config.Notice"},
		{"notice: {transfers: {outsideEea: true}}", "line 7: field outsideEea not found in Transfers"},
		{"notice: {rights: 4}", "line 7: cannot unmarshal !!int `4` into map[string]config.Right"},
		{"strings: 4", "line 7: cannot unmarshal !!int `4` into map[string]map[string]string"},
		{"regions: [{regio: x}]", "line 7: field regio not found in RegionRule"},
		{"regions: 5", "line 7: cannot unmarshal !!int `5` into []config.RegionRule"},
		{"banner: {lay: x}", "line 7: field lay not found in Banner"},
		{"consentMode: 5", "line 7: cannot unmarshal !!int `5` into config.ConsentMode"},
		{"x: 1", "line 7: field x not found in Site"},
		{"adminTokens: 5", "line 7: cannot unmarshal !!int `5` into []config.AdminToken"},
	}
	for _, tt := range tests {
		_, err := Parse("x/acme.yaml", []byte(strings.Replace(minimalSite, "categories:", tt.yaml+"\ncategories:", 1)))
		if want := "x/acme.yaml: " + tt.want; err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", tt.yaml, err, want)
		}
	}
	_, err := Parse("x/acme.yaml", []byte(strings.Replace(minimalSite, "label: {fi: Analytiikka, en: Analytics}", "label: nope", 1)))
	if want := "x/acme.yaml: line 13: cannot unmarshal !!str `nope` into config.Text"; err == nil || err.Error() != want {
		t.Errorf("label:\n got %v\nwant %s", err, want)
	}
}
