// Package ledger stores consent decisions in Redis as proof of consent
// (GDPR Art. 7(1)): a stream entry per decision, the visitor's latest
// state and daily report counters, written together by one Lua script.
// Concurrent appends are group-committed: batched into one pipeline, each
// caller answered only once Redis has acknowledged its own record.
package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Methods a decision can be made by.
const (
	MethodAcceptAll = "accept_all"
	MethodRejectAll = "reject_all"
	MethodCustom    = "custom"
	MethodGPC       = "gpc"
	MethodWithdraw  = "withdraw"
)

// ClientMethods are the methods a client may send.
var ClientMethods = []string{MethodAcceptAll, MethodRejectAll, MethodCustom, MethodGPC, MethodWithdraw}

// FormatVersion is the version of the stored record format (Stored); it
// is kept in every stream entry (field "v") and in the record itself, so
// the format can evolve.
const FormatVersion = "1"

const formatVersion = 1

// Record is one consent decision.
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

	// How to store it; not part of the stored entry.
	IdempotencyKey string        // optional; a retry with the same key is stored once
	VisitorTTL     time.Duration // lifetime of the visitor's latest-state hash
	CounterTTL     time.Duration // lifetime of the daily counter hash
	RetentionTTL   time.Duration // lifetime of the visitor's history list (the site's log retention)
	RequiredCats   []string      // categories not counted in opt-in reports
}

// Receipt is what the caller gets back once the record is stored.
type Receipt struct {
	RecordID  string
	ConsentID string
	Time      time.Time
	StreamID  string // Redis stream entry ID
	Duplicate bool   // the idempotency key had been seen; this is the original's receipt
}

// Day is the UTC day the record counts towards in reports.
func (r *Record) Day() string { return r.Time.UTC().Format("2006-01-02") }

// TimeFormat is how times are written in stored records: RFC 3339, UTC,
// millisecond precision.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Stored is a record as it is kept in Redis: one JSON document whose keys
// are in sorted order and which has no insignificant white space, so the
// same record always has the same bytes (the encoding a hash or signature
// covers). Field names are part of the stored format (FormatVersion).
type Stored struct {
	Choices       map[string]bool `json:"choices"`
	ConsentID     string          `json:"consent_id"`
	Country       string          `json:"country"`
	IP            string          `json:"ip"`
	Language      string          `json:"language"`
	Method        string          `json:"method"`
	Mode          string          `json:"mode"`
	NoticeVersion string          `json:"notice_version"`
	PolicyVersion string          `json:"policy_version"`
	RecordID      string          `json:"record_id"`
	Site          string          `json:"site"`
	Time          string          `json:"time"`
	URL           string          `json:"url"`
	UserAgent     string          `json:"user_agent"`
	V             int             `json:"v"`
}

// Encode returns the stored JSON form of the record.
func (r *Record) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(Stored{
		Choices:       r.Choices,
		ConsentID:     r.ConsentID,
		Country:       r.Country,
		IP:            r.IP,
		Language:      r.Language,
		Method:        r.Method,
		Mode:          r.Mode,
		NoticeVersion: r.NoticeVersion,
		PolicyVersion: r.PolicyVersion,
		RecordID:      r.RecordID,
		Site:          r.Site,
		Time:          r.Time.UTC().Format(TimeFormat),
		URL:           r.URL,
		UserAgent:     r.UserAgent,
		V:             formatVersion,
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: encode record: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

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

// counters returns the daily counter fields this record increments.
func (r *Record) counters() []string {
	out := make([]string, 0, 4+len(r.Choices))
	out = append(out, "decisions", "method:"+r.Method, "country:"+orUnknown(r.Country), "mode:"+orUnknown(r.Mode))
	cats := make([]string, 0, len(r.Choices))
	for c := range r.Choices {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		if contains(r.RequiredCats, c) {
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// receipt encodes what a duplicate request gets back: recordID|consentID|unixMillis
// (the script appends |streamID).
func (r *Record) receipt() string {
	return r.RecordID + "|" + r.ConsentID + "|" + strconv.FormatInt(r.Time.UnixMilli(), 10)
}

func seconds(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
