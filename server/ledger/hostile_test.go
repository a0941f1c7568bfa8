package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
)

// TestEntriesOutsideTheChainAreNotServed writes stream entries as an
// attacker with write access to Redis (but not the signing key) would,
// among real ones: none of them is returned as a decision by History, and
// each is named with why; a checkpoint is never signed on top of one.
func TestEntriesOutsideTheChainAreNotServed(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	r := newRecord("demo")
	// Before anything: a format-1 entry at the lowest stream ID, as an
	// attacker rewriting the stream would place it, before seq 1.
	v1 := `{"choices":{"analytics":true,"marketing":true,"necessary":true},"consent_id":"` + r.ConsentID + `","country":"","ip":"","language":"fi","method":"accept_all","mode":"opt-in","notice_version":"ab12","policy_version":"x","record_id":"forged-v1","site":"demo","time":"2026-11-23T10:00:00.000Z","url":"","user_agent":"","v":1}`
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: LogKey("demo"), ID: "1-0", Values: []any{"v", "1", "record", v1}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, VisitorKey("demo", r.ConsentID), "1-0", "accept_all").Err(); err != nil {
		t.Fatal(err)
	}
	real1, err := l.Append(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	stored := func(id string) map[string]any {
		t.Helper()
		ms, err := rdb.XRange(ctx, LogKey("demo"), id, id).Result()
		if err != nil || len(ms) != 1 {
			t.Fatalf("entry %s: %v %v", id, ms, err)
		}
		return ms[0].Values
	}
	realValues := stored(real1.StreamID)
	realRecord := realValues["record"].(string)
	realBatch := realValues["b"].(string)

	// A second batch signed with another key (an instance whose key is not
	// in this ledger's key set).
	other := New(rdb, Options{})
	t.Cleanup(func() { _ = other.Close(ctx) })
	o := newRecord("demo")
	o.ConsentID = r.ConsentID
	if _, err := other.Append(ctx, o); err != nil {
		t.Fatal(err)
	}

	real2, err := l.Append(ctx, newRecord("demo")) // another visitor, another batch
	if err != nil {
		t.Fatal(err)
	}
	batch2 := stored(real2.StreamID)["b"].(string)
	edited := strings.Replace(realRecord, `"analytics":true`, `"analytics":false`, 1)
	seq2 := strings.Replace(realRecord, `"seq":1`, `"seq":2`, 1)
	tests := []struct {
		name   string
		id     string
		values []any
		reason string
	}{
		{"format 1 after the chain", "", []any{"v", "1", "record", v1}, `entry format "1"`},
		{"no batch", "", []any{"v", "2", "record", realRecord}, "names no signed batch"},
		{"edited record", "", []any{"v", "2", "record", edited, "b", realBatch}, "does not hash to its hash"},
		{"seq changed", "", []any{"v", "2", "record", seq2, "b", realBatch}, "does not hash to its hash"},
		{"seq not in the batch it names", "", []any{"v", "2", "record", realRecord, "b", batch2}, "record seq 1 is not in its batch"},
		{"batch missing", "", []any{"v", "2", "record", realRecord, "b", "1-1"}, "batch missing"},
		{"batch not a stream ID", "", []any{"v", "2", "record", realRecord, "b", "nope"}, "batch"},
		{"not JSON", "", []any{"v", "2", "record", "{"}, "decode record"},
	}
	for _, tt := range tests {
		id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: LogKey("demo"), ID: tt.id, Values: tt.values}).Result()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if err := rdb.HSet(ctx, VisitorKey("demo", r.ConsentID), id, "accept_all").Err(); err != nil {
			t.Fatal(err)
		}
	}
	entries, bad, err := l.History(ctx, "demo", r.ConsentID)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].StreamID != real1.StreamID {
		t.Fatalf("History served %d entries %+v; want only the real one", len(entries), entries)
	}
	// The other instance's record and every forged entry, in stream order.
	if len(bad) != len(tests)+2 || bad[0].StreamID != "1-0" {
		t.Fatalf("unverified: %d %v, want %d, the first at 1-0", len(bad), bad, len(tests)+2)
	}
	reasons := map[string]bool{}
	for _, b := range bad {
		reasons[b.Reason] = true
	}
	for _, want := range append([]string{"key that is not in the key set"}, func() []string {
		var out []string
		for _, tt := range tests {
			out = append(out, tt.reason)
		}
		return out
	}()...) {
		found := false
		for got := range reasons {
			found = found || strings.Contains(got, want)
		}
		if !found {
			t.Errorf("no unverified entry says %q: %v", want, bad)
		}
	}

	// The newest entry of the log is forged: no head checkpoint is signed.
	var ue *UnverifiedError
	if c, err := l.Checkpoint(ctx, "demo", 0, time.Now()); !errors.As(err, &ue) || c != nil {
		t.Fatalf("Checkpoint on a forged newest entry = %v, %v; want an UnverifiedError", c, err)
	}
}

