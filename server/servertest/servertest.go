// Package servertest starts a real consentd for tests: a redis-server on a
// free loopback port, the sites written to a temp dir and the Fiber app on
// its own loopback listener. Everything stops when the test ends.
package servertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/assets"
	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/config/site/sitecache"
	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server"
	"github.com/consentd/consentd/server/asset"
	"github.com/consentd/consentd/server/geo"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/metrics"
	"github.com/consentd/consentd/server/redisproc"
	"github.com/consentd/consentd/widget"
)

// Options adjusts the test server.
type Options struct {
	// Sites returns site files (name → YAML) for a server at baseURL.
	// Default: DemoSite(baseURL).
	Sites func(baseURL string) map[string]string
	// Controllers, when set, is the controllers file (YAML) written to
	// Env.ControllersFile before start. Default: no file there.
	Controllers string
	// Config is applied to the server config before start.
	Config func(*config.Config)
	// Log receives the server's logs; default: discarded.
	Log io.Writer
	// Redis, when set, is used instead of a fresh redis-server: two Envs
	// on one Redis are two instances of one deployment. Its owner stops it.
	Redis *redisproc.Server
	// Target, when set (and Redis is not), is the Redis deployment to use,
	// a single server or a cluster (redisproc.StartTargetT): two Envs on
	// one Target are two instances of one deployment. Default: a fresh
	// redisproc.StartTargetT, which is a Redis Cluster when
	// CONSENTD_TEST_REDIS=cluster.
	Target *redisproc.Target
	// SigningKey signs the records; default: a new key. Instances of one
	// deployment share theirs (docs/proof.md).
	SigningKey *proof.SigningKey
	// Eager: no background compression (server.Deps.Assets nil): every
	// asset is compressed when it is made.
	Eager bool
	// NoWait: Start returns as soon as the server listens, without waiting
	// for its sites to be built and its assets compressed.
	NoWait bool
}

// Env is a running test server.
type Env struct {
	URL      string // http://127.0.0.1:PORT
	SitesDir string
	// ControllersFile is where the server looks for its controllers file
	// (the default: controllers.yaml next to SitesDir), whether or not
	// there is one: a test may write it and reload.
	ControllersFile string
	Redis           redis.UniversalClient // a *redis.ClusterClient on a cluster
	// RedisSrv is the redis-server holding the demo site's keys: the single
	// server, or on a cluster the node serving the {demo} slot. Killing it
	// makes the demo site's store unavailable.
	RedisSrv *redisproc.Server
	// Target is the Redis deployment: RedisSrv alone, or a cluster.
	Target redisproc.Target
	Server *server.Server
	Ledger *ledger.Ledger
	// Key is the key that signs the records (and may sign records a test
	// writes itself: ledgertest).
	Key *proof.SigningKey
}

