package auth

import (
	"strings"
	"testing"

	"github.com/consentd/consentd/config/site"
)

func TestNewAndHash(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New()
	if a == b || !strings.HasPrefix(a, Prefix) || len(a) != len(Prefix)+43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if h := Hash(a); !strings.HasPrefix(h, "sha256:") || len(h) != 7+64 || h == Hash(b) {
		t.Fatalf("hash %q", h)
	}
}

func TestCheck(t *testing.T) {
	demoTok, _ := New()
	otherTok, _ := New()
	sites := site.Sites{
		"demo":  {ID: "demo", AdminTokens: []site.AdminToken{{Name: "dpo", Hash: Hash(demoTok)}}},
		"other": {ID: "other", AdminTokens: []site.AdminToken{{Name: "ops", Hash: Hash(otherTok)}}},
		"none":  {ID: "none"},
	}
	tests := []struct {
		name, header, site string
		want               Verdict
		tokenName          string
	}{
		{"no header", "", "demo", Missing, ""},
		{"basic auth", "Basic ZGVtbzpkZW1v", "demo", Missing, ""},
		{"bearer without token", "Bearer ", "demo", Missing, ""},
		{"unknown token", "Bearer cdt_nope", "demo", Invalid, ""},
		{"the hash instead of the token", "Bearer " + Hash(demoTok), "demo", Invalid, ""},
		{"good token", "Bearer " + demoTok, "demo", OK, "dpo"},
		{"scheme in lower case, extra spaces", "  bearer   " + demoTok + " ", "demo", OK, "dpo"},
		{"another site's token", "Bearer " + otherTok, "demo", OtherSite, ""},
		{"token of a site asking for one without tokens", "Bearer " + demoTok, "none", OtherSite, ""},
		{"token for an unknown site", "Bearer " + demoTok, "nosuch", OtherSite, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, name := Check(tt.header, tt.site, sites)
			if v != tt.want || name != tt.tokenName {
				t.Errorf("Check = %v %q, want %v %q", v, name, tt.want, tt.tokenName)
			}
		})
	}
}