// TestIdempotencyKeyReusedForAnotherRequest: a request reusing a stored
// request's Idempotency-Key with another request hash is refused
// (ErrIdempotencyConflict) and stores nothing, in a later batch and in
// the same batch; the same request is still answered as the duplicate.
func TestIdempotencyKeyReusedForAnotherRequest(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	a := newRecord("demo")
	a.IdempotencyKey, a.RequestHash = "k", "hash-a"
	first, err := l.Append(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	b := retryOf(a)
	b.RequestHash, b.Method = "hash-b", MethodRejectAll
	if rc, err := l.Append(ctx, b); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("other request, same key: %+v %v; want ErrIdempotencyConflict", rc, err)
	}
	again := retryOf(a)
	again.RequestHash = a.RequestHash
	if rc, err := l.Append(ctx, again); err != nil || !rc.Duplicate || rc.RecordID != first.RecordID || rc.Receipt == nil {
		t.Fatalf("same request again: %+v %v; want the first one's receipt", rc, err)
	}

	// In one batch: the first is stored, the second refused.
	x, y := newRecord("demo"), newRecord("demo")
	x.IdempotencyKey, x.RequestHash = "k2", "hash-x"
	y.IdempotencyKey, y.RequestHash, y.ConsentID = "k2", "hash-y", x.ConsentID
	ps := pendingOf(t, x, y)
	l.commit(ps)
	if res := <-ps[0].done; res.err != nil {
		t.Fatalf("first of the batch: %v", res.err)
	}
	if res := <-ps[1].done; !errors.Is(res.err, ErrIdempotencyConflict) {
		t.Fatalf("second of the batch: %+v; want ErrIdempotencyConflict", res)
	}
	if n := rdb.XLen(ctx, LogKey("demo")).Val(); n != 2 {
		t.Fatalf("log has %d records, want 2 (a and x)", n)
	}
}

