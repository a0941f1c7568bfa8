package ledger

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
)

// A signed batch is stored once, as an entry of the site's batches stream
// (BatchesKey), and every record entry of the batch names it (field "b").
// A record's receipt is rebuilt from the batch entry when it is needed
// (exports, a retried request) instead of being stored with every record:
// a receipt is ~0.7 KB, the batch entry ~0.3 KB plus 64 bytes per record.

// ErrBatchMissing means a record names a batch that is not in Redis (it
// was deleted, or trimmed with records the retention removed).
var ErrBatchMissing = errors.New("ledger: batch missing")

// batchFormat is the version of the batch entry format (field "v").
const batchFormat = "1"

// StoredBatch is one entry of the batches stream: what SignBatch signed.
type StoredBatch struct {
	ID     string       // stream entry ID, named by the batch's records (field "b")
	Seq    int64        // seq of the batch's first record
	KID    string       // signing key ID
	Time   string       // signing time, proof.TimeFormat
	Sig    []byte       // Ed25519 signature of proof.BatchMessage
	Root   proof.Hash   // Merkle root over Leaves
	Leaves []proof.Hash // the records' hashes, in chain order
}

// newBatchFields are the stored fields of a signed batch whose first
// record has seq first.
func newBatchFields(b *proof.Batch, first int64, hashes []proof.Hash) batchFields {
	leaves := make([]byte, 0, 64*len(hashes))
	for _, h := range hashes {
		leaves = h.AppendHex(leaves)
	}
	return batchFields{seq: first, kid: b.KID, time: b.Time, sig: b.SigString(), root: b.Tree.Root().String(), leaves: leaves}
}

// DecodeBatch reads a batches stream entry.
func DecodeBatch(m redis.XMessage) (*StoredBatch, error) {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	if v := str("v"); v != batchFormat {
		return nil, fmt.Errorf("ledger: batch %s: format %q, want %q", m.ID, v, batchFormat)
	}
	b := &StoredBatch{ID: m.ID, KID: str("kid"), Time: str("time")}
	var err error
	if b.Seq, err = strconv.ParseInt(str("seq"), 10, 64); err != nil || b.Seq < 1 {
		return nil, fmt.Errorf("ledger: batch %s: malformed seq %q", m.ID, str("seq"))
	}
	if b.Sig, err = proof.ParseSig(str("sig")); err != nil {
		return nil, fmt.Errorf("ledger: batch %s: %w", m.ID, err)
	}
	if b.Root, err = proof.ParseHash(str("root")); err != nil {
		return nil, fmt.Errorf("ledger: batch %s: root: %w", m.ID, err)
	}
	leaves := str("leaves")
	if len(leaves) == 0 || len(leaves)%64 != 0 {
		return nil, fmt.Errorf("ledger: batch %s: malformed leaves (%d hex digits)", m.ID, len(leaves))
	}
	b.Leaves = make([]proof.Hash, len(leaves)/64)
	for i := range b.Leaves {
		if b.Leaves[i], err = proof.ParseHash(leaves[i*64 : i*64+64]); err != nil {
			return nil, fmt.Errorf("ledger: batch %s: leaf %d: %w", m.ID, i, err)
		}
	}
	return b, nil
}

// OpenBatch is a batch ready to make receipts.
type OpenBatch struct {
	*StoredBatch
	batch *proof.Batch
}

// Open rebuilds the Merkle tree of the batch (site: the site it was
// signed for) and checks it against the stored root.
func (b *StoredBatch) Open(site string) (*OpenBatch, error) {
	pb, err := proof.OpenBatch(b.KID, site, b.Time, b.Sig, b.Leaves)
	if err != nil {
		return nil, fmt.Errorf("ledger: batch %s: %w", b.ID, err)
	}
	if pb.Tree.Root() != b.Root {
		return nil, fmt.Errorf("ledger: batch %s: the leaves do not give the stored root", b.ID)
	}
	return &OpenBatch{StoredBatch: b, batch: pb}, nil
}

// AppendReceipt appends the receipt (proof.Receipt JSON, as the record's
// client got it) of the batch's record with the given seq and record ID.
func (b *OpenBatch) AppendReceipt(dst []byte, seq int64, recordID string) ([]byte, error) {
	i := seq - b.Seq
	if i < 0 || i >= int64(len(b.Leaves)) {
		return dst, fmt.Errorf("ledger: record seq %d is not in batch %s (seq %d to %d)", seq, b.ID, b.Seq, b.Seq+int64(len(b.Leaves))-1)
	}
	return b.batch.AppendReceipt(dst, int(i), recordID, b.Leaves[i], seq), nil
}

