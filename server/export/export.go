// Package export writes a site's consent log (the stream ledger.LogKey)
// as CSV or NDJSON for controllers' audits. The HTTP route
// GET /v1/sites/{site}/consents and the command `consentd export` share
// it: ParseQuery reads the same parameters for both, and an Exporter
// streams the matching records page by page (XRANGE … COUNT PageSize), so
// memory stays the same whatever the size of the log.
package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/ledger"
)

// Formats an export can be written in.
const (
	CSV    = "csv"
	NDJSON = "ndjson"
	// Proof is a proof bundle: a zip of the whole log as NDJSON with the
	// receipts, the notice snapshots cited, the public keys and the
	// checkpoints (docs/proof.md). No filters.
	Proof = "proof"
)

// Counts are what an export wrote: decisions, and the scan records that
// NDJSON and proof exports of the whole log keep (never CSV rows).
type Counts struct{ Decisions, Scans int }

// Write streams the records of site that match q to w and returns how
// many decisions and scan records it wrote. It writes whole pages (one Write call per page of
// PageSize stream entries, never a partial row) and flushes nothing. Only
// entries of the site's signed chain are records (ledger.Batches.Check,
// with keys): any other entry is left out of a CSV export and written to
// NDJSON and proof exports as a line that says so (UnverifiedLine), and
// onUnverified (optional) is told about it. An error (Redis failing
// part-way, w failing) is returned as soon as it happens: what was
// written until then is an incomplete export, and the caller must make
// that visible (the HTTP route aborts the response; the CLI does not
// rename its temp file).
func Write(ctx context.Context, rdb redis.UniversalClient, site *site.Site, q Query, keys proof.KeySet, w io.Writer, onUnverified func(*ledger.UnverifiedError)) (Counts, error) {
	e := New(rdb, site, q, keys, w)
	e.OnUnverified = onUnverified
	for {
		more, err := e.Next(ctx)
		if err != nil || !more {
			return Counts{e.Count(), e.Scans()}, err
		}
	}
}

// Exporter writes one export a page at a time, for a caller that pulls
// (the HTTP body reads a page when it has sent the previous one). Make it
// with New; it is not safe for concurrent use.
type Exporter struct {
	// OnUnverified, when set, is told about every stream entry that is
	// not part of the site's signed chain (see Write).
	OnUnverified func(*ledger.UnverifiedError)

	rdb   redis.UniversalClient
	key   string
	q     Query
	w     io.Writer
	cats  []string
	cols  []string // CSV header
	known map[string]bool

	start, end string // next XRANGE bounds
	pageSize   int64
	header     bool // CSV header written
	done       bool
	n          int // decisions written
	scans      int // scan records written (NDJSON and proof exports)

	page bytes.Buffer // one page of output
	sep  byte         // CSV: the delimiter; 0 for the other formats
	row  []string     // CSV: the row being written (reused)

	cited map[string]bool // notice versions of the records written (Proof)

	batches *ledger.Batches // checks each entry, rebuilds its receipt
	hits    []hit           // the page's matching entries, checked once their batches are read
}

// hit is a matching entry of the page: its record, decoded, or why it
// could not be (bad).
type hit struct {
	m   *redis.XMessage
	raw string
	rec ledger.Stored
	bad *ledger.UnverifiedError
}

// New prepares an export of site's log matching q, written to w; entries
// count as records when they are part of the site's chain signed with a
// key of keys. It does not touch Redis until Next.
func New(rdb redis.UniversalClient, site *site.Site, q Query, keys proof.KeySet, w io.Writer) *Exporter {
	e := &Exporter{rdb: rdb, key: ledger.LogKey(site.ID), q: q, w: w, cats: categoryIDs(site), cols: Columns(site),
		known: map[string]bool{}, start: "-", end: strconv.FormatInt(q.To.UnixMilli(), 10), pageSize: PageSize,
		batches: ledger.NewBatches(rdb, site.ID, keys)}
	if !q.From.IsZero() {
		e.start = strconv.FormatInt(q.From.UnixMilli(), 10)
	}
	for _, c := range e.cats {
		e.known[c] = true
	}
	if q.Format == Proof {
		e.cited = map[string]bool{}
	}
	if q.Format == CSV {
		e.sep = q.Delimiter
		if e.sep == 0 {
			e.sep = Comma
		}
		e.row = make([]string, 0, len(baseColumns)+len(e.cats)+1)
	}
	return e
}