// TestCheckpointEveryRecords: with CheckpointEvery the head is signed
// whenever the chain passes a multiple of it, without waiting for an
// interval; Checkpoint writes a head once (however many instances try)
// and honours its minimum gap.
func TestCheckpointEveryRecords(t *testing.T) {
	done := make(chan *proof.Checkpoint, 16)
	l, rdb, _ := setup(t, Options{CheckpointEvery: 10, Checkpointed: func(_ string, c *proof.Checkpoint, err error) {
		if err != nil {
			t.Error(err)
		}
		done <- c
	}})
	ctx := context.Background()
	for i := 1; i <= 25; i++ {
		if _, err := l.Append(ctx, newRecord("demo")); err != nil {
			t.Fatal(err)
		}
		if i%10 != 0 {
			continue
		}
		select {
		case c := <-done:
			if c == nil || c.Seq != int64(i) || c.Kind != proof.KindHead || c.Verify(l.PublicKeys()) != nil {
				t.Fatalf("checkpoint %+v, want a signed head at seq %d", c, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no checkpoint at seq %d", i)
		}
	}
	// The head (25) now: once, though asked twice; a gap refuses the next.
	c, err := l.Checkpoint(ctx, "demo", 0, time.Now())
	if err != nil || c == nil || c.Seq != 25 {
		t.Fatalf("Checkpoint = %+v %v, want seq 25", c, err)
	}
	if c, err := l.Checkpoint(ctx, "demo", 0, time.Now()); err != nil || c != nil {
		t.Fatalf("the same head again = %+v %v, want none", c, err)
	}
	if _, err := l.Append(ctx, newRecord("demo")); err != nil {
		t.Fatal(err)
	}
	if c, err := l.Checkpoint(ctx, "demo", time.Hour, time.Now()); err != nil || c != nil {
		t.Fatalf("within the gap = %+v %v, want none", c, err)
	}
	if c, err := l.Checkpoint(ctx, "demo", time.Hour, time.Now().Add(2*time.Hour)); err != nil || c == nil || c.Seq != 26 {
		t.Fatalf("after the gap = %+v %v, want seq 26", c, err)
	}
	if n := rdb.LLen(ctx, CheckpointsKey("demo")).Val(); n != 4 {
		t.Fatalf("%d checkpoints stored, want 4 (10, 20, 25, 26)", n)
	}
}

// TestConsentIDLimit: records with LimitConsentID count against
// ConsentIDLimit per consent ID in the visitor's hash; one over it gets
// a *RateLimitedError with the time left in the window and stores
// nothing, in a later batch and within one batch (the others of that
// batch are stored). Records without LimitConsentID (a consent ID the
// server made), other consent IDs and a new window are not limited.
func TestConsentIDLimit(t *testing.T) {
	l, rdb, _ := setup(t, Options{ConsentIDLimit: 3, ConsentIDWindow: time.Hour})
	ctx := context.Background()
	visitor := newRecord("demo").ConsentID
	limited := func(consentID string) *Record {
		r := newRecord("demo")
		r.ConsentID, r.LimitConsentID = consentID, true
		return r
	}
	for i := range 2 {
		if _, err := l.Append(ctx, limited(visitor)); err != nil {
			t.Fatalf("decision %d: %v", i+1, err)
		}
	}
	// One batch of three: the first fits, the other two do not.
	ps := pendingOf(t, limited(visitor), limited(visitor), limited(visitor))
	l.commit(ps)
	for i, p := range ps {
		res := <-p.done
		var rl *RateLimitedError
		switch {
		case i == 0 && res.err != nil:
			t.Fatalf("third decision: %v", res.err)
		case i > 0 && (!errors.As(res.err, &rl) || rl.RetryAfter <= 59*time.Minute || rl.RetryAfter > time.Hour):
			t.Fatalf("decision %d of the window: %+v; want a RateLimitedError with about an hour left", i+3, res)
		}
	}
	if _, err := l.Append(ctx, limited(visitor)); !errors.As(err, new(*RateLimitedError)) {
		t.Fatalf("a later batch: %v; want a RateLimitedError", err)
	}
	if _, err := l.Append(ctx, limited(newRecord("demo").ConsentID)); err != nil {
		t.Fatalf("another consent ID: %v", err)
	}
	server := newRecord("demo")
	server.ConsentID = visitor // as if the server made it: not limited
	if _, err := l.Append(ctx, server); err != nil {
		t.Fatalf("without LimitConsentID: %v", err)
	}
	if n := rdb.XLen(ctx, LogKey("demo")).Val(); n != 5 {
		t.Fatalf("log has %d records, want 5", n)
	}
	if got := rdb.HGet(ctx, VisitorKey("demo", visitor), "l").Val(); !strings.HasSuffix(got, ":3") {
		t.Fatalf("the visitor's count is %q, want 3 in the window", got)
	}
	// The window over (its start moved back), the visitor may decide again.
	if err := rdb.HSet(ctx, VisitorKey("demo", visitor), "l", fmt.Sprint(time.Now().Add(-time.Hour).UnixMilli(), ":3")).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, limited(visitor)); err != nil {
		t.Fatalf("in a new window: %v", err)
	}
}

// TestIdempotencyKeyIsPerConsentID: the same Idempotency-Key sent for
// two consent IDs is two requests (the key lives in each visitor's hash).
func TestIdempotencyKeyIsPerConsentID(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	a, b := newRecord("demo"), newRecord("demo")
	a.IdempotencyKey, b.IdempotencyKey = "same", "same"
	for _, r := range []*Record{a, b} {
		if ack, err := l.Append(ctx, r); err != nil || ack.Duplicate {
			t.Fatalf("%+v %v; want a new record", ack, err)
		}
	}
	if got := rdb.HGet(ctx, VisitorKey("demo", a.ConsentID), IdemField("same")).Val(); !strings.HasPrefix(got, "3|") {
		t.Fatalf("idempotency value %q", got)
	}
	if n := rdb.XLen(ctx, LogKey("demo")).Val(); n != 2 {
		t.Fatalf("log has %d records, want 2", n)
	}
}

// TestRecordLimits: a record's Limits are checked in order and counted
// by the append script: within one batch and across batches, a record
// over one of them gets a *RateLimitedError naming it and counts nowhere
// (not in its other limits nor its consent ID's); admitted records say
// where they left their first counter (Ack.Usage), which expires with
// its window.
func TestRecordLimits(t *testing.T) {
	// Windows of a century (aligned to 1970): the test never straddles two.
	const century = 100 * 365 * 24 * time.Hour
	l, rdb, _ := setup(t, Options{ConsentIDLimit: 1, ConsentIDWindow: time.Hour, RateWindow: century})
	ctx := context.Background()
	addr := func(a string) Limit { return Limit{Name: "address", Field: AddrLimitField(a), Max: 2} }
	site := Limit{Name: "site", Field: SiteLimitField, Max: 4}
	rec := func(limits ...Limit) *Record {
		r := newRecord("demo")
		r.Limits, r.LimitConsentID = limits, true
		return r
	}
	// One batch: a, a, a (address full), b, b's consent ID again (consent
	// ID full), then b's second: site 3/4 at that point.
	b1 := rec(addr("b"), site)
	again := rec(addr("b"), site)
	again.ConsentID = b1.ConsentID
	batch := []*Record{rec(addr("a"), site), rec(addr("a"), site), rec(addr("a"), site), b1, again, rec(addr("b"), site)}
	want := []string{"", "", "address", "", ConsentIDLimit, ""}
	ps := pendingOf(t, batch...)
	l.commit(ps)
	counts := []int{1, 2, 0, 1, 0, 2}
	for i, p := range ps {
		res := <-p.done
		var rl *RateLimitedError
		switch {
		case want[i] == "" && (res.err != nil || res.ack.Usage.Count != counts[i] || res.ack.Usage.Reset <= 0 || res.ack.Usage.Reset > century):
			t.Errorf("record %d: %+v %v; want stored, its address counter at %d", i, res.ack.Usage, res.err, counts[i])
		case want[i] != "" && (!errors.As(res.err, &rl) || rl.Limit != want[i] || rl.RetryAfter <= 0):
			t.Errorf("record %d: %v; want a RateLimitedError of the %s limit", i, res.err, want[i])
		}
	}
	keys := rdb.Keys(ctx, "c:{demo}:r:*").Val()
	if len(keys) != 1 {
		t.Fatalf("rate-limit hashes %v, want the window's one", keys)
	}
	if got := rdb.HGetAll(ctx, keys[0]).Val(); fmt.Sprint(got) != fmt.Sprint(map[string]string{"s": "4", "a:a": "2", "a:b": "2"}) {
		t.Fatalf("counters %v, want site 4, a 2, b 2: refused records count nowhere", got)
	}
	if ttl := rdb.PTTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > century {
		t.Fatalf("the window's counters expire in %v, want at the window's end", ttl)
	}
	// A later batch: the site is full.
	_, err := l.Append(ctx, rec(addr("c"), site))
	if rl := new(RateLimitedError); !errors.As(err, &rl) || rl.Limit != "site" {
		t.Fatalf("over the site limit: %v", err)
	}
	if n := rdb.XLen(ctx, LogKey("demo")).Val(); n != 4 {
		t.Fatalf("log has %d records, want 4", n)
	}
}

// TestRecordLimitsAcrossInstances: two ledgers (instances) sharing Redis
// append concurrently against one limit: exactly its maximum is stored,
// every other record is refused.
func TestRecordLimitsAcrossInstances(t *testing.T) {
	const century = 100 * 365 * 24 * time.Hour // one window for the whole test
	a, rdb, _ := setup(t, Options{RateWindow: century})
	b := New(rdb, Options{RateWindow: century})
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	site := Limit{Name: "site", Field: SiteLimitField, Max: 7}
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored, refused := 0, 0
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newRecord("demo")
			r.Limits = []Limit{site}
			l := a
			if i%2 == 1 {
				l = b
			}
			_, err := l.Append(context.Background(), r)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				stored++
			case errors.As(err, new(*RateLimitedError)):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if stored != 7 || refused != 33 {
		t.Fatalf("stored %d, refused %d; want 7 and 33", stored, refused)
	}
	if n := rdb.XLen(context.Background(), LogKey("demo")).Val(); n != 7 {
		t.Fatalf("log has %d records, want 7", n)
	}
}
