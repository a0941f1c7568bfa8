package ledger

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
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

// ConflictObserver is told when a site batch had to be chained again
// (another instance moved the chain head, or some records were
// duplicates); metrics implement it. Optional: an Observer may implement it.
type ConflictObserver interface {
	ChainConflict(site string)
}

// Options tunes the group commit.
type Options struct {
	BatchMax    int           // most records per batch (default 256)
	Workers     int           // batches in flight at once (default 1: the largest batches)
	ExecTimeout time.Duration // how long one batch may take in Redis (default 3 s)
	Observer    Observer      // optional
	// Signer signs batch roots and checkpoints. nil: New makes an
	// ephemeral key (tests; the server warns, see cmd/consentd).
	Signer *proof.SigningKey
	// RetiredKeys are earlier public keys, published with the current
	// one (PublicKeys) so older receipts stay verifiable.
	RetiredKeys []proof.PublicKey
	// MaxAttempts bounds how often one site batch is chained again after
	// a head conflict before its callers get ErrUnavailable (default 16).
	MaxAttempts int
	// WaitReplicas, when above 0, ends each batch's pipeline with WAIT: a
	// record is acknowledged only once that many replicas have it (and a
	// duplicate answered only once they have the stored record). Fewer:
	// its callers get ErrUnavailable wrapping ErrNotReplicated, though the
	// primary has it. Not supported on a Redis Cluster client (every
	// record gets ErrUnavailable). Default 0: no WAIT.
	WaitReplicas int
	// CheckpointEvery, when above 0, signs a site's chain head (a head
	// checkpoint, Checkpoint) whenever a batch takes its chain past a
	// multiple of this many records, in a goroutine of its own.
	CheckpointEvery int64
	// Checkpointed is told about each of those checkpoints (c nil: none
	// was needed; err: none could be written). Optional.
	Checkpointed func(site string, c *proof.Checkpoint, err error)
	// WaitTimeout is WAIT's timeout (default 1 s, at least 1 ms). It must
	// be shorter than the Redis client's ReadTimeout (go-redis: 5 s), which
	// bounds the whole pipeline.
	WaitTimeout time.Duration
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

	key    *proof.SigningKey
	token  string // this instance, for the turn key (append.lua)
	headMu sync.Mutex
	heads  map[string]chainHead   // site → the head this process last saw
	siteMu map[string]*sync.Mutex // site → held while one worker commits to it

	cpScript *redis.Script  // checkpoint.lua
	cpq      chan string    // sites whose head to checkpoint (CheckpointEvery)
	cpDone   sync.WaitGroup // the goroutine reading cpq
}

// TurnTTL bounds how long an instance that lost the race for a chain head
// keeps the turn (TurnKey) when its retry does not come.
const TurnTTL = 200 * time.Millisecond

// lockSites holds the commit lock of every site of the batch, in order
// (no deadlock between workers): the workers of one process never race
// each other for a chain head.
func (l *Ledger) lockSites(groups []*siteBatch) (unlock func()) {
	sites := make([]string, len(groups))
	for i, g := range groups {
		sites[i] = g.site
	}
	sort.Strings(sites)
	locks := make([]*sync.Mutex, len(sites))
	l.headMu.Lock()
	for i, s := range sites {
		m := l.siteMu[s]
		if m == nil {
			m = &sync.Mutex{}
			l.siteMu[s] = m
		}
		locks[i] = m
	}
	l.headMu.Unlock()
	for _, m := range locks {
		m.Lock()
	}
	return func() {
		for _, m := range locks {
			m.Unlock()
		}
	}
}

// chainHead is a site's last record: its seq and hash.
type chainHead struct {
	seq  int64
	hash proof.Hash
}

func (h chainHead) String() string { return strconv.FormatInt(h.seq, 10) + " " + h.hash.String() }

// parseHead reads "<seq> <hash>" (the head key's value).
func parseHead(s string) (chainHead, error) {
	seq, hash, ok := strings.Cut(s, " ")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 0 {
		return chainHead{}, fmt.Errorf("ledger: malformed chain head %q", s)
	}
	h, err := proof.ParseHash(hash)
	if err != nil {
		return chainHead{}, fmt.Errorf("ledger: malformed chain head %q: %w", s, err)
	}
	return chainHead{seq: n, hash: h}, nil
}

type snapshot struct {
	json    string
	written bool
}

type pending struct {
	rec      *Record
	parts    parts    // rec.encodeParts(), done by the caller before queueing
	day      string   // rec.Day()
	counters []string // rec.counters()
	done     chan result
	follows  []*pending // later requests of the batch with the same idempotency key
	res      *result    // set once the record is settled
}

type result struct {
	receipt Receipt
	err     error
	// stored: a duplicate of a record stored earlier, whose receipt is to
	// be rebuilt from its entry and batch: Append does that, outside the
	// worker.
	stored bool
}

