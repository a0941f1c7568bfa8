package auth

import (
	"strings"
	"testing"

	"github.com/consentd/consentd/config/controllers"
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
	multiTok, _ := New()
	sites := site.Sites{
		"demo":  {ID: "demo", AdminTokens: []site.AdminToken{{Name: "dpo", Hash: Hash(demoTok)}}},
		"other": {ID: "other", AdminTokens: []site.AdminToken{{Name: "ops", Hash: Hash(otherTok)}}},
		"shop":  {ID: "shop"},
		"none":  {ID: "none"},
	}
	ctl := &controllers.File{Tokens: []controllers.Token{
		{AdminToken: site.AdminToken{Name: "anna", Hash: Hash(multiTok)}, Sites: []string{"shop", "demo"}},
	}}
	tokens := NewTokens(sites, ctl)
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
		{"controllers file token, first of its sites", "Bearer " + multiTok, "shop", OK, "anna"},
		{"controllers file token, second of its sites", "Bearer " + multiTok, "demo", OK, "anna"},
		{"controllers file token, a site it does not list", "Bearer " + multiTok, "other", OtherSite, ""},
		{"controllers file token, an unknown site", "Bearer " + multiTok, "nosuch", OtherSite, ""},
		{"site file token on a site of the controllers file", "Bearer " + demoTok, "shop", OtherSite, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, name := tokens.Check(tt.header, tt.site)
			if v != tt.want || name != tt.tokenName {
				t.Errorf("Check = %v %q, want %v %q", v, name, tt.want, tt.tokenName)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	demoTok, _ := New()
	multiTok, _ := New()
	sites := site.Sites{"demo": {ID: "demo", AdminTokens: []site.AdminToken{{Name: "dpo", Hash: Hash(demoTok)}}}, "shop": {ID: "shop"}}
	ctl := &controllers.File{Tokens: []controllers.Token{
		{AdminToken: site.AdminToken{Name: "anna", Hash: Hash(multiTok)}, Sites: []string{"shop", "demo"}},
	}}
	for _, tt := range []struct {
		name, header string
		want         Verdict
		sites        string
	}{
		{"no header", "", Missing, ""},
		{"unknown token", "Bearer cdt_nope", Invalid, ""},
		{"site file token", "Bearer " + demoTok, OK, "demo"},
		{"controllers file token: its sites in declared order", "Bearer " + multiTok, OK, "shop,demo"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, tok := NewTokens(sites, ctl).Lookup(tt.header)
			got := ""
			if tok != nil {
				got = strings.Join(tok.Sites, ",")
			}
			if v != tt.want || got != tt.sites || (v == OK) != (tok != nil) {
				t.Errorf("Lookup = %v %q, want %v %q", v, got, tt.want, tt.sites)
			}
		})
	}
	if v, _ := NewTokens(sites, nil).Lookup("Bearer " + multiTok); v != Invalid {
		t.Errorf("without a controllers file its token is %v, want Invalid", v)
	}
}
