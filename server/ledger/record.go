// Package ledger stores consent decisions in Redis as proof of consent
// (GDPR Art. 7(1)): a stream entry per decision, the visitor's state
// (latest choices and an index of their entries) and daily report counters, written together
// by one Lua script.
// Concurrent appends are group-committed: batched into one pipeline, each
// caller answered only once Redis has acknowledged its own record.
package ledger

import (
	"crypto/sha256"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/proof/canon"
	"github.com/consentd/consentd/proof/evidence"
)

// Methods a decision can be made by.
const (
	MethodAcceptAll = "accept_all"
	MethodRejectAll = "reject_all"
	MethodCustom    = "custom"
	MethodGPC       = "gpc"
	MethodWithdraw  = "withdraw"
	// MethodClose is a refusal by the banner's close button (a site's
	// banner.closeRejects).
	MethodClose = "close"
)

// ClientMethods are the methods a client may send.
var ClientMethods = []string{MethodAcceptAll, MethodRejectAll, MethodCustom, MethodGPC, MethodWithdraw, MethodClose}

// FormatVersion is the version of the stored record format (Stored); it
// is kept in every stream entry (field "v") and in the record itself, so
// the format can evolve. Every record of this format is chained (cv,
// hash, prev, seq) and covered by a signed batch (field "b" of its
// entry); an entry of any other format is not read.
const FormatVersion = "2"

const formatVersion = 2

// Record is one consent decision, or a scan record (Scan set, made by
// ScanRecord): the summary of a `consentd scan` kept in the site's chain
// as evidence, which is not a decision (docs/proof.md, "Scan records").
type Record struct {
	Site          string
	RecordID      string // UUIDv7, made by the server
	ConsentID     string // pseudonymous visitor id (UUID)
	Time          time.Time
	NoticeVersion string // hash of what the visitor was shown
	PolicyVersion string // the site's own label for its policy text
	Method        string
	Choices       map[string]bool // category id → granted
	Language      string
	URL           string // page URL without query string or fragment
	UserAgent     string
	IP            string // truncated or keyed hash; never the raw address
	Country       string // ISO code, "" when unknown
	Mode          string // regional mode (opt-in, opt-out, notice); "" until geo is wired
	GPC           bool   // the request carried the Global Privacy Control signal (Sec-GPC: 1)

	// How to store it; not part of the stored entry.
	// IdempotencyKey is optional: a retry with the same key and ConsentID
	// is stored once (the key is kept in the visitor's hash, IdemField).
	IdempotencyKey string
	// RequestHash identifies what the client sent (the server makes it):
	// a request reusing an IdempotencyKey with another RequestHash gets
	// ErrIdempotencyConflict instead of the first one's receipt.
	RequestHash string
	// LimitConsentID: the client chose the consent ID, so the record
	// counts against Options.ConsentIDLimit (*RateLimitedError over it).
	LimitConsentID bool
	// Limits are the rate limits the record counts against, checked in
	// order (*RateLimitedError over one of them).
	Limits []Limit

	// Scan, when set, makes this a scan record: only Site, RecordID, Time
	// and Scan are stored; no visitor state, report counter or limit is
	// touched.
	Scan *evidence.Scan
}

// ScanRecord is the scan record of site with the given summary, recorded
// at t.
func ScanRecord(site, recordID string, t time.Time, s *evidence.Scan) *Record {
	return &Record{Site: site, RecordID: recordID, Time: t, Scan: s}
}

// Ack is what Append answers once the record is stored (or was, for a
// duplicate): where it is, and its signed receipt.
type Ack struct {
	RecordID  string
	ConsentID string
	Time      time.Time
	StreamID  string // Redis stream entry ID
	Duplicate bool   // the idempotency key had been seen; this is the original's receipt
	Seq       int64  // position in the site's hash chain
	Hash      string // the record's hash (hex)
	// Receipt is the signed receipt (proof.Receipt JSON); nil only for a
	// duplicate whose batch retention has trimmed.
	Receipt []byte
	// Usage is where the record left the counter of its first Limit
	// (zero for a duplicate or a record without Limits).
	Usage LimitUsage
}

// Day is the UTC day the record counts towards in reports.
func (r *Record) Day() string { return r.Time.UTC().Format("2006-01-02") }

