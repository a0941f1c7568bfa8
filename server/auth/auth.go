// Package auth issues and checks the per-site admin tokens of the
// controllers' API. A token is 32 random bytes; a site file stores only
// its SHA-256 ("sha256:<hex>"), so a leaked site file does not leak
// access. Comparisons are constant-time.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

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

// Hash returns the form a site file stores: "sha256:" + hex SHA-256.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Verdict is the outcome of checking a request's token for a site.
type Verdict int

// The verdicts, from worst to best.
const (
	Missing   Verdict = iota // no Authorization: Bearer header → 401
	Invalid                  // a token no site knows → 401
	OtherSite                // a valid token of another site → 403
	OK                       // a token of this site
)

// Check looks the bearer token of an Authorization header up among the
// site's tokens and, to tell 403 from 401, among every other site's.
// It returns the verdict and the name of the matching token (for logs;
// never the token itself). Every stored hash is compared, in constant
// time, whatever matches, so the time taken does not depend on which
// token (if any) matched.
func Check(authorization, siteID string, sites site.Sites) (Verdict, string) {
	token, ok := bearer(authorization)
	if !ok {
		return Missing, ""
	}
	sum := sha256.Sum256([]byte(token))
	got := []byte("sha256:" + hex.EncodeToString(sum[:]))
	verdict, name := Invalid, ""
	for id, s := range sites {
		for _, t := range s.AdminTokens {
			if subtle.ConstantTimeCompare(got, []byte(t.Hash)) == 1 {
				if id == siteID {
					verdict, name = OK, t.Name
				} else if verdict != OK {
					verdict = OtherSite
				}
			}
		}
	}
	return verdict, name
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
