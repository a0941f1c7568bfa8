package server

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/report"
)

// CounterReader reads the daily report counters.
type CounterReader interface {
	DailyCounters(ctx context.Context, site string, days []string) ([]map[string]string, error)
}

// siteStats serves GET /v1/sites/{site}/stats?from=&to=&granularity=:
// decisions, opt-in rates per category, countries and modes, summed from
// the daily counters (report.Build).
func (s *Server) siteStats(c *fiber.Ctx) error {
	e, ok := s.site(c.Params("site"))
	if !ok {
		return &APIError{Code: fiber.StatusNotFound, Field: "site", Msg: "unknown site"}
	}
	q, err := reportQuery(c, report.ParseQuery)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	r, err := s.report(ctx, e.site, q)
	if err != nil {
		return s.storeError(e.site.ID, err)
	}
	return c.JSON(r)
}

// reportQuery reads the request's report parameters with parse
// (report.ParseQuery or report.ParseRange); a bad one is a 400 naming it.
func reportQuery(c *fiber.Ctx, parse func(url.Values, time.Time) (report.Query, error)) (report.Query, error) {
	q, err := parse(queryValues(c.Request().URI().QueryArgs().String()), time.Now())
	var pe *report.ParamError
	if errors.As(err, &pe) {
		return q, badRequest(pe.Param, pe.Msg)
	}
	return q, err
}

// report reads a site's daily counters of q's days and sums them
// (report.Build) over its optional categories.
func (s *Server) report(ctx context.Context, st *site.Site, q report.Query) (report.Report, error) {
	days, err := s.counters.DailyCounters(ctx, st.ID, report.DayKeys(q))
	if err != nil {
		return report.Report{}, err
	}
	var optional []string
	for _, cat := range st.Categories {
		if !cat.Required {
			optional = append(optional, cat.ID)
		}
	}
	return report.Build(st.ID, q, optional, days), nil
}

// queryValues parses a raw query string; a malformed one yields what
// could be parsed (its parameters are then checked by name anyway).
func queryValues(raw string) url.Values {
	v, _ := url.ParseQuery(raw)
	return v
}