// Batches reads, checks and caches the signed batches of one site: to
// tell whether log entries are part of the site's signed chain, and to
// rebuild their receipts. Not safe for concurrent use.
type Batches struct {
	rdb   redis.UniversalClient
	site  string
	keys  proof.KeySet
	cache map[string]loadedBatch // the batches of Load's latest entries
}

// loadedBatch is a batch as Load found it: opened and its signature
// verified, or why not.
type loadedBatch struct {
	b   *OpenBatch
	err error
}

// NewBatches reads batches of site through rdb and accepts those signed
// by a key of keys.
func NewBatches(rdb redis.UniversalClient, site string, keys proof.KeySet) *Batches {
	return &Batches{rdb: rdb, site: site, keys: keys, cache: map[string]loadedBatch{}}
}

// Load reads the batches that the given log entries name and are not
// cached yet, in one pipelined round trip, and checks each: its leaves
// give its root, and its root's signature verifies with a key of the key
// set. A batch that is missing, malformed or not signed is remembered as
// such, and Check reports it for every entry that names it; only a
// failure to read Redis is an error. The cache keeps only the batches of
// the latest call's entries: memory stays that of one page of an export.
func (bs *Batches) Load(ctx context.Context, msgs []*redis.XMessage) error {
	keep := make(map[string]loadedBatch, len(bs.cache))
	var want []string
	for _, m := range msgs {
		id, _ := m.Values["b"].(string)
		if id == "" {
			continue
		}
		if _, ok := keep[id]; ok {
			continue
		}
		if b, ok := bs.cache[id]; ok {
			keep[id] = b
			continue
		}
		keep[id] = loadedBatch{}
		want = append(want, id)
	}
	bs.cache = keep
	if len(want) == 0 {
		return nil
	}
	pipe := bs.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(want))
	for i, id := range want {
		cmds[i] = pipe.XRange(ctx, BatchesKey(bs.site), id, id)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isStreamIDError(err) {
		return fmt.Errorf("%w: read batches: %w", ErrUnavailable, err)
	}
	for i, c := range cmds {
		bs.cache[want[i]] = bs.open(want[i], c)
	}
	return nil
}

// open checks one batch as read by Load.
func (bs *Batches) open(id string, c *redis.XMessageSliceCmd) loadedBatch {
	if c.Err() != nil {
		return loadedBatch{err: fmt.Errorf("batch %q: %w", id, c.Err())}
	}
	ms := c.Val()
	if len(ms) != 1 {
		return loadedBatch{err: fmt.Errorf("%w: %s", ErrBatchMissing, id)}
	}
	sb, err := DecodeBatch(ms[0])
	if err != nil {
		return loadedBatch{err: err}
	}
	ob, err := sb.Open(bs.site)
	if err != nil {
		return loadedBatch{err: err}
	}
	if err := ob.batch.Verify(bs.keys); err != nil {
		return loadedBatch{err: fmt.Errorf("batch %s: %w", id, err)}
	}
	return loadedBatch{b: ob}
}

// isStreamIDError reports a Redis reply error for a malformed stream ID
// (an entry's "b" that is not one): a problem of that entry, not of Redis.
func isStreamIDError(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Invalid stream ID")
}

// UnverifiedError says why a log entry is not part of the site's signed
// chain: it is not served as a decision (docs/proof.md).
type UnverifiedError struct {
	StreamID string
	Reason   string
}

func (e *UnverifiedError) Error() string {
	return "stream entry " + e.StreamID + " is not part of the signed chain: " + e.Reason
}

// Check tells whether the log entry m, whose stored record raw decodes
// to s, is part of the site's signed chain: the
// record is of this format and this site, its content hashes to its
// "hash", and the batch its entry names (Load must have read it) is
// signed with a known key and has that hash as the leaf of the record's
// seq. Anything else is an *UnverifiedError: with write access to Redis
// but not the signing key, no entry passes that was not stored by
// consentd as it is.
func (bs *Batches) Check(m *redis.XMessage, raw string, s *Stored) error {
	_, _, err := bs.check(m, raw, s)
	return err
}

// CheckReceipt is Check, and returns the record's receipt (proof.Receipt
// JSON) too.
func (bs *Batches) CheckReceipt(m *redis.XMessage, raw string, s *Stored) ([]byte, error) {
	b, leaf, err := bs.check(m, raw, s)
	if err != nil {
		return nil, err
	}
	return b.batch.AppendReceipt(nil, int(s.Seq-b.Seq), s.RecordID, leaf, s.Seq), nil
}

