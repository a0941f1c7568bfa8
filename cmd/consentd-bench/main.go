// Command consentd-bench measures consentd's HTTP path under load
// (make bench). It starts a redis-server (AOF on, appendfsync everysec)
// and the consentd binary on free loopback ports, then drives with wrk,
// in the same run:
//
//  1. GET /healthz — the baseline: the cost of HTTP on this machine;
//  2. with -nostore, POST /v1/consent to a consentd built with the
//     consentd_nostore tag: decoded, checked and answered, nothing stored
//     (the request path alone: the bound for any ledger);
//  3. POST /v1/consent — decisions, each chained, signed and acknowledged
//     by Redis, twice.
//
// It prints requests/s, p50/p99 latency, the ratio ingest/healthz (and
// ingest/the request path alone), and the number of records Redis really
// holds (XLEN delta), which must equal the 2xx answers wrk counted.
package main

import (
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
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/redisproc"
)

type options struct {
	consentd    string
	duration    time.Duration
	warmup      time.Duration
	connections int
	threads     int
	fsync       string
	markdown    bool
	limits      bool
	idempotency bool
	replica     bool          // -replica: a Redis replica, and consentd waits for it
	nostore     string        // -nostore: a consentd built with the consentd_nostore tag
	compare     string        // -compare: a second consentd, measured against -consentd in turns
	rounds      int           // -rounds: turns of -compare
	mixed       bool          // -mixed: widget fetches + posts, then a soak (mixed.go)
	soak        time.Duration // length of the -mixed soak
}

func main() {
	var o options
	flag.StringVar(&o.consentd, "consentd", "bin/consentd", "consentd binary to measure")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "length of each measured run")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured run before each measured one")
	flag.IntVar(&o.connections, "connections", 64, "open HTTP connections")
	flag.IntVar(&o.threads, "threads", 1, "wrk threads")
	flag.StringVar(&o.fsync, "appendfsync", "everysec", "Redis appendfsync: everysec or always")
	flag.BoolVar(&o.markdown, "markdown", false, "also print a Markdown table row for docs/performance.md")
	flag.BoolVar(&o.limits, "limits", false, "check the Redis rate limits on every post (limits set too high to refuse any); default: limits off")
	flag.BoolVar(&o.idempotency, "idempotency", false, "send a new Idempotency-Key with every post, as the widget does (the key is checked and stored); default: no key")
	flag.StringVar(&o.nostore, "nostore", "", "also measure posts answered without storing, with this consentd built with -tags consentd_nostore (make bench builds bin/consentd-nostore): the request path alone")
	flag.BoolVar(&o.replica, "replica", false, "also start a Redis replica and run consentd with CONSENTD_REDIS_WAIT_REPLICAS=1 (every group commit waits for the replica: docs/deploy.md)")
	flag.StringVar(&o.compare, "compare", "", "instead: chained ingest of -consentd and this consentd binary in turns (ABAB…, -rounds each) on one Redis, and the means (compare.go)")
	flag.IntVar(&o.rounds, "rounds", 5, "runs of each binary with -compare")
	flag.BoolVar(&o.mixed, "mixed", false, "instead: a mixed workload (90% GET /w/demo.js, 10% POST /v1/consent) at peak, then a soak at half of it (mixed.go)")
	flag.DurationVar(&o.soak, "soak", 60*time.Second, "length of the -mixed soak")
	flag.Parse()
	mode := run
	switch {
	case o.mixed:
		mode = func(o options) error { return runMixed(o, o.soak) }
	case o.compare != "":
		mode = runCompare
	}
	if err := mode(o); err != nil {
		fmt.Fprintf(os.Stderr, "consentd-bench: %v\n", err)
		os.Exit(1)
	}
}

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests   int64
	Seconds    float64
	RPS        float64
	P50, P99   time.Duration
	Non2xx     int64
	SockErrors int64
	CPU        time.Duration // wrk's own CPU time (user + system)
	// Idle and SoftIRQ are the shares of the machine's CPU time (all
	// cores, /proc/stat) left idle and spent in softirq (the loopback
	// network stack) during the run.
	Idle, SoftIRQ float64
}

// perRequestWrk is wrk's CPU time per request.
func (r wrkResult) perRequestWrk() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return (r.CPU / time.Duration(r.Requests)).Round(100 * time.Nanosecond)
}