// TimeFormat is how times are written in stored records: RFC 3339, UTC,
// millisecond precision.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Stored is a record as it is kept in Redis: its canonical JSON (RFC 8785,
// package canon: keys in sorted order, no white space), so the same
// record always has the same bytes. Field names are part of the stored
// format (FormatVersion). Hash is SHA-256 of the canonical JSON of the
// record without "hash" (docs/proof.md). A scan record (Kind
// evidence.Kind) has only cv, hash, kind, prev, record_id, scan, seq,
// site, time and v: its decision fields are empty.
type Stored struct {
	Choices       map[string]bool `json:"choices"`
	ConsentID     string          `json:"consent_id"`
	Country       string          `json:"country"`
	CV            int             `json:"cv,omitempty"`   // canonical format of the hash (proof.CanonVersion)
	GPC           *bool           `json:"gpc,omitempty"`  // Sec-GPC: 1 seen (nil in records stored before it was recorded)
	Hash          string          `json:"hash,omitempty"` // hex SHA-256, see above
	IP            string          `json:"ip"`
	Kind          string          `json:"kind,omitempty"` // "" for a decision; evidence.Kind for a scan record (IsScan)
	Language      string          `json:"language"`
	Method        string          `json:"method"`
	Mode          string          `json:"mode"`
	NoticeVersion string          `json:"notice_version"`
	PolicyVersion string          `json:"policy_version"`
	Prev          string          `json:"prev,omitempty"` // hash of the site's previous record (proof.Genesis for the first)
	RecordID      string          `json:"record_id"`
	Scan          *evidence.Scan  `json:"scan,omitempty"` // a scan record's summary
	Seq           int64           `json:"seq,omitempty"`  // 1-based position in the site's chain
	Site          string          `json:"site"`
	Time          string          `json:"time"`
	URL           string          `json:"url"`
	UserAgent     string          `json:"user_agent"`
	V             int             `json:"v"`
}

// IsDecision reports whether the stored record is a consent decision
// (not a scan record, nor a kind this version does not know). Only
// decisions are exported as rows, counted, or shown in a look-up.
func (s *Stored) IsDecision() bool { return s.Kind == "" }

// IsScan reports whether the stored record is a scan record with its
// summary.
func (s *Stored) IsScan() bool { return s.Kind == evidence.Kind && s.Scan != nil }

// Encode returns the record's canonical JSON without the chain members
// (hash, prev, seq): the content the chain members are added to (tests
// use it to write entries directly).
func (r *Record) Encode() ([]byte, error) {
	p, err := r.encodeParts(nil)
	if err != nil {
		return nil, err
	}
	return p.buf, nil
}

// parts is a (decision) record's canonical JSON without the chain members, cut where
// they go (members are in sorted order):
//
//	A {"choices":…,"consent_id":…,"country":…,"cv":1,"gpc":…
//	  ,"hash":…           (stored form only)
//	B ,"ip":…,…,"policy_version":…
//	  ,"prev":…
//	C ,"record_id":…
//	  ,"seq":…
//	D ,"site":…,"time":…,"url":…,"user_agent":…,"v":2}
type parts struct {
	buf     []byte
	a, b, c int    // ends of A, B and C in buf
	state   []byte // SHA-256 state after A and B (prehash), so the batcher hashes only the rest
}

// prehash absorbs A and B, most of the record, into a SHA-256 state in
// the caller's goroutine: the batcher, which is serial, then hashes only
// prev, C, seq and D.
func (p *parts) prehash() error {
	d := sha256.New()
	d.Write(p.buf[:p.b])
	st, err := d.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return fmt.Errorf("ledger: hash state: %w", err)
	}
	p.state = st
	return nil
}

// encodeParts is done in the caller's goroutine; the batcher adds the
// chain members (chain).
func (r *Record) encodeParts(dst []byte) (parts, error) {
	if r.Scan != nil {
		return r.encodeScanParts(dst)
	}
	for _, s := range []string{r.ConsentID, r.Country, r.IP, r.Language, r.Method, r.Mode, r.NoticeVersion,
		r.PolicyVersion, r.RecordID, r.Site, r.URL, r.UserAgent} {
		if !utf8.ValidString(s) {
			return parts{}, fmt.Errorf("ledger: encode record: invalid UTF-8 in %q", s)
		}
	}
	cats := make([]string, 0, len(r.Choices))
	for c := range r.Choices {
		if !utf8.ValidString(c) {
			return parts{}, fmt.Errorf("ledger: encode record: invalid UTF-8 in category %q", c)
		}
		cats = append(cats, c)
	}
	canon.SortKeys(cats)
	b := append(dst, `{"choices":{`...)
	for i, c := range cats {
		if i > 0 {
			b = append(b, ',')
		}
		b = canon.AppendString(b, c)
		if r.Choices[c] {
			b = append(b, ":true"...)
		} else {
			b = append(b, ":false"...)
		}
	}
	b = append(b, '}')
	b = str(append(b, `,"consent_id":`...), r.ConsentID)
	b = str(append(b, `,"country":`...), r.Country)
	b = append(b, `,"cv":`...)
	b = strconv.AppendInt(b, proof.CanonVersion, 10)
	b = strconv.AppendBool(append(b, `,"gpc":`...), r.GPC)
	p := parts{a: len(b)}
	b = str(append(b, `,"ip":`...), r.IP)
	b = str(append(b, `,"language":`...), r.Language)
	b = str(append(b, `,"method":`...), r.Method)
	b = str(append(b, `,"mode":`...), r.Mode)
	b = str(append(b, `,"notice_version":`...), r.NoticeVersion)
	b = str(append(b, `,"policy_version":`...), r.PolicyVersion)
	p.b = len(b)
	b = str(append(b, `,"record_id":`...), r.RecordID)
	p.c = len(b)
	b = str(append(b, `,"site":`...), r.Site)
	b = append(append(append(b, `,"time":"`...), r.Time.UTC().Format(TimeFormat)...), '"')
	b = str(append(b, `,"url":`...), r.URL)
	b = str(append(b, `,"user_agent":`...), r.UserAgent)
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, formatVersion, 10)
	p.buf = append(b, '}')
	return p, nil
}

