package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
)

// checkChain reads the site's log and checks every hash, link and seq,
// and every receipt against keys; it returns the number of records.
func checkChain(t *testing.T, rdb redis.UniversalClient, site string, keys proof.KeySet) int {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), LogKey(site), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	batches := NewBatches(rdb, site, keys)
	ptrs := make([]*redis.XMessage, len(msgs))
	for i := range msgs {
		ptrs[i] = &msgs[i]
	}
	if err := batches.Load(context.Background(), ptrs); err != nil {
		t.Fatal(err)
	}
	prev := proof.Genesis
	for i, m := range msgs {
		raw := m.Values["record"].(string)
		h, claimed, fields, err := proof.RecordHash([]byte(raw))
		if err != nil || h.String() != claimed {
			t.Fatalf("entry %d: hash %s, stored %s (%v)", i, h, claimed, err)
		}
		if fields["prev"] != prev || fields["seq"] != int64(i+1) {
			t.Fatalf("entry %d: prev %v seq %v, want %s %d", i, fields["prev"], fields["seq"], prev, i+1)
		}
		if _, ok := m.Values["receipt"]; ok {
			t.Fatalf("entry %d: a receipt is stored with the record; it is rebuilt from the batch", i)
		}
		e, err := batches.Entry(&m)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		rc, err := proof.ParseReceipt(e.Receipt)
		if err != nil || rc.Hash != claimed || rc.Seq != int64(i+1) {
			t.Fatalf("entry %d: receipt %+v (%v)", i, rc, err)
		}
		if err := rc.Verify(keys); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		prev = claimed
	}
	if head := rdb.Get(context.Background(), HeadKey(site)).Val(); len(msgs) > 0 && head != fmt.Sprintf("%d %s", len(msgs), prev) {
		t.Fatalf("head %q, want %d %s", head, len(msgs), prev)
	}
	return len(msgs)
}

// Requests with the same idempotency key in one batch and across batches
// are stored once, answered with the same receipt, and the chain stays
// whole.
func TestDuplicatesKeepChainValid(t *testing.T) {
	l, rdb, _ := setup(t, Options{BatchMax: 64})
	ctx := context.Background()
	const keys, copies = 10, 6
	type answer struct {
		rc  Ack
		err error
	}
	answers := make([][]answer, keys)
	for k := range answers {
		answers[k] = make([]answer, copies)
	}
	var wg sync.WaitGroup
	for c := range copies {
		for k := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := newRecord("demo")
				r.IdempotencyKey, r.ConsentID = fmt.Sprint("key-", k), fmt.Sprintf("00000000-0000-4000-8000-%012d", k)
				rc, err := l.Append(ctx, r)
				answers[k][c] = answer{rc, err}
			}()
		}
	}
	wg.Wait()
	firsts := make([]*Ack, keys)
	for k := range keys {
		var first *Ack
		dups := 0
		for _, a := range answers[k] {
			if a.err != nil {
				t.Fatal(a.err)
			}
			if a.rc.Duplicate {
				dups++
			} else {
				first = &a.rc
			}
		}
		if first == nil || dups != copies-1 {
			t.Fatalf("key %d: %d duplicates of %d, first %v", k, dups, copies, first)
		}
		for _, a := range answers[k] {
			if a.rc.RecordID != first.RecordID || !bytes.Equal(a.rc.Receipt, first.Receipt) || a.rc.Seq != first.Seq {
				t.Fatalf("key %d: receipts differ: %+v vs %+v", k, a.rc, first)
			}
		}
		firsts[k] = first
	}
	// Across batches: one more of each, one at a time.
	for k := range keys {
		r := newRecord("demo")
		r.IdempotencyKey, r.ConsentID = fmt.Sprint("key-", k), fmt.Sprintf("00000000-0000-4000-8000-%012d", k)
		rc, err := l.Append(ctx, r)
		if err != nil || !rc.Duplicate {
			t.Fatalf("replay: %+v %v", rc, err)
		}
		// Rebuilt from the stored batch: the same bytes as the first answer.
		if f := firsts[k]; rc.RecordID != f.RecordID || rc.Seq != f.Seq || rc.Hash != f.Hash || !bytes.Equal(rc.Receipt, f.Receipt) {
			t.Fatalf("key %d: replayed receipt\n%s\nwant\n%s", k, rc.Receipt, f.Receipt)
		}
	}
	if _, err := l.Append(ctx, newRecord("demo")); err != nil {
		t.Fatal(err)
	}
	if n := checkChain(t, rdb, "demo", l.PublicKeys()); n != keys+1 {
		t.Fatalf("%d records, want %d", n, keys+1)
	}
}

