package server

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/limiter"
)

// Limits on what a client may send.
const (
	appBodyLimit     = 16 << 10 // any request body
	consentBodyLimit = 8 << 10  // POST /v1/consent
)

func (s *Server) newApp() *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "consentd",
		ErrorHandler:          s.errorHandler,
		BodyLimit:             appBodyLimit,
		ReadBufferSize:        8 << 10, // request line + headers; larger → 431
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           60 * time.Second,
		DisableStartupMessage: true,
		// Client IPs are resolved by clientip with the trusted proxy list;
		// Fiber's own proxy handling stays off.
		EnableTrustedProxyCheck: false,
	})
	app.Use(s.observe, s.securityHeaders)

	// The full route table.
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", adaptor.HTTPHandler(s.metrics.Handler()))
	app.Get("/w/_notice.js", s.widgetNoticeView) // before /w/:file; "_" is in no site id
	app.Get("/w/:file", s.widgetJS)
	app.Get("/n/:site.json", s.noticeJSON)
	app.Get("/n/:site", s.noticePage)
	app.Get("/n/:site/v/:version", s.noticeVersion)
	consent := app.Group("/v1/consent", s.cors)
	consent.Options("", s.preflight)
	consent.Post("", s.rateLimit(), s.postConsent)
	admin := app.Group("/v1/sites/:site", s.adminAuth)
	admin.Get("/consents/:consentId", s.consentHistory)
	admin.Get("/consents", s.exportConsents)
	admin.Get("/stats", s.siteStats)
	app.Get("/openapi.yaml", staticFile(s.openapi, "default-src 'none'"))
	app.Get("/admin", staticFile(s.admin["index.html"], adminCSP))
	app.Get("/admin/admin.css", staticFile(s.admin["admin.css"], adminCSP))
	app.Get("/admin/admin.js", staticFile(s.admin["admin.js"], adminCSP))
	if s.demo != nil {
		app.Get("/", staticFile(s.demo["index.html"], demoCSP))
		app.Get("/demo.css", staticFile(s.demo["demo.css"], demoCSP))
		app.Get("/demo.js", staticFile(s.demo["demo.js"], demoCSP))
	}
	return app
}

// rateLimit caps consent posts per client IP per minute (sliding window,
// this instance's memory). Over the cap: 429 with Retry-After.
func (s *Server) rateLimit() fiber.Handler {
	if s.cfg.RateLimit == 0 {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return limiter.New(limiter.Config{
		Max:               s.cfg.RateLimit,
		Expiration:        time.Minute,
		LimiterMiddleware: limiter.SlidingWindow{},
		KeyGenerator:      func(c *fiber.Ctx) string { return s.clientAddr(c).String() },
		LimitReached: func(c *fiber.Ctx) error {
			return &APIError{Code: fiber.StatusTooManyRequests, Msg: "too many requests from this address, retry later", RetryAfter: "60"}
		},
	})
}
