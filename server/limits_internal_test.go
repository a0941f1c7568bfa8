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
// called. The consent ID limit is not the limiter's (the ledger counts it).
func TestCheckLimitsOnlyBuildsKeysOfActiveLimits(t *testing.T) {
	tests := []struct {
		name                 string
		address, site, perID int
		wantKeys             []string // "" prefix match for the address key; nil = no Take
		wantLimits           []int
		wantRateLimitHeaders bool
	}{
		{"every limit off", 0, 0, 0, nil, nil, false},
		{"consent ID limit only (the ledger's)", 0, 0, 5, nil, nil, false},
		{"site limit only", 0, 7, 0, []string{"c:{demo}:r:s"}, []int{7}, false},
		{"site and consent ID", 0, 7, 5, []string{"c:{demo}:r:s"}, []int{7}, false},
		{"address limit only", 3, 0, 0, []string{"c:{demo}:r:a:"}, []int{3}, true},
		{"every limit on", 3, 7, 5, []string{"c:{demo}:r:a:", "c:{demo}:r:s"}, []int{3, 7}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := &takeRecorder{}
			s := &Server{limiter: lim, cfg: config.Config{RateLimit: tt.address, SiteRateLimit: tt.site, ConsentIDLimit: tt.perID}}
			if tt.address > 0 {
				s.ips = clientip.New(nil, "truncate", "")
			}
			app := fiber.New()
			app.Get("/", func(c *fiber.Ctx) error {
				return s.checkLimits(c, "demo", netip.MustParseAddr("192.0.2.1"))
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
