package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/redisproc"
)

// replicaPair starts a primary and a replica of it. These tests start
// their own servers whatever CONSENTD_TEST_REDIS says, so the cluster pass
// of make test skips them: they ran in the single-server pass.
func replicaPair(t *testing.T) (primary, replica *redisproc.Server) {
	t.Helper()
	if redisproc.ClusterMode() {
		t.Skip("replication tests start their own servers: they run in the single-server pass")
	}
	primary = redisproc.StartT(t, redisproc.Options{})
	replica = redisproc.StartReplicaT(t, primary, redisproc.Options{})
	t.Cleanup(func() { _ = replica.Resume() }) // before Stop, if a test left it paused
	return primary, replica
}

// clientOf is a client of one server that fails fast, as consentd's.
func clientOf(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// entryAt reads the log entry streamID of the site from rdb; it fails the
// test when there is none.
func entryAt(t *testing.T, rdb redis.Cmdable, site, streamID string) Stored {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), LogKey(site), streamID, streamID).Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("log entry %s: %d entries, %v", streamID, len(msgs), err)
	}
	st, err := DecodeEntry(msgs[0].Values)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// logByRecord reads the site's whole log from rdb: record ID → how often
// it is there, and record ID → the stored record.
func logByRecord(t *testing.T, rdb redis.Cmdable, site string) (map[string]int, map[string]Stored) {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), LogKey(site), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	count, byID := map[string]int{}, map[string]Stored{}
	for _, m := range msgs {
		st, err := DecodeEntry(m.Values)
		if err != nil {
			t.Fatal(err)
		}
		count[st.RecordID]++
		byID[st.RecordID] = st
	}
	return count, byID
}

// retryOf is the widget's retry of r: a new request (new record ID), the
// same idempotency key and consent ID.
func retryOf(r *Record) *Record {
	n := newRecord(r.Site)
	n.IdempotencyKey, n.ConsentID = r.IdempotencyKey, r.ConsentID
	return n
}

// With WaitReplicas a record is acknowledged only once the replica has
// it; while the replica is paused the record is stored on the primary but
// answered ErrUnavailable, and so is every retry; once the replica is
// back, the retry gets the stored record's receipt as a duplicate. With
// the script in Redis and after SCRIPT FLUSH (NOSCRIPT, sent again with
// EVAL).
func TestWaitReplicas(t *testing.T) {
	tests := []struct {
		name     string
		noscript bool
	}{
		{"script loaded", false},
		{"after SCRIPT FLUSH", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			p, r := replicaPair(t)
			prdb, rrdb := clientOf(t, p.Addr), clientOf(t, r.Addr)
			// l waits long enough for a replica that runs, on a busy
			// machine too (WAIT returns as soon as the replica has the
			// record); short and other give up soon on a paused one; other
			// has connections of its own that have written nothing yet.
			key, err := proof.NewSigningKey()
			if err != nil {
				t.Fatal(err)
			}
			o := Options{WaitReplicas: 1, WaitTimeout: 3 * time.Second, Signer: key}
			l := New(prdb, o)
			o.WaitTimeout = 100 * time.Millisecond
			short, other := New(prdb, o), New(clientOf(t, p.Addr), o)
			for _, x := range []*Ledger{l, short, other} {
				t.Cleanup(func() { _ = x.Close(context.Background()) })
			}
			appendTo := func(l *Ledger, rec *Record) (Ack, error) {
				t.Helper()
				if tt.noscript {
					if err := prdb.ScriptFlush(ctx).Err(); err != nil {
						t.Fatal(err)
					}
				}
				return l.Append(ctx, rec)
			}
			notReplicated := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrNotReplicated) || !strings.Contains(err.Error(), "not confirmed on 1 replica(s)") {
					t.Fatalf("%s: %v, want ErrUnavailable: not confirmed on 1 replica(s)", what, err)
				}
			}

			// other's connection writes a record: from then on its WAITs
			// cover only that write unless it writes again (confirmed or
			// not: l's record after it is).
			_, _ = appendTo(other, newRecord("demo"))

			// Confirmed: on the replica as soon as Append returns.
			r1 := newRecord("demo")
			r1.IdempotencyKey = "k1"
			rc1, err := appendTo(l, r1)
			if err != nil || rc1.Duplicate {
				t.Fatalf("append: %+v %v", rc1, err)
			}
			if st := entryAt(t, rrdb, "demo", rc1.StreamID); st.RecordID != r1.RecordID {
				t.Fatalf("replica has %s at %s, want %s", st.RecordID, rc1.StreamID, r1.RecordID)
			}

			// Replica paused: the record is stored on the primary but not
			// acknowledged. short does not know the head yet (l moved
			// it): chained, its first attempt meets another head and is
			// not sent again without the replica's confirmation; the
			// retry (the widget's) writes.
			if err := r.Pause(); err != nil {
				t.Fatal(err)
			}
			r2 := newRecord("demo")
			r2.IdempotencyKey = "k2"
			_, err = appendTo(short, r2)
			notReplicated("append with the replica paused", err)
			_, err = appendTo(short, retryOf(r2))
			notReplicated("retry with the replica paused", err)
			count, byID := logByRecord(t, prdb, "demo")
			var stored string // the record the primary holds for k2
			for id, st := range byID {
				if st.ConsentID == r2.ConsentID {
					stored = id
				}
			}
			if len(count) != 3 || count[rc1.RecordID] != 1 || count[stored] != 1 {
				t.Fatalf("primary log %v, want 3 records, r1 and r2 once", count)
			}
			// The head moved with the unacknowledged record.
			short.headMu.Lock()
			mine := short.heads["demo"].String()
			short.headMu.Unlock()
			if head := prdb.Get(ctx, HeadKey("demo")).Val(); mine != head || !strings.HasPrefix(mine, "3 ") {
				t.Fatalf("in-memory head %q, primary's %q", mine, head)
			}
			// Further retries while it is paused, from either instance:
			// duplicates, still not acknowledged. A duplicate's WAIT must
			// cover the record it found, whichever connection wrote it:
			// other's last write is older (SyncKey; on Redis 7.0 any
			// command moves a connection's offset, later versions only a
			// write).
			for i, x := range []*Ledger{short, other} {
				_, err := appendTo(x, retryOf(r2))
				notReplicated(fmt.Sprintf("duplicate %d with the replica paused", i), err)
			}

			// Replica back: the retry is answered with the stored receipt.
			if err := r.Resume(); err != nil {
				t.Fatal(err)
			}
			rc2, err := appendTo(l, retryOf(r2))
			if err != nil || !rc2.Duplicate || rc2.RecordID != stored {
				t.Fatalf("retry after resume: %+v %v, want a duplicate of %s", rc2, err, stored)
			}
			st := entryAt(t, rrdb, "demo", rc2.StreamID)
			if st.RecordID != stored {
				t.Fatalf("replica has %s at %s, want %s", st.RecordID, rc2.StreamID, stored)
			}
			rc, err := proof.ParseReceipt(rc2.Receipt)
			if err != nil || rc2.Seq != 3 || rc2.Hash != st.Hash || rc.Hash != st.Hash {
				t.Fatalf("duplicate's receipt: seq %d hash %s (%v), stored %s", rc2.Seq, rc2.Hash, err, st.Hash)
			}
			if err := rc.Verify(l.PublicKeys()); err != nil {
				t.Fatal(err)
			}
			again, err := appendTo(l, retryOf(r2))
			if err != nil || !bytes.Equal(again.Receipt, rc2.Receipt) {
				t.Fatalf("second retry: %v, receipt\n%s\nwant\n%s", err, again.Receipt, rc2.Receipt)
			}

			// The next record: acknowledged, chained on the one that was not.
			rc3, err := appendTo(l, newRecord("demo"))
			if err != nil {
				t.Fatal(err)
			}
			entryAt(t, rrdb, "demo", rc3.StreamID)
			if rc3.Seq != 4 || checkChain(t, rrdb, "demo", l.PublicKeys()) != 4 {
				t.Fatalf("last record: seq %d; want 4 records chained on the replica", rc3.Seq)
			}
		})
	}
}

