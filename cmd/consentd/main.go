// Command consentd serves the consent widget, records decisions in Redis
// and reloads its site files on SIGHUP. Run `consentd --help` for settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
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
	"github.com/consentd/consentd/widget"
)

func main() {
	os.Exit(run())
}

// run returns the process exit code: 0 after a clean shutdown, 2 for bad
// settings, 1 for anything else that stops start-up. A first argument
// naming a subcommand (consentd notice ...) runs it instead of the server.
func run() int {
	if len(os.Args) > 1 {
		if sub, ok := subcommands()[os.Args[1]]; ok {
			return sub(os.Args[2:], os.Stdout, os.Stderr)
		}
	}
	cfg, err := config.LoadFromOS()
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "consentd: invalid setting: %v\n", err)
		return 2
	}
	log := newLogger(cfg)
	servingGC := 0 // GOGC set: left as it is
	if os.Getenv("GOGC") == "" {
		// Serving, the heap is mostly the sites' data and short-lived
		// garbage dominates: collecting less often buys ingest throughput
		// (docs/performance.md). Until the sites are built, Go's default
		// (100): start-up allocates their long-lived data among far more
		// short-lived garbage (YAML, esbuild), and collecting more often
		// packs the long-lived data in fewer pages (resident memory per
		// site, docs/performance.md#start-up-and-reload).
		servingGC = 400
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log, servingGC); err != nil {
		log.Error("consentd stopped", "err", err)
		return 1
	}
	return 0
}

// subcommand runs `consentd NAME ARGS...` instead of the server: it gets
// the arguments after NAME and returns the exit code (2 for usage errors).
type subcommand func(args []string, stdout, stderr io.Writer) int

