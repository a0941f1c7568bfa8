// Package ledgertest writes consent records straight to Redis as the
// ledger stores them (hash-chained, in batches signed with a given key,
// each entry naming its batch) but with stream IDs the test chooses: for
// tests of what reads the log (export, look-up, verify) that need records
// at given times. The ledger's own tests cover how it writes.
package ledgertest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/proof/canon"
	"github.com/consentd/consentd/server/ledger"
)

// Entry is a record (a decision, or a scan record: ledger.ScanRecord)
// and the stream ID to store it at.
type Entry struct {
	ID     string
	Record ledger.Record
}

// BatchSize is how many records Store signs in one batch (about what
// the ledger forms under load).
const BatchSize = 32

// Store appends entries (stream IDs increasing, all of one site, after
// any the log holds) to the site's chain, continuing from its stored head,
// signed with key in batches of BatchSize, and moves the head. Each
// batch's entry in the batches stream takes the stream ID of its first
// record.
func Store(ctx context.Context, rdb redis.UniversalClient, key *proof.SigningKey, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	site := entries[0].Record.Site
	seq, prev, err := head(ctx, rdb, site)
	if err != nil {
		return err
	}
	for start := 0; start < len(entries); start += BatchSize {
		batch := entries[start:min(start+BatchSize, len(entries))]
		stored := make([][]byte, len(batch))
		hashes := make([]proof.Hash, len(batch))
		for i, e := range batch {
			seq++
			if stored[i], hashes[i], err = chain(&e.Record, prev, seq); err != nil {
				return fmt.Errorf("ledgertest: entry %s: %w", e.ID, err)
			}
			prev = hashes[i].String()
		}
		b := proof.SignBatch(key, site, time.Now(), hashes)
		var leaves []byte
		for _, h := range hashes {
			leaves = h.AppendHex(leaves)
		}
		bid := batch[0].ID
		pipe := rdb.Pipeline()
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: ledger.BatchesKey(site), ID: bid, Values: []any{"v", "1",
			"seq", seq - int64(len(batch)) + 1, "kid", b.KID, "time", b.Time, "sig", b.SigString(), "root", b.Tree.Root().String(), "leaves", leaves}})
		for i, e := range batch {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: ledger.LogKey(site), ID: e.ID, Values: []any{"v", ledger.FormatVersion, "record", stored[i], "b", bid}})
			if e.Record.Scan != nil {
				ms, _, _ := strings.Cut(e.ID, "-")
				score, _ := strconv.ParseFloat(ms, 64)
				pipe.ZAdd(ctx, ledger.ScansKey(site), redis.Z{Score: score, Member: e.ID})
				continue
			}
			pipe.HSet(ctx, ledger.VisitorKey(site, e.Record.ConsentID), e.ID, e.Record.Method)
		}
		pipe.Set(ctx, ledger.HeadKey(site), strconv.FormatInt(seq, 10)+" "+prev, 0)
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("ledgertest: store: %w", err)
		}
	}
	return nil
}

// head reads the site's chain head (0 and the genesis value when empty).
func head(ctx context.Context, rdb redis.UniversalClient, site string) (int64, string, error) {
	seq, h, err := ledger.ParseHeadValue(rdb.Get(ctx, ledger.HeadKey(site)).Val())
	if err != nil {
		return 0, "", err
	}
	return seq, h, nil
}

// chain returns the stored JSON of r at seq after prev, and its hash.
func chain(r *ledger.Record, prev string, seq int64) ([]byte, proof.Hash, error) {
	enc, err := r.Encode()
	if err != nil {
		return nil, proof.Hash{}, err
	}
	v, err := canon.Parse(enc)
	if err != nil {
		return nil, proof.Hash{}, err
	}
	m := v.(map[string]any)
	m["prev"], m["seq"] = prev, seq
	content, err := canon.Marshal(m)
	if err != nil {
		return nil, proof.Hash{}, err
	}
	h := proof.Sum(content)
	m["hash"] = h.String()
	stored, err := canon.Marshal(m)
	return stored, h, err
}
