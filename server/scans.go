package server

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/proof/evidence"
	"github.com/consentd/consentd/server/ledger"
)

// ScanReader lists a site's scan records (consentd scan --record), newest
// first, a page at a time, each checked to be part of the site's signed
// chain.
type ScanReader interface {
	Scans(ctx context.Context, site string, limit int, before string) (ledger.ScanPage, error)
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
	// Total is the number of scans the site's index lists.
	Total int64 `json:"total"`
	// Next is the before= of the following (older) page; absent on the last.
	Next string `json:"next,omitempty"`
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

// siteScans serves GET /v1/sites/{site}/scans?limit=N&before=ID: the
// site's newest scan records (default 50, at most 500), newest first, or
// with before (a page's next) those older than it.
func (s *Server) siteScans(c *fiber.Ctx) error {
	e, ok := s.site(c.Params("site"))
	if !ok {
		return &APIError{Code: fiber.StatusNotFound, Field: "site", Msg: "unknown site"}
	}
	limit, before, err := scanQuery(queryValues(c.Request().URI().QueryArgs().String()))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	page, err := s.scans.Scans(ctx, e.site.ID, limit, before)
	if errors.Is(err, ledger.ErrUnknownScan) {
		return badRequest("before", fmt.Sprintf("%q: not a scan of this site (a page's next, which retention may have trimmed since)", before))
	}
	if err != nil {
		return s.storeError(e.site.ID, err)
	}
	entries, bad := page.Entries, page.Unverified
	out := scansResponse{Site: e.site.ID, Scans: make([]scanItem, len(entries)), Total: page.Total, Next: page.Next}
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

// scanID is the form of a Redis stream ID, the scans route's cursor.
var scanID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// scanQuery reads the scans route's parameters, limit and before; any
// other is refused.
func scanQuery(q map[string][]string) (limit int, before string, err error) {
	for k, v := range q {
		if k != "limit" && k != "before" {
			return 0, "", badRequest(k, "unknown parameter: expected limit or before")
		}
		if len(v) > 1 {
			return 0, "", badRequest(k, "given more than once")
		}
	}
	before = strings.TrimSpace(first(q["before"]))
	if before != "" && !scanID.MatchString(before) {
		return 0, "", badRequest("before", fmt.Sprintf("%.40q: expected the next of a page of scans (a stream ID such as 1764932400000-0)", before))
	}
	v := strings.TrimSpace(first(q["limit"]))
	if v == "" {
		return defaultScanLimit, before, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxScanLimit {
		return 0, "", badRequest("limit", fmt.Sprintf("%q: expected a number of scans from 1 to %d", v, maxScanLimit))
	}
	return n, before, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
