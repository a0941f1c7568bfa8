package controllers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentd/consentd/config/site"
)

func hash(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

// loaded are the sites the files below are checked against: shop's file
// declares a token of its own.
var loaded = site.Sites{
	"shop": {ID: "shop", File: "sites/shop.yaml", AdminTokens: []site.AdminToken{{Name: "shop-ops", Hash: hash('a')}}},
	"blog": {ID: "blog", File: "sites/blog.yaml"},
	"news": {ID: "news", File: "sites/news.yaml"},
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // parts of the error; none: loads
	}{
		{"good file", `
tokens:
  - name: "anna (dpo)"
    hash: ` + hash('1') + `
    created: "2026-12-05"
    sites: [shop, blog]
  - name: nightly export
    hash: ` + hash('2') + `
    sites: [news]
`, nil},
		{"only comments: no token", "# tokens:\n#   - name: x\n", nil},
		{"no tokens", "tokens: []\n", nil},
		{"unknown site", "tokens: [{name: a, hash: " + hash('1') + ", sites: [shop, nosuch]}]", []string{
			`c.yaml: tokens[0].sites[1]: "nosuch" is not a site: expected the id of a site file in the sites directory`}},
		{"wildcard", "tokens: [{name: a, hash: " + hash('1') + ", sites: ['*']}]", []string{
			`c.yaml: tokens[0].sites[0]: "*" is not supported: list each site`}},
		{"no sites", "tokens: [{name: a, hash: " + hash('1') + "}]", []string{
			"c.yaml: tokens[0].sites: required: the ids of the sites the token grants"}},
		{"a site twice", "tokens: [{name: a, hash: " + hash('1') + ", sites: [blog, blog]}]", []string{
			`c.yaml: tokens[0].sites[1]: duplicate site "blog"`}},
		{"malformed hash", "tokens: [{name: a, hash: 'sha256:ABC', sites: [blog]}]", []string{
			"c.yaml: tokens[0].hash: is not a token hash: expected sha256: and 64 lowercase hex digits"}},
		{"the token instead of its hash", "tokens: [{name: a, hash: cdt_abc, sites: [blog]}]", []string{
			"c.yaml: tokens[0].hash: is a token, not its hash"}},
		{"no name, bad date", "tokens: [{hash: " + hash('1') + ", created: today, sites: [blog]}]", []string{
			"c.yaml: tokens[0].name: required", `c.yaml: tokens[0].created: "today" is not a date: expected YYYY-MM-DD`}},
		{"duplicate hash", "tokens: [{name: a, hash: " + hash('1') + ", sites: [blog]}, {name: b, hash: " + hash('1') + ", sites: [news]}]", []string{
			"c.yaml: tokens[1].hash: duplicate token hash"}},
		{"duplicate name", "tokens: [{name: a, hash: " + hash('1') + ", sites: [blog]}, {name: a, hash: " + hash('2') + ", sites: [news]}]", []string{
			`c.yaml: tokens[1].name: duplicate token name "a"`}},
		{"hash also in a site file", "tokens: [{name: a, hash: " + hash('2') + ", sites: [blog]}, {name: b, hash: " + hash('a') + ", sites: [shop, blog]}]", []string{
			"c.yaml: tokens[1].hash: the same token hash is in sites/shop.yaml (adminTokens[0].hash): declare a token in one place"}},
		{"unknown key", "tokens: [{name: a, hash: " + hash('1') + ", site: [blog]}]", []string{
			"c.yaml: line 1: field site not found in Token"}},
		{"not a list", "tokens: {name: a}", []string{
			"c.yaml: line 1: cannot unmarshal !!map into []config.Token"}},
		{"every problem at once", "tokens: [{name: a, hash: md5:x, sites: [nosuch]}, {name: a, hash: " + hash('1') + "}]", []string{
			"tokens[0].hash: is not a token hash", `tokens[0].sites[0]: "nosuch" is not a site`,
			`tokens[1].name: duplicate token name "a"`, "tokens[1].sites: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("c.yaml", []byte(tt.yaml), loaded)
			if tt.want == nil {
				if err != nil || f == nil || f.Path != "c.yaml" {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded %+v, want an error", f.Tokens)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "controllers.yaml")
	if _, err := Load(path, loaded); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("missing file: %v", err)
	}
	src := "tokens:\n  - name: anna\n    hash: " + hash('1') + "\n    sites: [news, shop]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path, loaded)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tokens) != 1 || f.Tokens[0].Name != "anna" || f.Tokens[0].Hash != hash('1') || strings.Join(f.Tokens[0].Sites, ",") != "news,shop" {
		t.Errorf("tokens %+v", f.Tokens)
	}
}
