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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/config"
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

// Unknown is the country filter value that selects records without a
// country (the same word as the report counters use).
const Unknown = ledger.Unknown

// PageSize is how many stream entries one XRANGE reads.
const PageSize = 1000

// Params are the query parameters ParseQuery accepts.
var Params = []string{"from", "to", "format", "method", "category", "country", "delimiter"}

// Query is a parsed export request. The time range selects stream
// entries by their ID (the millisecond Redis stored the entry, which is
// within milliseconds of the record's time), both ends included.
type Query struct {
	From     time.Time // first millisecond included; zero: from the first entry
	To       time.Time // last millisecond included
	Format   string    // CSV or NDJSON
	Method   string    // "": any method
	Category string    // "": no category filter
	Granted  bool      // with Category: granted (true) or denied (false)
	Country  string    // "": any; Unknown: records without a country; else an ISO code
	// Delimiter separates CSV cells: Comma (default; also when zero) or
	// Semicolon.
	Delimiter byte
}

// ParamError is a bad query parameter: Param names it, Msg says what is
// expected.
type ParamError struct{ Param, Msg string }

// Error formats the problem.
func (e *ParamError) Error() string { return e.Param + ": " + e.Msg }

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// ParseQuery reads an export request for site:
//
//	from, to   RFC 3339 time (2026-11-01T12:00:00Z) or date (2026-11-01, UTC);
//	           a date in from is its midnight, a date in to its last
//	           millisecond (the whole day is included); default: from the
//	           first record to now
//	format     csv (default) or ndjson
//	method     one of ledger.ClientMethods
//	category   ID or ID:yes (granted), ID:no (denied); ID a category of site
//	country    ISO 3166-1 alpha-2, upper case, or "unknown" (no country)
//	delimiter  for csv: "," (default) or ";" (%3B in a URL)
//
// An empty value counts as not given. Any other parameter, a repeated one
// or a bad value is a *ParamError.
func ParseQuery(site *config.Site, q url.Values, now time.Time) (Query, error) {
	for _, k := range sortedKeys(q) {
		if !slices.Contains(Params, k) {
			return Query{}, &ParamError{k, "unknown parameter: expected " + strings.Join(Params, ", ")}
		}
		if len(q[k]) > 1 {
			return Query{}, &ParamError{k, "given more than once"}
		}
	}
	out := Query{To: now.UTC().Truncate(time.Millisecond), Format: CSV}
	if v := q.Get("from"); v != "" {
		t, err := parseTime("from", v, false)
		if err != nil {
			return Query{}, err
		}
		out.From = t
	}
	if v := q.Get("to"); v != "" {
		t, err := parseTime("to", v, true)
		if err != nil {
			return Query{}, err
		}
		out.To = t
	}
	if out.From.After(out.To) {
		msg := "must not be after to"
		if q.Get("to") == "" {
			msg += " (default: now)"
		}
		return Query{}, &ParamError{"from", msg}
	}
	switch f := q.Get("format"); f {
	case "", CSV:
	case NDJSON:
		out.Format = NDJSON
	case Proof:
		out.Format = Proof
		for _, k := range []string{"from", "to", "method", "category", "country"} {
			if q.Get(k) != "" {
				return Query{}, &ParamError{k, "a proof bundle holds the whole log (a verifiable chain): leave out from, to, method, category and country"}
			}
		}
	default:
		return Query{}, &ParamError{"format", fmt.Sprintf("%q is not a format: expected csv or ndjson", f)}
	}
	d, err := parseDelimiter(q.Get("delimiter"), out.Format)
	if err != nil {
		return Query{}, err
	}
	out.Delimiter = d
	if m := q.Get("method"); m != "" {
		if !slices.Contains(ledger.ClientMethods, m) {
			return Query{}, &ParamError{"method", fmt.Sprintf("%q is not a method: expected one of %s", m, strings.Join(ledger.ClientMethods, ", "))}
		}
		out.Method = m
	}
	if c := q.Get("category"); c != "" {
		id, state, hasState := strings.Cut(c, ":")
		switch {
		case !hasState || state == "yes":
			out.Granted = true
		case state == "no":
			out.Granted = false
		default:
			return Query{}, &ParamError{"category", fmt.Sprintf("%q: expected ID, ID:yes or ID:no", c)}
		}
		if !slices.Contains(categoryIDs(site), id) {
			return Query{}, &ParamError{"category", fmt.Sprintf("%q is not a category of site %s: expected one of %s", id, site.ID, strings.Join(categoryIDs(site), ", "))}
		}
		out.Category = id
	}
	if c := q.Get("country"); c != "" {
		if c != Unknown && !countryPattern.MatchString(c) {
			return Query{}, &ParamError{"country", fmt.Sprintf("%q: expected an ISO 3166-1 alpha-2 code in upper case (FI) or unknown", c)}
		}
		out.Country = c
	}
	return out, nil
}

