package ledger

// Rate limits checked and counted by the append script, in the same
// atomic call that stores the records: a record over a limit is not
// stored and counts nowhere; an admitted one counts everywhere.

import (
	"fmt"
	"time"
)

// Limit is a fixed-window limit a record counts against: at most Max
// records per window (Options.RateWindow, aligned to the clock) under the
// counter Field. The counters of a site's window are the fields of one
// hash (RateLimitKey), which expires with the window.
type Limit struct {
	// Name says which limit refused a record (RateLimitedError.Limit).
	Name string
	// Field names the counter (AddrLimitField, SiteLimitField).
	Field string
	// Max is the most records per window; at least 1.
	Max int
}

// ConsentIDLimit is the Name of the consent ID limit in a
// RateLimitedError (Options.ConsentIDLimit).
const ConsentIDLimit = "consent_id"

// RateLimitedError is what Append answers for a record over one of its
// Limits or the consent ID limit (Options.ConsentIDLimit): nothing of it
// is stored or counted.
type RateLimitedError struct {
	// Limit is the Name of the limit that refused the record: the first
	// of its Limits at its maximum, else ConsentIDLimit.
	Limit string
	// RetryAfter is how long until that limit's window ends.
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("ledger: over the %s limit; retry after %v", e.Limit, e.RetryAfter)
}

// rateWindow returns the start and end of the rate-limit window that
// holds t: fixed windows of length w, aligned to the Unix epoch.
func rateWindow(t time.Time, w time.Duration) (start, end time.Time) {
	start = t.Truncate(w)
	return start, start.Add(w)
}

// LimitUsage is where a stored record left its first Limit's counter.
type LimitUsage struct {
	Count int           // records counted in the window, this one included
	Reset time.Duration // until the window ends
}
