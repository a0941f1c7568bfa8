package ledger

// Retention: trimming the log, and the batches no kept record names.

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Trim removes every entry of the site's log stored before cutoff
// (XTRIM MINID, exact: an entry at cutoff's millisecond stays) and returns
// how many it removed. Before trimming a chained log it stores a signed
// "cut" checkpoint of the last record it removes (CutCheckpoint), so the
// chain stays verifiable from the oldest kept record. Scan records are
// trimmed like decisions, and the scans index with them. Visitor state,
// visitor hashes and counters expire on their own (see keys.go).
func (l *Ledger) Trim(ctx context.Context, site string, cutoff time.Time) (int64, error) {
	min := strconv.FormatInt(cutoff.UnixMilli(), 10)
	if err := l.CutCheckpoint(ctx, site, min); err != nil {
		return 0, err
	}
	n, err := l.rdb.XTrimMinID(ctx, LogKey(site), min).Result()
	if err != nil {
		return 0, fmt.Errorf("%w: trim log: %w", ErrUnavailable, err)
	}
	// The scans index follows the log: the scan records before cutoff
	// are gone with it.
	if err := l.rdb.ZRemRangeByScore(ctx, ScansKey(site), "-inf", "("+min).Err(); err != nil {
		return n, fmt.Errorf("%w: trim scans index: %w", ErrUnavailable, err)
	}
	return n, l.trimBatches(ctx, site, min)
}

// trimBatches removes the signed batches that no kept record names: those
// before the batch of the oldest record left in the log (before min when
// the log is empty). A batch is written just before its records, so its
// ID is never after theirs.
func (l *Ledger) trimBatches(ctx context.Context, site, min string) error {
	first, err := l.rdb.XRangeN(ctx, LogKey(site), "-", "+", 1).Result()
	if err != nil {
		return fmt.Errorf("%w: trim batches: %w", ErrUnavailable, err)
	}
	if len(first) == 1 {
		if b, _ := first[0].Values["b"].(string); b != "" {
			min = b
		} else {
			min = first[0].ID
		}
	}
	if err := l.rdb.XTrimMinID(ctx, BatchesKey(site), min).Err(); err != nil {
		return fmt.Errorf("%w: trim batches: %w", ErrUnavailable, err)
	}
	return nil
}
