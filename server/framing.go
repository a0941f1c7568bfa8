package server

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// framingError refuses a request whose body length can be read in more
// than one way: Content-Length and Transfer-Encoding together,
// Transfer-Encoding other than a single "chunked", or Content-Length
// twice. A proxy in front that frames such a request one way while
// consentd frames it the other would see a different second request in
// the same bytes (request smuggling).
//
// fasthttp accepts all of these: while parsing it keeps one length
// (Transfer-Encoding wins over Content-Length, any value but "identity"
// counts as chunked, the last Content-Length wins) and forgets the rest,
// so the parsed header no longer shows the conflict. The raw lines still
// do: VisitAllInOrder scans the raw header block that fasthttp keeps
// aside, with fasthttp's own scanner, so it sees exactly the lines
// fasthttp parsed. The refusal names the header to fix.
func framingError(h *fasthttp.RequestHeader) error {
	var lengths, encodings int
	chunkedOnly := true
	h.VisitAllInOrder(func(key, value []byte) {
		switch {
		case headerIs(key, fiber.HeaderContentLength):
			lengths++
		case headerIs(key, fiber.HeaderTransferEncoding):
			encodings++
			chunkedOnly = chunkedOnly && strings.EqualFold(string(value), "chunked")
		}
	})
	switch {
	case encodings > 0 && lengths > 0:
		return badRequest(fiber.HeaderTransferEncoding, "a request has Content-Length or Transfer-Encoding, not both")
	case encodings > 1:
		return badRequest(fiber.HeaderTransferEncoding, "Transfer-Encoding given more than once")
	case !chunkedOnly:
		return badRequest(fiber.HeaderTransferEncoding, "only Transfer-Encoding: chunked is accepted")
	case lengths > 1:
		return badRequest(fiber.HeaderContentLength, "Content-Length given more than once")
	}
	return nil
}

// headerIs reports whether the header line's key is name, in any letter
// case.
func headerIs(key []byte, name string) bool {
	return len(key) == len(name) && strings.EqualFold(string(key), name)
}

// skipAmbiguousBody is the fasthttp server's HeaderReceived hook: it runs
// once a request's header is parsed, before its body is read. For a
// request that framingError refuses it sets the body length to 0, so no
// body is read under a framing another parser may not share (nor waited
// for until --read-timeout), and marks the request Connection: close, so
// whatever bytes follow it are never read as a request.
// refuseAmbiguousFraming then answers it.
func skipAmbiguousBody(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if framingError(h) != nil {
		h.SetContentLength(0)
		h.SetConnectionClose()
	}
	return fasthttp.RequestConfig{} // zero: the server's limits and timeouts
}

// refuseAmbiguousFraming refuses, before any route runs, what
// framingError refuses. Only a request that closes its connection can be
// one (skipAmbiguousBody marks each), so the header is scanned again only
// for those.
func (s *Server) refuseAmbiguousFraming(c *fiber.Ctx) error {
	h := &c.Request().Header
	if !h.ConnectionClose() {
		return nil
	}
	err := framingError(h)
	if err != nil {
		setSecurityHeaders(c)
		c.Context().SetConnectionClose()
	}
	return err
}
