package ledger

// The group commit: a worker takes what is queued, chains and signs each
// site's part, runs one append.lua call per site in one pipeline, and
// answers every caller once Redis has acknowledged its record.

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
)

// work takes whatever is queued (up to BatchMax) and commits it as one
// batch: under light load a batch is one record and nothing waits; under
// heavy load batches grow while the previous one is in Redis.
func (l *Ledger) work() {
	defer l.workers.Done()
	batch := make([]*pending, 0, l.opts.BatchMax)
	for p := range l.queue {
		batch = append(batch[:0], p)
	fill:
		for len(batch) < l.opts.BatchMax {
			select {
			case q, ok := <-l.queue:
				if !ok {
					break fill
				}
				batch = append(batch, q)
			default:
				break fill
			}
		}
		l.commit(batch)
	}
}

// siteBatch is the part of a batch for one site: one script call per
// attempt.
type siteBatch struct {
	site  string
	items []*pending
	snaps []string // version, json pairs not yet confirmed written
	cmd   *redis.Cmd
	// replicas is the WAIT after the attempt's script call (nil without
	// WaitReplicas); see replicated.
	replicas *redis.IntCmd

	all []*pending // every request sent (items shrinks as they are answered)

	// Set by prepare for one attempt.
	head     chainHead // the head the batch is chained on
	after    chainHead // the head after the batch
	lost     int       // attempts that met another head
	wait     bool      // refused because another instance has the turn
	stored   [][]byte
	receipts [][]byte
	hashes   []proof.Hash
	batch    *proof.Batch // the signed batch
}

// commit writes one batch: one script call per site, all in one
// pipeline. A site batch that meets another chain head than the one it
// was chained on (another instance appended first) or duplicates writes
// nothing; it is chained again on the head the script returned, without
// the duplicates, and sent again: until it has met another head
// MaxAttempts times or ExecTimeout is over. While another instance holds
// the site's turn (TurnKey) the batch waits a moment between attempts.
func (l *Ledger) commit(batch []*pending) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.ExecTimeout)
	defer cancel()

	groups := l.group(batch)
	defer l.lockSites(groups)()
	todo := groups
	var firstErr error
	for attempt := 1; len(todo) > 0; attempt++ {
		ready := make([]*siteBatch, 0, len(todo)) // not todo[:0]: todo may be groups
		for _, g := range todo {
			if err := l.prepare(g); err != nil {
				firstErr = cmp.Or(firstErr, l.fail(g, err))
				continue
			}
			ready = append(ready, g)
		}
		todo = ready
		if len(todo) == 0 {
			break
		}
		l.exec(ctx, todo, false)
		// A group whose script call got NOSCRIPT did not run at all, so only
		// those are sent again, with the script body. Groups that ran are
		// never sent twice.
		var again []*siteBatch
		for _, g := range todo {
			if isNoScript(g.cmd.Err()) {
				again = append(again, g)
			}
		}
		if len(again) > 0 {
			l.exec(ctx, again, true)
		}
		var retry []*siteBatch
		for _, g := range todo {
			if err := l.settle(g); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if len(g.items) > 0 {
				retry = append(retry, g)
			}
		}
		todo = retry
		wait := false
		for _, g := range todo {
			wait = wait || g.wait
		}
		if wait {
			// Another instance has the turn and is about to append: give it
			// a moment instead of spinning (attempts are not counted).
			select {
			case <-time.After(time.Duration(min(attempt, 20)) * 100 * time.Microsecond):
			case <-ctx.Done():
			}
		}
	}
	// Observe before answering, so that whoever has a receipt also sees
	// the batch in the metrics.
	if l.opts.Observer != nil {
		l.opts.Observer.BatchDone(len(batch), time.Since(start), firstErr)
	}
	for _, g := range groups {
		l.deliver(g)
	}
}

// group splits a batch by site. A request whose idempotency key another
// request of the same batch for the same consent ID already has follows
// that one: it is not sent, and gets the first one's receipt as a
// duplicate.
func (l *Ledger) group(batch []*pending) []*siteBatch {
	var groups []*siteBatch
	for _, p := range batch {
		var g *siteBatch
		for _, x := range groups {
			if x.site == p.rec.Site {
				g = x
				break
			}
		}
		if g == nil {
			g = &siteBatch{site: p.rec.Site}
			groups = append(groups, g)
		}
		if first := g.find(p.rec.IdempotencyKey, p.rec.ConsentID); first != nil {
			if first.rec.RequestHash != p.rec.RequestHash {
				p.done <- result{err: ErrIdempotencyConflict}
				continue
			}
			first.follows = append(first.follows, p)
			continue
		}
		g.items = append(g.items, p)
	}
	for _, g := range groups {
		g.all = append([]*pending(nil), g.items...)
	}
	l.noticeMu.Lock()
	for _, g := range groups {
		for v, s := range l.notices[g.site] {
			if !s.written {
				g.snaps = append(g.snaps, v, s.json)
			}
		}
	}
	l.noticeMu.Unlock()
	return groups
}

