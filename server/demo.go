package server

import (
	"fmt"
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/server/asset"
)

// demoCSP is the policy of the demo page: nothing from other origins,
// no inline script.
const demoCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// adminCSP is the policy of the dashboard: its own script and style only,
// API calls to this origin only, never framed.
const adminCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

var (
	demoFiles  = []string{"index.html", "demo.css", "demo.js"}
	adminFiles = []string{"index.html", "admin.css", "admin.js"}
)

// loadFiles reads the named files of fsys into compressed assets; what
// names the set in errors.
func (s *Server) loadFiles(what string, fsys fs.FS, names []string) (map[string]*asset.Asset, error) {
	if fsys == nil {
		return nil, fmt.Errorf("%s: no files given", what)
	}
	out := map[string]*asset.Asset{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		a, err := s.asset(ct, b)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, name, err)
		}
		out[name] = a
	}
	return out, nil
}

// staticFile serves one loaded file with a CSP, revalidated on every use
// (ETag), so a new binary's files are picked up at once.
func staticFile(a *asset.Asset, csp string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, csp)
		return a.Serve(c, "no-cache")
	}
}