func (bs *Batches) check(m *redis.XMessage, raw string, s *Stored) (*OpenBatch, proof.Hash, error) {
	bad := func(format string, args ...any) error {
		return &UnverifiedError{StreamID: m.ID, Reason: fmt.Sprintf(format, args...)}
	}
	if v, _ := m.Values["v"].(string); v != FormatVersion {
		return nil, proof.Hash{}, bad("entry format %q, want %q", v, FormatVersion)
	}
	if s.Site != bs.site {
		return nil, proof.Hash{}, bad("the record is of site %q, not %q", s.Site, bs.site)
	}
	computed, claimed, ok := storedHash(raw)
	switch {
	case !ok || s.Seq < 1:
		return nil, proof.Hash{}, bad("the record has no chain members (hash, seq)")
	case claimed != s.Hash || !sameHash(computed, claimed):
		return nil, proof.Hash{}, bad("the record does not hash to its hash %s: it was changed after it was stored", claimed)
	}
	id, _ := m.Values["b"].(string)
	if id == "" {
		return nil, proof.Hash{}, bad("the entry names no signed batch")
	}
	lb, loaded := bs.cache[id]
	switch {
	case !loaded || (lb.b == nil && lb.err == nil):
		return nil, proof.Hash{}, fmt.Errorf("ledger: entry %s: batch %s not loaded", m.ID, id)
	case lb.err != nil:
		return nil, proof.Hash{}, bad("%v", lb.err)
	}
	b := lb.b
	i := s.Seq - b.Seq
	if i < 0 || i >= int64(len(b.Leaves)) {
		return nil, proof.Hash{}, bad("record seq %d is not in its batch %s (seq %d to %d)", s.Seq, b.ID, b.Seq, b.Seq+int64(len(b.Leaves))-1)
	}
	if b.Leaves[i] != computed {
		return nil, proof.Hash{}, bad("its batch %s signed another hash for seq %d", b.ID, s.Seq)
	}
	return b, computed, nil
}

// Entry decodes the log entry m and checks it (Check). A record that
// does not decode is an *UnverifiedError too.
func (bs *Batches) Entry(m *redis.XMessage) (Entry, error) {
	s, err := DecodeEntry(m.Values)
	if err != nil {
		return Entry{}, &UnverifiedError{StreamID: m.ID, Reason: strings.TrimPrefix(err.Error(), "ledger: ")}
	}
	raw, _ := m.Values["record"].(string)
	rc, err := bs.CheckReceipt(m, raw, &s)
	if err != nil {
		return Entry{}, err
	}
	return Entry{StreamID: m.ID, Record: s, Receipt: rc}, nil
}

// sameHash reports whether hex (64 lower-case hex digits) is h, without
// allocating (it runs for every record an export serves).
func sameHash(h proof.Hash, hex string) bool {
	var buf [64]byte
	return string(h.AppendHex(buf[:0])) == hex
}

// hashMember is how the "hash" member starts in a stored record: it is
// never the first member, and its value is 64 hex digits.
const hashMember = `,"hash":"`

// storedHash returns the SHA-256 of a stored record's bytes without its
// "hash" member, and that member's value. A stored record is canonical
// JSON (docs/proof.md), so those bytes are exactly what the hash covers.
// In any JSON text the first `,"hash":"` is a member name (inside a
// string the quotes would be escaped), and the only strings of a record
// are the top-level members' values and the choice names, whose values
// are booleans: so it is the top-level member. Bytes that are not the
// canonical form give another hash than the one the batch signed.
func storedHash(raw string) (computed proof.Hash, claimed string, ok bool) {
	i := strings.Index(raw, hashMember)
	end := i + len(hashMember) + 64
	if i < 0 || end >= len(raw) || raw[end] != '"' {
		return computed, "", false
	}
	claimed = raw[i+len(hashMember) : end]
	d := sha256.New()
	d.Write([]byte(raw[:i]))
	d.Write([]byte(raw[end+1:]))
	d.Sum(computed[:0])
	return computed, claimed, true
}

// storedEntry reads a stored record's entry and rebuilds its receipt
// from its batch, checking that it is part of the signed chain.
// ErrBatchMissing: the entry is gone (trimmed).
func (l *Ledger) storedEntry(ctx context.Context, site, streamID string) (Entry, error) {
	msgs, err := l.rdb.XRange(ctx, LogKey(site), streamID, streamID).Result()
	if err != nil {
		return Entry{}, fmt.Errorf("%w: read entry %s: %w", ErrUnavailable, streamID, err)
	}
	if len(msgs) != 1 {
		return Entry{}, fmt.Errorf("%w: entry %s of %s", ErrBatchMissing, streamID, site)
	}
	m := &msgs[0]
	bs := NewBatches(l.rdb, site, l.PublicKeys())
	if err := bs.Load(ctx, []*redis.XMessage{m}); err != nil {
		return Entry{}, err
	}
	return bs.Entry(m)
}
