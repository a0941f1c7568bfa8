package ledger

import (
	"errors"
	"fmt"
	"strings"
)

// ErrIdempotencyConflict means a request reused an Idempotency-Key that
// an earlier request with other content (RequestHash) was stored under:
// nothing of the new request is stored (the server answers 422).
var ErrIdempotencyConflict = errors.New("ledger: Idempotency-Key was used for a different request")

// The idempotency value of a request (field IdemField of the visitor
// hash) says which stored request a retry is a duplicate of:
//
//	3|<request hash>|<stream ID>
//
// Go writes the prefix up to the request hash (Record.idemPrefix); the
// append script adds "|<stream ID>", which only it knows. The record ID,
// time and receipt a retry is answered with are read from that entry.
// The value is short (about 50 bytes) so that the visitor hash stays in
// Redis's compact listpack encoding (hash-max-listpack-value, 64 bytes).
const idemFormat = "3"

// idemValue is an idempotency value, parsed.
type idemValue struct {
	request  string // RequestHash of the stored request
	streamID string // its entry in the log
}

// idemPrefix is the part of the idempotency value that Go writes (see
// idemValue).
func (r *Record) idemPrefix() string { return idemFormat + "|" + r.RequestHash }

// parseIdemValue reads an idempotency value.
func parseIdemValue(s string) (idemValue, error) {
	format, rest, _ := strings.Cut(s, "|")
	request, streamID, ok := strings.Cut(rest, "|")
	if format != idemFormat || !ok || streamID == "" || strings.Contains(streamID, "|") {
		return idemValue{}, fmt.Errorf("malformed idempotency value %q", s)
	}
	return idemValue{request: request, streamID: streamID}, nil
}