// encodeScanParts is encodeParts for a scan record, cut the same way:
//
//	A {"cv":1
//	  ,"hash":…
//	B ,"kind":"scan"
//	  ,"prev":…
//	C ,"record_id":…,"scan":{…}
//	  ,"seq":…
//	D ,"site":…,"time":…,"v":2}
func (r *Record) encodeScanParts(dst []byte) (parts, error) {
	if err := r.Scan.Validate(); err != nil {
		return parts{}, fmt.Errorf("ledger: encode scan record: %w", err)
	}
	for _, s := range []string{r.RecordID, r.Site} {
		if !utf8.ValidString(s) {
			return parts{}, fmt.Errorf("ledger: encode scan record: invalid UTF-8 in %q", s)
		}
	}
	summary, err := r.Scan.Canonical()
	if err != nil {
		return parts{}, fmt.Errorf("ledger: encode scan record: %w", err)
	}
	b := append(dst, `{"cv":`...)
	b = strconv.AppendInt(b, proof.CanonVersion, 10)
	p := parts{a: len(b)}
	b = str(append(b, `,"kind":`...), evidence.Kind)
	p.b = len(b)
	b = str(append(b, `,"record_id":`...), r.RecordID)
	b = append(append(b, `,"scan":`...), summary...)
	p.c = len(b)
	b = str(append(b, `,"site":`...), r.Site)
	b = append(append(append(b, `,"time":"`...), r.Time.UTC().Format(TimeFormat)...), '"')
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, formatVersion, 10)
	p.buf = append(b, '}')
	return p, nil
}

func str(dst []byte, s string) []byte { return canon.AppendString(dst, s) }

// chain appends the stored JSON of the record at seq after prev to dst
// and returns it with the record's hash: SHA-256 of the canonical JSON
// without "hash" (continued from the prehash state with d, a SHA-256
// digest reused between records). tail is scratch space, reused.
func (p *parts) chain(dst, tail []byte, d hash.Hash, prev proof.Hash, seq int64) (out []byte, h proof.Hash, scratch []byte, err error) {
	tail = append(tail[:0], `,"prev":"`...)
	tail = prev.AppendHex(tail)
	tail = append(tail, '"')
	tail = append(tail, p.buf[p.b:p.c]...)
	tail = append(tail, `,"seq":`...)
	tail = strconv.AppendInt(tail, seq, 10)
	tail = append(tail, p.buf[p.c:]...)
	if err := d.(encoding.BinaryUnmarshaler).UnmarshalBinary(p.state); err != nil {
		return dst, h, tail, fmt.Errorf("ledger: hash state: %w", err)
	}
	d.Write(tail)
	d.Sum(h[:0])
	dst = append(dst, p.buf[:p.a]...)
	dst = append(dst, `,"hash":"`...)
	dst = h.AppendHex(dst)
	dst = append(dst, '"')
	dst = append(dst, p.buf[p.a:p.b]...)
	dst = append(dst, tail...)
	return dst, h, tail, nil
}

// chainedSize bounds the length of the stored JSON made by chain.
func (p *parts) chainedSize() int { return len(p.buf) + 180 }

// DecodeEntry reads a stream entry's fields (as go-redis returns them)
// back into the stored record.
func DecodeEntry(values map[string]any) (Stored, error) {
	var s Stored
	raw, ok := values["record"].(string)
	if !ok {
		return s, errors.New("ledger: entry has no record field")
	}
	if v, _ := values["v"].(string); v != FormatVersion {
		return s, fmt.Errorf("ledger: entry format %q, want %q", v, FormatVersion)
	}
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return s, fmt.Errorf("ledger: decode record: %w", err)
	}
	return s, nil
}

// counters returns the daily counter fields this record increments;
// required categories (always granted) are not counted.
func (r *Record) counters(required []string) []string {
	if r.Scan != nil {
		return nil // not a decision: counted nowhere
	}
	out := make([]string, 0, 4+len(r.Choices))
	out = append(out, "decisions", "method:"+r.Method, "country:"+orUnknown(r.Country), "mode:"+orUnknown(r.Mode))
	cats := make([]string, 0, len(r.Choices))
	for c := range r.Choices {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		if slices.Contains(required, c) {
			continue
		}
		if r.Choices[c] {
			out = append(out, "cat:"+c+":yes")
		} else {
			out = append(out, "cat:"+c+":no")
		}
	}
	return out
}

// Unknown is the counter key for a record without a country or mode.
const Unknown = "unknown"

func orUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

func seconds(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
