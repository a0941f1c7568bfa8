package server

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
)

// Limits on what a client may send.
const (
	appBodyLimit     = 16 << 10 // any request body
	consentBodyLimit = 8 << 10  // POST /v1/consent
)

func (s *Server) newApp() *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "consentd",
		ErrorHandler:          s.connError, // what fasthttp refuses before the middleware (connerror.go)
		BodyLimit:             appBodyLimit,
		ReadBufferSize:        8 << 10, // request line + headers; larger → 431
		ReadTimeout:           orDefault(s.cfg.ReadTimeout, 10*time.Second),
		WriteTimeout:          orDefault(s.cfg.WriteTimeout, 10*time.Second),
		IdleTimeout:           orDefault(s.cfg.IdleTimeout, 60*time.Second),
		DisableStartupMessage: true,
		// Client IPs are resolved by clientip with the trusted proxy list;
		// Fiber's own proxy handling stays off.
		EnableTrustedProxyCheck: false,
	})
	// A request framed two ways is not read further (framing.go).
	app.Server().HeaderReceived = skipAmbiguousBody
	app.Use(s.observe, s.recoverPanic, s.securityHeaders)

	// The full route table.
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", adaptor.HTTPHandler(s.metrics.Handler()))
	app.Get("/w/_notice.js", s.widgetView(s.noticeView)) // before /w/:file; "_" is in no site id
	app.Get("/w/_prefs.js", s.widgetView(s.prefsView))
	app.Get("/w/_core.:hash.js", s.widgetCore)
	app.Get("/w/:file", s.widgetJS)
	app.Get("/n/:site.json", s.noticeJSON)
	app.Get("/n/:site", s.noticePage)
	app.Get("/n/:site/v/:version", s.noticeVersion)
	consent := app.Group("/v1/consent", s.cors)
	consent.Options("", s.preflight)
	consent.Post("", s.postConsent) // rate limits: checkLimits (limits.go)
	app.Get("/v1/sites", s.tokenAuth, s.overview)
	admin := app.Group("/v1/sites/:site", s.adminAuth)
	admin.Get("/consents/:consentId", s.consentHistory)
	admin.Get("/consents", s.exportConsents)
	admin.Get("/stats", s.siteStats)
	admin.Get("/checkpoints", s.siteCheckpoints)
	admin.Get("/scans", s.siteScans)
	app.Get("/.well-known/consentd-keys.json", s.publicKeys)
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

// orDefault is d, or def when d is not set (a zero timeout would be none).
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
