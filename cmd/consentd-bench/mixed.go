package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/procfs"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/ledger"
)

// runMixed is the -mixed mode: what a consentd serving many pages sees.
// In one run, against one consentd:
//
//  1. GET /healthz — the HTTP baseline;
//  2. the mixed workload at full speed (the peak): 9 of 10 requests fetch
//     the widget (GET /w/demo.js, brotli, as a browser without a cached
//     copy), 1 of 10 posts a decision;
//  3. a soak: the same mix for -soak (default 60 s) at half of the peak's
//     requests/s, sampling consentd's RSS every second;
//  4. consentd stopped, the whole log exported as a proof bundle and
//     verified offline (verify.go).
//
// It fails when any request fails, when a decision answered 2xx is not in
// Redis, when the soak's RSS at the end is more than 25 % above its
// sample after the first 10 s (memory must stay flat), or when the bundle
// does not verify.
func runMixed(o options, soak time.Duration) error {
	r, err := newRig(o)
	if err != nil {
		return err
	}
	defer r.close()
	ctx := context.Background()
	rdb, tmp := r.rdb, r.tmp
	srv, err := startServer(o, o.consentd, r)
	if err != nil {
		return err
	}
	defer srv.stop()

	fmt.Printf("mixed workload: %d CPUs, %s; wrk -t%d -c%d, %s per run (warm-up %s), soak %s; Redis appendfsync %s\n",
		runtime.NumCPU(), runtime.Version(), o.threads, o.connections, o.duration, o.warmup, soak, o.fsync)

	if _, err := wrk(o, o.warmup, srv.base+"/healthz", ""); err != nil {
		return err
	}
	health, err := wrk(o, o.duration, srv.base+"/healthz", "")
	if err != nil {
		return err
	}

	widgetOnly, err := wrk(o, o.duration, srv.base+"/w/demo.js", writeWidgetLua(tmp))
	if err != nil {
		return err
	}

	full := filepath.Join(tmp, "mixed.lua")
	if err := os.WriteFile(full, []byte(mixedLua(srv.nv, 0, 0)), 0o644); err != nil {
		return err
	}
	if _, _, err := wrkMixed(o, o.warmup, srv.base, full); err != nil {
		return err
	}
	peak, peakPosts, err := measureMixed(ctx, o, o.duration, srv.base, full, rdb)
	if err != nil {
		return err
	}

	// Half of the peak: each connection waits between its requests so that
	// all of them together send peak/2 requests per second.
	target := peak.RPS / 2
	interval := float64(o.connections) / target * 1000 // ms between one connection's requests
	delay := interval - float64(peak.P50.Microseconds())/1000/2
	half := filepath.Join(tmp, "half.lua")
	if err := os.WriteFile(half, []byte(mixedLua(srv.nv, math.Floor(delay), delay-math.Floor(delay))), 0o644); err != nil {
		return err
	}
	sampler := startRSS(srv.pids[0], time.Second)
	soakRes, soakPosts, err := measureMixed(ctx, o, soak, srv.base, half, rdb)
	samples := sampler.stop()
	if err != nil {
		return err
	}

	fmt.Printf("\n%-36s %12s %10s %10s %8s\n", "run", "requests/s", "p50", "p99", "errors")
	fmt.Printf("%-36s %12.0f %10s %10s %8d\n", "GET /healthz", health.RPS, health.P50, health.P99, health.Non2xx+health.SockErrors)
	fmt.Printf("%-36s %12.0f %10s %10s %8d\n", "GET /w/demo.js (br)", widgetOnly.RPS, widgetOnly.P50, widgetOnly.P99, widgetOnly.Non2xx+widgetOnly.SockErrors)
	fmt.Printf("%-36s %12.0f %10s %10s %8d\n", "mixed 90% widget / 10% consent", peak.RPS, peak.P50, peak.P99, peak.Non2xx+peak.SockErrors)
	fmt.Printf("%-36s %12.0f %10s %10s %8d\n", fmt.Sprintf("soak %s at half of peak", soak), soakRes.RPS, soakRes.P50, soakRes.P99, soakRes.Non2xx+soakRes.SockErrors)
	fmt.Printf("\nratio widget/healthz: %.2f; ratio mixed/healthz: %.2f; decisions in the peak run: %d posted, %d stored (%.0f records/s)\n",
		widgetOnly.RPS/health.RPS, peak.RPS/health.RPS, peakPosts.posted, peakPosts.stored, float64(peakPosts.stored)/peak.Seconds)
	fmt.Printf("soak: target %.0f requests/s, reached %.0f (%.2f of peak); %d decisions posted, %d stored\n",
		target, soakRes.RPS, soakRes.RPS/peak.RPS, soakPosts.posted, soakPosts.stored)
	if len(samples) == 0 {
		return fmt.Errorf("no RSS sample of consentd (pid %d)", srv.pids[0])
	}
	first, last, maxRSS := samples[0], samples[len(samples)-1], 0.0
	settled := samples[min(10, len(samples)-1)]
	for _, s := range samples {
		maxRSS = math.Max(maxRSS, s)
	}
	fmt.Printf("soak RSS of consentd (%d samples, 1/s): start %.1f MB, after 10 s %.1f MB, end %.1f MB, max %.1f MB\n",
		len(samples), first, settled, last, maxRSS)
	fmt.Printf("RSS over the soak (MB, every 5 s): %s\n", every(samples, 5))
	if o.markdown {
		fmt.Printf("\n| %s | %d CPUs | %.0f | %.0f | %.0f | %s / %s | %.2f | %.0f | %.1f / %.1f / %.1f MB | %d |\n",
			time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), health.RPS, widgetOnly.RPS, peak.RPS, peak.P50, peak.P99, peak.RPS/health.RPS,
			soakRes.RPS, first, last, maxRSS, soakRes.Non2xx+soakRes.SockErrors)
	}

	var errs []error
	for _, r := range []struct {
		name  string
		res   wrkResult
		posts postCount
	}{{"peak", peak, peakPosts}, {"soak", soakRes, soakPosts}} {
		if n := r.res.Non2xx + r.res.SockErrors; n > 0 {
			errs = append(errs, fmt.Errorf("%s: %d requests failed (%d answered other than 2xx, %d socket errors or time-outs)",
				r.name, n, r.res.Non2xx, r.res.SockErrors))
		}
		// wrk may leave up to one request per connection unanswered at its
		// deadline; the server still stores it.
		if r.posts.stored > r.posts.posted || r.posts.stored < r.posts.posted-int64(o.connections) {
			errs = append(errs, fmt.Errorf("%s: %d decisions posted but %d stored", r.name, r.posts.posted, r.posts.stored))
		}
	}
	if last > settled*1.25 {
		errs = append(errs, fmt.Errorf("soak: consentd's RSS grew from %.1f MB (after 10 s) to %.1f MB: memory is not flat", settled, last))
	}
	// Stopped as production stops (its last checkpoint), then the log the
	// run left is checked as an auditor would, whatever happened above.
	srv.stop()
	errs = append(errs, verifyLog(ctx, rdb, r.sitesDir, tmp))
	return errors.Join(errs...)
}