// rig is what every run needs: wrk, a temp dir, a redis-server with a
// client, and the bench site written to the sites dir.
type rig struct {
	tmp, sitesDir string
	rs            *redisproc.Server
	replica       *redisproc.Server // -replica: a replica of rs; consentd waits for it (WAIT 1)
	rdb           *redis.Client
}

// redisPids are the Redis processes whose CPU counts as Redis's.
func (r *rig) redisPids() []int {
	if r.replica != nil {
		return []int{r.rs.Pid(), r.replica.Pid()}
	}
	return []int{r.rs.Pid()}
}

// newRig sets up a rig; close tears it down.
func newRig(o options) (*rig, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return nil, errors.New("wrk not found: install it (Debian: apt-get install -y wrk) or run make bench")
	}
	tmp, err := os.MkdirTemp("", "consentd-bench-")
	if err != nil {
		return nil, err
	}
	r := &rig{tmp: tmp, sitesDir: filepath.Join(tmp, "sites")}
	r.rs, err = redisproc.Start(context.Background(), redisproc.Options{Dir: filepath.Join(tmp, "redis"), AppendFsync: o.fsync})
	if err == nil && o.replica {
		r.replica, err = redisproc.StartReplica(context.Background(), r.rs, redisproc.Options{Dir: filepath.Join(tmp, "replica"), AppendFsync: o.fsync})
	}
	if err == nil {
		err = writeSite(r.sitesDir)
	}
	if err != nil {
		r.close()
		return nil, err
	}
	r.rdb = redis.NewClient(&redis.Options{Addr: r.rs.Addr})
	return r, nil
}

func (r *rig) close() {
	if r.rdb != nil {
		_ = r.rdb.Close()
	}
	if r.replica != nil {
		_ = r.replica.Stop()
	}
	if r.rs != nil {
		_ = r.rs.Stop()
	}
	_ = os.RemoveAll(r.tmp)
}