// parseDelimiter reads the delimiter parameter of an export in format;
// not given, it is Comma.
func parseDelimiter(v, format string) (byte, error) {
	switch {
	case v == "":
		return Comma, nil
	case format != CSV:
		return 0, &ParamError{"delimiter", "only for format=csv"}
	case v == string(Comma):
		return Comma, nil
	case v == string(Semicolon):
		return Semicolon, nil
	}
	return 0, &ParamError{"delimiter", fmt.Sprintf("%q is not a delimiter: expected , or ; (%%3B in a URL)", v)}
}

// parseTime reads an RFC 3339 time or a YYYY-MM-DD date (UTC). A date
// that ends a range (end) stands for the last millisecond of its day.
func parseTime(param, v string, end bool) (time.Time, error) {
	var t time.Time
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		t = d
		if end {
			t = d.Add(24*time.Hour - time.Millisecond)
		}
	} else if ts, err := time.Parse(time.RFC3339Nano, v); err == nil {
		t = ts.UTC().Truncate(time.Millisecond)
	} else {
		msg := fmt.Sprintf("%q is not a time: expected RFC 3339 (2026-11-01T12:00:00Z) or a date (2026-11-01, UTC)", v)
		if strings.Contains(v, " ") {
			msg += "; a + in a URL must be sent as %2B"
		}
		return time.Time{}, &ParamError{param, msg}
	}
	if t.Before(time.Unix(0, 0)) {
		return time.Time{}, &ParamError{param, fmt.Sprintf("%q is before 1970", v)}
	}
	return t, nil
}

// Filename is the attachment name of an export, such as
// consents-demo-20261101-20261123.csv (consents-demo-until-20261123.csv
// when it starts at the first record).
func Filename(site *config.Site, q Query) string {
	from := "until"
	if !q.From.IsZero() {
		from = q.From.UTC().Format("20060102")
	}
	if q.Format == Proof {
		return "consents-" + site.ID + "-" + from + "-" + q.To.UTC().Format("20060102") + ".proof.zip"
	}
	return "consents-" + site.ID + "-" + from + "-" + q.To.UTC().Format("20060102") + "." + q.Format
}

// ContentType is the media type of an export in format f.
func ContentType(f string) string {
	if f == NDJSON {
		return "application/x-ndjson"
	}
	if f == Proof {
		return "application/zip"
	}
	return "text/csv; charset=utf-8"
}

// Columns returns the CSV header of site: the record's fields, the stream
// ID, one cat_<id> column per category in config order, other_choices.
func Columns(site *config.Site) []string {
	cols := append([]string(nil), baseColumns...)
	for _, id := range categoryIDs(site) {
		cols = append(cols, "cat_"+id)
	}
	return append(cols, "other_choices")
}

var baseColumns = []string{"record_id", "time", "consent_id", "method", "notice_version", "policy_version",
	"language", "country", "mode", "url", "user_agent", "ip", "stream_id", "gpc"}