// storedReceipt completes a duplicate's receipt from its entry and batch.
func (l *Ledger) storedReceipt(ctx context.Context, site string, res result) (Receipt, error) {
	rc := res.receipt
	b, err := l.rebuildReceipt(ctx, site, rc.StreamID)
	if errors.Is(err, ErrBatchMissing) {
		// The record was stored; retention has trimmed it within the
		// idempotency key's 72 h: answer without the receipt.
		return rc, nil
	}
	if err != nil {
		return Receipt{}, err
	}
	rc.Proof = b
	if r, err := proof.ParseReceipt(b); err == nil {
		rc.Seq, rc.Hash = r.Seq, r.Hash
	}
	return rc, nil
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
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 16
	}
	o = waitDefaults(o)
	key := o.Signer
	if key == nil {
		var err error
		if key, err = proof.NewSigningKey(); err != nil {
			panic(err) // crypto/rand failing: nothing can be signed
		}
	}
	l := &Ledger{
		rdb:     rdb,
		script:  redis.NewScript(appendLua),
		opts:    o,
		queue:   make(chan *pending, o.BatchMax*o.Workers*2),
		notices: map[string]map[string]*snapshot{},
		key:     key,
		token:   rand.Text(),
		heads:   map[string]chainHead{},
		siteMu:  map[string]*sync.Mutex{},

		cpScript: redis.NewScript(checkpointLua),
		cpq:      make(chan string, 64),
	}
	l.cpDone.Add(1)
	go l.checkpoints()
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

// History returns every stored decision of one consent ID that is part
// of the site's signed chain, oldest first (those the retention job has
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
	bs := NewBatches(l.rdb, site, l.PublicKeys())
	if err := bs.Load(ctx, msgs); err != nil {
		return nil, nil, err
	}
	for _, m := range msgs {
		e, err := bs.Entry(m)
		var ue *UnverifiedError
		switch {
		case errors.As(err, &ue):
			unverified = append(unverified, ue)
		case err != nil:
			return nil, nil, err
		default:
			entries = append(entries, e)
		}
	}
	return entries, unverified, nil
}

// decisionIDs returns the stream IDs a visitor hash (VisitorKey) lists,
// oldest first: its fields other than stream_id and choices.
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

// Trim removes every entry of the site's log stored before cutoff
// (XTRIM MINID, exact: an entry at cutoff's millisecond stays) and returns
// how many it removed. Before trimming a chained log it stores a signed
// "cut" checkpoint of the last record it removes (CutCheckpoint), so the
// chain stays verifiable from the oldest kept record. Visitor state,
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

