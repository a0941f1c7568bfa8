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
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/ledger"
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
	sites       int           // -sites: start-up, reload and memory with this many sites (sites.go)
	sitesWait   time.Duration // -sites-wait: longest wait for the background compression
	sitesSettle time.Duration // -sites-settle: wait after the compression before RSS is read
	sitesCache  string        // -sites-cache: the asset cache of the runs with -sites sites, kept
	memprofile  string        // -memprofile: heap profile of the warm run with -sites sites
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
	flag.BoolVar(&o.limits, "limits", true, "check the Redis rate limits on every post, as production does (limits set too high to refuse any); -limits=false: limits off")
	flag.BoolVar(&o.idempotency, "idempotency", true, "send every post as a widget sends a visitor's first decision, through a reverse proxy: a new consent ID in the body, a new Idempotency-Key (both checked and stored) and a new client address in X-Forwarded-For; -idempotency=false: none of them")
	flag.StringVar(&o.nostore, "nostore", "", "also measure posts answered without storing, with this consentd built with -tags consentd_nostore (make bench builds bin/consentd-nostore): the request path alone")
	flag.BoolVar(&o.replica, "replica", false, "also start a Redis replica and run consentd with CONSENTD_REDIS_WAIT_REPLICAS=1 (every group commit waits for the replica: docs/deploy.md)")
	flag.StringVar(&o.compare, "compare", "", "instead: chained ingest of -consentd and this consentd binary in turns (ABAB…, -rounds each) on one Redis, and the means (compare.go)")
	flag.IntVar(&o.rounds, "rounds", 5, "runs of each binary with -compare")
	flag.BoolVar(&o.mixed, "mixed", false, "instead: a mixed workload (90% GET /w/demo.js, 10% POST /v1/consent) at peak, then a soak at half of it (mixed.go)")
	flag.DurationVar(&o.soak, "soak", 60*time.Second, "length of the -mixed soak")
	flag.DurationVar(&o.sitesWait, "sites-wait", 10*time.Minute, "with -sites: how long to wait for the background compression before RSS is read (the warm runs use what was compressed by then)")
	flag.DurationVar(&o.sitesSettle, "sites-settle", 5*time.Second, "with -sites: how long to wait after the background compression before RSS is read (what start-up left settles: a few MB with 100 sites)")
	flag.StringVar(&o.sitesCache, "sites-cache", "", "with -sites: the asset cache directory of the runs with many sites, kept afterwards (default: a temporary one); one filled by an earlier run makes the cold run warm too, and saves its minutes of compression")
	flag.StringVar(&o.memprofile, "memprofile", "", "with -sites: write the heap profile of the warm run with many sites (after compression and a collection) to this file, for go tool pprof")
	flag.IntVar(&o.sites, "sites", 0, "instead: start-up (cold and warm asset cache), a reload with one changed file and RSS per site, with 1 and with this many generated sites (sites.go)")
	flag.Parse()
	mode := run
	switch {
	case o.mixed:
		mode = func(o options) error { return runMixed(o, o.soak) }
	case o.compare != "":
		mode = runCompare
	case o.sites > 0:
		mode = runSites
	}
	if err := mode(o); err != nil {
		fmt.Fprintf(os.Stderr, "consentd-bench: %v\n", err)
		os.Exit(1)
	}
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
	fmt.Printf("Redis time in the append script per record (it also checks and counts the rate limits; INFO commandstats): %v\n", ch.scriptPerRec.Round(100*time.Nanosecond))
	fmt.Printf("Redis memory per record (used_memory growth): %.0f B\n", ch.memPerRec)
	if c := runs[0].commands; c != nil {
		fmt.Printf("inside the script, per stored record (first run): %s\n", scriptBreakdown(c, runs[0].stored))
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
