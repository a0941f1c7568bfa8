package server

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/server/report"
)

// overviewResponse is GET /v1/sites: the sites a token grants, each with
// its figures for the period.
type overviewResponse struct {
	Token string         `json:"token"` // the token's name, as declared
	From  string         `json:"from"`
	To    string         `json:"to"`
	Sites []siteOverview `json:"sites"`
}

// siteOverview is one site of the overview: what GET
// /v1/sites/{site}/stats reports as totals for the same period.
type siteOverview struct {
	Site       string        `json:"site"`
	Name       string        `json:"name"`
	Categories []string      `json:"categories"` // the optional categories, in config order
	Totals     report.Period `json:"totals"`
}

// overview serves GET /v1/sites?from=&to=: every site the token grants,
// in the order declared, with its decisions and opt-in rates per
// optional category over the period (report.ParseRange: the 30 days up
// to today by default), side by side.
func (s *Server) overview(c *fiber.Ctx) error {
	tok := requestToken(c)
	q, err := reportQuery(c, report.ParseRange)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	out := overviewResponse{Token: tok.Name, From: q.From.Format("2006-01-02"), To: q.To.Format("2006-01-02"),
		Sites: make([]siteOverview, 0, len(tok.Sites))}
	sites := s.catalog.Load().sites
	for _, id := range tok.Sites {
		e, ok := sites[id]
		if !ok {
			continue // removed by a reload since the token was looked up
		}
		r, err := s.report(ctx, e.site, q)
		if err != nil {
			return s.storeError(id, err)
		}
		out.Sites = append(out.Sites, siteOverview{Site: id, Name: e.site.Name, Categories: r.Categories, Totals: r.Totals})
	}
	return c.JSON(out)
}