func run(o options) error {
	r, err := newRig(o)
	if err != nil {
		return err
	}
	defer r.close()
	rdb := r.rdb

	fmt.Printf("machine: %d CPUs, %s; wrk -t%d -c%d -d%s (warm-up %s); Redis appendfsync %s\n",
		runtime.NumCPU(), runtime.Version(), o.threads, o.connections, o.duration, o.warmup, o.fsync)
	if r.replica != nil {
		fmt.Printf("with a replica (%s, same settings) and CONSENTD_REDIS_WAIT_REPLICAS=1: every group commit waits for it; Redis CPU counts both\n", r.replica.Addr)
	}

	// healthz first (the HTTP baseline), then the request path alone, then
	// two ingest runs (averaged).
	hz, err := startServer(o, o.consentd, r)
	if err != nil {
		return err
	}
	defer hz.stop()
	if _, err := wrk(o, o.warmup, hz.base+"/healthz", ""); err != nil {
		return err
	}
	cpu0 := cpuTimes(hz.pids)
	health, err := wrk(o, o.duration, hz.base+"/healthz", "")
	if err != nil {
		return err
	}
	healthCPU := perRequest(cpu0, cpuTimes(hz.pids), health.Requests)
	hz.stop()

	// The request path alone: a binary built with the consentd_nostore tag
	// decodes, checks and answers every post like production, but its
	// ledger writes nothing. What no ledger can beat on this machine.
	var bound *wrkResult
	var boundCPU []time.Duration
	if o.nostore != "" {
		srv, err := startServer(o, o.nostore, r)
		if err != nil {
			return err
		}
		if _, err := wrk(o, o.warmup, srv.base+"/v1/consent", srv.lua); err != nil {
			srv.stop()
			return err
		}
		c0 := cpuTimes(srv.pids)
		res, err := wrk(o, o.duration, srv.base+"/v1/consent", srv.lua)
		c1 := cpuTimes(srv.pids)
		srv.stop()
		if err != nil {
			return err
		}
		if res.Non2xx+res.SockErrors > 0 {
			return fmt.Errorf("%s: %d consent requests failed", o.nostore, res.Non2xx+res.SockErrors)
		}
		bound, boundCPU = &res, perRequest(c0, c1, res.Requests)
	}

	var runs []ingestRun
	for range 2 {
		srv, err := startServer(o, o.consentd, r)
		if err != nil {
			return err
		}
		r, err := measureIngest(o, srv, rdb)
		srv.stop()
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	ch := average(runs)

	fmt.Printf("\n%-34s %12s %10s %10s %8s %20s %7s\n", "run", "requests/s", "p50", "p99", "errors", "CPU/req c+r+wrk", "AOF rw")
	fmt.Printf("%-34s %12.0f %10s %10s %8d %20s\n", "GET /healthz", health.RPS, health.P50, health.P99, health.Non2xx+health.SockErrors,
		healthCPU[0].String()+"+"+healthCPU[1].String()+"+"+health.perRequestWrk().String())
	if bound != nil {
		fmt.Printf("%-34s %12.0f %10s %10s %8d %20s\n", "POST /v1/consent, nothing stored", bound.RPS, bound.P50, bound.P99, 0,
			boundCPU[0].String()+"+"+boundCPU[1].String()+"+"+bound.perRequestWrk().String())
	}
	for _, r := range runs {
		name := "POST /v1/consent"
		fmt.Printf("%-34s %12.0f %10s %10s %8d %20s %7d\n", name, r.RPS, r.P50, r.P99, r.Non2xx+r.SockErrors,
			r.cpu[0].String()+"+"+r.cpu[1].String()+"+"+r.perRequestWrk().String(), r.rewrites)
	}
	fmt.Printf("\nacknowledged records/s (XLEN delta / s), mean of %d runs: %.0f\n", len(runs), ch.ackRate)
	fmt.Printf("ratio ingest/healthz: %.2f\n", ch.RPS/health.RPS)
	if bound != nil {
		fmt.Printf("ratio of the request path alone (%s: decoded, checked and answered, nothing stored)/healthz: %.2f; chained ingest/that: %.2f\n",
			o.nostore, bound.RPS/health.RPS, ch.RPS/bound.RPS)
	}
	// The ratio as a CPU budget: the processes share the machine's cores,
	// so ingest at half of healthz's rate may cost at most this much CPU
	// per record across consentd, Redis and wrk.
	var spent time.Duration
	for _, r := range runs {
		spent += (r.cpu[0] + r.cpu[1] + r.perRequestWrk()) / time.Duration(len(runs))
	}
	budget := time.Duration(float64(runtime.NumCPU()) / (0.5 * health.RPS) * float64(time.Second))
	fmt.Printf("CPU per chained record, consentd + Redis + wrk: %v; a ratio of 0.5 allows %v (%d cores / half of healthz's rate)\n",
		spent.Round(100*time.Nanosecond), budget.Round(100*time.Nanosecond), runtime.NumCPU())
	fmt.Printf("group commit: %s\n", runs[0].batches)
	fmt.Printf("Redis time in the append script per record (INFO commandstats): %v\n", ch.scriptPerRec.Round(100*time.Nanosecond))
	fmt.Printf("Redis memory per record (used_memory growth): %.0f B\n", ch.memPerRec)
	if c := runs[0].commands; c != nil {
		fmt.Printf("inside the script, per call (first run): XADD %v, HSET %v, EXPIRE %v; the script %v per record\n",
			c["xadd"].perCall(), c["hset"].perCall(), c["expire"].perCall(), runs[0].scriptPerRec.Round(100*time.Nanosecond))
	}
	fmt.Printf("machine CPU left idle / in softirq (loopback network stack): healthz %.0f%% / %.0f%%; ingest %.0f%% / %.0f%%\n",
		100*health.Idle, 100*health.SoftIRQ, 100*runs[0].Idle, 100*runs[0].SoftIRQ)
	if o.markdown {
		fmt.Printf("\n| %s | %d CPUs | %.0f | %.0f | %s / %s | %.2f |\n",
			time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), health.RPS, ch.ackRate, ch.P50, ch.P99, ch.RPS/health.RPS)
	}
	for _, r := range runs {
		if err := r.check(o); err != nil {
			return err
		}
	}
	return nil
}

// check fails a run in which a request failed or whose acknowledged
// records are not all in Redis.
func (r ingestRun) check(o options) error {
	if r.stored < r.acked || r.stored > r.acked+int64(o.connections) {
		return fmt.Errorf("%d requests were answered 2xx but %d records are in Redis: every acknowledged record must be stored", r.acked, r.stored)
	}
	if r.Non2xx+r.SockErrors > 0 {
		return fmt.Errorf("%d consent requests failed", r.Non2xx+r.SockErrors)
	}
	return nil
}

