package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/asset"
)

// Cache policies for the widget bundle.
const (
	// The plain URL may change with the config: short cache, revalidated by ETag.
	cacheShort = "public, max-age=300, stale-while-revalidate=60"
	// The content-hashed URL never changes.
	cacheImmutable = "public, max-age=31536000, immutable"
	// An unknown site: short, so a fixed config shows up soon.
	cacheMissing = "public, max-age=60"
	// The bundle with the visitor's region in front: this browser only,
	// never a shared cache (another visitor may be elsewhere).
	cachePrivate = "private, max-age=300"
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
	if !site.ValidID(id) {
		return missingWidget(c, "")
	}
	e, found := s.site(id)
	if !found {
		return missingWidget(c, id)
	}
	b := e.bundle
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if hashed && hash == b.Hash {
		c.Set("Content-Location", "/w/"+id+"."+b.Hash+".js")
		return b.Serve(c, cacheImmutable)
	}
	if s.geo.Enabled() {
		// The visitor's region rides in front of the bundle, so the widget
		// knows its mode without another round trip (docs/geo.md).
		loc, mode := s.locate(c, e.site, s.clientAddr(c))
		v, err := e.variant(s.asset, mode, loc.Country)
		if err != nil {
			return err
		}
		for _, h := range s.geo.Headers() {
			c.Vary(h)
		}
		return v.Serve(c, cachePrivate)
	}
	c.Set("Content-Location", "/w/"+id+"."+b.Hash+".js")
	// A stale hash (the config changed since the page was made) still gets
	// the current widget, but without the immutable promise.
	return b.Serve(c, cacheShort)
}

// widgetView serves a part of the widget that it loads on host pages of
// any origin when first needed: /w/_notice.js, the notice view, and
// /w/_prefs.js, the settings.
func (s *Server) widgetView(a *asset.Asset) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
		c.Set("Cross-Origin-Resource-Policy", "cross-origin")
		return a.Serve(c, cacheShort)
	}
}

// widgetCore serves /w/_core.{hash}.js, the widget's later script (the
// blocking, the sending and the corner link), which every bundle loads
// by the hash of the build it was made with (widget.CoreFile): cached
// for a year. A bundle of another build (cached by a browser across an
// upgrade) gets the current script, without that promise.
func (s *Server) widgetCore(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if c.Params("hash") == s.core.Hash {
		return s.core.Serve(c, cacheImmutable)
	}
	return s.core.Serve(c, cacheShort)
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

// maxVariants bounds the region variants kept per site (3 modes × about
// 250 countries fit; a flood of made-up values cannot grow memory).
const maxVariants = 1024

// variant returns the site's bundle with a prologue that hands the widget
// the visitor's mode and country: window.__consentdGeo = {m, c}. Variants
// are built (and compressed) once per mode and country, then reused.
func (e *siteEntry) variant(newAsset func(contentType string, raw []byte) (*asset.Asset, error), mode, country string) (*asset.Asset, error) {
	key := mode + "|" + country
	if v, ok := e.variants.Load(key); ok {
		return v.(*asset.Asset), nil
	}
	// After a first line of magic comments (widget.CompileHint), which
	// must come before any code.
	raw := e.bundle.Raw()
	at := 0
	if bytes.HasPrefix(raw, []byte("//#")) {
		at = bytes.IndexByte(raw, '\n') + 1
	}
	prologue := fmt.Sprintf("window.__consentdGeo={m:%q,c:%q};\n", mode, country)
	a, err := newAsset(e.bundle.ContentType, slices.Concat(raw[:at], []byte(prologue), raw[at:]))
	if err != nil {
		return nil, fmt.Errorf("site %s: widget variant: %w", e.site.ID, err)
	}
	if e.variantCount.Add(1) <= maxVariants {
		v, _ := e.variants.LoadOrStore(key, a)
		return v.(*asset.Asset), nil
	}
	return a, nil
}