// subcommands are the commands consentd runs instead of serving, by name.
// --version (and -version, as the flag package reads both) is the version
// command under the name most tools answer to.
func subcommands() map[string]subcommand {
	return map[string]subcommand{
		"catalogue": runCatalogue,
		"export":    runExport,
		"keys":      runKeys,
		"notice":    runNotice,
		"scan":      runScan,
		"token":     runToken,
		"verify":    runVerify,
		"version":   runVersion,
		"--version": runVersion,
		"-version":  runVersion,
	}
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// serve runs until ctx ends, then shuts down in order: stop accepting
// and finish in-flight requests → drain the ledger → close Redis. Once
// every site is built it sets the GC percent to servingGC (0: leaves it).
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, servingGC int) error {
	target, err := config.RedisOptions(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("%s: %w", config.EnvName("redis-url"), err)
	}
	redis.SetLogger(redisLogger{log})
	rdb := target.Client()
	defer rdb.Close()

	locator, err := geo.New(geo.Options{DBPath: cfg.GeoIPDB, CountryHeader: cfg.CountryHeader,
		SubdivisionHeader: cfg.RegionHeader, Logger: log})
	if err != nil {
		return fmt.Errorf("%s: %w", config.EnvName("geoip-db"), err)
	}
	if cfg.CountryHeader != "" && len(cfg.TrustedProxies) == 0 {
		log.Warn("country header set but no trusted proxies: the header is never believed", "header", cfg.CountryHeader)
	}
	go locator.Watch(ctx, cfg.GeoIPWatch)

	m := metrics.New()
	lopts, err := proofOptions(cfg, log)
	if err != nil {
		return err
	}
	lopts.BatchMax, lopts.Workers, lopts.Observer = cfg.BatchMax, cfg.BatchWorkers, m
	lopts.WaitReplicas, lopts.WaitTimeout = cfg.RedisWaitReplicas, cfg.RedisWaitTimeout
	lopts.ConsentIDLimit = cfg.ConsentIDLimit
	if ledger.NoStore {
		log.Error("this binary was built with the consentd_nostore tag for benchmarks: consent decisions are answered but NOT stored; never deploy it")
	}
	lopts.CheckpointEvery = int64(cfg.CheckpointEvery)
	var srv *server.Server
	lopts.Checkpointed = func(site string, c *proof.Checkpoint, err error) { srv.Checkpointed(site, c, err) }
	led := ledger.New(rdb, lopts)
	// Compression in the background, one worker per two cores: start-up
	// and reload do not wait for it (docs/performance.md, "Start-up").
	comp, err := asset.NewCompressor(max(runtime.GOMAXPROCS(0)/2, 1), cfg.CacheDir, log)
	if err != nil {
		log.Warn("no asset cache: every start compresses again", "dir", cfg.CacheDir, "err", err)
		comp, _ = asset.NewCompressor(max(runtime.GOMAXPROCS(0)/2, 1), "", log)
	}
	defer comp.Close()
	loader, err := sitecache.NewLoader(cfg.CacheDir, log)
	if err != nil {
		_ = led.Close(context.Background())
		return err
	}
	srv, err = server.New(server.Deps{Config: cfg, Ledger: led, Logger: log, Metrics: m, Widget: widget.Build, UIStrings: widget.Strings, Demo: assets.Demo(), Admin: assets.Admin(), Geo: locator,
		Redis: rdb, Assets: comp, Sites: loader})
	if err != nil {
		_ = led.Close(context.Background())
		return fmt.Errorf("load sites from %s: %w", cfg.SitesDir, err)
	}
	go func(start time.Time) {
		if srv.WaitBuilt(ctx) != nil {
			return
		}
		// Parsed site files of other builds and of changed files, unused
		// by this start and written over a week ago.
		if d, ok := loader.Cache.(*sitecache.Dir); ok {
			if n, err := d.Prune(7*24*time.Hour, time.Now()); err != nil {
				log.Warn("parsed-site cache not pruned", "err", err)
			} else if n > 0 {
				log.Info("parsed-site cache pruned", "removed", n)
			}
		}
		if servingGC > 0 {
			debug.SetGCPercent(servingGC)
		}
		if comp.Wait(ctx) == nil {
			// Building the sites leaves garbage that GOGC=400 would keep
			// around for long: give it back once, now that it is done.
			debug.FreeOSMemory()
			log.Info("assets compressed", "took", time.Since(start).Round(time.Millisecond))
		}
	}(time.Now())
	go srv.WatchSites(ctx, cfg.WatchSites)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := locator.Reload(); err != nil {
				log.Error("geoip database reload failed; keeping the previous one", "err", err)
			}
			if err := srv.Reload(); err != nil {
				log.Error("reload failed; keeping the previous configuration", "err", err)
				continue
			}
			log.Info("reloaded", "sites", srv.SiteIDs())
		}
	}()

	if cfg.DebugListen != "" {
		go serveDebug(cfg.DebugListen, log)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = led.Close(context.Background())
		return fmt.Errorf("%s: %w", config.EnvName("listen"), err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := led.Ping(pingCtx); err != nil {
		log.Warn("redis not reachable yet; consent posts answer 503 until it is", "redis", config.RedactURL(cfg.RedisURL), "err", err)
	}
	cancel()
	log.Info("consentd listening", "addr", ln.Addr().String(), "redis", config.RedactURL(cfg.RedisURL), "redis_kind", target.Kind,
		"redis_wait_replicas", cfg.RedisWaitReplicas, "sites", srv.SiteIDs(), "demo", cfg.Demo)

	go srv.RunRetention(ctx, cfg.RetentionInterval)
	go srv.RunCheckpoints(ctx, cfg.CheckpointInterval)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.App().Listener(ln) }()
	select {
	case err := <-serveErr:
		_ = led.Close(context.Background())
		return fmt.Errorf("listener: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	deadline := time.Now().Add(cfg.ShutdownTimeout)
	if err := srv.App().ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	drainCtx, cancelDrain := context.WithDeadline(context.Background(), deadline.Add(time.Second))
	defer cancelDrain()
	if err := led.Close(drainCtx); err != nil {
		return fmt.Errorf("drain ledger: %w", err)
	}
	// The records stored since the newest checkpoint are signed before
	// the process goes (every instance tries; a head is written once).
	srv.WriteCheckpoints(drainCtx, 0)
	log.Info("stopped cleanly")
	return nil
}

// serveDebug serves Go's pprof profiles on their own address, outside the
// public app.
func serveDebug(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	log.Info("pprof listening", "addr", addr)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("pprof listener", "err", err)
	}
}

// redisLogger sends go-redis's internal messages (dial failures, ...) to slog.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis", "msg", fmt.Sprintf(format, v...))
}

// parseSub parses a subcommand's flags, which take no other arguments:
// --help prints usage to stdout (code 0), a bad flag or an argument is an
// error on stderr (code 2). done means: return code now.
func parseSub(fs *flag.FlagSet, args []string, name, usage string, stdout, stderr io.Writer) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0, true
		}
		fmt.Fprintf(stderr, "consentd %s: %v\n\n%s", name, err, usage)
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "consentd %s: unexpected argument %q\n\n%s", name, fs.Arg(0), usage)
		return 2, true
	}
	return 0, false
}