// Entry is one stream entry of the signed chain: its ID, the record it
// holds and the record's receipt (proof.Receipt JSON).
type Entry struct {
	StreamID string
	Record   Stored
	Receipt  []byte
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
	if NoStore { // a benchmark-only build (nostore_on.go): nothing is written
		return Receipt{RecordID: r.RecordID, ConsentID: r.ConsentID, Time: r.Time}, nil
	}

	// Encode in the caller's goroutine: the workers stay free for Redis.
	enc, err := r.encodeParts(make([]byte, 0, 512))
	if err == nil {
		err = enc.prehash()
	}
	if err != nil {
		return Receipt{}, err
	}
	p := &pending{rec: r, parts: enc, day: r.Day(), counters: r.counters(), done: make(chan result, 1)}
	select {
	case l.queue <- p:
	case <-ctx.Done():
		return Receipt{}, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
	select {
	case res := <-p.done:
		if res.err == nil && res.stored {
			return l.storedReceipt(ctx, r.Site, res)
		}
		return res.receipt, res.err
	case <-ctx.Done():
		return Receipt{}, fmt.Errorf("%w: waiting for Redis: %w", ErrUnavailable, ctx.Err())
	}
}

// Ping checks that Redis answers (on a cluster: every master).
func (l *Ledger) Ping(ctx context.Context) error {
	if cc, ok := l.rdb.(*redis.ClusterClient); ok {
		// PING on a cluster reaches one node; a site's records need the
		// master of its slot, so every master must answer.
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
	}
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
		close(l.cpq)
		l.cpDone.Wait()
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
// request of the same batch already has follows that one: it is not sent,
// and gets the first one's receipt as a duplicate.
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
		if first := g.find(p.rec.IdempotencyKey); first != nil {
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

func (g *siteBatch) find(idem string) *pending {
	if idem == "" {
		return nil
	}
	for _, p := range g.items {
		if p.rec.IdempotencyKey == idem {
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
		keys, args := l.scriptArgs(g)
		if load {
			g.cmd = l.script.Eval(ctx, pipe, keys, args...)
		} else {
			g.cmd = l.script.EvalSha(ctx, pipe, keys, args...)
		}
	}
	l.addWait(ctx, pipe, groups)
	_, _ = pipe.Exec(ctx)
}

func (l *Ledger) scriptArgs(g *siteBatch) ([]string, []any) {
	first := g.items[0].rec
	days := countDays(g.items)
	keys := make([]string, 0, 5+len(days)+2*len(g.items))
	keys = append(keys, LogKey(g.site), NoticeKey(g.site), HeadKey(g.site), TurnKey(g.site), BatchesKey(g.site))
	nfields := 0
	for _, d := range days {
		keys = append(keys, DailyKey(g.site, d.day))
		nfields += len(d.fields)
	}
	args := make([]any, 0, 16+len(g.snaps)+len(days)+2*nfields+2*len(g.items))
	args = append(args, len(g.items), len(g.snaps)/2, len(days), seconds(first.CounterTTL), seconds(IdempotencyTTL),
		seconds(first.RetentionTTL), g.head.String(), g.after.String(), l.token, TurnTTL.Milliseconds())
	args = append(args, batchArgs(g.batch, g.head.seq+1, g.hashes)...)
	for _, s := range g.snaps {
		args = append(args, s)
	}
	for _, d := range days {
		args = append(args, len(d.fields))
		for _, f := range d.fields {
			args = append(args, f, d.counts[f])
		}
	}
	for i, p := range g.items {
		r := p.rec
		ikey, idem := "", ""
		if r.IdempotencyKey != "" {
			ikey, idem = IdemKey(g.site, r.IdempotencyKey), r.idemPrefix()
		} else {
			ikey = IdemKey(g.site, "-") // declared for Cluster routing, never read
		}
		keys = append(keys, ikey, VisitorKey(g.site, r.ConsentID))
		args = append(args, g.stored[i], idem, p.parts.choicesJSON(), r.Method)
	}
	return keys, args
}

// dayCounts is what a batch adds to one day's report counters.
type dayCounts struct {
	day    string
	fields []string // in the order first met
	counts map[string]int
}

// countDays sums the counters of the batch's records per UTC day (a
// batch spans two days at most around midnight), so the script runs one
// HINCRBY per counter and day rather than one per record and counter.
func countDays(items []*pending) []*dayCounts {
	var days []*dayCounts
	for _, p := range items {
		var d *dayCounts
		for _, x := range days {
			if x.day == p.day {
				d = x
				break
			}
		}
		if d == nil {
			d = &dayCounts{day: p.day, counts: make(map[string]int, 2*len(p.counters))}
			days = append(days, d)
		}
		for _, f := range p.counters {
			if d.counts[f] == 0 {
				d.fields = append(d.fields, f)
			}
			d.counts[f]++
		}
	}
	return days
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
		if !ok || len(ids) != len(g.items) {
			return l.fail(g, fmt.Errorf("unexpected script reply %v", vals))
		}
		l.headMu.Lock()
		l.heads[g.site] = g.after
		l.headMu.Unlock()
		if n := l.opts.CheckpointEvery; n > 0 && g.after.seq/n > g.head.seq/n {
			l.checkpointSoon(g.site)
		}
		if err := l.replicated(g); err != nil {
			// Written, so the head moved; but not acknowledged. The retry
			// is answered as a duplicate once a WAIT confirms it. The
			// snapshots are sent again with the next batch (HSETNX).
			return l.fail(g, err)
		}
		l.noticesWritten(g)
		for i, p := range g.items {
			id, _ := ids[i].(string)
			p.answer(result{receipt: Receipt{RecordID: p.rec.RecordID, ConsentID: p.rec.ConsentID, Time: p.rec.Time, StreamID: id,
				Seq: g.head.seq + int64(i) + 1, Hash: g.hashes[i].String(), Proof: g.receipts[i]}})
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
			p.answer(duplicate(s, p.rec.RequestHash))
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

func (l *Ledger) forgetHead(site string) {
	l.headMu.Lock()
	delete(l.heads, site)
	l.headMu.Unlock()
}

func (l *Ledger) noticesWritten(g *siteBatch) {
	if len(g.snaps) == 0 {
		return
	}
	l.noticeMu.Lock()
	for i := 0; i < len(g.snaps); i += 2 {
		if s := l.notices[g.site][g.snaps[i]]; s != nil {
			s.written = true
		}
	}
	l.noticeMu.Unlock()
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
				fr.receipt.Duplicate = true
			}
			f.done <- fr
		}
	}
}

// duplicate answers a request whose idempotency key holds value: with
// the stored record's receipt (Append rebuilds it from the entry), or
// ErrIdempotencyConflict when the stored request was another one.
func duplicate(value, requestHash string) result {
	v, err := parseIdemValue(value)
	if err != nil {
		return result{err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
	}
	if !v.sameRequest(requestHash) {
		return result{err: ErrIdempotencyConflict}
	}
	return result{stored: true, receipt: Receipt{RecordID: v.recordID, ConsentID: v.consentID, Time: v.time, StreamID: v.streamID, Duplicate: true}}
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}
