package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/redisproc"
)

type batchLog struct {
	mu    sync.Mutex
	sizes []int
	errs  int
}

func (b *batchLog) BatchDone(n int, _ time.Duration, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sizes = append(b.sizes, n)
	if err != nil {
		b.errs++
	}
}

func (b *batchLog) max() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := 0
	for _, s := range b.sizes {
		m = max(m, s)
	}
	return m
}

// setup returns a ledger on a fresh Redis (a Redis Cluster when
// CONSENTD_TEST_REDIS=cluster), a client on it and the server holding the
// demo site's keys.
func setup(t *testing.T, o Options) (*Ledger, redis.UniversalClient, *redisproc.Server) {
	t.Helper()
	tgt := redisproc.StartTargetT(t)
	srv, err := tgt.ServerFor(context.Background(), LogKey("demo"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := tgt.FailFastClient()
	t.Cleanup(func() { _ = rdb.Close() })
	l := New(rdb, o)
	l.SetPolicy("demo", Policy{CounterTTL: 400 * 24 * time.Hour, RetentionTTL: 1095 * 24 * time.Hour, Required: []string{"necessary"}})
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l, rdb, srv
}

// pendingOf prepares records as Append does (the demo site's policy:
// "necessary" required), for a test that commits one batch itself.
func pendingOf(t *testing.T, recs ...*Record) []*pending {
	t.Helper()
	ps := make([]*pending, len(recs))
	for i, r := range recs {
		enc, err := r.encodeParts(nil)
		if err == nil {
			err = enc.prehash()
		}
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = &pending{rec: r, parts: enc, day: r.Day(), counters: r.counters([]string{"necessary"}), done: make(chan result, 1)}
	}
	return ps
}

func newRecord(site string) *Record {
	rid, _ := uuid.NewV7()
	return &Record{
		Site:          site,
		RecordID:      rid.String(),
		ConsentID:     uuid.NewString(),
		Time:          time.Date(2026, 11, 23, 10, 0, 0, 123e6, time.UTC),
		NoticeVersion: "ab12",
		PolicyVersion: "2026-11-01",
		Method:        MethodCustom,
		Choices:       map[string]bool{"necessary": true, "analytics": true, "marketing": false},
		Language:      "fi",
		URL:           "https://www.example.fi/page",
		UserAgent:     "test",
		IP:            "192.0.2.0",
	}
}

func TestAppendWritesEntryStateAndCounters(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	r := newRecord("demo")
	rc, err := l.Append(ctx, r)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if rc.RecordID != r.RecordID || rc.ConsentID != r.ConsentID || rc.StreamID == "" || rc.Duplicate {
		t.Fatalf("receipt %+v", rc)
	}
	entries, err := rdb.XRange(ctx, LogKey("demo"), "-", "+").Result()
	if err != nil || len(entries) != 1 {
		t.Fatalf("XRANGE: %v %v", entries, err)
	}
	e := entries[0]
	raw, _ := e.Values["record"].(string)
	body := `{"choices":{"analytics":true,"marketing":false,"necessary":true},"consent_id":"` + r.ConsentID +
		`","country":"","cv":1,"gpc":false,%s"ip":"192.0.2.0","language":"fi","method":"custom","mode":"","notice_version":"ab12","policy_version":"2026-11-01",` +
		`"prev":"` + proof.Genesis + `","record_id":"` + r.RecordID + `","seq":1,"site":"demo","time":"2026-11-23T10:00:00.123Z","url":"https://www.example.fi/page","user_agent":"test","v":2}`
	hash := proof.Sum([]byte(fmt.Sprintf(body, ""))).String()
	wantJSON := fmt.Sprintf(body, `"hash":"`+hash+`",`)
	if raw != wantJSON || e.Values["v"] != "2" || rc.Hash != hash || rc.Seq != 1 {
		t.Errorf("stored entry\n got %v\nwant record=%s", e.Values, wantJSON)
	}
	st, err := DecodeEntry(e.Values)
	if err != nil || st.RecordID != r.RecordID || !st.Choices["analytics"] {
		t.Errorf("DecodeEntry: %+v %v", st, err)
	}
	if e.ID != rc.StreamID {
		t.Errorf("stream id %s, receipt %s", e.ID, rc.StreamID)
	}
	// The index of the visitor's decisions, and nothing else (no
	// idempotency key, no consent ID limit).
	state, _ := rdb.HGetAll(ctx, VisitorKey("demo", r.ConsentID)).Result()
	wantState := map[string]string{rc.StreamID: "custom"}
	if fmt.Sprint(state) != fmt.Sprint(wantState) {
		t.Errorf("visitor state\n got %v\nwant %v", state, wantState)
	}
	if ttl := rdb.TTL(ctx, VisitorKey("demo", r.ConsentID)).Val(); ttl < 1094*24*time.Hour {
		t.Errorf("visitor state TTL %v, want the log retention (1095 days)", ttl)
	}
	counters, _ := rdb.HGetAll(ctx, DailyKey("demo", "2026-11-23")).Result()
	wantC := map[string]string{"decisions": "1", "method:custom": "1", "cat:analytics:yes": "1", "cat:marketing:no": "1",
		"country:unknown": "1", "mode:unknown": "1"}
	for k, v := range wantC {
		if counters[k] != v {
			t.Errorf("counter %s = %q, want %s (all: %v)", k, counters[k], v, counters)
		}
	}
	if _, ok := counters["cat:necessary:yes"]; ok {
		t.Error("required category must not be counted in opt-in reports")
	}
}

func TestIdempotencyKeyStoresOnce(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	key := uuid.NewString()
	first := newRecord("demo")
	first.IdempotencyKey = key
	rc1, err := l.Append(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	retry := newRecord("demo") // a retry gets a fresh record id from the server
	retry.IdempotencyKey, retry.ConsentID = key, first.ConsentID
	rc2, err := l.Append(ctx, retry)
	if err != nil {
		t.Fatal(err)
	}
	if !rc2.Duplicate || rc2.RecordID != rc1.RecordID || rc2.ConsentID != rc1.ConsentID || rc2.StreamID != rc1.StreamID || !rc2.Time.Equal(rc1.Time) {
		t.Fatalf("retry receipt %+v, want the original %+v", rc2, rc1)
	}
	if n := rdb.XLen(ctx, LogKey("demo")).Val(); n != 1 {
		t.Fatalf("XLEN = %d, want 1", n)
	}
	if n := rdb.HGet(ctx, DailyKey("demo", "2026-11-23"), "decisions").Val(); n != "1" {
		t.Fatalf("decisions counter = %s, want 1 (a duplicate must not count)", n)
	}
}

func TestGroupCommitUnderConcurrency(t *testing.T) {
	obs := &batchLog{}
	l, rdb, _ := setup(t, Options{BatchMax: 64, Workers: 2, Observer: obs})
	ctx := context.Background()
	const goroutines, each = 64, 40
	var wg sync.WaitGroup
	var failed atomic.Int32
	ids := sync.Map{}
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				site := "demo"
				if i%2 == 1 {
					site = "other" // two sites in one batch: two script calls in one pipeline
				}
				r := newRecord(site)
				rc, err := l.Append(ctx, r)
				if err != nil {
					failed.Add(1)
					continue
				}
				ids.Store(rc.StreamID+site, true)
			}
		}(g)
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d appends failed", failed.Load())
	}
	total := rdb.XLen(ctx, LogKey("demo")).Val() + rdb.XLen(ctx, LogKey("other")).Val()
	if total != goroutines*each {
		t.Fatalf("stored %d records, want %d", total, goroutines*each)
	}
	if got := rdb.HGet(ctx, DailyKey("demo", "2026-11-23"), "decisions").Val(); got != fmt.Sprint(goroutines*each/2) {
		t.Fatalf("demo decisions counter = %s", got)
	}
	if obs.max() < 2 {
		t.Fatalf("largest batch was %d: concurrent appends were not grouped", obs.max())
	}
	t.Logf("batches: %d for %d records, largest %d", len(obs.sizes), goroutines*each, obs.max())
}

