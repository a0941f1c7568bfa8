package ledger

import (
	"context"
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

// batchArgs are the append script's ARGV[12..17] for a signed batch whose
// first record has seq first.
func batchArgs(b *proof.Batch, first int64, hashes []proof.Hash) []any {
	leaves := make([]byte, 0, 64*len(hashes))
	for _, h := range hashes {
		leaves = h.AppendHex(leaves)
	}
	return []any{first, b.KID, b.Time, b.SigString(), b.Tree.Root().String(), leaves}
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

// Batches reads and caches the signed batches of one site, to rebuild
// the receipts of the records that name them. Not safe for concurrent use.
type Batches struct {
	rdb   redis.UniversalClient
	site  string
	cache map[string]*OpenBatch
	order []string // cache keys, oldest first, to bound the cache
}

// maxCachedBatches bounds Batches' cache: an export reads the log in
// order, so only the batches of the current page are needed.
const maxCachedBatches = 4096

// NewBatches reads batches of site through rdb.
func NewBatches(rdb redis.UniversalClient, site string) *Batches {
	return &Batches{rdb: rdb, site: site, cache: map[string]*OpenBatch{}}
}

// Load reads the batches that the given log entries name and are not
// cached yet, in one pipelined round trip.
func (bs *Batches) Load(ctx context.Context, msgs []*redis.XMessage) error {
	var want []string
	seen := map[string]bool{}
	for _, m := range msgs {
		id, _ := m.Values["b"].(string)
		if id == "" || seen[id] || bs.cache[id] != nil {
			continue
		}
		seen[id] = true
		want = append(want, id)
	}
	if len(want) == 0 {
		return nil
	}
	pipe := bs.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(want))
	for i, id := range want {
		cmds[i] = pipe.XRange(ctx, BatchesKey(bs.site), id, id)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("%w: read batches: %w", ErrUnavailable, err)
	}
	for i, c := range cmds {
		ms := c.Val()
		if len(ms) != 1 {
			return fmt.Errorf("%w: %s of %s", ErrBatchMissing, want[i], bs.site)
		}
		sb, err := DecodeBatch(ms[0])
		if err != nil {
			return err
		}
		ob, err := sb.Open(bs.site)
		if err != nil {
			return err
		}
		bs.put(want[i], ob)
	}
	return nil
}

func (bs *Batches) put(id string, b *OpenBatch) {
	if len(bs.order) >= maxCachedBatches {
		delete(bs.cache, bs.order[0])
		bs.order = bs.order[1:]
	}
	bs.cache[id] = b
	bs.order = append(bs.order, id)
}

// Receipt returns the receipt of a log entry holding the record with the
// given seq and record ID: the receipt stored with it (records stored
// before receipts were rebuilt from batches), else the one rebuilt from
// the batch it names (Load must have read it), else "" (an unchained
// entry).
func (bs *Batches) Receipt(m *redis.XMessage, seq int64, recordID string) (string, error) {
	if r, _ := m.Values["receipt"].(string); r != "" {
		return r, nil
	}
	id, _ := m.Values["b"].(string)
	if id == "" {
		return "", nil
	}
	b := bs.cache[id]
	if b == nil {
		return "", fmt.Errorf("ledger: entry %s: batch %s not loaded", m.ID, id)
	}
	r, err := b.AppendReceipt(nil, seq, recordID)
	if err != nil {
		return "", fmt.Errorf("ledger: entry %s: %w", m.ID, err)
	}
	return string(r), nil
}

// storedTail reads what the append script wrote after the stream ID in
// an idempotency key: "@<batchID>#<seq>", a receipt (JSON, written by
// earlier versions) or "" (unchained).
func storedTail(tail string) (batchID string, seq int64, receipt []byte, err error) {
	switch {
	case tail == "":
		return "", 0, nil, nil
	case strings.HasPrefix(tail, "@"):
		id, n, ok := strings.Cut(tail[1:], "#")
		seq, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil || id == "" {
			return "", 0, nil, fmt.Errorf("malformed batch reference %q", tail)
		}
		return id, seq, nil, nil
	case strings.HasPrefix(tail, "{"):
		return "", 0, []byte(tail), nil
	}
	return "", 0, nil, errors.New("malformed receipt")
}

// rebuildReceipt makes the receipt of a stored record from its batch.
func (l *Ledger) rebuildReceipt(ctx context.Context, site, batchID string, seq int64, recordID string) ([]byte, error) {
	m := &redis.XMessage{Values: map[string]any{"b": batchID}}
	bs := NewBatches(l.rdb, site)
	if err := bs.Load(ctx, []*redis.XMessage{m}); err != nil {
		return nil, err
	}
	r, err := bs.Receipt(m, seq, recordID)
	return []byte(r), err
}
