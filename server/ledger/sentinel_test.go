package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/redisproc"
)

// TestSentinelFailover kills the primary (SIGKILL) under a load of clients
// that retry like the widget; Sentinel promotes the replica; once the old
// primary is back as the new primary's replica, appends resume. Every
// record a client saw acknowledged is on the new primary exactly once,
// with the seq and hash of its receipt, and the chain verifies.
func TestSentinelFailover(t *testing.T) {
	if redisproc.ClusterMode() {
		t.Skip("replication tests start their own servers: they run in the single-server pass")
	}
	ctx := context.Background()
	p := redisproc.StartT(t, redisproc.Options{})
	r := redisproc.StartReplicaT(t, p, redisproc.Options{})
	s := redisproc.StartSentinelT(t, redisproc.SentinelOptions{Primary: p, FailoverTimeout: 2 * time.Second})
	if err := s.WaitReplicas(ctx, 1); err != nil {
		t.Fatal(err)
	}

	// The ledger as consentd builds it: settings through config, the
	// client from the redis+sentinel:// URL.
	cfg, err := config.Load([]string{"--redis-url", s.URL(), "--redis-wait-replicas", "1", "--redis-wait-timeout", "200ms"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := config.RedisOptions(cfg.RedisURL)
	if err != nil || tgt.Kind != "sentinel" {
		t.Fatalf("%s: %s %v", cfg.RedisURL, tgt.Kind, err)
	}
	rdb := tgt.Client()
	t.Cleanup(func() { _ = rdb.Close() })
	l := New(rdb, Options{BatchMax: cfg.BatchMax, Workers: cfg.BatchWorkers, WaitReplicas: cfg.RedisWaitReplicas, WaitTimeout: cfg.RedisWaitTimeout})
	t.Cleanup(func() { _ = l.Close(context.Background()) })

	// Each client posts decisions one after another; a decision is posted
	// again (a new request: new record ID; the same idempotency key and
	// consent ID) after ErrUnavailable until it is acknowledged.
	type ack struct {
		consentID string
		rc        Ack
	}
	var (
		mu          sync.Mutex
		acks        []ack
		acked       atomic.Int64
		unavailable atomic.Int64
		stop        = make(chan struct{})
		wg          sync.WaitGroup
	)
	const clients = 8
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rec := newRecord("demo")
				rec.IdempotencyKey = fmt.Sprintf("c%d-%d", c, i)
				for attempt := 1; ; attempt++ {
					actx, cancel := context.WithTimeout(ctx, 5*time.Second)
					rc, err := l.Append(actx, rec)
					cancel()
					if err == nil {
						mu.Lock()
						acks = append(acks, ack{rec.ConsentID, rc})
						mu.Unlock()
						acked.Add(1)
						break
					}
					if !errors.Is(err, ErrUnavailable) || attempt == 1000 {
						t.Errorf("decision %s, attempt %d: %v", rec.IdempotencyKey, attempt, err)
						return
					}
					unavailable.Add(1)
					time.Sleep(20 * time.Millisecond)
					rec = retryOf(rec)
				}
			}
		}()
	}
	stopClients := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	t.Cleanup(stopClients) // before the ledger closes
	// waitAcked waits until n decisions are acknowledged; the deadline
	// only stops a hung test.
	waitAcked := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for acked.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d decisions acknowledged, waiting for %d", acked.Load(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	waitAcked(200)
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := acked.Load()
	addr, err := s.WaitFailover(ctx, p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if addr != r.Addr {
		t.Fatalf("Sentinel promoted %s, want the replica %s", addr, r.Addr)
	}
	// The new primary has no replica: nothing is acknowledged until the
	// old primary is back, as its replica (an operator's restart; Sentinel
	// would also turn it into one, a few seconds after it returns).
	_, port, _ := net.SplitHostPort(p.Addr)
	pport, _ := strconv.Atoi(port)
	redisproc.StartReplicaT(t, r, redisproc.Options{Dir: p.Dir, Port: pport})
	waitAcked(killedAt + 200)
	stopClients()
	if t.Failed() {
		return
	}

	nrdb := clientOf(t, r.Addr)
	n := checkChain(t, nrdb, "demo", l.PublicKeys())
	count, byID := logByRecord(t, nrdb, "demo")
	perConsent := map[string]int{}
	for _, st := range byID {
		perConsent[st.ConsentID]++
	}
	for _, a := range acks {
		st, ok := byID[a.rc.RecordID]
		switch {
		case !ok:
			t.Errorf("acknowledged record %s (seq %d) is not on the new primary", a.rc.RecordID, a.rc.Seq)
		case count[a.rc.RecordID] != 1 || perConsent[a.consentID] != 1:
			t.Errorf("record %s: %d times, its decision %d times", a.rc.RecordID, count[a.rc.RecordID], perConsent[a.consentID])
		case st.ConsentID != a.consentID || st.Seq != a.rc.Seq || st.Hash != a.rc.Hash:
			t.Errorf("record %s: stored %s seq %d hash %s, receipt %s seq %d hash %s",
				a.rc.RecordID, st.ConsentID, st.Seq, st.Hash, a.consentID, a.rc.Seq, a.rc.Hash)
		}
	}
	if n != len(acks) {
		t.Errorf("%d records on the new primary, %d decisions acknowledged", n, len(acks))
	}
	t.Logf("%d decisions acknowledged (%d before the kill), %d answers ErrUnavailable, %d records in the chain",
		len(acks), killedAt, unavailable.Load(), n)
}
