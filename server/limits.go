package server

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/server/ledger"
)

// The limits of POST /v1/consent, as named in metrics and answers.
const (
	limitAddress   = "address"
	limitSite      = "site"
	limitConsentID = ledger.ConsentIDLimit
)

// consentLimits are the rate limits a consent post counts against: per
// client address (IPv4, or IPv6 /64) and site, and per site. The ledger
// checks and counts them in the script that stores the record, with the
// limit per consent ID (ledger.Options.ConsentIDLimit): a post over any
// of them is not stored and counts nowhere (*ledger.RateLimitedError).
// A limit that is off (0) costs nothing, not even its key.
func (s *Server) consentLimits(addr netip.Addr) []ledger.Limit {
	var out []ledger.Limit
	if limit := s.cfg.RateLimit; limit > 0 {
		out = append(out, ledger.Limit{Name: limitAddress, Field: ledger.AddrLimitField(s.ips.LimitKey(addr)), Max: limit})
	}
	if limit := s.cfg.SiteRateLimit; limit > 0 {
		out = append(out, ledger.Limit{Name: limitSite, Field: ledger.SiteLimitField, Max: limit})
	}
	return out
}

// setLimitHeaders says how much of the address limit a stored post left.
func (s *Server) setLimitHeaders(c *fiber.Ctx, rec *ledger.Record, u ledger.LimitUsage) {
	if len(rec.Limits) == 0 || rec.Limits[0].Name != limitAddress || u.Count == 0 {
		return
	}
	c.Set("X-RateLimit-Limit", strconv.Itoa(s.cfg.RateLimit))
	c.Set("X-RateLimit-Remaining", strconv.Itoa(max(s.cfg.RateLimit-u.Count, 0)))
	c.Set("X-RateLimit-Reset", strconv.Itoa(ceilSeconds(u.Reset)))
}

// tooMany is the answer to a post over a limit.
func (s *Server) tooMany(e *ledger.RateLimitedError) error {
	s.metrics.RateLimited(e.Limit)
	out := &APIError{Code: fiber.StatusTooManyRequests, RetryAfter: strconv.Itoa(ceilSeconds(e.RetryAfter))}
	switch e.Limit {
	case limitAddress:
		out.Msg = "too many requests from this address, retry later"
	case limitSite:
		out.Msg = "too many requests for this site, retry later"
	default:
		out.Msg, out.Field = "too many decisions for this consent ID, retry later", "consentId"
	}
	return out
}

// ceilSeconds rounds d up to whole seconds, at least 1 (for Retry-After).
func ceilSeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}
