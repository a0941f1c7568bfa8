package ledger

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed append.lua
var appendLua string

// Errors returned by Append.
var (
	// ErrUnavailable means Redis did not acknowledge the record: it may be
	// down, full or slow. Nothing of the record is half-written (the
	// script is atomic); the client should retry with its idempotency key.
	ErrUnavailable = errors.New("ledger: store unavailable")
	// ErrClosed means the ledger is shutting down and takes no new records.
	ErrClosed = errors.New("ledger: closed")
)

// IdempotencyTTL is how long a request's idempotency key is remembered.
const IdempotencyTTL = 72 * time.Hour

// Observer is told about every batch; metrics implement it.
type Observer interface {
	BatchDone(records int, took time.Duration, err error)
}

// Options tunes the group commit.
type Options struct {
	BatchMax    int           // most records per batch (default 256)
	Workers     int           // batches in flight at once (default 1: the largest batches)
	ExecTimeout time.Duration // how long one batch may take in Redis (default 3 s)
	Observer    Observer      // optional
}

// Ledger appends consent records to Redis with group commit. It is safe
// for concurrent use. Create it with New and stop it with Close.
type Ledger struct {
	rdb    redis.UniversalClient
	script *redis.Script
	opts   Options
	queue  chan *pending

	mu       sync.RWMutex // guards closed against Append's inflight.Add
	closed   bool
	inflight sync.WaitGroup
	workers  sync.WaitGroup

	noticeMu sync.Mutex
	notices  map[string]map[string]*snapshot // site → version → snapshot
}

type snapshot struct {
	json    string
	written bool
}

type pending struct {
	rec     *Record
	encoded []byte // rec.Encode(), done by the caller before queueing
	done    chan result
}

type result struct {
	receipt Receipt
	err     error
}

// New starts a ledger writing through rdb.
func New(rdb redis.UniversalClient, o Options) *Ledger {
	if o.BatchMax <= 0 {
		o.BatchMax = 256
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.ExecTimeout <= 0 {
		o.ExecTimeout = 3 * time.Second
	}
	l := &Ledger{
		rdb:     rdb,
		script:  redis.NewScript(appendLua),
		opts:    o,
		queue:   make(chan *pending, o.BatchMax*o.Workers*2),
		notices: map[string]map[string]*snapshot{},
	}
	for i := 0; i < o.Workers; i++ {
		l.workers.Add(1)
		go l.work()
	}
	return l
}

// RegisterNotice records the snapshot (public site config JSON) that a
// notice version stands for. It is written to Redis (HSETNX, never
// overwritten) together with the next batch of records for the site, so
// every stored record's notice version can be resolved to its content.
func (l *Ledger) RegisterNotice(site, version string, snapshotJSON []byte) {
	l.noticeMu.Lock()
	defer l.noticeMu.Unlock()
	m := l.notices[site]
	if m == nil {
		m = map[string]*snapshot{}
		l.notices[site] = m
	}
	if _, ok := m[version]; !ok {
		m[version] = &snapshot{json: string(snapshotJSON)}
	}
}

// Notice returns the snapshot a notice version stands for: from this
// process's registrations, else from Redis (where every cited version is
// kept). ok is false when neither knows the version.
func (l *Ledger) Notice(ctx context.Context, site, version string) (snapshotJSON []byte, ok bool, err error) {
	l.noticeMu.Lock()
	s := l.notices[site][version]
	l.noticeMu.Unlock()
	if s != nil {
		return []byte(s.json), true, nil
	}
	b, err := l.rdb.HGet(ctx, NoticeKey(site), version).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: read notice snapshot: %w", ErrUnavailable, err)
	}
	return b, true, nil
}

// SaveNotices writes the site's registered snapshots that are not yet in
// Redis (HSETNX: a stored snapshot is never overwritten). The server calls
// it when it loads a site, so a version is kept from the moment it can be
// shown; the append script writes them too, with the first record citing
// them, in case Redis was unreachable at load.
func (l *Ledger) SaveNotices(ctx context.Context, site string) error {
	l.noticeMu.Lock()
	var versions, bodies []string
	for v, s := range l.notices[site] {
		if !s.written {
			versions = append(versions, v)
			bodies = append(bodies, s.json)
		}
	}
	l.noticeMu.Unlock()
	if len(versions) == 0 {
		return nil
	}
	pipe := l.rdb.Pipeline()
	for i, v := range versions {
		pipe.HSetNX(ctx, NoticeKey(site), v, bodies[i])
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("%w: save notice snapshots of %s: %w", ErrUnavailable, site, err)
	}
	l.noticeMu.Lock()
	for _, v := range versions {
		l.notices[site][v].written = true
	}
	l.noticeMu.Unlock()
	return nil
}

