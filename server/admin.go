package server

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/time/rate"

	"github.com/consentd/consentd/server/auth"
	"github.com/consentd/consentd/server/ledger"
)

// HistoryReader reads one visitor's decisions (the look-up).
type HistoryReader interface {
	History(ctx context.Context, site, consentID string) ([]ledger.Entry, []*ledger.UnverifiedError, error)
}

// adminAuth guards the controllers' API under /v1/sites/{site}: the
// request needs `Authorization: Bearer <token>` with a token that grants
// that site (a token of its site file, or one of the controllers file
// that lists it). No or an unknown token → 401, a token that does not
// grant the site → 403 (admit).
func (s *Server) adminAuth(c *fiber.Ctx) error {
	site := c.Params("site")
	verdict, name := s.catalog.Load().tokens.Check(c.Get(fiber.HeaderAuthorization), site)
	if err := s.admit(c, verdict, site, "site", site, "token", name); err != nil {
		return err
	}
	return c.Next()
}

// tokenKey is where tokenAuth leaves the request's *auth.Token (Locals).
type tokenKey struct{}

// tokenAuth guards the routes of the token itself (GET /v1/sites): any
// valid token is admitted, and the handler finds it with requestToken.
// No or an unknown token → 401 (admit).
func (s *Server) tokenAuth(c *fiber.Ctx) error {
	verdict, tok := s.catalog.Load().tokens.Lookup(c.Get(fiber.HeaderAuthorization))
	var log []any
	if tok != nil {
		log = []any{"sites", tok.Sites, "token", tok.Name}
	}
	if err := s.admit(c, verdict, "", log...); err != nil {
		return err
	}
	c.Locals(tokenKey{}, tok)
	return c.Next()
}

// requestToken is the token tokenAuth admitted the request with.
func requestToken(c *fiber.Ctx) *auth.Token {
	t, _ := c.Locals(tokenKey{}).(*auth.Token)
	return t
}

// admit answers a sign-in: over --admin-fail-limit failures a minute an
// address gets 429 whatever it sends; a verdict other than OK is counted
// as a failure and answered 401 (Missing, Invalid) or 403 (OtherSite:
// the token does not grant site). An admitted request is logged with
// attrs (what it asks for and the token's name, never the token) and
// answered with no-store.
func (s *Server) admit(c *fiber.Ctx, verdict auth.Verdict, site string, attrs ...any) error {
	addr := s.clientAddr(c).String()
	if blocked, wait := s.adminFails.blocked(addr); blocked {
		return &APIError{Code: fiber.StatusTooManyRequests, Msg: "too many failed sign-ins from this address, retry later",
			RetryAfter: strconv.Itoa(int(wait.Seconds()) + 1)}
	}
	if verdict != auth.OK {
		s.adminFails.fail(addr)
	}
	switch verdict {
	case auth.Missing:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="consentd"`)
		return &APIError{Code: fiber.StatusUnauthorized, Field: "Authorization", Msg: "missing token: send Authorization: Bearer <token> (consentd token create)"}
	case auth.Invalid:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="consentd", error="invalid_token"`)
		return &APIError{Code: fiber.StatusUnauthorized, Field: "Authorization", Msg: "invalid token"}
	case auth.OtherSite:
		return &APIError{Code: fiber.StatusForbidden, Field: "Authorization", Msg: "the token is not valid for site " + site}
	}
	s.log.Info("admin request", append(attrs, "method", c.Method(), "path", c.Path(),
		"request_id", c.GetRespHeader(fiber.HeaderXRequestID))...)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return nil
}

// failLimiter limits failed admin sign-ins per client address (this
// instance's memory), so tokens cannot be guessed at speed: each address
// has a token bucket of limit failures, refilled at limit per window
// (golang.org/x/time/rate). An address whose bucket is empty gets 429,
// whatever token it sends, until a failure is allowed again.
type failLimiter struct {
	mu     sync.Mutex
	burst  int
	refill rate.Limit // failures allowed again per second
	now    func() time.Time
	m      map[string]*rate.Limiter
	// sweepAt is the number of entries at which fail drops the idle ones:
	// twice what the last sweep kept (at least failLimiterSweep), so
	// sweeps cost O(1) per failure however many addresses are live.
	sweepAt int
}

// failLimiterSweep is the fewest entries at which idle ones are dropped.
const failLimiterSweep = 10_000

// newFailLimiter allows limit failures per address and window.
func newFailLimiter(limit int, window time.Duration) *failLimiter {
	return &failLimiter{burst: limit, refill: rate.Limit(float64(limit) / window.Seconds()), now: time.Now,
		m: map[string]*rate.Limiter{}, sweepAt: failLimiterSweep}
}

// blocked reports whether key has no failure left, and how long until it
// has one.
func (l *failLimiter) blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[key]
	if !ok {
		return false, 0
	}
	tokens := lim.TokensAt(l.now())
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / float64(l.refill) * float64(time.Second))
}

// fail counts one failure of key.
func (l *failLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) >= l.sweepAt { // keep memory bounded under a spray of addresses
		for k, lim := range l.m {
			if lim.TokensAt(now) >= float64(l.burst) { // full again: as good as new
				delete(l.m, k)
			}
		}
		l.sweepAt = max(failLimiterSweep, 2*len(l.m))
	}
	lim, ok := l.m[key]
	if !ok {
		lim = rate.NewLimiter(l.refill, l.burst)
		l.m[key] = lim
	}
	lim.AllowN(now, 1) // false (nothing taken) only if a concurrent failure took the last one
}

// historyResponse is GET /v1/sites/{site}/consents/{consentId}.
type historyResponse struct {
	Site      string            `json:"site"`
	ConsentID string            `json:"consent_id"`
	Records   []ledger.Stored   `json:"records"`
	Notices   map[string]string `json:"notices"` // notice version → where its snapshot is
	// Unverified lists the visitor's log entries that are not part of the
	// site's signed chain: not decisions, shown so that the controller
	// sees them (docs/proof.md).
	Unverified []unverifiedEntry `json:"unverified,omitempty"`
}

// unverifiedEntry is a log entry outside the signed chain, and why.
type unverifiedEntry struct {
	StreamID string `json:"stream_id"`
	Reason   string `json:"reason"`
}

// consentHistory answers a visitor's access request: every decision of
// one consent ID, oldest first, with links to the notice versions shown.
func (s *Server) consentHistory(c *fiber.Ctx) error {
	site, id := c.Params("site"), c.Params("consentId")
	if !isLowerUUID(id) {
		return badRequest("consentId", "must be a lowercase UUID such as 3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	entries, bad, err := s.history.History(ctx, site, id)
	if err != nil {
		return s.storeError(site, err)
	}
	if len(entries) == 0 && len(bad) == 0 {
		return &APIError{Code: fiber.StatusNotFound, Field: "consentId", Msg: "no decisions stored for this consent ID (or they are older than the retention)"}
	}
	out := historyResponse{Site: site, ConsentID: id, Records: make([]ledger.Stored, len(entries)), Notices: map[string]string{}}
	for i, e := range entries {
		out.Records[i] = e.Record
		out.Notices[e.Record.NoticeVersion] = "/n/" + site + "/v/" + e.Record.NoticeVersion
	}
	for _, b := range bad {
		s.metrics.Unverified(strings.Clone(site), "lookup") // the label outlives the request's buffer
		s.log.Error("look-up: a log entry is not part of the signed chain", "site", site, "stream_id", b.StreamID, "reason", b.Reason)
		out.Unverified = append(out.Unverified, unverifiedEntry{StreamID: b.StreamID, Reason: b.Reason})
	}
	return c.JSON(out)
}