func TestNoticeSnapshotWrittenWithRecords(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	l.RegisterNotice("demo", "ab12", []byte(`{"id":"demo"}`))
	if _, err := l.Append(ctx, newRecord("demo")); err != nil {
		t.Fatal(err)
	}
	if got := rdb.HGet(ctx, NoticeKey("demo"), "ab12").Val(); got != `{"id":"demo"}` {
		t.Fatalf("snapshot = %q", got)
	}
	// A later registration of the same version never overwrites the stored one.
	l.RegisterNotice("demo", "ab12", []byte(`{"changed":true}`))
	if _, err := l.Append(ctx, newRecord("demo")); err != nil {
		t.Fatal(err)
	}
	if got := rdb.HGet(ctx, NoticeKey("demo"), "ab12").Val(); got != `{"id":"demo"}` {
		t.Fatalf("snapshot overwritten: %q", got)
	}
}

func TestScriptReloadedAfterFlush(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	if _, err := l.Append(ctx, newRecord("demo")); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, newRecord("demo")); err != nil {
		t.Fatalf("after SCRIPT FLUSH: %v", err)
	}
	if n := rdb.XLen(ctx, LogKey("demo")).Val(); n != 2 {
		t.Fatalf("XLEN = %d, want 2 (NOSCRIPT retry must not double-write)", n)
	}
}

