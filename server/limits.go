package server

import (
	"context"
	"net/netip"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/server/ratelimit"
)

// Limiter counts requests against limits shared by every instance
// (implemented by *ratelimit.Limiter on the ledger's Redis).
type Limiter interface {
	Take(ctx context.Context, counters []ratelimit.Counter) (ratelimit.Result, error)
}

const (
	// limitWindow is the window of every consent rate limit.
	limitWindow = time.Minute
	// limitTimeout bounds the rate limiter's round trip to Redis; past it
	// the request is admitted unchecked (fail open).
	limitTimeout = time.Second
)

// The limits of POST /v1/consent, as named in metrics and answers.
const (
	limitAddress   = "address"
	limitSite      = "site"
	limitConsentID = "consent_id"
)

// checkLimits counts a consent post against the limits shared by every
// instance: per client address (IPv4, or IPv6 /64) and site, and per
// site. Over a limit it returns a 429 with Retry-After. (The limit per
// consent ID is the ledger's: the append script counts it in the
// visitor's state, ledger.Options.ConsentIDLimit.)
//
// When Redis does not answer, the post is admitted unchecked and counted
// in consentd_rate_limit_errors_total (fail open): the ledger needs the
// same Redis, so such a post is answered 503 a moment later anyway, and a
// limiter must not turn a Redis outage into refusals of its own.
func (s *Server) checkLimits(c *fiber.Ctx, site string, addr netip.Addr) error {
	if s.limiter == nil || s.cfg.RateLimit <= 0 && s.cfg.SiteRateLimit <= 0 {
		return nil // every limit is off: no key to build, no round trip
	}
	// A counter's key is built only when its limit is on: the address key
	// needs a keyed hash of the address and concatenation.
	var counters [2]ratelimit.Counter
	var names [2]string
	n := 0
	if limit := s.cfg.RateLimit; limit > 0 {
		counters[n] = limitCounter(ratelimit.AddrKey(site, s.ips.LimitKey(addr)), limit)
		names[n] = limitAddress
		n++
	}
	if limit := s.cfg.SiteRateLimit; limit > 0 {
		counters[n], names[n] = limitCounter(ratelimit.SiteKey(site), limit), limitSite
		n++
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), limitTimeout)
	defer cancel()
	res, err := s.limiter.Take(ctx, counters[:n])
	if err != nil {
		s.metrics.RateLimitError()
		s.log.Debug("rate limit not checked: Redis did not answer; admitting", "site", site, "err", err)
		return nil
	}
	if res.Admitted() {
		if names[0] == limitAddress {
			c.Set("X-RateLimit-Limit", strconv.Itoa(s.cfg.RateLimit))
			c.Set("X-RateLimit-Remaining", strconv.Itoa(max(s.cfg.RateLimit-res.Count, 0)))
			c.Set("X-RateLimit-Reset", strconv.Itoa(ceilSeconds(res.Reset)))
		}
		return nil
	}
	name := names[res.Blocked]
	s.metrics.RateLimited(name)
	e := &APIError{Code: fiber.StatusTooManyRequests, RetryAfter: strconv.Itoa(ceilSeconds(res.Reset))}
	switch name {
	case limitAddress:
		e.Msg = "too many requests from this address, retry later"
	case limitSite:
		e.Msg = "too many requests for this site, retry later"
	}
	return e
}

// limitCounter is the counter of one limit (of limitWindow) under key.
func limitCounter(key string, limit int) ratelimit.Counter {
	return ratelimit.Counter{Key: key, Limit: limit, Window: limitWindow}
}

// ceilSeconds rounds d up to whole seconds, at least 1 (for Retry-After).
func ceilSeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}