// Cited returns the notice versions of the records written so far
// (Proof exports only), sorted.
func (e *Exporter) Cited() []string {
	out := make([]string, 0, len(e.cited))
	for v := range e.cited {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// Count is how many decisions have been written so far.
func (e *Exporter) Count() int { return e.n }

// Scans is how many scan records have been written so far: NDJSON and
// proof exports hold the site's whole chain, and scan records are part
// of it (docs/proof.md, "Scan records"); a CSV export has decisions only.
func (e *Exporter) Scans() int { return e.scans }

// Next reads one page of the log and writes its matching records (and,
// for CSV, the header before the first page) to w. It reports whether
// there may be more; after false, or an error, the export is over.
func (e *Exporter) Next(ctx context.Context) (more bool, err error) {
	if e.done {
		return false, nil
	}
	msgs, err := e.rdb.XRangeN(ctx, e.key, e.start, e.end, e.pageSize).Result()
	if err != nil {
		e.done = true
		return false, fmt.Errorf("%w: read %s after %d records: %w", ledger.ErrUnavailable, e.key, e.n, err)
	}
	if e.sep != 0 && !e.header {
		e.header = true
		appendRecord(&e.page, e.cols, e.sep)
	}
	for i := range msgs {
		h := e.nextHit(&msgs[i])
		raw, err := decodeEntry(h.m.Values, &h.rec, h.rec.Choices)
		switch {
		case err != nil:
			h.bad = &ledger.UnverifiedError{StreamID: h.m.ID, Reason: strings.TrimPrefix(err.Error(), "ledger: ")}
		case !e.match(&h.rec):
			e.hits = e.hits[:len(e.hits)-1]
			continue
		}
		h.raw = raw
	}
	rows, err := e.writeHits(ctx)
	if err != nil {
		e.done = true
		return false, err
	}
	if e.page.Len() > 0 {
		_, err := e.w.Write(e.page.Bytes())
		e.page.Reset()
		if err != nil {
			e.done = true
			return false, fmt.Errorf("export: write: %w", err)
		}
	}
	e.n += rows
	if int64(len(msgs)) < e.pageSize {
		e.done = true
		return false, nil
	}
	e.start = "(" + msgs[len(msgs)-1].ID
	return true, nil
}

func (e *Exporter) match(s *ledger.Stored) bool {
	if !s.IsDecision() {
		// A scan record: part of the chain, not a decision. In NDJSON and
		// proof exports of the whole log (no decision filter), so that
		// the chain has no gap; never a CSV row.
		return e.sep == 0 && e.q.Method == "" && e.q.Category == "" && e.q.Country == ""
	}
	if e.q.Method != "" && s.Method != e.q.Method {
		return false
	}
	if e.q.Category != "" {
		granted, ok := s.Choices[e.q.Category]
		if !ok || granted != e.q.Granted {
			return false
		}
	}
	switch e.q.Country {
	case "":
	case Unknown:
		if s.Country != "" {
			return false
		}
	default:
		if s.Country != e.q.Country {
			return false
		}
	}
	return true
}

// nextHit adds a hit for m to the page's, reusing the memory of earlier
// pages' hits (their choices maps).
func (e *Exporter) nextHit(m *redis.XMessage) *hit {
	if len(e.hits) < cap(e.hits) {
		e.hits = e.hits[:len(e.hits)+1]
	} else {
		e.hits = append(e.hits, hit{rec: ledger.Stored{Choices: map[string]bool{}}})
	}
	h := &e.hits[len(e.hits)-1]
	h.m, h.raw, h.bad = m, "", nil
	if h.rec.Choices == nil { // a record that did not decode took it
		h.rec.Choices = map[string]bool{}
	}
	return h
}

// writeHits checks the page's matching entries against their signed
// batches (read for the page in one round trip) and writes the records:
// CSV rows, or NDJSON lines each with its receipt. An entry outside the
// signed chain is reported (OnUnverified) and, in NDJSON, written as an
// UnverifiedLine. It returns how many records it wrote.
func (e *Exporter) writeHits(ctx context.Context) (int, error) {
	if len(e.hits) == 0 {
		return 0, nil
	}
	defer func() { e.hits = e.hits[:0] }()
	msgs := make([]*redis.XMessage, 0, len(e.hits))
	for _, h := range e.hits {
		if h.bad == nil {
			msgs = append(msgs, h.m)
		}
	}
	if err := e.batches.Load(ctx, msgs); err != nil {
		return 0, fmt.Errorf("export: after %d records: %w", e.n, err)
	}
	rows := 0
	for i := range e.hits {
		h := &e.hits[i]
		var receipt []byte
		if h.bad == nil {
			var err error
			if e.sep != 0 {
				err = e.batches.Check(h.m, h.raw, &h.rec)
			} else {
				receipt, err = e.batches.CheckReceipt(h.m, h.raw, &h.rec)
			}
			if !errors.As(err, &h.bad) && err != nil {
				return rows, fmt.Errorf("export: %w", err)
			}
		}
		if h.bad != nil {
			if e.OnUnverified != nil {
				e.OnUnverified(h.bad)
			}
			if e.sep == 0 {
				e.page.Write(UnverifiedLine(h.bad, h.m))
			}
			continue
		}
		switch {
		case !h.rec.IsDecision():
			e.scans++
			if e.cited != nil && h.rec.Scan != nil {
				for _, v := range h.rec.Scan.NoticeVersions {
					e.cited[v] = true
				}
			}
			e.ndjsonLine(h.raw, receipt, h.m.ID)
		case e.sep != 0:
			rows++
			appendRecord(&e.page, e.csvRow(&h.rec, h.m.ID), e.sep)
		default:
			rows++
			if e.cited != nil {
				e.cited[h.rec.NoticeVersion] = true
			}
			e.ndjsonLine(h.raw, receipt, h.m.ID)
		}
	}
	return rows, nil
}
