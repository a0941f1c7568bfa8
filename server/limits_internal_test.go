package server

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/clientip"
)

// TestConsentLimitsOnlyBuildKeysOfActiveLimits: a limit that is off (0)
// costs nothing, not even its key. When the address limit is off the
// server has no client address resolver at all, so hashing the address
// for its key would panic. The consent ID limit is the ledger's option,
// not one of the record's limits.
func TestConsentLimitsOnlyBuildKeysOfActiveLimits(t *testing.T) {
	tests := []struct {
		name                 string
		address, site, perID int
		wantFields           []string // prefix match for the address field
		wantMax              []int
	}{
		{"every limit off", 0, 0, 0, nil, nil},
		{"consent ID limit only (the ledger's)", 0, 0, 5, nil, nil},
		{"site limit only", 0, 7, 0, []string{"s"}, []int{7}},
		{"site and consent ID", 0, 7, 5, []string{"s"}, []int{7}},
		{"address limit only", 3, 0, 0, []string{"a:"}, []int{3}},
		{"every limit on", 3, 7, 5, []string{"a:", "s"}, []int{3, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{cfg: config.Config{RateLimit: tt.address, SiteRateLimit: tt.site, ConsentIDLimit: tt.perID}}
			if tt.address > 0 {
				s.ips = clientip.New(nil, "truncate", "")
			}
			got := s.consentLimits(netip.MustParseAddr("192.0.2.1"))
			if len(got) != len(tt.wantFields) {
				t.Fatalf("limits %+v, want fields %v", got, tt.wantFields)
			}
			for i, l := range got {
				if !strings.HasPrefix(l.Field, tt.wantFields[i]) || l.Max != tt.wantMax[i] || l.Name == "" {
					t.Errorf("limit %d = %+v, want field %q… max %d", i, l, tt.wantFields[i], tt.wantMax[i])
				}
			}
		})
	}
}
