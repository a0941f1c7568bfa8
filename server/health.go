package server

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Pinger tells whether the store answers (readiness).
type Pinger interface {
	Ping(ctx context.Context) error
}

var okBody = []byte(`{"status":"ok"}`)

// healthz answers 200 while the process serves requests (liveness).
func (s *Server) healthz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(okBody)
}

// readyz answers 200 when Redis answers PING within a second (readiness),
// else 503.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), time.Second)
	defer cancel()
	if err := s.pinger.Ping(ctx); err != nil {
		return &APIError{Code: fiber.StatusServiceUnavailable, Msg: "redis unreachable", RetryAfter: "2"}
	}
	return s.healthz(c)
}
