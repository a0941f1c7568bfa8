package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/config/region"
	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/geo"
)

// observe gives every request an id (X-Request-ID, kept if the client sent
// a sane one), refuses a request with ambiguous framing before any route
// runs (framing.go; route label "rejected"), answers any error of the
// request through errorHandler (errors.go), and records its route, status
// and latency.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	id := c.Get(fiber.HeaderXRequestID)
	if !saneToken(id, 64) {
		id = newRequestID()
	}
	c.Set(fiber.HeaderXRequestID, id)
	route := "rejected"
	err := s.refuseAmbiguousFraming(c)
	if err == nil {
		err = c.Next()
		route = c.Route().Path
	}
	if err != nil {
		var fe *fiber.Error
		if errors.As(err, &fe) && fe.Code == fiber.StatusNotFound {
			route = "unmatched" // the router found no route; keep the label set small
		}
		if herr := s.errorHandler(c, err); herr != nil {
			return herr
		}
	}
	s.metrics.Request(route, methodLabel(c.Method()), c.Response().StatusCode(), time.Since(start))
	return nil
}

// methodLabel maps the request method to a constant string. c.Method()
// points into fasthttp's reused buffer and must not be kept (Prometheus
// keeps label values); unknown methods share one label.
func methodLabel(m string) string {
	for _, known := range []string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodOptions,
		fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete} {
		if m == known {
			return known
		}
	}
	return "OTHER"
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// saneToken reports whether v is 1..max characters of [A-Za-z0-9_.-].
func saneToken(v string, max int) bool {
	if v == "" || len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
			return false
		}
	}
	return true
}

// securityHeaders sets headers every response carries. Pages get their
// Content-Security-Policy where they are served.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	setSecurityHeaders(c)
	return c.Next()
}

func setSecurityHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "strict-origin-when-cross-origin")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// cors answers cross-origin requests to the consent API. Browsers send the
// preflight before the site is known (it is in the body), so any origin of
// any site passes here; postConsent then checks the site's own allowlist.
func (s *Server) cors(c *fiber.Ctx) error {
	c.Vary(fiber.HeaderOrigin)
	if origin := c.Get(fiber.HeaderOrigin); origin != "" && s.catalog.Load().origins[origin] {
		c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
		// Let the widget read Retry-After on 429 and 503 to pace its retries.
		c.Set(fiber.HeaderAccessControlExposeHeaders, fiber.HeaderRetryAfter)
	}
	return c.Next()
}

// preflight answers CORS preflight for POST /v1/consent.
func (s *Server) preflight(c *fiber.Ctx) error {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || !s.catalog.Load().origins[origin] {
		return &APIError{Code: fiber.StatusForbidden, Field: "Origin", Msg: "origin is not allowed by any site"}
	}
	if m := c.Get(fiber.HeaderAccessControlRequestMethod); m != "" && m != fiber.MethodPost {
		return &APIError{Code: fiber.StatusMethodNotAllowed, Field: "Access-Control-Request-Method", Msg: "only POST is allowed"}
	}
	for _, h := range strings.Split(c.Get(fiber.HeaderAccessControlRequestHeaders), ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h != "" && h != "content-type" && h != "idempotency-key" && h != "consentd-cookie" {
			return &APIError{Code: fiber.StatusForbidden, Field: "Access-Control-Request-Headers", Msg: "header " + h + " is not allowed"}
		}
	}
	c.Set(fiber.HeaderAccessControlAllowMethods, "POST")
	c.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type, Idempotency-Key, Consentd-Cookie")
	c.Set(fiber.HeaderAccessControlMaxAge, "7200")
	return c.SendStatus(fiber.StatusNoContent)
}

// locate returns where the client at addr (clientAddr) is (country,
// subdivision) and, for site, the regional mode that applies.
func (s *Server) locate(c *fiber.Ctx, site *site.Site, addr netip.Addr) (geo.Location, string) {
	if !s.geo.Enabled() {
		return geo.Location{}, region.ModeOptIn
	}
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	loc := s.geo.Locate(addr, func(h string) string { return c.Get(h) }, s.ips.Trusted(peer))
	return loc, site.ModeFor(loc.Country, loc.Subdivision)
}

// clientAddr is the visitor's address, from X-Forwarded-For only when the
// TCP peer is a trusted proxy.
func (s *Server) clientAddr(c *fiber.Ctx) netip.Addr {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	if !s.ips.Trusted(peer) {
		return peer.Unmap()
	}
	// A proxy may add its own header line instead of appending to the
	// first one: read them all, in order.
	lines := c.Request().Header.PeekAll(fiber.HeaderXForwardedFor)
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = string(l)
	}
	return s.ips.Client(peer, strings.Join(parts, ","))
}
