package ledger

// Reads for controllers: a visitor's history and the daily report
// counters.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Entry is one stream entry of the signed chain: its ID, the record it
// holds and the record's receipt (proof.Receipt JSON).
type Entry struct {
	StreamID string
	Record   Stored
	Receipt  []byte
}

// History returns every stored decision of one consent ID that is part
// of the site's signed chain (a scan record the visitor's index names is
// returned as unverified: it is no decision), oldest first (those the retention job has
// trimmed from the log are gone), and the visitor's entries that are not
// (Batches.Check): those are not decisions, and a look-up shows them
// apart. Both are empty when the ID has none.
func (l *Ledger) History(ctx context.Context, site, consentID string) (entries []Entry, unverified []*UnverifiedError, err error) {
	state, err := l.rdb.HGetAll(ctx, VisitorKey(site, consentID)).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: read history: %w", ErrUnavailable, err)
	}
	ids := decisionIDs(state)
	if len(ids) == 0 {
		return nil, nil, nil
	}
	pipe := l.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.XRange(ctx, LogKey(site), id, id)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, fmt.Errorf("%w: read history entries: %w", ErrUnavailable, err)
	}
	var msgs []*redis.XMessage
	for _, c := range cmds {
		for i := range c.Val() {
			msgs = append(msgs, &c.Val()[i])
		}
	}
	// Signed, but a scan record: the visitor hash was made to name it.
	// Never shown as the visitor's decision.
	return l.checked(ctx, site, msgs, nil, func(r *Stored) string {
		if r.IsDecision() {
			return ""
		}
		return fmt.Sprintf("a %s record, not a decision", r.Kind)
	})
}

// checked returns the entries of msgs that are part of site's signed
// chain (Batches.Check) and that wrong finds nothing wrong with (it
// returns why a record is not what the caller asked for, or ""); the
// others are appended to unverified, with why.
func (l *Ledger) checked(ctx context.Context, site string, msgs []*redis.XMessage, unverified []*UnverifiedError, wrong func(*Stored) string) ([]Entry, []*UnverifiedError, error) {
	bs := NewBatches(l.rdb, site, l.PublicKeys())
	if err := bs.Load(ctx, msgs); err != nil {
		return nil, nil, err
	}
	var entries []Entry
	for _, m := range msgs {
		e, err := bs.Entry(m)
		var ue *UnverifiedError
		switch {
		case errors.As(err, &ue):
			unverified = append(unverified, ue)
		case err != nil:
			return nil, nil, err
		case wrong(&e.Record) != "":
			unverified = append(unverified, &UnverifiedError{StreamID: m.ID, Reason: wrong(&e.Record)})
		default:
			entries = append(entries, e)
		}
	}
	return entries, unverified, nil
}

// decisionIDs returns the stream IDs a visitor hash (VisitorKey) lists,
// oldest first: its fields named by a stream ID.
func decisionIDs(state map[string]string) []string {
	type id struct {
		s        string
		ms, each uint64
	}
	var ids []id
	for f := range state {
		ms, seq, ok := strings.Cut(f, "-")
		a, err1 := strconv.ParseUint(ms, 10, 64)
		b, err2 := strconv.ParseUint(seq, 10, 64)
		if ok && err1 == nil && err2 == nil {
			ids = append(ids, id{f, a, b})
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		return ids[i].ms < ids[j].ms || ids[i].ms == ids[j].ms && ids[i].each < ids[j].each
	})
	out := make([]string, len(ids))
	for i, x := range ids {
		out[i] = x.s
	}
	return out
}

// DailyCounters returns the report counters of each of the given UTC days
// (YYYY-MM-DD) of a site, in the same order; a day without decisions has
// an empty map. One pipelined round trip.
func (l *Ledger) DailyCounters(ctx context.Context, site string, days []string) ([]map[string]string, error) {
	pipe := l.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(days))
	for i, d := range days {
		cmds[i] = pipe.HGetAll(ctx, DailyKey(site, d))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("%w: read counters: %w", ErrUnavailable, err)
	}
	out := make([]map[string]string, len(days))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}
