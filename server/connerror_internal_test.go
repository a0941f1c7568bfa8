package server

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/server/metrics"
)

// TestPanicIsA500: a handler that panics is answered 500 with the JSON
// error and logged with its stack; the process keeps serving.
func TestPanicIsA500(t *testing.T) {
	var log bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&log, nil)), metrics: metrics.New()}
	app := fiber.New(fiber.Config{ErrorHandler: s.connError})
	app.Use(s.observe, s.recoverPanic, s.securityHeaders)
	app.Get("/boom", func(*fiber.Ctx) error { panic("boom") })
	app.Get("/ok", func(c *fiber.Ctx) error { return c.SendString("ok") })
	for range 2 {
		res, err := app.Test(httptest.NewRequest("GET", "/boom", nil))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 500 || string(body) != `{"error":"internal error"}` || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%d %s %v", res.StatusCode, body, res.Header)
		}
	}
	if !strings.Contains(log.String(), "panic: boom") || !strings.Contains(log.String(), "goroutine") {
		t.Fatalf("log lacks the panic and its stack: %s", log.String())
	}
	if res, err := app.Test(httptest.NewRequest("GET", "/ok", nil)); err != nil || res.StatusCode != 200 {
		t.Fatalf("after the panics: %v %v", res, err)
	}
}
