package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/proof/evidence"
	"github.com/consentd/consentd/server/ledger"
)

// ScanReader lists a site's scan records (consentd scan --record), newest
// first, each checked to be part of the site's signed chain.
type ScanReader interface {
	Scans(ctx context.Context, site string, limit int) ([]ledger.Entry, []*ledger.UnverifiedError, error)
}

// Bounds of GET /v1/sites/{site}/scans?limit=.
const (
	defaultScanLimit = 50
	maxScanLimit     = 500
)

// scansResponse is GET /v1/sites/{site}/scans.
type scansResponse struct {
	Site  string     `json:"site"`
	Scans []scanItem `json:"scans"`
	// Unverified lists what the scans index names that is not a scan
	// record of the signed chain: not listed as scans (docs/proof.md).
	Unverified []unverifiedEntry `json:"unverified,omitempty"`
}

// scanItem is one scan record: where it is in the chain, when it was
// recorded, and the scan's summary.
type scanItem struct {
	StreamID string         `json:"stream_id"`
	RecordID string         `json:"record_id"`
	Seq      int64          `json:"seq"`
	Hash     string         `json:"hash"`
	Time     string         `json:"time"` // when it was recorded
	Scan     *evidence.Scan `json:"scan"`
}

// siteScans serves GET /v1/sites/{site}/scans?limit=N: the site's newest
// scan records (default 50, at most 500), newest first.
func (s *Server) siteScans(c *fiber.Ctx) error {
	e, ok := s.site(c.Params("site"))
	if !ok {
		return &APIError{Code: fiber.StatusNotFound, Field: "site", Msg: "unknown site"}
	}
	limit, err := scanLimit(queryValues(c.Request().URI().QueryArgs().String()))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	entries, bad, err := s.scans.Scans(ctx, e.site.ID, limit)
	if err != nil {
		return s.storeError(e.site.ID, err)
	}
	out := scansResponse{Site: e.site.ID, Scans: make([]scanItem, len(entries))}
	for i, x := range entries {
		out.Scans[i] = scanItem{StreamID: x.StreamID, RecordID: x.Record.RecordID, Seq: x.Record.Seq, Hash: x.Record.Hash,
			Time: x.Record.Time, Scan: x.Record.Scan}
	}
	for _, b := range bad {
		s.metrics.Unverified(e.site.ID, "scans")
		s.log.Error("scans: an entry of the scans index is not a scan record of the signed chain", "site", e.site.ID, "stream_id", b.StreamID, "reason", b.Reason)
		out.Unverified = append(out.Unverified, unverifiedEntry{StreamID: b.StreamID, Reason: b.Reason})
	}
	return c.JSON(out)
}

// scanLimit reads the scans route's one parameter, limit; any other is
// refused.
func scanLimit(q map[string][]string) (int, error) {
	for k, v := range q {
		if k != "limit" {
			return 0, badRequest(k, "unknown parameter: expected limit")
		}
		if len(v) > 1 {
			return 0, badRequest(k, "given more than once")
		}
	}
	v := strings.TrimSpace(first(q["limit"]))
	if v == "" {
		return defaultScanLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxScanLimit {
		return 0, badRequest("limit", fmt.Sprintf("%q: expected a number of scans from 1 to %d", v, maxScanLimit))
	}
	return n, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