// History returns every stored decision of one consent ID, oldest first
// (those the retention job has trimmed from the log are gone). It is
// empty when the ID has none.
func (l *Ledger) History(ctx context.Context, site, consentID string) ([]Entry, error) {
	ids, err := l.rdb.LRange(ctx, HistoryKey(site, consentID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: read history: %w", ErrUnavailable, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := l.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.XRange(ctx, LogKey(site), id, id)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("%w: read history entries: %w", ErrUnavailable, err)
	}
	out := make([]Entry, 0, len(ids))
	for _, c := range cmds {
		for _, m := range c.Val() {
			s, err := DecodeEntry(m.Values)
			if err != nil {
				return nil, fmt.Errorf("entry %s: %w", m.ID, err)
			}
			out = append(out, Entry{StreamID: m.ID, Record: s})
		}
	}
	return out, nil
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

// Trim removes every entry of the site's log stored before cutoff
// (XTRIM MINID, exact: an entry at cutoff's millisecond stays) and returns
// how many it removed. Visitor state, history lists and counters expire
// on their own (see keys.go).
func (l *Ledger) Trim(ctx context.Context, site string, cutoff time.Time) (int64, error) {
	n, err := l.rdb.XTrimMinID(ctx, LogKey(site), strconv.FormatInt(cutoff.UnixMilli(), 10)).Result()
	if err != nil {
		return 0, fmt.Errorf("%w: trim log: %w", ErrUnavailable, err)
	}
	return n, nil
}

// Entry is one stream entry: its ID and the record it holds.
type Entry struct {
	StreamID string
	Record   Stored
}

// Append stores r and returns its receipt once Redis has acknowledged it.
// r.RecordID, r.ConsentID and r.Time must be set. If ctx ends first the
// outcome is unknown: the record may or may not be stored (a retry with
// the same idempotency key resolves it).
func (l *Ledger) Append(ctx context.Context, r *Record) (Receipt, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return Receipt{}, ErrClosed
	}
	l.inflight.Add(1)
	l.mu.RUnlock()
	defer l.inflight.Done()

	// Encode in the caller's goroutine: the workers stay free for Redis.
	enc, err := r.Encode()
	if err != nil {
		return Receipt{}, err
	}
	p := &pending{rec: r, encoded: enc, done: make(chan result, 1)}
	select {
	case l.queue <- p:
	case <-ctx.Done():
		return Receipt{}, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
	select {
	case res := <-p.done:
		return res.receipt, res.err
	case <-ctx.Done():
		return Receipt{}, fmt.Errorf("%w: waiting for Redis: %w", ErrUnavailable, ctx.Err())
	}
}

// Ping checks that Redis answers.
func (l *Ledger) Ping(ctx context.Context) error {
	return l.rdb.Ping(ctx).Err()
}

// Close stops taking records, waits until every accepted record has been
// answered (written or failed), then stops the workers. It does not close
// the Redis client.
func (l *Ledger) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()

	drained := make(chan struct{})
	go func() {
		l.inflight.Wait()
		close(l.queue)
		l.workers.Wait()
		close(drained)
	}()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ledger: drain: %w", ctx.Err())
	}
}

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

// siteBatch is the part of a batch for one site: one script call.
type siteBatch struct {
	site  string
	items []*pending
	snaps []string // version, json pairs not yet confirmed written
	cmd   *redis.Cmd
}

func (l *Ledger) commit(batch []*pending) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.ExecTimeout)
	defer cancel()

	groups := l.group(batch)
	l.exec(ctx, groups, false)
	// A group whose script call got NOSCRIPT did not run at all, so only
	// those are sent again, with the script body. Groups that ran are never
	// sent twice.
	var again []*siteBatch
	for _, g := range groups {
		if isNoScript(g.cmd.Err()) {
			again = append(again, g)
		}
	}
	if len(again) > 0 {
		l.exec(ctx, again, true)
	}
	// Observe before answering, so that whoever has a receipt also sees
	// the batch in the metrics.
	if l.opts.Observer != nil {
		var firstErr error
		for _, g := range groups {
			if err := g.cmd.Err(); err != nil {
				firstErr = err
				break
			}
		}
		l.opts.Observer.BatchDone(len(batch), time.Since(start), firstErr)
	}
	for _, g := range groups {
		l.deliver(g)
	}
}

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
		g.items = append(g.items, p)
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

