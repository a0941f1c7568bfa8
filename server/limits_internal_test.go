package server

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/clientip"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/ratelimit"
)

// takeRecorder is a Limiter that admits everything and keeps the counters
// of each Take.
type takeRecorder struct{ calls [][]ratelimit.Counter }

// Take records counters and admits the request.
func (r *takeRecorder) Take(_ context.Context, counters []ratelimit.Counter) (ratelimit.Result, error) {
	r.calls = append(r.calls, slices.Clone(counters))
	return ratelimit.Result{Blocked: -1, Count: 1}, nil
}

// TestCheckLimitsOnlyBuildsKeysOfActiveLimits: a limit that is off (0)
// costs nothing, not even its key. When the address limit is off the
// server has no client address resolver at all, so hashing the address
// for its key would panic; when every limit is off the limiter is not
// called.
func TestCheckLimitsOnlyBuildsKeysOfActiveLimits(t *testing.T) {
	const id = "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f"
	tests := []struct {
		name                 string
		address, site, perID int
		clientConsentID      bool
		wantKeys             []string // "" prefix match for the address key; nil = no Take
		wantLimits           []int
		wantRateLimitHeaders bool
	}{
		{"every limit off", 0, 0, 0, true, nil, nil, false},
		{"consent ID limit on, no client consent ID", 0, 0, 5, false, nil, nil, false},
		{"site limit only", 0, 7, 0, true, []string{"c:{demo}:r:s"}, []int{7}, false},
		{"consent ID limit only", 0, 0, 5, true, []string{"c:{demo}:r:c:" + id}, []int{5}, false},
		{"site and consent ID", 0, 7, 5, true, []string{"c:{demo}:r:s", "c:{demo}:r:c:" + id}, []int{7, 5}, false},
		{"address limit only", 3, 0, 0, false, []string{"c:{demo}:r:a:"}, []int{3}, true},
		{"every limit on", 3, 7, 5, true, []string{"c:{demo}:r:a:", "c:{demo}:r:s", "c:{demo}:r:c:" + id}, []int{3, 7, 5}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := &takeRecorder{}
			s := &Server{limiter: lim, cfg: config.Config{RateLimit: tt.address, SiteRateLimit: tt.site, ConsentIDLimit: tt.perID}}
			if tt.address > 0 {
				s.ips = clientip.New(nil, "truncate", "")
			}
			rec := &ledger.Record{Site: "demo", ConsentID: id}
			app := fiber.New()
			app.Get("/", func(c *fiber.Ctx) error {
				return s.checkLimits(c, rec, netip.MustParseAddr("192.0.2.1"), tt.clientConsentID)
			})
			res, err := app.Test(httptest.NewRequest("GET", "/", nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != fiber.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("X-RateLimit-Limit") != ""; got != tt.wantRateLimitHeaders {
				t.Errorf("X-RateLimit headers set: %v, want %v", got, tt.wantRateLimitHeaders)
			}
			if tt.wantKeys == nil {
				if len(lim.calls) != 0 {
					t.Fatalf("limiter called with %v, want no call", lim.calls)
				}
				return
			}
			if len(lim.calls) != 1 || len(lim.calls[0]) != len(tt.wantKeys) {
				t.Fatalf("limiter calls %v, want one with keys %v", lim.calls, tt.wantKeys)
			}
			for i, c := range lim.calls[0] {
				if !strings.HasPrefix(c.Key, tt.wantKeys[i]) || c.Limit != tt.wantLimits[i] || c.Window != limitWindow {
					t.Errorf("counter %d = %+v, want key %q… limit %d", i, c, tt.wantKeys[i], tt.wantLimits[i])
				}
			}
		})
	}
}