// Write streams the records of site that match q to w and returns how
// many it wrote. It writes whole pages (one Write call per page of
// PageSize stream entries, never a partial row) and flushes nothing. Only
// entries of the site's signed chain are records (ledger.Batches.Check,
// with keys): any other entry is left out of a CSV export and written to
// NDJSON and proof exports as a line that says so (UnverifiedLine), and
// onUnverified (optional) is told about it. An error (Redis failing
// part-way, w failing) is returned as soon as it happens: what was
// written until then is an incomplete export, and the caller must make
// that visible (the HTTP route aborts the response; the CLI does not
// rename its temp file).
func Write(ctx context.Context, rdb redis.UniversalClient, site *config.Site, q Query, keys proof.KeySet, w io.Writer, onUnverified func(*ledger.UnverifiedError)) (n int, err error) {
	e := New(rdb, site, q, keys, w)
	e.OnUnverified = onUnverified
	for {
		more, err := e.Next(ctx)
		if err != nil || !more {
			return e.Count(), err
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
	n          int

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
func New(rdb redis.UniversalClient, site *config.Site, q Query, keys proof.KeySet, w io.Writer) *Exporter {
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

// Count is how many records have been written so far.
func (e *Exporter) Count() int { return e.n }

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

// csvRow is one record as CSV cells, as stored (appendRecord guards
// and quotes them).
func (e *Exporter) csvRow(s *ledger.Stored, streamID string) []string {
	gpc := "" // not recorded (records stored before the signal was)
	if s.GPC != nil {
		gpc = yesNo(*s.GPC)
	}
	row := append(e.row[:0], s.RecordID, s.Time, s.ConsentID, s.Method, s.NoticeVersion, s.PolicyVersion,
		s.Language, s.Country, s.Mode, s.URL, s.UserAgent, s.IP, streamID, gpc)
	for _, c := range e.cats {
		switch granted, ok := s.Choices[c]; {
		case !ok:
			row = append(row, "")
		case granted:
			row = append(row, "yes")
		default:
			row = append(row, "no")
		}
	}
	var other []string
	for c, granted := range s.Choices {
		if !e.known[c] {
			other = append(other, c+"="+yesNo(granted))
		}
	}
	sort.Strings(other)
	row = append(row, strings.Join(other, ";"))
	e.row = row
	return row
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
		rows++
		switch {
		case e.sep != 0:
			appendRecord(&e.page, e.csvRow(&h.rec, h.m.ID), e.sep)
		default:
			if e.cited != nil {
				e.cited[h.rec.NoticeVersion] = true
			}
			e.ndjsonLine(h.raw, receipt, h.m.ID)
		}
	}
	return rows, nil
}

// UnverifiedMember is the member that marks an NDJSON line as a stream
// entry that is not part of the signed chain (not a record):
// {"not_verified":"<why>","record":"<the entry's record field, as a
// string>","stream_id":"<id>"}. consentd verify names such a line.
const UnverifiedMember = "not_verified"

// UnverifiedLine is the NDJSON line of a stream entry outside the signed
// chain (UnverifiedMember).
func UnverifiedLine(bad *ledger.UnverifiedError, m *redis.XMessage) []byte {
	raw, _ := m.Values["record"].(string)
	b, _ := json.Marshal(map[string]string{UnverifiedMember: bad.Reason, "record": raw, "stream_id": m.ID})
	return append(b, '\n')
}

// ndjsonLine writes the stored record JSON exactly as stored, with
// "receipt" (the signed receipt) and "stream_id" added as its last keys.
func (e *Exporter) ndjsonLine(raw string, receipt []byte, streamID string) {
	e.page.WriteString(strings.TrimSuffix(raw, "}"))
	e.page.WriteString(`,"receipt":`)
	e.page.Write(receipt) // canonical JSON made by the ledger
	e.page.WriteString(`,"stream_id":"`)
	e.page.WriteString(streamID) // digits and '-': nothing to escape
	e.page.WriteString("\"}\n")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func categoryIDs(site *config.Site) []string {
	ids := make([]string, len(site.Categories))
	for i, c := range site.Categories {
		ids[i] = c.ID
	}
	return ids
}

func sortedKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
