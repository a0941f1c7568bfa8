// Package ledger stores consent decisions in Redis as proof of consent
// (GDPR Art. 7(1)): a stream entry per decision, the visitor's latest
// state and daily report counters, written together by one Lua script.
// Concurrent appends are group-committed: batched into one pipeline, each
// caller answered only once Redis has acknowledged its own record.
package ledger

import (
	"encoding/json"
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

// FormatVersion is the version of the record field layout below; it is
// stored in every entry (field "v") so the format can evolve.
const FormatVersion = "1"

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

// fields returns the stream entry as field/value pairs, in a fixed order.
func (r *Record) fields() []string {
	return []string{
		"v", FormatVersion,
		"record_id", r.RecordID,
		"site", r.Site,
		"consent_id", r.ConsentID,
		"time", r.Time.UTC().Format(TimeFormat),
		"method", r.Method,
		"choices", choicesJSON(r.Choices),
		"notice_version", r.NoticeVersion,
		"policy_version", r.PolicyVersion,
		"language", r.Language,
		"url", r.URL,
		"user_agent", r.UserAgent,
		"ip", r.IP,
		"country", r.Country,
		"mode", r.Mode,
	}
}

// choicesJSON encodes choices with sorted keys, e.g. {"analytics":true}.
func choicesJSON(c map[string]bool) string {
	b, _ := json.Marshal(c) // map[string]bool cannot fail; keys are sorted
	return string(b)
}

// counters returns the daily counter fields this record increments.
func (r *Record) counters() []string {
	out := make([]string, 0, 2+len(r.Choices))
	out = append(out, "decisions", "method:"+r.Method)
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