// server is one running consentd.
type server struct {
	cmd  *exec.Cmd
	base string
	pids []int // consentd, then the redis-servers (rig.redisPids)
	nv   string
	lua  string // wrk script posting a decision
	done bool
}

func (s *server) stop() {
	if s.done {
		return
	}
	s.done = true
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// startServer starts the consentd binary bin on a free port.
func startServer(o options, bin string, r *rig) (*server, error) {
	rs, sitesDir, tmp := r.rs, r.sitesDir, r.tmp
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"CONSENTD_LISTEN="+addr,
		"CONSENTD_REDIS_URL="+rs.URL(),
		"CONSENTD_SITES_DIR="+sitesDir,
		"CONSENTD_RATE_LIMIT=0",      // one load generator, one IP: the per-IP limit would measure itself
		"CONSENTD_SITE_RATE_LIMIT=0", // and the per-site limit would cap the run
		"CONSENTD_LOG_LEVEL=error",
		"CONSENTD_CHECKPOINT_INTERVAL=0",
		"CONSENTD_SIGNING_KEY="+benchKey,
	)
	if r.replica != nil {
		cmd.Env = append(cmd.Env, "CONSENTD_REDIS_WAIT_REPLICAS=1")
	}
	if o.limits { // check every limit on every post, too high to refuse any (later entries win)
		cmd.Env = append(cmd.Env, "CONSENTD_RATE_LIMIT=1000000", "CONSENTD_SITE_RATE_LIMIT=100000000", "CONSENTD_CONSENT_ID_LIMIT=1000000")
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (run make build first): %w", bin, err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, pids: append([]int{cmd.Process.Pid}, r.redisPids()...)}
	if err := waitReady(s.base + "/readyz"); err != nil {
		s.stop()
		return nil, err
	}
	if s.nv, err = noticeVersion(s.base, "demo", "fi"); err != nil {
		s.stop()
		return nil, err
	}
	s.lua = filepath.Join(tmp, "consent.lua")
	body, _ := json.Marshal(map[string]any{
		"site":          "demo",
		"choices":       map[string]bool{"necessary": true, "analytics": true, "marketing": false},
		"method":        "custom",
		"noticeVersion": s.nv,
		"language":      "fi",
		"url":           "https://bench.example/page",
	})
	lua := fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Origin\"] = %q\nwrk.headers[\"User-Agent\"] = \"consentd-bench\"\n",
		string(body), benchOrigin)
	if o.idempotency {
		// A new key per request, as the widget sends (unique across runs
		// and wrk threads: a random prefix per script load and a counter).
		lua += idempotencyLua
	}
	if err := os.WriteFile(s.lua, []byte(lua), 0o644); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// idempotencyLua makes wrk send a new Idempotency-Key with every request.
const idempotencyLua = `
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
local prefix = string.format("%08x%08x-", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
local n = 0
request = function()
  n = n + 1
  wrk.headers["Idempotency-Key"] = prefix .. n
  return wrk.format()
end
`

// benchKey is a fixed signing key for the bench (a test key: never use it).
const benchKey = "ed25519:YmVuY2htYXJrLWtleS1ub3QtZm9yLXByb2R1Y3Rpb24"

// ingestRun is one measured ingest run.
type ingestRun struct {
	wrkResult
	acked, stored int64
	ackRate       float64
	cpu           []time.Duration
	batches       string
	rewrites      int64              // AOF rewrites started during the run (a child's CPU counts in cpu[1] of the run it ends in)
	scriptPerRec  time.Duration      // Redis time inside the append script per stored record
	commands      map[string]cmdStat // INFO commandstats of the run
	memPerRec     float64            // growth of Redis used_memory per stored record, bytes
}

func measureIngest(o options, s *server, rdb *redis.Client) (ingestRun, error) {
	ctx := context.Background()
	if _, err := wrk(o, o.warmup, s.base+"/v1/consent", s.lua); err != nil {
		return ingestRun{}, err
	}
	time.Sleep(time.Second) // let requests wrk abandoned at its deadline finish
	before, err := rdb.XLen(ctx, ledger.LogKey("demo")).Result()
	if err != nil {
		return ingestRun{}, err
	}
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		return ingestRun{}, err
	}
	mem0 := usedMemory(ctx, rdb)
	rw0 := aofRewrites(ctx, rdb)
	cpu1 := cpuTimes(s.pids)
	res, err := wrk(o, o.duration, s.base+"/v1/consent", s.lua)
	if err != nil {
		return ingestRun{}, err
	}
	r := ingestRun{wrkResult: res, cpu: perRequest(cpu1, cpuTimes(s.pids), res.Requests), rewrites: aofRewrites(ctx, rdb) - rw0}
	time.Sleep(time.Second)
	after, err := rdb.XLen(ctx, ledger.LogKey("demo")).Result()
	if err != nil {
		return ingestRun{}, err
	}
	r.stored = after - before
	r.acked = res.Requests - res.Non2xx
	r.ackRate = float64(r.stored) / res.Seconds
	r.batches = batchStats(s.base + "/metrics")
	if r.stored > 0 {
		r.scriptPerRec = scriptTime(ctx, rdb) / time.Duration(r.stored)
		r.commands = commandStats(ctx, rdb)
		r.memPerRec = float64(usedMemory(ctx, rdb)-mem0) / float64(r.stored)
	}
	return r, nil
}

