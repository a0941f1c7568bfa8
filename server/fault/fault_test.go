package fault_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/consentd/consentd/server/redisproc"
	"github.com/consentd/consentd/server/servertest"
)

const clients = 32

// Redis is killed (SIGKILL) while clients post decisions, and started
// again on its port and data dir: consentd answers 503 + Retry-After in
// between (never 500, never exits), its goroutines come back to where
// they were, and every decision a client saw acknowledged is in the log
// exactly once. With appendfsync always no acknowledged write can be
// lost even to a machine crash; with everysec a killed process loses
// nothing either, because Redis writes the AOF before it answers and the
// page cache survives the process — unless an fsync takes over a second
// (a very slow disk), when Redis postpones writes while still answering
// (docs/deploy.md, "Persistence").
func TestRedisKilledDuringLoad(t *testing.T) {
	tests := []struct {
		name  string
		fsync string
	}{
		{"appendfsync everysec", "everysec"},
		{"appendfsync always", "always"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), scale(2*time.Minute))
			defer cancel()
			rs := redisproc.StartT(t, redisproc.Options{Dir: filepath.Join(t.TempDir(), "redis"), AppendFsync: tt.fsync})
			dep := newDeployment(t, rs.URL())
			srv := dep.start(t)
			nv := servertest.NoticeVersion(t, dep.base, "demo", "fi")

			// Warm up with the same concurrency, so the baseline counts
			// the HTTP workers a load of this size keeps.
			warm := newLoad(dep.base, nv, clients)
			warm.run(ctx)
			time.Sleep(500 * time.Millisecond)
			warm.finish()
			baseline := servertest.Metric(t, dep.base+"/metrics", "go_goroutines", nil)
			if baseline == 0 {
				t.Fatal("no go_goroutines in /metrics")
			}

			l := newLoad(dep.base, nv, clients)
			l.run(ctx)
			cycles := 1
			if *long {
				cycles = 5
			}
			for c := 0; c < cycles; c++ {
				time.Sleep(scale(700 * time.Millisecond))
				t.Logf("Redis killed at %s", time.Now().Format(time.StampMilli))
				_ = rs.Kill()
				time.Sleep(scale(500 * time.Millisecond))
				// What does not need Redis keeps being served.
				for _, path := range []string{"/w/demo.js", "/n/demo", "/healthz"} {
					if res, err := http.Get(dep.base + path); err != nil || res.StatusCode != http.StatusOK {
						t.Errorf("GET %s with Redis down: %v %v", path, res, err)
					} else {
						res.Body.Close()
					}
				}
				if res, err := http.Get(dep.base + "/readyz"); err != nil || res.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("GET /readyz with Redis down: %v %v, want 503", res, err)
				} else {
					res.Body.Close()
				}
				time.Sleep(scale(500 * time.Millisecond))
				if !srv.alive() {
					t.Fatalf("consentd exited while Redis was down: %v\n%s", srv.err, srv.logs)
				}
				t.Logf("Redis restarted at %s", time.Now().Format(time.StampMilli))
				var err error
				rs, err = rs.Restart(ctx)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = rs.Stop() })
			}
			time.Sleep(scale(700 * time.Millisecond))
			l.finish()

			if !srv.alive() {
				t.Fatalf("consentd exited: %v\n%s", srv.err, srv.logs)
			}
			for _, b := range l.tally.bad {
				t.Error(b)
			}
			t.Logf("%d decisions: %d acknowledged, %d answers 503, %d network errors", len(l.tally.decisions), l.tally.created, l.tally.unavail, l.tally.netErrs)
			if l.tally.unavail == 0 {
				t.Error("no 503 seen: the kill did not hit the load")
			}
			checkLedger(t, ctx, redisproc.Target{Server: rs}.Client(), append(warm.tally.decisions, l.tally.decisions...))
			// The load's connections are closed; what is left over the
			// warm-up's count would be stuck requests or batches.
			n := waitGoroutines(t, dep.base, baseline+10)
			t.Logf("goroutines: %v after the warm-up, %v after the outage", baseline, n)
		})
	}
}

// consentd is killed (SIGKILL) while clients post, with batches in flight;
// a new consentd starts on the same address and the clients retry with
// their Idempotency-Keys. No record is half-written, none is stored twice,
// and every decision ends up acknowledged and stored once — also those
// whose first answer was lost with the killed process.
func TestConsentdKilledMidBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), scale(2*time.Minute))
	defer cancel()
	rs := redisproc.StartT(t, redisproc.Options{})
	dep := newDeployment(t, rs.URL())
	srv := dep.start(t)
	l := newLoad(dep.base, servertest.NoticeVersion(t, dep.base, "demo", "fi"), clients)
	l.run(ctx)
	cycles := 1
	if *long {
		cycles = 5
	}
	for c := 0; c < cycles; c++ {
		time.Sleep(scale(800 * time.Millisecond))
		srv.kill()
		time.Sleep(200 * time.Millisecond)
		srv = dep.start(t)
	}
	time.Sleep(scale(500 * time.Millisecond))
	l.finish()
	for _, b := range l.tally.bad {
		t.Error(b)
	}
	lost, replayed := 0, 0
	for _, d := range l.tally.decisions {
		if d.lostAck {
			lost++
			if d.replayed {
				replayed++
			}
		}
	}
	t.Logf("%d decisions: %d acknowledged, %d answers 503, %d network errors; %d decisions retried after a lost answer, "+
		"%d of them had been stored by the killed process (answered from their idempotency receipt)",
		len(l.tally.decisions), l.tally.created, l.tally.unavail, l.tally.netErrs, lost, replayed)
	if lost == 0 {
		t.Error("no request was cut off by the kill: the test did not test anything")
	}
	checkLedger(t, ctx, redisproc.Target{Server: rs}.Client(), l.tally.decisions)
}