// exec runs one script call per site group in a single pipeline. With
// load set it sends the script body (EVAL) instead of its hash (EVALSHA),
// after Redis answered NOSCRIPT (a restarted or new server).
// Errors are left on each group's cmd (go-redis sets a pipeline failure on
// every command in it).
func (l *Ledger) exec(ctx context.Context, groups []*siteBatch, load bool) {
	pipe := l.rdb.Pipeline()
	for _, g := range groups {
		keys, args := g.scriptArgs()
		if load {
			g.cmd = l.script.Eval(ctx, pipe, keys, args...)
		} else {
			g.cmd = l.script.EvalSha(ctx, pipe, keys, args...)
		}
	}
	_, _ = pipe.Exec(ctx)
}

func (g *siteBatch) scriptArgs() ([]string, []any) {
	first := g.items[0].rec
	keys := make([]string, 0, 2+4*len(g.items))
	keys = append(keys, LogKey(g.site), NoticeKey(g.site))
	args := make([]any, 0, 5+len(g.snaps)+len(g.items)*9)
	args = append(args, len(g.items), len(g.snaps)/2, seconds(first.VisitorTTL), seconds(first.CounterTTL), seconds(IdempotencyTTL),
		seconds(first.RetentionTTL))
	for _, s := range g.snaps {
		args = append(args, s)
	}
	for _, p := range g.items {
		r := p.rec
		ikey, receipt := "", ""
		if r.IdempotencyKey != "" {
			ikey, receipt = IdemKey(g.site, r.IdempotencyKey), r.receipt()
		} else {
			ikey = IdemKey(g.site, "-") // declared for Cluster routing, never read
		}
		keys = append(keys, VisitorKey(g.site, r.ConsentID), DailyKey(g.site, r.Day()), ikey, HistoryKey(g.site, r.ConsentID))
		counters := r.counters()
		args = append(args, p.encoded, receipt, len(counters))
		for _, c := range counters {
			args = append(args, c)
		}
	}
	return keys, args
}

// deliver answers every caller of the group: its receipt, or
// ErrUnavailable when this group's script call failed.
func (l *Ledger) deliver(g *siteBatch) {
	vals, ok := g.cmd.Val().([]any)
	err := g.cmd.Err()
	if err == nil && (!ok || len(vals) != len(g.items)) {
		err = fmt.Errorf("unexpected script reply %T", g.cmd.Val())
	}
	if err != nil {
		for _, p := range g.items {
			p.done <- result{err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
		}
		return
	}
	if len(g.snaps) > 0 {
		l.noticeMu.Lock()
		for i := 0; i < len(g.snaps); i += 2 {
			if s := l.notices[g.site][g.snaps[i]]; s != nil {
				s.written = true
			}
		}
		l.noticeMu.Unlock()
	}
	for i, p := range g.items {
		p.done <- decode(p.rec, vals[i])
	}
}

func decode(r *Record, v any) result {
	pair, ok := v.([]any)
	if !ok || len(pair) != 2 {
		return result{err: fmt.Errorf("%w: unexpected entry reply %v", ErrUnavailable, v)}
	}
	flag, _ := pair[0].(int64)
	s, _ := pair[1].(string)
	if flag == 1 {
		return result{receipt: Receipt{RecordID: r.RecordID, ConsentID: r.ConsentID, Time: r.Time, StreamID: s}}
	}
	parts := strings.Split(s, "|")
	if len(parts) != 4 {
		return result{err: fmt.Errorf("%w: malformed stored receipt %q", ErrUnavailable, s)}
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return result{err: fmt.Errorf("%w: malformed stored receipt %q", ErrUnavailable, s)}
	}
	return result{receipt: Receipt{RecordID: parts[0], ConsentID: parts[1], Time: time.UnixMilli(ms).UTC(), StreamID: parts[3], Duplicate: true}}
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}
