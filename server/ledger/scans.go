package ledger

// Scan records: the summaries of `consentd scan --record` in a site's
// chain (docs/proof.md, "Scan records"), listed through the scans index.

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Scans returns the site's newest scan records (at most limit), newest
// first, each checked to be part of the site's signed chain and a scan
// record; the entries the index names that are not (or are not in the
// log) are returned apart, with why.
func (l *Ledger) Scans(ctx context.Context, site string, limit int) (entries []Entry, unverified []*UnverifiedError, err error) {
	if limit < 1 {
		return nil, nil, nil
	}
	ids, err := l.rdb.ZRevRange(ctx, ScansKey(site), 0, int64(limit)-1).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: read the scans index: %w", ErrUnavailable, err)
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	pipe := l.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.XRange(ctx, LogKey(site), id, id)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isStreamIDError(err) {
		return nil, nil, fmt.Errorf("%w: read scan records: %w", ErrUnavailable, err)
	}
	var msgs []*redis.XMessage
	for i, c := range cmds {
		if c.Err() != nil {
			unverified = append(unverified, &UnverifiedError{StreamID: ids[i], Reason: "the scans index names no stream entry: " + c.Err().Error()})
			continue
		}
		if len(c.Val()) == 0 {
			unverified = append(unverified, &UnverifiedError{StreamID: ids[i], Reason: "the scans index names an entry that is not in the log (trimmed by retention, or deleted)"})
			continue
		}
		msgs = append(msgs, &c.Val()[0])
	}
	return l.checked(ctx, site, msgs, unverified, func(r *Stored) string {
		if r.IsScan() {
			return ""
		}
		return "the scans index names a record that is not a scan record"
	})
}
