package server

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/server/auth"
	"github.com/consentd/consentd/server/ledger"
)

// HistoryReader reads one visitor's decisions (the look-up).
type HistoryReader interface {
	History(ctx context.Context, site, consentID string) ([]ledger.Entry, []*ledger.UnverifiedError, error)
}

// adminAuth guards the controllers' API under /v1/sites/{site}: the
// request needs `Authorization: Bearer <token>` with a token of that site.
// No or an unknown token → 401, another site's token → 403; after
// --admin-fail-limit failures in a minute an address gets 429. Every
// admitted request is logged with the token's name, never the token.
func (s *Server) adminAuth(c *fiber.Ctx) error {
	addr := s.clientAddr(c).String()
	if blocked, wait := s.adminFails.blocked(addr); blocked {
		return &APIError{Code: fiber.StatusTooManyRequests, Msg: "too many failed sign-ins from this address, retry later",
			RetryAfter: strconv.Itoa(int(wait.Seconds()) + 1)}
	}
	site := c.Params("site")
	verdict, name := auth.Check(c.Get(fiber.HeaderAuthorization), site, s.catalog.Load().config)
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
	s.log.Info("admin request", "site", site, "token", name, "method", c.Method(), "path", c.Path(),
		"request_id", c.GetRespHeader(fiber.HeaderXRequestID))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// failLimiter counts failed admin sign-ins per client address in fixed
// one-minute windows (this instance's memory). An address over the limit
// gets 429 for the rest of its window, whatever token it sends, so tokens
// cannot be guessed at speed.
type failLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	m      map[string]failWindow
}

type failWindow struct {
	start time.Time
	n     int
}

func newFailLimiter(max int, window time.Duration) *failLimiter {
	return &failLimiter{max: max, window: window, now: time.Now, m: map[string]failWindow{}}
}

// blocked reports whether key is over the limit, and for how long.
func (l *failLimiter) blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.m[key]
	now := l.now()
	if !ok || now.Sub(w.start) >= l.window {
		return false, 0
	}
	return w.n >= l.max, w.start.Add(l.window).Sub(now)
}

// fail counts one failure of key.
func (l *failLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) > 10000 { // keep memory bounded under a spray of addresses
		for k, w := range l.m {
			if now.Sub(w.start) >= l.window {
				delete(l.m, k)
			}
		}
	}
	w, ok := l.m[key]
	if !ok || now.Sub(w.start) >= l.window {
		w = failWindow{start: now}
	}
	w.n++
	l.m[key] = w
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
