package main

// -sites N: start-up, reload and memory with many sites (a municipality's
// schools, an agency's clients): one site, then N generated site files,
// each started cold (empty asset cache) and warm (the cache of the cold
// start), then a reload with one changed file, and RSS and heap in use
// per site; then each site's notice page asked for once (each rendered on
// request), and RSS with the notice cache full.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/consentd/consentd/server/redisproc"
)

// sitesRun is one start of consentd over a sites directory.
type sitesRun struct {
	ready time.Duration // until /healthz answers
	// With notices (the warm run with many sites): each site's notice
	// page asked for once, then RSS and heap again.
	noticePages           int
	noticeTime            time.Duration // for all noticePages
	noticeRSS, noticeHeap float64       // MB, after them
	rss                   float64       // MB, once every asset is compressed (and the start-up garbage released)
	heap                  float64       // MB of heap in use (runtime.MemStats.HeapInuse) after a collection, read after rss
	built                 time.Duration // until every asset was compressed ("" when not seen)
}

func runSites(o options) error {
	tmp, err := os.MkdirTemp("", "consentd-sites-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rs, err := redisproc.Start(context.Background(), redisproc.Options{Dir: filepath.Join(tmp, "redis")})
	if err != nil {
		return err
	}
	defer rs.Stop()
	demo, err := os.ReadFile(filepath.Join("config", "sites", "demo.yaml"))
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	cacheN := filepath.Join(tmp, "cacheN")
	if o.sitesCache != "" {
		cacheN = o.sitesCache
	}
	one, many := filepath.Join(tmp, "one"), filepath.Join(tmp, "many")
	if err := writeSites(one, demo, 1); err != nil {
		return err
	}
	if err := writeSites(many, demo, o.sites); err != nil {
		return err
	}
	fmt.Printf("start-up with many sites: %s, redis %s\n", o.consentd, rs.Addr)

	type row struct {
		name string
		run  sitesRun
	}
	var rows []row
	for _, c := range []struct {
		name, dir, cache, profile string
		notices                   int
	}{
		{"1 site, cold", one, filepath.Join(tmp, "cache1"), "", 0},
		{"1 site, warm", one, filepath.Join(tmp, "cache1"), "", 0},
		{fmt.Sprintf("%d sites, cold", o.sites), many, cacheN, "", 0},
		{fmt.Sprintf("%d sites, warm", o.sites), many, cacheN, o.memprofile, o.sites},
	} {
		r, err := startSites(o, rs.URL(), c.dir, c.cache, c.profile, c.notices, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		rows = append(rows, row{c.name, r})
	}

	// A reload with one changed file among N.
	var reload time.Duration
	_, err = startSites(o, rs.URL(), many, cacheN, "", 0, func(base string, cmd *exec.Cmd) error {
		f := filepath.Join(many, "site0.yaml")
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		before, err := etag(base + "/w/site0.js")
		if err != nil {
			return err
		}
		changed := strings.Replace(string(b), "\nconsentExpiryDays: 365\n", "\nconsentExpiryDays: 366\n", 1)
		if changed == string(b) {
			return fmt.Errorf("%s: no consentExpiryDays line to change", f)
		}
		if err := os.WriteFile(f, []byte(changed), 0o644); err != nil {
			return err
		}
		start := time.Now()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			return err
		}
		for time.Since(start) < 60*time.Second {
			if tag, err := etag(base + "/w/site0.js"); err == nil && tag != before {
				reload = time.Since(start)
				return nil
			}
			time.Sleep(2 * time.Millisecond)
		}
		return fmt.Errorf("reload: the changed site's widget did not change within 60 s")
	})
	if err != nil {
		return err
	}

	fmt.Printf("\n%-22s %12s %14s %10s %10s\n", "run", "ready after", "compressed", "RSS MB", "heap MB")
	// ready: /healthz answers and every site is served (consentd listens
	// once its sites are loaded); compressed: every widget bundle and
	// notice page also has its brotli and gzip forms (from the cache when
	// warm); RSS: after that; heap: in use after a collection.
	for _, r := range rows {
		built := "-"
		if r.run.built > 0 {
			built = r.run.built.Round(time.Millisecond).String()
		}
		fmt.Printf("%-22s %12v %14s %10.1f %10.1f\n", r.name, r.run.ready.Round(time.Millisecond), built, r.run.rss, r.run.heap)
	}
	fmt.Printf("\nstart-up, %d sites / 1 site: cold %.1f×, warm %.1f×\n", o.sites,
		rows[2].run.ready.Seconds()/rows[0].run.ready.Seconds(), rows[3].run.ready.Seconds()/rows[1].run.ready.Seconds())
	fmt.Printf("reload with one changed file among %d: %v (SIGHUP until the changed widget is served)\n", o.sites, reload.Round(time.Millisecond))
	if w := rows[3].run; w.noticePages > 0 {
		fmt.Printf("notice pages: %d sites' /n/SITE?lang=fi asked for once (each rendered on request): %v each; then RSS %.1f MB, heap %.1f MB\n",
			w.noticePages, (w.noticeTime / time.Duration(w.noticePages)).Round(10*time.Microsecond), w.noticeRSS, w.noticeHeap)
	}
	if o.sites > 1 {
		fmt.Printf("RSS per site (warm, %d sites minus 1 site): %.0f KB; heap in use per site: %.0f KB\n", o.sites,
			(rows[3].run.rss-rows[1].run.rss)*1024/float64(o.sites-1), (rows[3].run.heap-rows[1].run.heap)*1024/float64(o.sites-1))
	}
	return nil
}

// writeSites writes n copies of the demo site, site0 … site(n-1) (one
// site: demo itself), each with its own ID and origin.
func writeSites(dir string, demo []byte, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if n == 1 {
		return os.WriteFile(filepath.Join(dir, "demo.yaml"), demo, 0o644)
	}
	for i := range n {
		s := strings.Replace(string(demo), "\nid: demo\n", fmt.Sprintf("\nid: site%d\n", i), 1)
		s = strings.Replace(s, "  - http://localhost:8080\n", fmt.Sprintf("  - https://site%d.example\n", i), 1)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("site%d.yaml", i)), []byte(s), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// startSites starts consentd over dir with the asset cache in cache,
// measures it (writing a heap profile to profile, when given), asks for
// the notice pages of the first notices sites and measures again, and,
// when given, runs then on it before stopping it.
func startSites(o options, redisURL, dir, cache, profile string, notices int, then func(base string, cmd *exec.Cmd) error) (sitesRun, error) {
	addr, err := freeAddr()
	if err != nil {
		return sitesRun{}, err
	}
	debugAddr, err := freeAddr()
	if err != nil {
		return sitesRun{}, err
	}
	logs := &syncBuffer{}
	cmd := exec.Command(o.consentd)
	cmd.Env = append(os.Environ(), "CONSENTD_LISTEN="+addr, "CONSENTD_REDIS_URL="+redisURL, "CONSENTD_SITES_DIR="+dir,
		"CONSENTD_CACHE_DIR="+cache, "CONSENTD_LOG_LEVEL=info", "CONSENTD_LOG_FORMAT=text", "CONSENTD_SIGNING_KEY="+benchKey,
		"CONSENTD_CHECKPOINT_INTERVAL=0", "CONSENTD_DEBUG_LISTEN="+debugAddr)
	cmd.Stdout, cmd.Stderr = logs, logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sitesRun{}, fmt.Errorf("start %s (run make build first): %w", o.consentd, err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	base := "http://" + addr
	var r sitesRun
	for {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			r.ready = time.Since(start)
			break
		}
		if time.Since(start) > 10*time.Minute {
			return r, fmt.Errorf("not ready within 10 minutes:\n%s", logs.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	// RSS once the background compression is done (its log line; then
	// consentd gives the start-up garbage back) and -sites-settle has
	// passed, or after -sites-wait.
	for time.Since(start) < r.ready+o.sitesWait {
		if strings.Contains(logs.String(), "assets compressed") {
			r.built = time.Since(start)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(o.sitesSettle)
	if r.rss, err = vmRSS(cmd.Process.Pid); err != nil {
		return r, err
	}
	if r.heap, err = heapInuse("http://" + debugAddr); err != nil {
		return r, err
	}
	if profile != "" {
		if err := saveHeapProfile("http://"+debugAddr, profile); err != nil {
			return r, err
		}
	}
	if notices > 0 {
		start := time.Now()
		for i := range notices {
			if err := getOK(fmt.Sprintf("%s/n/site%d?lang=fi", base, i)); err != nil {
				return r, err
			}
		}
		r.noticePages, r.noticeTime = notices, time.Since(start)
		if r.noticeRSS, err = vmRSS(cmd.Process.Pid); err != nil {
			return r, err
		}
		if r.noticeHeap, err = heapInuse("http://" + debugAddr); err != nil {
			return r, err
		}
	}
	if then != nil {
		if err := then(base, cmd); err != nil {
			return r, err
		}
	}
	return r, nil
}

// heapInuse reads HeapInuse (MB) from the pprof listener at base, after
// a collection (the text heap profile ends with the runtime.MemStats).
func heapInuse(base string) (float64, error) {
	res, err := http.Get(base + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, fmt.Errorf("heap profile: %w", err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapInuse = "); ok {
			n, err := strconv.ParseFloat(v, 64)
			return n / (1 << 20), err
		}
	}
	return 0, fmt.Errorf("heap profile: no HeapInuse line (%v)", sc.Err())
}

// saveHeapProfile writes the heap profile (after a collection) from the
// pprof listener at base to file, for go tool pprof.
func saveHeapProfile(base, file string) error {
	res, err := http.Get(base + "/debug/pprof/heap?gc=1")
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer res.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}

// getOK asks for url as a browser would (brotli or gzip) and reads the
// answer, which must be 200.
func getOK(url string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "br, gzip")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return nil
}

// etag is the ETag of an uncompressed GET of url.
func etag(url string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return res.Header.Get("ETag"), nil
}

// syncBuffer collects a process's output while it is read.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