func (g *siteBatch) find(idem, consentID string) *pending {
	if idem == "" {
		return nil
	}
	for _, p := range g.items {
		if p.rec.IdempotencyKey == idem && p.rec.ConsentID == consentID {
			return p
		}
	}
	return nil
}

// prepare chains the group's records on the head this process believes
// in, builds the Merkle tree over their hashes, signs its root and makes
// each record's receipt.
func (l *Ledger) prepare(g *siteBatch) error {
	g.stored = g.stored[:0]
	g.receipts = g.receipts[:0]
	l.headMu.Lock()
	head, ok := l.heads[g.site]
	l.headMu.Unlock()
	if !ok {
		head = chainHead{} // an empty chain: seq 0, prev proof.Genesis (zeros)
	}
	g.hashes = g.hashes[:0]
	prev, seq := head.hash, head.seq
	// One allocation for the batch's stored records and one for its
	// receipts: the sizes are bounded in advance, so the slices handed out
	// never move.
	size := 0
	for _, p := range g.items {
		size += p.parts.chainedSize()
	}
	arena := make([]byte, 0, size)
	var scratch []byte
	d := sha256.New()
	for _, p := range g.items {
		seq++
		start := len(arena)
		var h proof.Hash
		var err error
		arena, h, scratch, err = p.parts.chain(arena, scratch, d, prev, seq)
		if err != nil {
			return err
		}
		g.stored = append(g.stored, arena[start:len(arena):len(arena)])
		g.hashes = append(g.hashes, h)
		prev = h
	}
	g.after = chainHead{seq: seq, hash: prev}
	b := proof.SignBatch(l.key, g.site, time.Now(), g.hashes)
	g.batch = b
	size = 0
	for _, p := range g.items {
		size += b.ReceiptSize(p.rec.RecordID)
	}
	arena = make([]byte, 0, size)
	for i, p := range g.items {
		start := len(arena)
		arena = b.AppendReceipt(arena, i, p.rec.RecordID, g.hashes[i], head.seq+int64(i)+1)
		g.receipts = append(g.receipts, arena[start:len(arena):len(arena)])
	}
	g.head = head
	return nil
}

// exec runs one script call per site group in a single pipeline. With
// load set it sends the script body (EVAL) instead of its hash (EVALSHA),
// after Redis answered NOSCRIPT (a restarted or new server).
// Errors are left on each group's cmd (go-redis sets a pipeline failure on
// every command in it).
// With WaitReplicas, the pipeline ends with WAIT (addWait).
func (l *Ledger) exec(ctx context.Context, groups []*siteBatch, load bool) {
	if l.refuseWait(ctx, groups) {
		return
	}
	pipe := l.rdb.Pipeline()
	for _, g := range groups {
		keys, args := l.appendCall(g).encode()
		if load {
			g.cmd = l.script.Eval(ctx, pipe, keys, args...)
		} else {
			g.cmd = l.script.EvalSha(ctx, pipe, keys, args...)
		}
	}
	l.addWait(ctx, pipe, groups)
	_, _ = pipe.Exec(ctx)
}

