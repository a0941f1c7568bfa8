package ledger

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
)

//go:embed checkpoint.lua
var checkpointLua string

// PublicKeys is the key set to publish: the current signing key and the
// retired ones (Options.RetiredKeys).
func (l *Ledger) PublicKeys() proof.KeySet {
	ks := proof.KeySet{Keys: []proof.PublicKey{l.key.Public(proof.StatusCurrent)}}
	for _, k := range l.opts.RetiredKeys {
		k.Status = proof.StatusRetired
		ks = ks.With(k)
	}
	return ks
}

// ParseHeadValue reads the head key's value (HeadKey): "<seq> <hash>", or
// "" for an empty chain (0 and proof.Genesis).
func ParseHeadValue(v string) (seq int64, hash string, err error) {
	if v == "" {
		return 0, proof.Genesis, nil
	}
	h, err := parseHead(v)
	if err != nil {
		return 0, "", err
	}
	return h.seq, h.hash.String(), nil
}

// Checkpoint signs the newest record of the site's log and appends the
// checkpoint to c:{site}:checkpoints, unless the log is empty, a head
// checkpoint at that seq or later exists (another instance wrote it), or
// minGap has not passed since the newest head checkpoint (0: no gap). The
// record signed is the log's newest entry, checked to be part of the
// signed chain (Batches.Check): whoever can write to Redis cannot have a
// made-up head signed. It returns the new checkpoint, or nil when it
// wrote none.
func (l *Ledger) Checkpoint(ctx context.Context, site string, minGap time.Duration, now time.Time) (*proof.Checkpoint, error) {
	e, ok, err := l.newestEntry(ctx, site, "+")
	if err != nil || !ok {
		return nil, err
	}
	c := proof.SignCheckpoint(l.key, proof.KindHead, site, e.Record.Seq, e.Record.Hash, now)
	keys := []string{CheckpointsKey(site), CheckpointStateKey(site)}
	n, err := l.cpScript.Run(ctx, l.rdb, keys, c.Seq, c.Marshal(), now.UnixMilli(), minGap.Milliseconds()).Int()
	if err != nil {
		return nil, fmt.Errorf("%w: store checkpoint: %w", ErrUnavailable, err)
	}
	if n == 0 {
		return nil, nil
	}
	return c, nil
}

// newestEntry returns the newest entry of the site's log at or before
// the stream ID max ("+": the newest of all), checked to be part of the
// signed chain; ok is false when there is none. An entry that is not is
// an *UnverifiedError: nothing is signed on top of it.
func (l *Ledger) newestEntry(ctx context.Context, site, max string) (e Entry, ok bool, err error) {
	msgs, err := l.rdb.XRevRangeN(ctx, LogKey(site), max, "-", 1).Result()
	if err != nil {
		return Entry{}, false, fmt.Errorf("%w: read the newest record: %w", ErrUnavailable, err)
	}
	if len(msgs) == 0 {
		return Entry{}, false, nil
	}
	bs := NewBatches(l.rdb, site, l.PublicKeys())
	if err := bs.Load(ctx, []*redis.XMessage{&msgs[0]}); err != nil {
		return Entry{}, false, err
	}
	e, err = bs.Entry(&msgs[0])
	return e, err == nil, err
}

// CutCheckpoint stores a signed "cut" checkpoint of the last record of
// the signed chain whose stream ID is below minID: the record a trim at
// minID removes last. Entries outside the signed chain below minID are
// passed over (the trim removes them too). It writes nothing when no
// record of the chain is below minID.
func (l *Ledger) CutCheckpoint(ctx context.Context, site, minID string) error {
	max := "(" + minID
	bs := NewBatches(l.rdb, site, l.PublicKeys())
	for {
		msgs, err := l.rdb.XRevRangeN(ctx, LogKey(site), max, "-", cutScan).Result()
		if err != nil {
			return fmt.Errorf("%w: read the record before the cut: %w", ErrUnavailable, err)
		}
		ptrs := make([]*redis.XMessage, len(msgs))
		for i := range msgs {
			ptrs[i] = &msgs[i]
		}
		if err := bs.Load(ctx, ptrs); err != nil {
			return err
		}
		for _, m := range ptrs {
			e, err := bs.Entry(m)
			var ue *UnverifiedError
			if errors.As(err, &ue) {
				continue
			}
			if err != nil {
				return err
			}
			c := proof.SignCheckpoint(l.key, proof.KindCut, site, e.Record.Seq, e.Record.Hash, time.Now())
			if err := l.rdb.RPush(ctx, CheckpointsKey(site), c.Marshal()).Err(); err != nil {
				return fmt.Errorf("%w: store cut checkpoint: %w", ErrUnavailable, err)
			}
			return nil
		}
		if len(msgs) < cutScan {
			return nil
		}
		max = "(" + msgs[len(msgs)-1].ID
	}
}

// cutScan is how many entries CutCheckpoint reads at a time, newest
// first, looking for the last record of the chain before a cut.
const cutScan = 100

// checkpointSoon asks the checkpoint goroutine to sign the site's head:
// its chain passed a multiple of Options.CheckpointEvery. It never blocks
// the commit worker: a request already queued for the site covers it.
func (l *Ledger) checkpointSoon(site string) {
	select {
	case l.cpq <- site:
	default:
	}
}

// checkpoints writes the checkpoints asked for by checkpointSoon until
// Close closes cpq.
func (l *Ledger) checkpoints() {
	defer l.cpDone.Done()
	for site := range l.cpq {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := l.Checkpoint(ctx, site, 0, time.Now())
		cancel()
		if l.opts.Checkpointed != nil {
			l.opts.Checkpointed(site, c, err)
		}
	}
}

// Checkpoints returns the site's checkpoints, oldest first, as stored
// (proof.Checkpoint JSON).
func (l *Ledger) Checkpoints(ctx context.Context, site string) ([]json.RawMessage, error) {
	return ReadCheckpoints(ctx, l.rdb, site)
}

// ReadCheckpoints reads a site's checkpoints (for exports, which have a
// Redis client of their own).
func ReadCheckpoints(ctx context.Context, rdb redis.UniversalClient, site string) ([]json.RawMessage, error) {
	vals, err := rdb.LRange(ctx, CheckpointsKey(site), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: read checkpoints: %w", ErrUnavailable, err)
	}
	out := make([]json.RawMessage, len(vals))
	for i, v := range vals {
		out[i] = json.RawMessage(v)
	}
	return out, nil
}
