package ledger

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrIdempotencyConflict means a request reused an Idempotency-Key that
// an earlier request with other content (RequestHash) was stored under:
// nothing of the new request is stored (the server answers 422).
var ErrIdempotencyConflict = errors.New("ledger: Idempotency-Key was used for a different request")

// The idempotency value of a request (field IdemField of the visitor
// hash) says what a retry of the stored request is answered with:
//
//	2|<request hash>|<record ID>|<consent ID>|<unix ms>|<stream ID>
//
// Go writes everything up to the time (Record.idemPrefix); the append
// script adds "|<stream ID>", which only it knows. A value without "2|"
// and the request hash (written by consentd before 0.1.0) is still read.
const idemFormat = "2"

// idemValue is an idempotency key's value, parsed.
type idemValue struct {
	request   string // RequestHash of the stored request; "" in values without one
	recordID  string
	consentID string
	time      time.Time
	streamID  string
}

// idemPrefix is the part of the idempotency key's value that the ledger
// writes (see idemValue).
func (r *Record) idemPrefix() string {
	return idemFormat + "|" + r.RequestHash + "|" + r.RecordID + "|" + r.ConsentID + "|" + strconv.FormatInt(r.Time.UnixMilli(), 10)
}

// parseIdemValue reads an idempotency key's value.
func parseIdemValue(s string) (idemValue, error) {
	var v idemValue
	rest := s
	if f, after, ok := strings.Cut(s, "|"); ok && f == idemFormat {
		v.request, rest, _ = strings.Cut(after, "|")
	}
	parts := strings.Split(rest, "|")
	if len(parts) < 4 {
		return v, fmt.Errorf("malformed idempotency value %q", s)
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || parts[3] == "" {
		return v, fmt.Errorf("malformed idempotency value %q", s)
	}
	v.recordID, v.consentID, v.time, v.streamID = parts[0], parts[1], time.UnixMilli(ms).UTC(), parts[3]
	return v, nil
}

// sameRequest reports whether a request with hash h may be answered with
// the stored one's receipt.
func (v idemValue) sameRequest(h string) bool { return v.request == "" || v.request == h }
