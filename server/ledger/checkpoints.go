package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
)

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

// Head returns the site's chain head as stored: the seq and hash of its
// last record (0 and proof.Genesis for an empty chain).
func (l *Ledger) Head(ctx context.Context, site string) (seq int64, hash string, err error) {
	v, err := l.rdb.Get(ctx, HeadKey(site)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, proof.Genesis, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("%w: read chain head: %w", ErrUnavailable, err)
	}
	h, err := parseHead(v)
	if err != nil {
		return 0, "", err
	}
	return h.seq, h.hash.String(), nil
}

// Checkpoint signs the site's chain head and appends the checkpoint to
// c:{site}:checkpoints, unless the chain is empty, the head has not moved
// since the last checkpoint, or another instance has written this
// interval's checkpoint (a lock taken with SET NX for interval). It returns the new
// checkpoint, or nil when it wrote none.
func (l *Ledger) Checkpoint(ctx context.Context, site string, interval time.Duration, now time.Time) (*proof.Checkpoint, error) {
	seq, hash, err := l.Head(ctx, site)
	if err != nil || seq == 0 {
		return nil, err
	}
	last, err := l.rdb.LIndex(ctx, CheckpointsKey(site), -1).Bytes()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: read checkpoints: %w", ErrUnavailable, err)
	}
	var prev proof.Checkpoint
	if len(last) > 0 && json.Unmarshal(last, &prev) == nil && prev.Seq == seq && prev.Head == hash {
		return nil, nil
	}
	ok, err := l.rdb.SetNX(ctx, CheckpointLockKey(site), now.UTC().Format(proof.TimeFormat), interval).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint lock: %w", ErrUnavailable, err)
	}
	if !ok {
		return nil, nil
	}
	c := proof.SignCheckpoint(l.key, proof.KindHead, site, seq, hash, now)
	if err := l.rdb.RPush(ctx, CheckpointsKey(site), c.Marshal()).Err(); err != nil {
		return nil, fmt.Errorf("%w: store checkpoint: %w", ErrUnavailable, err)
	}
	return c, nil
}

// CutCheckpoint stores a signed "cut" checkpoint of the last record whose
// stream ID is below minID, the record a trim at minID removes last. It
// writes nothing when no record is below minID, or when that record is
// not chained (format 1).
func (l *Ledger) CutCheckpoint(ctx context.Context, site, minID string) error {
	msgs, err := l.rdb.XRevRangeN(ctx, LogKey(site), "("+minID, "-", 1).Result()
	if err != nil {
		return fmt.Errorf("%w: read the record before the cut: %w", ErrUnavailable, err)
	}
	if len(msgs) == 0 {
		return nil
	}
	s, err := DecodeEntry(msgs[0].Values)
	if err != nil {
		return fmt.Errorf("entry %s: %w", msgs[0].ID, err)
	}
	if s.Seq == 0 || s.Hash == "" {
		return nil
	}
	c := proof.SignCheckpoint(l.key, proof.KindCut, site, s.Seq, s.Hash, time.Now())
	if err := l.rdb.RPush(ctx, CheckpointsKey(site), c.Marshal()).Err(); err != nil {
		return fmt.Errorf("%w: store cut checkpoint: %w", ErrUnavailable, err)
	}
	return nil
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
