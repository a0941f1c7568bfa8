package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"testing"
)

// TestRequestHashFormat pins requestHash to its definition (fields
// length-prefixed as "%d:%s", then "%d:%s=%t" per sorted choice): stored
// idempotency values keep it, so a retry sent across an upgrade must hash
// the same.
func TestRequestHashFormat(t *testing.T) {
	spec := func(site, consentID, method, nv, lang, page string, choices map[string]bool) string {
		h := sha256.New()
		for _, f := range []string{site, consentID, method, nv, lang, page} {
			fmt.Fprintf(h, "%d:%s", len(f), f)
		}
		for _, id := range slices.Sorted(maps.Keys(choices)) {
			fmt.Fprintf(h, "%d:%s=%t", len(id), id, choices[id])
		}
		return hex.EncodeToString(h.Sum(nil)[:16])
	}
	tests := []struct {
		name                                   string
		site, consentID, method, nv, lang, url string
		choices                                map[string]bool
	}{
		{"typical", "demo", "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f", "custom", zeros64, "fi", "https://x.fi/a",
			map[string]bool{"necessary": true, "analytics": false, "marketing": true}},
		{"empty fields", "demo", "", "reject_all", zeros64, "sv", "", map[string]bool{"necessary": true}},
		{"non-ASCII and separators", "ä:ö", "1:2", "=", "", "en", "https://x.fi/ä=1:2", map[string]bool{"a=b": true, "é": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := requestHash(tt.site, tt.consentID, tt.method, tt.nv, tt.lang, tt.url, tt.choices)
			if want := spec(tt.site, tt.consentID, tt.method, tt.nv, tt.lang, tt.url, tt.choices); got != want {
				t.Fatalf("requestHash = %s, want %s", got, want)
			}
		})
	}
}
