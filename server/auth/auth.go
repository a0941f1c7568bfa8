// Package auth issues and checks the admin tokens of the controllers'
// API. A token is 32 random bytes; configuration files store only its
// SHA-256 ("sha256:<hex>"), so a leaked file does not leak access. A
// token of a site file grants that site; a token of the controllers file
// grants the sites it lists. Tokens holds every token in force and
// compares in constant time.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/consentd/consentd/config/controllers"
	"github.com/consentd/consentd/config/site"
)

// Prefix starts every token, so a leaked one is easy to recognise (and
// to search for in logs and repositories).
const Prefix = "cdt_"

// New returns a new random token.
func New() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return Prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Hash returns the form the files store: "sha256:" + hex SHA-256.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Verdict is the outcome of checking a request's token for a site.
type Verdict int

// The verdicts, from worst to best.
const (
	Missing   Verdict = iota // no Authorization: Bearer header → 401
	Invalid                  // a token no file declares → 401
	OtherSite                // a valid token that does not grant the site → 403
	OK                       // a token that grants the site
)

// Token is one declared token as the check sees it.
type Token struct {
	// Name says whose or what the token is; logs name it, never the token.
	Name string
	// Sites are the ids of the sites the token grants, in the order they
	// are declared.
	Sites []string
	hash  []byte // "sha256:<hex>", as stored
}

// Grants reports whether the token grants site.
func (t *Token) Grants(site string) bool { return slices.Contains(t.Sites, site) }

// Tokens is every admin token in force. It is made at each load of the
// configuration and never modified.
type Tokens struct{ list []Token }

// NewTokens collects the tokens of the site files (each granting its
// site) and of the controllers file (each granting the sites it lists;
// ctl may be nil). The files were checked when loaded: a hash is
// declared in one place only (site.LoadDir, controllers.Parse).
func NewTokens(sites site.Sites, ctl *controllers.File) *Tokens {
	ts := &Tokens{}
	for _, id := range sites.IDs() {
		for _, t := range sites[id].AdminTokens {
			ts.list = append(ts.list, Token{Name: t.Name, Sites: []string{id}, hash: []byte(t.Hash)})
		}
	}
	if ctl != nil {
		for _, t := range ctl.Tokens {
			ts.list = append(ts.list, Token{Name: t.Name, Sites: slices.Clone(t.Sites), hash: []byte(t.Hash)})
		}
	}
	return ts
}

// Lookup finds the bearer token of an Authorization header: Missing
// without one, Invalid when no declared token has its hash, else OK and
// the token. Every stored hash is compared, in constant time, whatever
// matches, so the time taken does not depend on which token (if any)
// matched.
func (ts *Tokens) Lookup(authorization string) (Verdict, *Token) {
	token, ok := bearer(authorization)
	if !ok {
		return Missing, nil
	}
	got := []byte(Hash(token))
	var found *Token
	for i := range ts.list {
		if subtle.ConstantTimeCompare(got, ts.list[i].hash) == 1 {
			found = &ts.list[i]
		}
	}
	if found == nil {
		return Invalid, nil
	}
	return OK, found
}

// Check decides a request for siteID: OK (and the token's name, for
// logs) when its token grants the site, OtherSite when it is a valid
// token that does not, else Missing or Invalid (Lookup).
func (ts *Tokens) Check(authorization, siteID string) (Verdict, string) {
	v, t := ts.Lookup(authorization)
	switch {
	case v != OK:
		return v, ""
	case !t.Grants(siteID):
		return OtherSite, ""
	}
	return OK, t.Name
}

// bearer extracts the token of "Bearer <token>" (scheme case-insensitive).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