// average is the mean of runs (rates and latencies).
func average(runs []ingestRun) ingestRun {
	var a ingestRun
	for _, r := range runs {
		a.RPS += r.RPS / float64(len(runs))
		a.ackRate += r.ackRate / float64(len(runs))
		a.P50 += r.P50 / time.Duration(len(runs))
		a.P99 += r.P99 / time.Duration(len(runs))
		a.scriptPerRec += r.scriptPerRec / time.Duration(len(runs))
		a.memPerRec += r.memPerRec / float64(len(runs))
	}
	return a
}

const benchOrigin = "https://bench.example"

// writeSite writes the demo site with the bench origin.
func writeSite(dir string) error {
	src, err := os.ReadFile(filepath.Join("config", "sites", "demo.yaml"))
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	s := string(src)
	start, end := strings.Index(s, "origins:\n"), strings.Index(s, "languages:")
	if start < 0 || end < start {
		return errors.New("config/sites/demo.yaml: origins block not found")
	}
	s = s[:start] + "origins:\n  - " + benchOrigin + "\n" + s[end:]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "demo.yaml"), []byte(s), 0o644)
}

// noticeVersion asks the running server for a site's notice version in lang.
func noticeVersion(base, site, lang string) (string, error) {
	resp, err := http.Get(base + "/n/" + site + ".json")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var n struct {
		Versions map[string]string `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&n); err != nil {
		return "", fmt.Errorf("GET /n/%s.json: %w", site, err)
	}
	if n.Versions[lang] == "" {
		return "", fmt.Errorf("GET /n/%s.json: no %s version", site, lang)
	}
	return n.Versions[lang], nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitReady(url string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready within 15s", url)
}

func wrk(o options, d time.Duration, url, script string) (wrkResult, error) {
	args := []string{"-t" + strconv.Itoa(o.threads), "-c" + strconv.Itoa(o.connections), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency"}
	if script != "" {
		args = append(args, "-s", script)
	}
	args = append(args, url)
	cmd := exec.Command("wrk", args...)
	before := machineCPU()
	out, err := cmd.CombinedOutput()
	after := machineCPU()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	r, err := parseWrk(string(out))
	r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	var total float64
	for i := range after {
		total += after[i] - before[i]
	}
	if total > 0 && len(after) > 6 {
		r.Idle, r.SoftIRQ = (after[3]-before[3])/total, (after[6]-before[6])/total
	}
	return r, err
}

// machineCPU is the first line of /proc/stat: the clock ticks of all
// cores in user, nice, system, idle, iowait, irq, softirq, steal…; nil
// where /proc cannot be read.
func machineCPU() []float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "cpu" {
		return nil
	}
	out := make([]float64, len(f)-1)
	for i, x := range f[1:] {
		out[i], _ = strconv.ParseFloat(x, 64)
	}
	return out
}

var (
	reTotal   = regexp.MustCompile(`(\d+) requests in ([\d.]+)(s|m)`)
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reP50     = regexp.MustCompile(`\s50%\s+([\d.]+)(us|ms|s)`)
	reP99     = regexp.MustCompile(`\s99%\s+([\d.]+)(us|ms|s)`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's text report (with --latency).
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := reTotal.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("cannot read wrk output:\n%s", out)
	}
	r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	r.Seconds, _ = strconv.ParseFloat(m[2], 64)
	if m[3] == "m" {
		r.Seconds *= 60
	}
	if m := reRPS.FindStringSubmatch(out); m != nil {
		r.RPS, _ = strconv.ParseFloat(m[1], 64)
	}
	r.P50 = latency(reP50.FindStringSubmatch(out))
	r.P99 = latency(reP99.FindStringSubmatch(out))
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSockErr.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.SockErrors += n
		}
	}
	return r, nil
}

func latency(m []string) time.Duration {
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[2]]
	return time.Duration(v * float64(unit)).Round(time.Microsecond)
}

// usedMemory is Redis's used_memory (INFO memory), in bytes.
func usedMemory(ctx context.Context, rdb *redis.Client) int64 {
	return infoInt(ctx, rdb, "memory", "used_memory")
}

// aofRewrites is how many AOF rewrites Redis has started (INFO
// persistence, aof_rewrites, counted when the child is forked). The
// child's CPU counts in Redis's CPU of the run in which it ends.
func aofRewrites(ctx context.Context, rdb *redis.Client) int64 {
	return infoInt(ctx, rdb, "persistence", "aof_rewrites")
}

// infoInt is the integer field of an INFO section, 0 when absent.
func infoInt(ctx context.Context, rdb *redis.Client, section, field string) int64 {
	info, _ := rdb.Info(ctx, section).Result()
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// scriptTime is the time Redis spent in EVALSHA and EVAL since the last
// CONFIG RESETSTAT (INFO commandstats).
func scriptTime(ctx context.Context, rdb *redis.Client) time.Duration {
	stats := commandStats(ctx, rdb)
	return stats["evalsha"].usec + stats["eval"].usec
}

// cmdStat is one command's line of INFO commandstats.
type cmdStat struct {
	calls int64
	usec  time.Duration
}

// perCall is the mean time of one call.
func (c cmdStat) perCall() time.Duration {
	if c.calls == 0 {
		return 0
	}
	return (c.usec / time.Duration(c.calls)).Round(10 * time.Nanosecond)
}

// commandStats reads INFO commandstats (since the last CONFIG RESETSTAT)
// by lower-case command name; the commands a script runs are counted
// under their own names too.
func commandStats(ctx context.Context, rdb *redis.Client) map[string]cmdStat {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil
	}
	out := map[string]cmdStat{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, found := strings.CutPrefix(name, "cmdstat_")
		if !ok || !found {
			continue
		}
		var c cmdStat
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				c.calls = n
			case "usec":
				c.usec = time.Duration(n) * time.Microsecond
			}
		}
		out[name] = c
	}
	return out
}

// batchStats summarizes the ledger's group commits from /metrics.
func batchStats(url string) string {
	res, err := http.Get(url)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var sum, count float64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "consentd_ledger_batch_records_sum "); ok {
			sum, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "consentd_ledger_batch_records_count "); ok {
			count, _ = strconv.ParseFloat(v, 64)
		}
	}
	if count == 0 {
		return "no batches"
	}
	return fmt.Sprintf("%.0f batches, %.1f records per batch on average", count, sum/count)
}

// cpuTimes reads user+system CPU time of each process from /proc (Linux);
// zero where it cannot.
func cpuTimes(pids []int) []time.Duration {
	out := make([]time.Duration, len(pids))
	for i, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the ")" that closes the command name; utime, stime,
		// cutime and cstime are fields 14 to 17 of the whole line, in clock
		// ticks (100 Hz). The children's times count: Redis's AOF rewrite
		// runs in a child (forked when the AOF has doubled) on the same cores.
		rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
		f := strings.Fields(rest)
		if len(f) < 15 {
			continue
		}
		var ticks int64
		for _, x := range f[11:15] {
			n, _ := strconv.ParseInt(x, 10, 64)
			ticks += n
		}
		out[i] = time.Duration(ticks) * 10 * time.Millisecond
	}
	return out
}

// perRequest is the CPU per request between two cpuTimes readings of a
// server's pids: consentd's, then that of every Redis process together.
func perRequest(before, after []time.Duration, requests int64) []time.Duration {
	out := make([]time.Duration, 2) // consentd, every Redis process together
	for i := range before {
		if requests > 0 {
			out[min(i, 1)] += after[i] - before[i]
		}
	}
	for i := range out {
		if requests > 0 {
			out[i] = (out[i] / time.Duration(requests)).Round(100 * time.Nanosecond)
		}
	}
	return out
}
