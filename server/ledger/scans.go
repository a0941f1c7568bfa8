package ledger

// Scan records: the summaries of `consentd scan --record` in a site's
// chain (docs/proof.md, "Scan records"), listed through the scans index.

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ErrUnknownScan is Scans' answer to a cursor (before) that the site's
// scans index does not list: never one of its stream IDs, or trimmed by
// retention since.
var ErrUnknownScan = errors.New("ledger: not a scan record of this site")

// ScanPage is one page of a site's scan records, newest first.
type ScanPage struct {
	// Entries are the scan records, each checked to be part of the site's
	// signed chain and a scan record.
	Entries []Entry
	// Unverified are the entries the index names that are not (or are not
	// in the log), with why.
	Unverified []*UnverifiedError
	// Total is the number of entries the site's scans index lists.
	Total int64
	// Next is the cursor of the following (older) page: the stream ID of
	// this page's last index entry; "" on the last page.
	Next string
}

// Scans returns a page of the site's scan records, newest first: at most
// limit of them, the newest, or with before (a stream ID of the site's
// scans index, a page's Next) those older than it. A before that the
// index does not list gives ErrUnknownScan.
func (l *Ledger) Scans(ctx context.Context, site string, limit int, before string) (ScanPage, error) {
	if limit < 1 {
		return ScanPage{}, nil
	}
	key := ScansKey(site)
	start := int64(0)
	if before != "" {
		rank, err := l.rdb.ZRevRank(ctx, key, before).Result()
		if errors.Is(err, redis.Nil) {
			return ScanPage{}, fmt.Errorf("%w: %q", ErrUnknownScan, before)
		}
		if err != nil {
			return ScanPage{}, fmt.Errorf("%w: read the scans index: %w", ErrUnavailable, err)
		}
		start = rank + 1
	}
	read := l.rdb.Pipeline()
	total := read.ZCard(ctx, key)
	page := read.ZRevRange(ctx, key, start, start+int64(limit)-1)
	if _, err := read.Exec(ctx); err != nil {
		return ScanPage{}, fmt.Errorf("%w: read the scans index: %w", ErrUnavailable, err)
	}
	ids := page.Val()
	out := ScanPage{Total: total.Val()}
	if len(ids) == 0 {
		return out, nil
	}
	if start+int64(len(ids)) < out.Total {
		out.Next = ids[len(ids)-1]
	}
	pipe := l.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.XRange(ctx, LogKey(site), id, id)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isStreamIDError(err) {
		return ScanPage{}, fmt.Errorf("%w: read scan records: %w", ErrUnavailable, err)
	}
	var msgs []*redis.XMessage
	for i, c := range cmds {
		if c.Err() != nil {
			out.Unverified = append(out.Unverified, &UnverifiedError{StreamID: ids[i], Reason: "the scans index names no stream entry: " + c.Err().Error()})
			continue
		}
		if len(c.Val()) == 0 {
			out.Unverified = append(out.Unverified, &UnverifiedError{StreamID: ids[i], Reason: "the scans index names an entry that is not in the log (trimmed by retention, or deleted)"})
			continue
		}
		msgs = append(msgs, &c.Val()[0])
	}
	var err error
	out.Entries, out.Unverified, err = l.checked(ctx, site, msgs, out.Unverified, func(r *Stored) string {
		if r.IsScan() {
			return ""
		}
		return "the scans index names a record that is not a scan record"
	})
	return out, err
}
