package export

// NDJSON lines: a record with its receipt, or an entry outside the
// signed chain.

import (
	"encoding/json"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/ledger"
)

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