// Two instances appending to one site with WaitReplicas, each record
// re-posted now and then (duplicates) and head conflicts between them:
// every acknowledged record is on the replica when Append returns, and the
// replica's chain verifies.
func TestWaitReplicasTwoInstances(t *testing.T) {
	p, r := replicaPair(t)
	prdb, rrdb := clientOf(t, p.Addr), clientOf(t, r.Addr)
	key, _ := proof.NewSigningKey()
	obs := &conflictLog{}
	a := New(prdb, Options{BatchMax: 16, WaitReplicas: 1, WaitTimeout: time.Second, Observer: obs})
	b := New(clientOf(t, p.Addr), Options{BatchMax: 16, WaitReplicas: 1, WaitTimeout: time.Second, Signer: key, Observer: obs})
	for _, l := range []*Ledger{a, b} {
		t.Cleanup(func() { _ = l.Close(context.Background()) })
	}
	const clients, each = 8, 25
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := []*Ledger{a, b}[c%2]
			for i := range each {
				rec := newRecord("demo")
				rec.IdempotencyKey = fmt.Sprintf("c%d-%d", c, i)
				rc, err := l.Append(context.Background(), rec)
				if err != nil {
					t.Error(err)
					return
				}
				msgs, err := rrdb.XRange(context.Background(), LogKey("demo"), rc.StreamID, rc.StreamID).Result()
				if err != nil || len(msgs) != 1 {
					t.Errorf("record %s acknowledged but not on the replica (%v)", rec.RecordID, err)
					return
				}
				if i%5 == 4 {
					dup, err := l.Append(context.Background(), retryOf(rec))
					if err != nil || !dup.Duplicate || dup.RecordID != rec.RecordID || dup.Seq != rc.Seq {
						t.Errorf("re-post of %s: %+v %v", rec.RecordID, dup, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	keys := a.PublicKeys().With(key.Public(proof.StatusCurrent))
	if n := checkChain(t, rrdb, "demo", keys); n != clients*each {
		t.Fatalf("%d records on the replica, want %d", n, clients*each)
	}
	t.Logf("%d chain conflicts between the two instances", obs.n())
}

// conflictLog counts chain conflicts (ConflictObserver).
type conflictLog struct {
	batchLog
	mu        sync.Mutex
	conflicts int
}

func (c *conflictLog) ChainConflict(string) {
	c.mu.Lock()
	c.conflicts++
	c.mu.Unlock()
}

func (c *conflictLog) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conflicts
}

// On a Redis Cluster, WaitReplicas is refused: nothing is written, every
// record gets ErrUnavailable (config.Load refuses the setting before it
// gets here). Runs in the cluster pass of make test.
func TestWaitReplicasRefusedOnCluster(t *testing.T) {
	if !redisproc.ClusterMode() {
		t.Skip("needs CONSENTD_TEST_REDIS=cluster (the cluster pass of make test)")
	}
	_, rdb, _ := setup(t, Options{})
	l := New(rdb, Options{WaitReplicas: 1})
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	_, err := l.Append(context.Background(), newRecord("demo"))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, errClusterWait) {
		t.Fatalf("append: %v, want ErrUnavailable: not supported on a Redis Cluster", err)
	}
	if n := rdb.XLen(context.Background(), LogKey("demo")).Val(); n != 0 {
		t.Fatalf("%d records written", n)
	}
}