// postCount is how many decisions one wrk run posted and Redis stored.
type postCount struct{ posted, stored int64 }

// measureMixed runs the mixed script for d and counts the decisions.
func measureMixed(ctx context.Context, o options, d time.Duration, base, script string, rdb *redis.Client) (wrkResult, postCount, error) {
	time.Sleep(time.Second) // requests wrk abandoned at the last deadline finish
	before, err := rdb.XLen(ctx, ledger.LogKey("demo")).Result()
	if err != nil {
		return wrkResult{}, postCount{}, err
	}
	res, posted, err := wrkMixed(o, d, base, script)
	if err != nil {
		return wrkResult{}, postCount{}, err
	}
	time.Sleep(time.Second)
	after, err := rdb.XLen(ctx, ledger.LogKey("demo")).Result()
	if err != nil {
		return wrkResult{}, postCount{}, err
	}
	return res, postCount{posted: posted, stored: after - before}, nil
}

var rePosted = regexp.MustCompile(`consent posts sent: (\d+)`)

// wrkMixed runs wrk with a mixed script and returns its result and the
// number of consent posts it sent (printed by the script's done hook).
func wrkMixed(o options, d time.Duration, base, script string) (wrkResult, int64, error) {
	args := []string{"-t" + strconv.Itoa(o.threads), "-c" + strconv.Itoa(o.connections), "-d" + strconv.Itoa(int(d.Seconds())) + "s",
		"--latency", "-s", script, base}
	out, err := exec.Command("wrk", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, 0, fmt.Errorf("wrk: %w: %s", err, out)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return res, 0, err
	}
	m := rePosted.FindStringSubmatch(string(out))
	if m == nil {
		return res, 0, fmt.Errorf("wrk script printed no post count:\n%s", out)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return res, n, nil
}

// mixedLua is the wrk script: of every 10 requests a connection sends, 9
// fetch the widget and 1 posts a decision (a new visitor each time). With
// delayMS > 0, each connection waits delayMS (+1 ms with probability frac,
// so the mean is delayMS+frac) after each answer: a fixed request rate.
func mixedLua(noticeVersion string, delayMS, frac float64) string {
	body, _ := json.Marshal(map[string]any{
		"site":          "demo",
		"choices":       map[string]bool{"necessary": true, "analytics": true, "marketing": false},
		"method":        "custom",
		"noticeVersion": noticeVersion,
		"language":      "fi",
		"url":           "https://bench.example/page",
	})
	var b strings.Builder
	fmt.Fprintf(&b, `local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  n = 0
  posts = 0
  widget = wrk.format("GET", "/w/demo.js", {["Accept-Encoding"] = "br, gzip", ["User-Agent"] = "consentd-bench"})
  consent = wrk.format("POST", "/v1/consent", {["Content-Type"] = "application/json", ["Origin"] = %q,
    ["User-Agent"] = "consentd-bench"}, %q)
end
function request()
  n = n + 1
  if n %% 10 == 0 then
    posts = posts + 1
    return consent
  end
  return widget
end
`, benchOrigin, string(body))
	if delayMS > 0 || frac > 0 {
		fmt.Fprintf(&b, `function delay()
  if math.random() < %f then return %d end
  return %d
end
`, frac, int(delayMS)+1, int(delayMS))
	}
	b.WriteString(`function done(summary, latency, requests)
  local p = 0
  for _, t in ipairs(threads) do p = p + t:get("posts") end
  io.write(string.format("consent posts sent: %d\n", p))
end
`)
	return b.String()
}

// rss samples a process's resident set size (VmRSS, in MB) at a fixed
// interval until stop.
type rss struct {
	mu      sync.Mutex
	samples []float64
	quit    chan struct{}
	done    chan struct{}
}

func startRSS(pid int, every time.Duration) *rss {
	r := &rss{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if mb, err := vmRSS(pid); err == nil {
				r.mu.Lock()
				r.samples = append(r.samples, mb)
				r.mu.Unlock()
			}
			select {
			case <-r.quit:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

func (r *rss) stop() []float64 {
	close(r.quit)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.samples
}

// vmRSS reads VmRSS of pid from /proc (Linux), in MB.
func vmRSS(pid int) (float64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, fmt.Errorf("VmRSS of pid %d: %w", pid, err)
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0, fmt.Errorf("VmRSS of pid %d: %w", pid, err)
	}
	return float64(st.VmRSS) / (1 << 20), nil // procfs gives bytes
}

// every formats every n-th sample (and the last).
func every(s []float64, n int) string {
	var parts []string
	for i := 0; i < len(s); i += n {
		parts = append(parts, fmt.Sprintf("%.1f", s[i]))
	}
	if (len(s)-1)%n != 0 {
		parts = append(parts, fmt.Sprintf("%.1f", s[len(s)-1]))
	}
	return strings.Join(parts, " ")
}

// writeWidgetLua writes a wrk script fetching the widget as a browser
// without a cached copy does (brotli accepted) and returns its path.
func writeWidgetLua(dir string) string {
	p := filepath.Join(dir, "widget.lua")
	_ = os.WriteFile(p, []byte("wrk.headers[\"Accept-Encoding\"] = \"br, gzip\"\nwrk.headers[\"User-Agent\"] = \"consentd-bench\"\n"), 0o644)
	return p
}
