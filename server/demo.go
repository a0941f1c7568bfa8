package server

import (
	"errors"
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

var demoFiles = []string{"index.html", "demo.css", "demo.js"}

func loadDemo(fsys fs.FS) (map[string]*asset.Asset, error) {
	if fsys == nil {
		return nil, errors.New("demo: no demo files given")
	}
	out := map[string]*asset.Asset{}
	for _, name := range demoFiles {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		a, err := asset.New(ct, b)
		if err != nil {
			return nil, fmt.Errorf("demo: %s: %w", name, err)
		}
		out[name] = a
	}
	return out, nil
}

func (s *Server) demoFile(name string) fiber.Handler {
	a := s.demo[name]
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, demoCSP)
		return a.Serve(c, "no-cache")
	}
}