// Start starts Redis and consentd for the test.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	var tgt redisproc.Target
	switch {
	case o.Redis != nil:
		tgt = redisproc.Target{Server: o.Redis}
	case o.Target != nil:
		tgt = *o.Target
	default:
		tgt = redisproc.StartTargetT(t)
	}
	rs, err := tgt.ServerFor(context.Background(), ledger.LogKey("demo"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	root := t.TempDir()
	dir, ctlFile := filepath.Join(root, "sites"), filepath.Join(root, "controllers.yaml")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if o.Controllers != "" {
		if err := os.WriteFile(ctlFile, []byte(o.Controllers), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sites := o.Sites
	if sites == nil {
		sites = func(u string) map[string]string { return map[string]string{"demo.yaml": DemoSite(t, u)} }
	}
	for name, body := range sites(base) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load([]string{"--sites-dir", dir, "--redis-url", tgt.URL(), "--listen", ln.Addr().String(), "--demo=true",
		"--cache-dir", t.TempDir()},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	w := o.Log
	if w == nil {
		w = io.Discard
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	target, err := config.RedisOptions(cfg.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := target.Client()
	locator, err := geo.New(geo.Options{DBPath: cfg.GeoIPDB, CountryHeader: cfg.CountryHeader, SubdivisionHeader: cfg.RegionHeader})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	key := o.SigningKey
	if key == nil {
		if key, err = proof.NewSigningKey(); err != nil {
			t.Fatal(err)
		}
	}
	var srv *server.Server
	led := ledger.New(rdb, ledger.Options{BatchMax: cfg.BatchMax, Workers: cfg.BatchWorkers, Observer: m, Signer: key,
		WaitReplicas: cfg.RedisWaitReplicas, WaitTimeout: cfg.RedisWaitTimeout, CheckpointEvery: int64(cfg.CheckpointEvery),
		ConsentIDLimit: cfg.ConsentIDLimit,
		Checkpointed:   func(site string, c *proof.Checkpoint, err error) { srv.Checkpointed(site, c, err) }})
	var comp *asset.Compressor
	if !o.Eager {
		if comp, err = asset.NewCompressor(1, cfg.CacheDir, log); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(comp.Close)
	}
	loader, err := sitecache.NewLoader(cfg.CacheDir, log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err = server.New(server.Deps{Config: cfg, Ledger: led, Logger: log, Metrics: m, Widget: widget.Build,
		UIStrings: widget.Strings, Demo: assets.Demo(), Admin: assets.Admin(), Geo: locator,
		Redis: rdb, Assets: comp, Sites: loader})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	// Tests see every site built and every asset compressed, as a server
	// is a moment after start, unless they ask for the moment before.
	// Brotli at quality 11 under -race on a busy machine takes seconds per
	// asset: a few sites take minutes.
	if !o.NoWait {
		// Generous: under -race on a busy machine top-quality brotli is slow.
		waitCtx, cancelWait := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancelWait()
		if err := srv.WaitBuilt(waitCtx); err != nil {
			t.Fatalf("sites not built: %v", err)
		}
		if comp != nil {
			if err := comp.Wait(waitCtx); err != nil {
				t.Fatalf("assets not compressed: %v", err)
			}
		}
	}
	go func() { _ = srv.App().Listener(ln) }()
	check := tgt.Client()
	t.Cleanup(func() {
		_ = srv.App().ShutdownWithTimeout(5 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = led.Close(ctx)
		_ = rdb.Close()
		_ = check.Close()
	})
	return &Env{URL: base, SitesDir: dir, ControllersFile: ctlFile, Redis: check, RedisSrv: rs, Target: tgt, Server: srv, Ledger: led, Key: key}
}

// DemoSite returns config/sites/demo.yaml with its origins replaced by
// baseURL and https://www.oppimo.fi.
func DemoSite(t testing.TB, baseURL string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(t), "config", "sites", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "origins:\n")
	end := strings.Index(s, "languages:")
	if start < 0 || end < start {
		t.Fatal("demo.yaml: origins block not found")
	}
	return s[:start] + "origins:\n  - " + baseURL + "\n  - https://www.oppimo.fi\n" + s[end:]
}

// PlainSite returns a small valid site file: English only, the origin
// https://<id>.example, a required category and one optional category
// (category), no tokens.
func PlainSite(id, name, category string) string {
	return fmt.Sprintf(`id: %s
name: %s
origins: [https://%s.example]
languages: [en]
policyVersion: "1"
categories:
  - id: necessary
    required: true
    label: {en: Necessary}
    description: {en: Needed.}
  - id: %s
    label: {en: %s}
    description: {en: Optional.}
`, id, name, id, category, category)
}

// RepoRoot is the repository's top directory.
func RepoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the source directory")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// RestartRedis starts redis-server again on the same port and data dir
// (after RedisSrv.Kill or Stop): what an operator's restart looks like
// to consentd. The AOF brings back what was acknowledged.
func (e *Env) RestartRedis(t testing.TB) {
	t.Helper()
	if c := e.Target.Cluster; c != nil {
		for i, n := range c.Nodes {
			if n == e.RedisSrv {
				rs, err := c.Restart(context.Background(), i)
				if err != nil {
					t.Fatalf("restart redis cluster node: %v", err)
				}
				e.RedisSrv = rs
				return
			}
		}
		t.Fatal("RestartRedis: RedisSrv is not a node of the cluster")
	}
	_, port, err := net.SplitHostPort(e.RedisSrv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	rs, err := redisproc.Start(context.Background(), redisproc.Options{Dir: e.RedisSrv.Dir, Port: p})
	if err != nil {
		t.Fatalf("restart redis: %v", err)
	}
	t.Cleanup(func() { _ = rs.Stop() })
	e.RedisSrv = rs
}

// Records is the number of entries in site's log (XLEN).
func (e *Env) Records(t testing.TB, site string) int {
	t.Helper()
	return Records(t, e.Redis, site)
}

// Records is the number of entries in site's log (XLEN) in the Redis
// deployment rdb: for tests that start consentd some other way than
// Start (the binary, several instances).
func Records(t testing.TB, rdb redis.UniversalClient, site string) int {
	t.Helper()
	n, err := rdb.XLen(context.Background(), ledger.LogKey(site)).Result()
	if err != nil {
		t.Fatalf("XLEN %s: %v", ledger.LogKey(site), err)
	}
	return int(n)
}

// NoticeVersion returns the current notice version of a site in lang,
// as the running server publishes it in GET /n/{site}.json.
func (e *Env) NoticeVersion(t testing.TB, site, lang string) string {
	t.Helper()
	return NoticeVersion(t, e.URL, site, lang)
}

// NoticeVersion returns the current notice version of a site in lang, as
// the consentd at base (http://host:port) publishes it in
// GET /n/{site}.json.
func NoticeVersion(t testing.TB, base, site, lang string) string {
	t.Helper()
	resp, err := http.Get(base + "/n/" + site + ".json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var n struct {
		Versions map[string]string `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&n); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /n/%s.json: %d %v", site, resp.StatusCode, err)
	}
	v, ok := n.Versions[lang]
	if !ok {
		t.Fatalf("site %s has no %s notice: %v", site, lang, n.Versions)
	}
	return v
}
