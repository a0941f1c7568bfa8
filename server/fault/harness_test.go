package fault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

var long = flag.Bool("long", false, "longer loads and repeated faults (make bench)")

// scale stretches the load phases with -long.
func scale(d time.Duration) time.Duration {
	if *long {
		return 10 * d
	}
	return d
}

// binary builds the consentd binary once per test run, on first use (so
// a run that selects no test, such as go test -bench, builds nothing).
type binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func (b *binary) get(t *testing.T) string {
	t.Helper()
	b.once.Do(func() {
		b.path = filepath.Join(b.dir, "consentd")
		out, err := exec.Command("go", "build", "-o", b.path, "github.com/consentd/consentd/cmd/consentd").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build consentd: %w\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// consentd is the binary under test; TestMain gives it a temp dir.
var consentd = &binary{}

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "consentd-fault-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	consentd.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is one consentd process.
type instance struct {
	cmd  *exec.Cmd
	logs *servertest.LogBuffer
	done chan struct{}
	err  error
}

// deployment is what the consentd processes of a test share: their
// address (a restarted process listens where the old one did, as behind a
// load balancer), sites and Redis.
type deployment struct {
	addr     string // host:port
	base     string // http://addr
	sitesDir string
	redisURL string
	key      string // CONSENTD_SIGNING_KEY of every instance
}

func newDeployment(t *testing.T, redisURL string) *deployment {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	key, err := proof.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	// One signing key for the deployment, as in production: a restarted
	// instance serves (and answers retries of) the records of the one
	// before.
	d := &deployment{addr: addr, base: "http://" + addr, sitesDir: t.TempDir(), redisURL: redisURL, key: key.Secret()}
	if err := os.WriteFile(filepath.Join(d.sitesDir, "demo.yaml"), []byte(servertest.DemoSite(t, d.base)), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// start runs consentd and waits until it serves /healthz.
func (d *deployment) start(t *testing.T) *instance {
	t.Helper()
	in := &instance{logs: &servertest.LogBuffer{}, done: make(chan struct{})}
	in.cmd = exec.Command(consentd.get(t))
	in.cmd.Env = append(os.Environ(),
		"CONSENTD_LISTEN="+d.addr,
		"CONSENTD_REDIS_URL="+d.redisURL,
		"CONSENTD_SITES_DIR="+d.sitesDir,
		"CONSENTD_SIGNING_KEY="+d.key,
		// One load generator on one address: the abuse limits would only
		// measure themselves (they have their own tests).
		"CONSENTD_RATE_LIMIT=0", "CONSENTD_SITE_RATE_LIMIT=0", "CONSENTD_CONSENT_ID_LIMIT=0",
		"CONSENTD_LOG_LEVEL=warn",
	)
	in.cmd.Stdout, in.cmd.Stderr = in.logs, in.logs
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		in.err = in.cmd.Wait()
		close(in.done)
	}()
	t.Cleanup(func() {
		_ = in.cmd.Process.Kill()
		<-in.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-in.done:
			t.Fatalf("consentd exited during start-up: %v\n%s", in.err, in.logs)
		default:
		}
		if res, err := http.Get(d.base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return in
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("consentd did not serve /healthz within 20s:\n%s", in.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops consentd at once (SIGKILL), as a crash or OOM kill would.
func (in *instance) kill() {
	_ = in.cmd.Process.Signal(syscall.SIGKILL)
	<-in.done
}

// alive reports whether the process is still running.
func (in *instance) alive() bool {
	select {
	case <-in.done:
		return false
	default:
		return true
	}
}

// decision is one visitor's decision as a client sends it: a fresh consent
// ID and Idempotency-Key, posted until it is acknowledged.
type decision struct {
	key, consentID string
	recordID       string // from the receipt (201, or 200 for a retry); "" until acknowledged
	attempts       int
	lostAck        bool // an attempt got no answer (network error): it may have been stored anyway
	replayed       bool // acknowledged by 200 "duplicate": an earlier attempt had been stored
}

// tally counts what the clients saw.
type tally struct {
	mu        sync.Mutex
	created   int // 201, or 200 for a retry of a stored decision
	unavail   int // 503 with Retry-After
	netErrs   int // no HTTP answer
	bad       []string
	decisions []*decision
}

func (tl *tally) fail(format string, a ...any) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if len(tl.bad) < 20 {
		tl.bad = append(tl.bad, fmt.Sprintf(format, a...))
	}
}

// load is a set of clients posting decisions the way the widget does:
// each decision keeps its Idempotency-Key across retries; a 503 or a
// network error is retried (after a short pause: the tests do not wait
// the full Retry-After), anything else but 201 is a failure.
type load struct {
	base, origin, noticeVersion string
	clients                     int
	http                        *http.Client
	stop                        chan struct{} // closed: start no new decision
	wg                          sync.WaitGroup
	tally                       tally
}

func newLoad(base, noticeVersion string, clients int) *load {
	return &load{
		base: base, origin: base, noticeVersion: noticeVersion, clients: clients,
		http: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: clients, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		}},
		stop: make(chan struct{}),
	}
}

// run starts the clients; each finishes its current decision after Stop.
func (l *load) run(ctx context.Context) {
	for i := 0; i < l.clients; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				d := &decision{key: uuid.NewString(), consentID: uuid.NewString()}
				l.tally.mu.Lock()
				l.tally.decisions = append(l.tally.decisions, d)
				l.tally.mu.Unlock()
				if !l.post(ctx, d) {
					return
				}
			}
		}()
	}
}

// finish stops new decisions and waits until every started decision is
// acknowledged or ctx ends.
func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
	l.http.CloseIdleConnections()
}

// post sends d until it is acknowledged; false when ctx ended first.
func (l *load) post(ctx context.Context, d *decision) bool {
	body, _ := json.Marshal(map[string]any{
		"site": "demo", "consentId": d.consentID, "method": "custom", "language": "fi",
		"choices":       map[string]bool{"necessary": true, "analytics": true, "marketing": false},
		"noticeVersion": l.noticeVersion, "url": "https://www.oppimo.fi/page",
	})
	for ctx.Err() == nil {
		d.attempts++
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.base+"/v1/consent", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", l.origin)
		req.Header.Set("Idempotency-Key", d.key)
		res, err := l.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			l.tally.mu.Lock()
			l.tally.netErrs++
			l.tally.mu.Unlock()
			d.lostAck = true
			time.Sleep(20 * time.Millisecond)
			continue
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		switch res.StatusCode {
		case http.StatusCreated, http.StatusOK: // 200: a retry of a stored decision, with its first receipt
			var rc struct {
				RecordID  string `json:"recordId"`
				ConsentID string `json:"consentId"`
			}
			if err := json.Unmarshal(b, &rc); err != nil || rc.RecordID == "" || rc.ConsentID != d.consentID {
				l.tally.fail("201 with receipt %s", b)
				return true
			}
			if d.recordID != "" && d.recordID != rc.RecordID {
				l.tally.fail("key %s acknowledged twice with different records %s, %s", d.key, d.recordID, rc.RecordID)
			}
			d.recordID = rc.RecordID
			d.replayed = res.StatusCode == http.StatusOK
			l.tally.mu.Lock()
			l.tally.created++
			l.tally.mu.Unlock()
			return true
		case http.StatusServiceUnavailable:
			if res.Header.Get("Retry-After") == "" {
				l.tally.fail("503 without Retry-After: %s", b)
			}
			l.tally.mu.Lock()
			l.tally.unavail++
			l.tally.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		default:
			l.tally.fail("status %d: %s", res.StatusCode, b)
			return true
		}
	}
	return false
}

// checkLedger compares the clients' decisions with what Redis holds for
// the demo site: every decision acknowledged, each stored exactly once
// under the record ID its receipt named, and every record whole — its
// visitor state, idempotency receipt and daily counters
// written with it (the append script is atomic), the chain head at the
// stream's length.
func checkLedger(t *testing.T, ctx context.Context, rdb redis.UniversalClient, decisions []*decision) {
	t.Helper()
	const site = "demo"
	entries, err := rdb.XRange(ctx, ledger.LogKey(site), "-", "+").Result()
	if err != nil {
		t.Fatalf("XRANGE: %v", err)
	}
	type stored struct{ streamID, recordID, day string }
	byConsent := map[string][]stored{}
	for _, e := range entries {
		var r struct {
			RecordID  string `json:"record_id"`
			ConsentID string `json:"consent_id"`
			Time      string `json:"time"`
		}
		raw, _ := e.Values["record"].(string)
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatalf("entry %s: %v", e.ID, err)
		}
		byConsent[r.ConsentID] = append(byConsent[r.ConsentID], stored{e.ID, r.RecordID, r.Time[:10]})
	}
	days := map[string]bool{}
	unacked, problems := 0, 0
	report := func(format string, a ...any) {
		problems++
		if problems <= 10 {
			t.Errorf(format, a...)
		}
	}
	// Pipelined in chunks: a -long run checks a few hundred thousand.
	const chunk = 1000
	for lo := 0; lo < len(decisions); lo += chunk {
		type check struct {
			d       *decision
			s       stored
			visitor *redis.MapStringStringCmd
			idem    *redis.StringCmd
		}
		var checks []check
		pipe := rdb.Pipeline()
		for _, d := range decisions[lo:min(lo+chunk, len(decisions))] {
			if d.recordID == "" {
				unacked++
				continue
			}
			got := byConsent[d.consentID]
			if len(got) != 1 {
				idem := rdb.HGet(ctx, ledger.VisitorKey(site, d.consentID), ledger.IdemField(d.key)).Val()
				var ent []redis.XMessage
				if i := strings.LastIndex(idem, "|"); i >= 0 {
					ent, _ = rdb.XRange(ctx, ledger.LogKey(site), idem[i+1:], idem[i+1:]).Result()
				}
				report("decision %s (acknowledged as %s) is stored %d times, want exactly once (its idempotency key holds %q, naming the entry %v; %d attempts, replayed %v)", d.key, d.recordID, len(got), idem, ent, d.attempts, d.replayed)
				continue
			}
			s := got[0]
			days[s.day] = true
			if s.recordID != d.recordID {
				report("decision %s: stored record %s, but the receipt said %s", d.key, s.recordID, d.recordID)
			}
			checks = append(checks, check{d: d, s: s,
				visitor: pipe.HGetAll(ctx, ledger.VisitorKey(site, d.consentID)),
				idem:    pipe.HGet(ctx, ledger.VisitorKey(site, d.consentID), ledger.IdemField(d.key)),
			})
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("reading records back: %v", err)
		}
		for _, c := range checks {
			if v, err := c.visitor.Result(); err != nil || decisionFields(v) != 1 || v[c.s.streamID] == "" {
				report("decision %s: visitor state %v (%v), want its one decision %s", c.d.key, v, err, c.s.streamID)
			}
			if v, err := c.idem.Result(); err != nil || !strings.HasSuffix(v, "|"+c.s.streamID) {
				report("decision %s: idempotency receipt %q (%v) does not name %s", c.d.key, v, err, c.s.streamID)
			}
		}
	}
	if unacked > 0 {
		t.Errorf("%d of %d decisions were never acknowledged", unacked, len(decisions))
	}
	if len(byConsent) != len(decisions) {
		t.Errorf("the log holds %d consent IDs, the clients sent %d decisions", len(byConsent), len(decisions))
	}
	var counted int64
	for day := range days {
		n, err := rdb.HGet(ctx, ledger.DailyKey(site, day), "decisions").Int64()
		if err != nil {
			t.Errorf("daily counter %s: %v", day, err)
		}
		counted += n
	}
	if counted != int64(len(entries)) {
		t.Errorf("daily counters count %d decisions, the log holds %d records", counted, len(entries))
	}
	if head, err := rdb.Get(ctx, ledger.HeadKey(site)).Result(); err == nil {
		seq, _, _ := strings.Cut(head, " ")
		if seq != strconv.Itoa(len(entries)) {
			t.Errorf("chain head %q, want sequence %d (the log's length)", head, len(entries))
		}
	} else if !errors.Is(err, redis.Nil) {
		t.Errorf("chain head: %v", err)
	}
}

// waitGoroutines waits until consentd runs at most limit goroutines
// (go_goroutines in /metrics) and returns the last count.
func waitGoroutines(t *testing.T, base string, limit float64) float64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := servertest.Metric(t, base+"/metrics", "go_goroutines", nil)
		if n > 0 && n <= limit {
			return n
		}
		if time.Now().After(deadline) {
			t.Errorf("consentd still runs %v goroutines 30s after the load, want at most %v", n, limit)
			return n
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// decisionFields counts the fields of a visitor hash that name a decision
// (all but the idempotency values and the limit's count: ledger.VisitorKey).
func decisionFields(v map[string]string) int {
	n := 0
	for f := range v {
		if f != "l" && !strings.HasPrefix(f, "i:") {
			n++
		}
	}
	return n
}