// Two ledgers (as two instances) on one Redis and one site: one chain.
func TestTwoLedgersOneChain(t *testing.T) {
	a, rdb, _ := setup(t, Options{BatchMax: 16})
	key, _ := proof.NewSigningKey()
	b := New(rdb, Options{BatchMax: 16, Signer: key, Observer: &batchLog{}})
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	var wg sync.WaitGroup
	for _, l := range []*Ledger{a, b} {
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 25 {
					if _, err := l.Append(context.Background(), newRecord("demo")); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	keys := a.PublicKeys().With(key.Public(proof.StatusCurrent))
	if n := checkChain(t, rdb, "demo", keys); n != 800 {
		t.Fatalf("%d records, want 800", n)
	}
}

// An instance that took the turn and went away delays the others by at
// most TurnTTL; their records are then stored.
func TestAbandonedTurnExpires(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	if _, err := l.Append(ctx, newRecord("demo")); err != nil {
		t.Fatal(err)
	}
	rdb.Set(ctx, TurnKey("demo"), "gone-instance", TurnTTL)
	if _, err := l.Append(ctx, newRecord("demo")); err != nil {
		t.Fatalf("append while another instance holds the turn: %v", err)
	}
	if n := checkChain(t, rdb, "demo", l.PublicKeys()); n != 2 {
		t.Fatalf("%d records", n)
	}
}

// TestTrimKeepsBatchesOfKeptRecords trims the log between two batches: the
// batches before the oldest kept record go with their records, the rest
// stay, and every kept record's receipt is still rebuilt and verifies.
func TestTrimKeepsBatchesOfKeptRecords(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	var ids []string
	for range 3 {
		rc, err := l.Append(ctx, newRecord("demo"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rc.StreamID)
		time.Sleep(3 * time.Millisecond) // the next batch in a later millisecond
	}
	ms, _, _ := strings.Cut(ids[1], "-")
	cut, _ := strconv.ParseInt(ms, 10, 64)
	n, err := l.Trim(ctx, "demo", time.UnixMilli(cut))
	if err != nil || n != 1 {
		t.Fatalf("Trim = %d, %v; want 1 record removed", n, err)
	}
	log, _ := rdb.XRange(ctx, LogKey("demo"), "-", "+").Result()
	batches, _ := rdb.XRange(ctx, BatchesKey("demo"), "-", "+").Result()
	if len(log) != 2 || len(batches) != 2 {
		t.Fatalf("after the trim: %d records and %d batches, want 2 and 2", len(log), len(batches))
	}
	if log[0].Values["b"] != batches[0].ID {
		t.Fatalf("the oldest kept record names batch %v, the oldest kept batch is %s", log[0].Values["b"], batches[0].ID)
	}
	bs := NewBatches(rdb, "demo", l.PublicKeys())
	if err := bs.Load(ctx, []*redis.XMessage{&log[0], &log[1]}); err != nil {
		t.Fatal(err)
	}
	for i := range log {
		e, err := bs.Entry(&log[i])
		if err != nil {
			t.Fatal(err)
		}
		rc, err := proof.ParseReceipt(e.Receipt)
		if err != nil || rc.Seq != e.Record.Seq || rc.Verify(l.PublicKeys()) != nil {
			t.Fatalf("record %d: receipt %s does not verify (%v)", i, e.Receipt, err)
		}
	}
}

// TestDuplicateOfTrimmedRecord replays a request whose record is gone
// (trimmed by retention while the visitor's state, which holds the
// idempotency value, lives on): it is still a duplicate, answered with
// its consent ID and its entry's time, without the record ID and receipt
// that went with the entry, rather than with an error.
// A record whose batch alone is gone is not in the signed chain: its
// duplicate is an error, not a receipt.
func TestDuplicateOfTrimmedRecord(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	r := newRecord("demo")
	r.IdempotencyKey = "gone-1"
	first, err := l.Append(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Del(ctx, BatchesKey("demo")).Err(); err != nil {
		t.Fatal(err)
	}
	again := retryOf(r)
	var ue *UnverifiedError
	if rc, err := l.Append(ctx, again); !errors.As(err, &ue) || rc.Duplicate {
		t.Fatalf("replay with the batch deleted = %+v, %v; want an UnverifiedError", rc, err)
	}
	if err := rdb.XDel(ctx, LogKey("demo"), first.StreamID).Err(); err != nil {
		t.Fatal(err)
	}
	rc, err := l.Append(ctx, retryOf(r))
	entryTime := rc.Time.UnixMilli()
	if err != nil || !rc.Duplicate || rc.RecordID != "" || rc.ConsentID != first.ConsentID || rc.StreamID != first.StreamID ||
		rc.Receipt != nil || !strings.HasPrefix(first.StreamID, fmt.Sprint(entryTime, "-")) {
		t.Fatalf("replay = %+v, %v; want the first record's duplicate without record ID and receipt", rc, err)
	}
}