// settle reads one attempt's reply. Written: the records are answered
// (the receipts wait in p.res until deliver) and the head moves on.
// Conflict: duplicates are answered, the head is updated from the reply
// and the rest stays in g.items for the next attempt. An error (Redis
// failed, or too many attempts) answers every remaining record with it.
func (l *Ledger) settle(g *siteBatch) error {
	vals, ok := g.cmd.Val().([]any)
	err := g.cmd.Err()
	if err == nil && (!ok || len(vals) < 2) {
		err = fmt.Errorf("unexpected script reply %T", g.cmd.Val())
	}
	if err != nil {
		l.forgetHead(g.site)
		return l.fail(g, err)
	}
	if flag, _ := vals[0].(int64); flag == 1 {
		ids, ok := vals[1].([]any)
		var usage []any
		if len(vals) > 2 {
			usage, _ = vals[2].([]any)
		}
		if !ok || len(ids) != len(g.items) || len(usage) != 2*len(g.items) {
			return l.fail(g, fmt.Errorf("unexpected script reply %v", vals))
		}
		l.headMu.Lock()
		l.heads[g.site] = g.after
		l.headMu.Unlock()
		if err := l.replicated(g); err != nil {
			// Written, so the head moved; but not acknowledged. The retry
			// is answered as a duplicate once a WAIT confirms it. The
			// snapshots are sent again with the next batch (HSETNX).
			return l.fail(g, err)
		}
		// Checkpointed only once acknowledged (with --redis-wait-replicas:
		// on the replicas too), so no checkpoint names records a failover
		// could lose.
		if n := l.opts.CheckpointEvery; n > 0 && g.after.seq/n > g.head.seq/n {
			l.checkpointSoon(g.site)
		}
		l.noticesWritten(g)
		for i, p := range g.items {
			id, _ := ids[i].(string)
			n, _ := usage[2*i].(int64)
			ms, _ := usage[2*i+1].(int64)
			p.answer(result{ack: Ack{RecordID: p.rec.RecordID, ConsentID: p.rec.ConsentID, Time: p.rec.Time, StreamID: id,
				Seq: g.head.seq + int64(i) + 1, Hash: g.hashes[i].String(), Receipt: g.receipts[i],
				Usage: LimitUsage{Count: int(n), Reset: time.Duration(ms) * time.Millisecond}}})
		}
		g.items = g.items[:0]
		return nil
	}
	// Conflict: nothing was written.
	cur, _ := vals[1].(string)
	h, err := parseHead(cur)
	if err != nil {
		return l.fail(g, err)
	}
	l.headMu.Lock()
	l.heads[g.site] = h
	l.headMu.Unlock()
	if err := l.replicated(g); err != nil {
		// No duplicate is answered before the replicas confirm its record,
		// and another attempt would wait in vain.
		return l.fail(g, err)
	}
	dups, _ := vals[2].([]any)
	why := ""
	if len(vals) > 3 {
		why, _ = vals[3].(string)
	}
	g.wait = why == "turn"
	if why == "head" {
		g.lost++
	}
	drop := map[int]bool{}
	for i := 0; i+1 < len(dups); i += 2 {
		n, _ := dups[i].(int64)
		s, _ := dups[i+1].(string)
		if n >= 1 && int(n) <= len(g.items) {
			p := g.items[n-1]
			p.answer(duplicate(s, p.rec))
			drop[int(n-1)] = true
		}
	}
	var limited []any
	if len(vals) > 4 {
		limited, _ = vals[4].([]any)
	}
	for i := 0; i+2 < len(limited); i += 3 {
		n, _ := limited[i].(int64)
		ms, _ := limited[i+1].(int64)
		which, _ := limited[i+2].(int64)
		if n >= 1 && int(n) <= len(g.items) && !drop[int(n-1)] {
			p := g.items[n-1]
			name := ConsentIDLimit
			if which >= 1 && int(which) <= len(p.rec.Limits) {
				name = p.rec.Limits[which-1].Name
			}
			p.answer(result{err: &RateLimitedError{Limit: name, RetryAfter: time.Duration(ms) * time.Millisecond}})
			drop[int(n-1)] = true
		}
	}
	rest := g.items[:0]
	for i, p := range g.items {
		if !drop[i] {
			rest = append(rest, p)
		}
	}
	g.items = rest
	if len(g.items) == 0 {
		return nil
	}
	if why == "head" {
		if obs, ok := l.opts.Observer.(ConflictObserver); ok {
			obs.ChainConflict(g.site)
		}
	}
	if g.lost >= l.opts.MaxAttempts {
		return l.fail(g, fmt.Errorf("chain head of %s moved by other instances %d times", g.site, g.lost))
	}
	return nil
}

// fail answers every remaining record of g with ErrUnavailable.
func (l *Ledger) fail(g *siteBatch, err error) error {
	for _, p := range g.items {
		p.answer(result{err: fmt.Errorf("%w: %w", ErrUnavailable, err)})
	}
	g.items = g.items[:0]
	return err
}

// answer keeps the result for deliver (callers are answered after the
// batch is observed).
func (p *pending) answer(r result) { p.res = &r }

// deliver answers every caller of the group and those following them.
func (l *Ledger) deliver(g *siteBatch) {
	for _, p := range g.all {
		if p.res == nil { // cannot happen: every path of commit answers; never leave a caller waiting
			p.answer(result{err: fmt.Errorf("%w: record not settled", ErrUnavailable)})
		}
		res := *p.res
		p.done <- res
		for _, f := range p.follows {
			fr := res
			if fr.err == nil {
				fr.ack.Duplicate, fr.ack.Usage = true, LimitUsage{}
			}
			f.done <- fr
		}
	}
}

// duplicate answers a request r whose idempotency key holds value: as
// the stored record's duplicate (Append completes it from the entry), or
// ErrIdempotencyConflict when the stored request was another one.
func duplicate(value string, r *Record) result {
	v, err := parseIdemValue(value)
	if err != nil {
		return result{err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
	}
	if v.request != r.RequestHash {
		return result{err: ErrIdempotencyConflict}
	}
	return result{stored: true, ack: Ack{ConsentID: r.ConsentID, StreamID: v.streamID, Duplicate: true}}
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}