func TestRedisDownIsUnavailable(t *testing.T) {
	l, _, srv := setup(t, Options{})
	ctx := context.Background()
	if _, err := l.Append(ctx, newRecord("demo")); err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := l.Append(ctx, newRecord("demo"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
	t.Logf("failed in %v", time.Since(start))
}

func TestAppendContextCancelled(t *testing.T) {
	l, _, _ := setup(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Append(ctx, newRecord("demo")); !errors.Is(err, ErrUnavailable) && !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestCloseDrainsAcceptedRecords(t *testing.T) {
	l, rdb, _ := setup(t, Options{BatchMax: 16, Workers: 1})
	ctx := context.Background()
	var wg sync.WaitGroup
	var stored, closed atomic.Int64
	for i := 0; i < 400; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.Append(ctx, newRecord("demo"))
			switch {
			case err == nil:
				stored.Add(1)
			case errors.Is(err, ErrClosed):
				closed.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	time.Sleep(2 * time.Millisecond)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if stored.Load()+closed.Load() != 400 {
		t.Fatalf("stored %d + closed %d != 400", stored.Load(), closed.Load())
	}
	if n := rdb.XLen(ctx, LogKey("demo")).Val(); n != stored.Load() {
		t.Fatalf("XLEN %d, but %d callers were told their record is stored", n, stored.Load())
	}
	if _, err := l.Append(ctx, newRecord("demo")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	t.Logf("stored %d before close, %d refused", stored.Load(), closed.Load())
}

func TestHistoryOldestFirst(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	first := newRecord("demo")
	if _, err := l.Append(ctx, newRecord("demo")); err != nil { // another visitor
		t.Fatal(err)
	}
	var want []string
	for i, m := range []string{MethodAcceptAll, MethodCustom, MethodRejectAll} {
		r := newRecord("demo")
		r.ConsentID = first.ConsentID
		r.Method = m
		r.Choices = map[string]bool{"necessary": true, "analytics": i < 2, "marketing": i == 0}
		r.Time = r.Time.Add(time.Duration(i) * time.Minute)
		if _, err := l.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
		want = append(want, r.RecordID)
	}
	h, bad, err := l.History(ctx, "demo", first.ConsentID)
	if err != nil || len(bad) != 0 {
		t.Fatal(err, bad)
	}
	var got []string
	for _, e := range h {
		got = append(got, e.Record.RecordID)
		if e.Record.ConsentID != first.ConsentID || e.StreamID == "" {
			t.Errorf("entry %+v", e)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || h[2].Record.Method != MethodRejectAll {
		t.Fatalf("history %v, want %v", got, want)
	}
	if ids := decisionIDs(rdb.HGetAll(ctx, VisitorKey("demo", first.ConsentID)).Val()); len(ids) != 3 || ids[2] != h[2].StreamID {
		t.Errorf("the visitor's index %v, want the last decision %s last", ids, h[2].StreamID)
	}
	if ttl := rdb.TTL(ctx, VisitorKey("demo", first.ConsentID)).Val(); ttl < 1094*24*time.Hour {
		t.Errorf("history TTL %v, want the retention (1095 days)", ttl)
	}
	if h, _, err := l.History(ctx, "demo", "00000000-0000-4000-8000-000000000000"); err != nil || len(h) != 0 {
		t.Errorf("unknown id: %v %v", h, err)
	}
	// A trimmed entry drops out of the history; the others stay.
	if err := rdb.XDel(ctx, LogKey("demo"), h0(t, l, first.ConsentID)).Err(); err != nil {
		t.Fatal(err)
	}
	if h, _, _ := l.History(ctx, "demo", first.ConsentID); len(h) != 2 {
		t.Errorf("after trimming one entry: %d entries", len(h))
	}
}

func h0(t *testing.T, l *Ledger, cid string) string {
	h, _, err := l.History(context.Background(), "demo", cid)
	if err != nil || len(h) == 0 {
		t.Fatal(err)
	}
	return h[0].StreamID
}

// TestBatchCountersSummed commits one batch whose records fall on two UTC
// days (a batch around midnight): the script gets each day's counters
// summed, and every record is counted once, on its own day.
func TestBatchCountersSummed(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	day1 := time.Date(2026, 11, 23, 23, 59, 59, 0, time.UTC)
	day2 := day1.Add(2 * time.Second)
	recs := []struct {
		at        time.Time
		analytics bool
		method    string
	}{
		{day1, true, MethodCustom},
		{day1, false, MethodCustom},
		{day1, true, MethodAcceptAll},
		{day2, false, MethodRejectAll},
	}
	batch := make([]*pending, len(recs))
	for i, x := range recs {
		r := newRecord("demo")
		r.Time, r.Method = x.at, x.method
		r.Choices = map[string]bool{"necessary": true, "analytics": x.analytics, "marketing": x.method == MethodAcceptAll}
		batch[i] = pendingOf(t, r)[0]
	}
	l.commit(batch)
	for i, p := range batch {
		if res := <-p.done; res.err != nil {
			t.Fatalf("record %d: %v", i, res.err)
		}
	}
	tests := []struct {
		day  string
		want map[string]string
	}{
		{"2026-11-23", map[string]string{"decisions": "3", "method:custom": "2", "method:accept_all": "1",
			"cat:analytics:yes": "2", "cat:analytics:no": "1", "cat:marketing:yes": "1", "cat:marketing:no": "2",
			"country:unknown": "3", "mode:unknown": "3"}},
		{"2026-11-24", map[string]string{"decisions": "1", "method:reject_all": "1", "cat:analytics:no": "1",
			"cat:marketing:no": "1", "country:unknown": "1", "mode:unknown": "1"}},
	}
	for _, tt := range tests {
		got, err := rdb.HGetAll(ctx, DailyKey("demo", tt.day)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("counters of %s:\n got %v\nwant %v", tt.day, got, tt.want)
		}
		if ttl := rdb.TTL(ctx, DailyKey("demo", tt.day)).Val(); ttl < 399*24*time.Hour {
			t.Errorf("counters of %s: TTL %v, want the counter TTL (400 days)", tt.day, ttl)
		}
	}
}

// TestParseIdemValue reads an idempotency value and refuses malformed
// ones (a duplicate with a malformed value is ErrUnavailable).
func TestParseIdemValue(t *testing.T) {
	tests := []struct {
		name      string
		value     string
		request   string
		wantError bool
	}{
		{name: "request hash and stream ID", value: "3|abc123|1795436458042-3", request: "abc123"},
		{name: "empty request hash", value: "3||1795436458042-3"},
		{name: "an earlier format", value: "2|abc|01a2085a-3039-7340-bcdb-211a651c5adc|3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f|1|1-0", wantError: true},
		{name: "no stream ID", value: "3|abc|", wantError: true},
		{name: "too few parts", value: "3|abc", wantError: true},
		{name: "too many parts", value: "3|abc|1-0|x", wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := parseIdemValue(tt.value)
			if (err != nil) != tt.wantError {
				t.Fatalf("err = %v, want error %v", err, tt.wantError)
			}
			if tt.wantError {
				if res := duplicate(tt.value, &Record{RequestHash: "x"}); !errors.Is(res.err, ErrUnavailable) {
					t.Errorf("duplicate: %v, want ErrUnavailable", res.err)
				}
				return
			}
			if v.streamID != "1795436458042-3" || v.request != tt.request {
				t.Errorf("parsed %+v", v)
			}
			if res := duplicate(tt.value, &Record{RequestHash: "other"}); !errors.Is(res.err, ErrIdempotencyConflict) {
				t.Errorf("another request: %+v, want ErrIdempotencyConflict", res)
			}
		})
	}
	// The prefix the ledger writes parses back, with the script's tail,
	// and stays short enough for a listpack-encoded visitor hash.
	r := newRecord("demo")
	r.RequestHash = strings.Repeat("f", 32) // requestHash: 16 bytes in hex
	value := r.idemPrefix() + "|1795436458042-7"
	v, err := parseIdemValue(value)
	if err != nil || v.request != r.RequestHash || v.streamID != "1795436458042-7" {
		t.Fatalf("round trip: %+v %v", v, err)
	}
	if len(value) > 64 {
		t.Fatalf("idempotency value of %d bytes: over Redis's hash-max-listpack-value (64)", len(value))
	}
}

// TestDecisionIDs lists a visitor hash's decisions in stream order
// (numeric, not as strings) and leaves its other fields out.
func TestDecisionIDs(t *testing.T) {
	state := map[string]string{"l": "1000:1", "i:1000-10": "3|x|1000-10", "1000-10": "custom", "1000-9": "accept_all",
		"999-0": "reject_all", "x-1": "?", "1-": "?"}
	if got, want := decisionIDs(state), []string{"999-0", "1000-9", "1000-10"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("decisionIDs = %v, want %v", got, want)
	}
	if got := decisionIDs(map[string]string{}); len(got) != 0 {
		t.Errorf("empty hash: %v", got)
	}
}

// TestNoticeSnapshotKeptUntilWritten: the registry holds a snapshot's
// bytes only until Redis has it, by SaveNotices or with a batch; Notice
// then reads it from Redis.
func TestNoticeSnapshotKeptUntilWritten(t *testing.T) {
	tests := []struct {
		name  string
		write func(ctx context.Context, l *Ledger) error
	}{
		{"SaveNotices", func(ctx context.Context, l *Ledger) error { return l.SaveNotices(ctx, "demo") }},
		{"with a batch", func(ctx context.Context, l *Ledger) error { _, err := l.Append(ctx, newRecord("demo")); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _, _ := setup(t, Options{})
			ctx := context.Background()
			l.RegisterNotice("demo", "ab12", []byte(`{"id":"demo"}`))
			if b, ok, err := l.Notice(ctx, "demo", "ab12"); err != nil || !ok || string(b) != `{"id":"demo"}` {
				t.Fatalf("before writing: %q %v %v", b, ok, err)
			}
			if err := tt.write(ctx, l); err != nil {
				t.Fatal(err)
			}
			l.noticeMu.Lock()
			kept := l.notices["demo"]["ab12"].json
			l.noticeMu.Unlock()
			if kept != "" {
				t.Fatalf("still held after it was written: %q", kept)
			}
			if b, ok, err := l.Notice(ctx, "demo", "ab12"); err != nil || !ok || string(b) != `{"id":"demo"}` {
				t.Fatalf("after writing: %q %v %v", b, ok, err)
			}
		})
	}
}
