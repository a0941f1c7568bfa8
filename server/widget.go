package server

import (
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/config"
)

// Cache policies for the widget bundle.
const (
	// The plain URL may change with the config: short cache, revalidated by ETag.
	cacheShort = "public, max-age=300, stale-while-revalidate=60"
	// The content-hashed URL never changes.
	cacheImmutable = "public, max-age=31536000, immutable"
	// An unknown site: short, so a fixed config shows up soon.
	cacheMissing = "public, max-age=60"
)

// widgetJS serves /w/{site}.js and /w/{site}.{hash}.js. An unknown site
// gets a 404 whose body is a harmless console.warn, so the host page
// never breaks.
func (s *Server) widgetJS(c *fiber.Ctx) error {
	name, ok := strings.CutSuffix(c.Params("file"), ".js")
	if !ok {
		return missingWidget(c, "")
	}
	id, hash, hashed := strings.Cut(name, ".")
	if !config.SiteIDPattern(id) {
		return missingWidget(c, "")
	}
	e, found := s.site(id)
	if !found {
		return missingWidget(c, id)
	}
	b := e.bundle
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	c.Set("Content-Location", "/w/"+id+"."+b.Hash+".js")
	if hashed && hash == b.Hash {
		return b.Serve(c, cacheImmutable)
	}
	// A stale hash (the config changed since the page was made) still gets
	// the current widget, but without the immutable promise.
	return b.Serve(c, cacheShort)
}

func missingWidget(c *fiber.Ctx, id string) error {
	msg := "consentd: no such widget; check the script src (expected /w/SITE.js)"
	if id != "" {
		msg = "consentd: unknown site \"" + id + "\"; check the script src and the server's sites directory"
	}
	quoted, _ := json.Marshal(msg) // escapes <, > and & too
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, cacheMissing)
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	return c.Status(fiber.StatusNotFound).SendString("console.warn(" + string(quoted) + ");\n")
}
