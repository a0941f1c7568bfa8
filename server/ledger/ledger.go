package ledger

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
)

// Errors returned by Append.
var (
	// ErrUnavailable means Redis did not acknowledge the record: it may be
	// down, full or slow. Nothing of the record is half-written (the
	// script is atomic); the client should retry with its idempotency key.
	ErrUnavailable = errors.New("ledger: store unavailable")
	// ErrClosed means the ledger is shutting down and takes no new records.
	ErrClosed = errors.New("ledger: closed")
)

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
	// ConsentIDLimit, when above 0, is the most records per
	// ConsentIDWindow for one consent ID among the records with
	// LimitConsentID; the append script counts them in the visitor hash
	// and refuses one over the limit (*RateLimitedError).
	ConsentIDLimit int
	// ConsentIDWindow is the consent ID limit's fixed window (default
	// one minute): it starts with the first record counted.
	ConsentIDWindow time.Duration
	// RateWindow is the window of the records' Limits (default one
	// minute): fixed windows aligned to the clock.
	RateWindow time.Duration
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

	policyMu sync.RWMutex
	policies map[string]Policy // site → its policy (SetPolicy)

	key    *proof.SigningKey
	token  string // this instance, for the turn key (append.lua)
	headMu sync.Mutex
	heads  map[string]chainHead   // site → the head this process last saw
	siteMu map[string]*sync.Mutex // site → held while one worker commits to it

	cpScript *redis.Script  // checkpoint.lua
	cpq      chan string    // sites whose head to checkpoint (CheckpointEvery)
	cpDone   sync.WaitGroup // the goroutine reading cpq
}

type pending struct {
	rec      *Record
	parts    parts    // rec.encodeParts(), done by the caller before queueing
	day      string   // rec.Day()
	counters []string // rec.counters(the site's Policy.Required)
	done     chan result
	follows  []*pending // later requests of the batch with the same idempotency key
	res      *result    // set once the record is settled
}

type result struct {
	ack Ack
	err error
	// stored: a duplicate of a record stored earlier, whose receipt is to
	// be rebuilt from its entry and batch: Append does that, outside the
	// worker.
	stored bool
}

// storedReceipt completes a duplicate's Ack from the stored record's
// entry: its record ID, time, place in the chain and receipt (rebuilt
// from its batch).
func (l *Ledger) storedReceipt(ctx context.Context, site string, res result) (Ack, error) {
	rc := res.ack
	e, err := l.storedEntry(ctx, site, rc.StreamID)
	if errors.Is(err, ErrBatchMissing) {
		// The record was stored, and retention has trimmed it since:
		// answer with what is left, the time of its entry.
		if ms, _, ok := strings.Cut(rc.StreamID, "-"); ok {
			if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
				rc.Time = time.UnixMilli(n).UTC()
			}
		}
		return rc, nil
	}
	if err != nil {
		return Ack{}, err
	}
	if !e.Record.IsDecision() {
		return Ack{}, fmt.Errorf("%w: entry %s is a %s record, not the decision the idempotency key names", ErrUnavailable, rc.StreamID, e.Record.Kind)
	}
	rc.RecordID, rc.Receipt = e.Record.RecordID, e.Receipt
	if rc.Time, err = time.Parse(TimeFormat, e.Record.Time); err != nil {
		return Ack{}, fmt.Errorf("%w: entry %s: time %q: %w", ErrUnavailable, rc.StreamID, e.Record.Time, err)
	}
	if r, err := proof.ParseReceipt(e.Receipt); err == nil {
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
	if o.ConsentIDWindow <= 0 {
		o.ConsentIDWindow = time.Minute
	}
	if o.RateWindow <= 0 {
		o.RateWindow = time.Minute
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
		rdb:      rdb,
		script:   redis.NewScript(appendLua),
		opts:     o,
		queue:    make(chan *pending, o.BatchMax*o.Workers*2),
		notices:  map[string]map[string]*snapshot{},
		policies: map[string]Policy{},
		key:      key,
		token:    rand.Text(),
		heads:    map[string]chainHead{},
		siteMu:   map[string]*sync.Mutex{},

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

// Append stores r and returns its Ack (with the signed receipt) once
// Redis has acknowledged it.
// r.RecordID, r.ConsentID and r.Time must be set. If ctx ends first the
// outcome is unknown: the record may or may not be stored (a retry with
// the same idempotency key resolves it).
func (l *Ledger) Append(ctx context.Context, r *Record) (Ack, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return Ack{}, ErrClosed
	}
	l.inflight.Add(1)
	l.mu.RUnlock()
	defer l.inflight.Done()
	if NoStore { // a benchmark-only build (nostore_on.go): nothing is written
		return Ack{RecordID: r.RecordID, ConsentID: r.ConsentID, Time: r.Time}, nil
	}

	if r.Scan == nil && r.Method == "" {
		return Ack{}, errors.New("ledger: a decision without a method")
	}
	// Encode in the caller's goroutine: the workers stay free for Redis.
	enc, err := r.encodeParts(make([]byte, 0, 512))
	if err == nil {
		err = enc.prehash()
	}
	if err != nil {
		return Ack{}, err
	}
	p := &pending{rec: r, parts: enc, day: r.Day(), counters: r.counters(l.Policy(r.Site).Required), done: make(chan result, 1)}
	select {
	case l.queue <- p:
	case <-ctx.Done():
		return Ack{}, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
	select {
	case res := <-p.done:
		if res.err == nil && res.stored {
			return l.storedReceipt(ctx, r.Site, res)
		}
		return res.ack, res.err
	case <-ctx.Done():
		return Ack{}, fmt.Errorf("%w: waiting for Redis: %w", ErrUnavailable, ctx.Err())
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
