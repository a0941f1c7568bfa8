package server

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/gofiber/fiber/v2"
)

// connError is the Fiber app's ErrorHandler. Handler errors never reach it
// (observe answers them); it answers what fasthttp refuses while reading a
// request, before any route or middleware runs: request line + headers
// over the read buffer (431), a body over the app's limit (413), a client
// too slow to send its request (408, see --read-timeout), a request that
// is not HTTP (400). fasthttp closes the connection after the answer.
//
// Such a request skips the middleware, so connError does its work: a
// request id, the security headers, the JSON error and the request metric
// (route label "rejected").
func (s *Server) connError(c *fiber.Ctx, err error) error {
	id := c.Get(fiber.HeaderXRequestID)
	if !saneToken(id, 64) {
		id = newRequestID()
	}
	c.Set(fiber.HeaderXRequestID, id)
	setSecurityHeaders(c)
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusBadRequest:
			// fasthttp's message quotes the bytes it could not parse: never
			// echo them.
			err = &APIError{Code: fiber.StatusBadRequest, Msg: "malformed HTTP request"}
		case fiber.StatusBadGateway:
			// A network error while reading (the client reset the
			// connection): nothing of ours failed, and nobody reads the answer.
			err = &APIError{Code: fiber.StatusBadRequest, Msg: "request could not be read"}
		}
	}
	herr := s.errorHandler(c, err)
	s.metrics.Request("rejected", methodLabel(c.Method()), c.Response().StatusCode(), 0)
	return herr
}

// recoverPanic turns a panic in a handler into a 500 (logged with its
// stack by the error handler) instead of a crashed process.
func (s *Server) recoverPanic(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return c.Next()
}
