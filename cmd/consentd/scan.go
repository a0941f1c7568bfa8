package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/scan"
)

// scanUsage is the help text of `consentd scan`.
const scanUsage = `Usage: consentd scan --site ID [--sites-dir DIR] URL [--pages N] [--out DIR]
                     [--timeout D] [--max-time D] [--chromium PATH]
                     [--record [--redis-url URL] [--signing-key KEY|FILE]]

scan visits the site in headless Chromium three times, each in a fresh
browser profile: with no decision, after "reject all" and after "accept
all" (taken through the consentd widget's JavaScript API). It records
every cookie and storage key, what set it (a Set-Cookie response or a
script), and the third-party hosts contacted, and compares them with the
site file (docs/scan.md).

It crawls the pages of URL's origin breadth-first: sitemap.xml (or the
sitemaps robots.txt names) first, then links; robots.txt is honoured
(user agent consentd-scan); one tab at a time.

Flags:
  --site ID          the site whose file declares the cookies (required)
  --sites-dir DIR    where the site files are (default $CONSENTD_SITES_DIR
                     or config/sites); --sites is the same
  --pages N          pages per pass, at most (default 20)
  --out DIR          where report.json, report.html and site-patch.yaml go
                     (default scan-report)
  --timeout D        one page's time: load, widget, settling (default 30s)
  --max-time D       the whole scan's time (default 15m): a scan that
                     reaches it reports what it saw, as incomplete
  --chromium PATH    the browser (default: chromium, chromium-browser or
                     google-chrome on $PATH)
  --record           sign the scan's summary (site, times, pages, counts,
                     report.json's SHA-256, versions) into the site's
                     proof chain in Redis as a scan record, which consentd
                     verify checks like every record (docs/scan.md)
  --redis-url URL    with --record: the Redis holding the site's chain
                     (default $CONSENTD_REDIS_URL or redis://127.0.0.1:6390/0,
                     the Redis of make run)
  --signing-key K    with --record: the key the server signs with, as text
                     or a file (default $CONSENTD_SIGNING_KEY, else
                     data/signing.key, the key of make run)

Progress goes to stderr, the summary to stdout.

Exit status: 0 no violation, 1 violations (cookies or storage of a
category that is not required, or not declared, before consent or after
"reject all"), 2 usage error, or the scan could not run, is incomplete
or (with --record) could not be recorded.
`

// runScan runs `consentd scan ARGS...` and returns the exit code.
func runScan(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	redis.SetLogger(quietRedis{}) // --record reports a Redis failure itself
	return scanCmd(ctx, args, stdout, stderr, os.Getenv)
}

func scanCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("consentd scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	siteID := fs.String("site", "", "")
	var sitesDir string
	fs.StringVar(&sitesDir, "sites-dir", "", "")
	fs.StringVar(&sitesDir, "sites", "", "")
	pages := fs.Int("pages", scan.DefaultPages, "")
	out := fs.String("out", "scan-report", "")
	timeout := fs.Duration("timeout", scan.DefaultPageTimeout, "")
	maxTime := fs.Duration("max-time", scan.DefaultMaxTime, "")
	chromium := fs.String("chromium", "", "")
	record := fs.Bool("record", false, "")
	redisURL := fs.String("redis-url", "", "")
	signingKey := fs.String("signing-key", "", "")
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "consentd scan: "+format+"\n\n%s", append(a, scanUsage)...)
		return 2
	}
	// The address may come before, between or after the flags.
	var urls []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, scanUsage)
				return 0
			}
			return usage("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		urls = append(urls, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case *siteID == "":
		return usage("--site is required")
	case len(urls) == 0:
		return usage("which address? give the page to start at, e.g. https://www.example.fi/")
	case len(urls) > 1:
		return usage("one address only, got %q and %q", urls[0], urls[1])
	case *pages < 1 || *pages > 1000:
		return usage("--pages %d: expected 1 to 1000", *pages)
	case *timeout <= 0 || *maxTime <= 0:
		return usage("--timeout and --max-time must be positive")
	case !*record && (*redisURL != "" || *signingKey != ""):
		return usage("--redis-url and --signing-key are for --record")
	}
	if _, err := scan.NewScope(urls[0]); err != nil {
		return usage("%v", err)
	}
	if sitesDir == "" {
		sitesDir = getenv(config.EnvName("sites-dir"))
	}
	if sitesDir == "" {
		sitesDir = filepath.Join("config", "sites")
	}
	s, err := loadSite(sitesDir, *siteID)
	if err != nil {
		fmt.Fprintf(stderr, "consentd scan: %v\n", err)
		return 2
	}

	var rec *scanRecording
	if *record {
		// Before the scan: a scan that cannot be recorded is not run.
		if rec, err = newScanRecording(ctx, *redisURL, *signingKey, getenv); err != nil {
			fmt.Fprintf(stderr, "consentd scan: %v\n", err)
			return 2
		}
		defer rec.rdb.Close()
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := scan.Run(ctx, scan.Options{Site: s, URL: urls[0], Pages: *pages, PageTimeout: *timeout, MaxTime: *maxTime,
		Chromium: *chromium, Log: log, Progress: func(p scan.Progress) { printProgress(stderr, p) }})
	if err != nil {
		fmt.Fprintf(stderr, "consentd scan: %v\n", err)
		return 2
	}
	report, err := writeScan(r, s, *out, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "consentd scan: %v\n", err)
		return 2
	}
	if rec != nil {
		ack, sum, err := rec.record(ctx, s, report, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "consentd scan: %v: %v (the report files are written)\n", errNotRecorded, err)
			return 2
		}
		printRecorded(stdout, s.ID, ack, sum, rec.key.ID(), filepath.Join(*out, "report.json"))
	}
	return scanExitCode(r)
}

// scanExitCode: 1 for violations, else 2 for a scan cut short, else 0.
func scanExitCode(r *scan.Report) int {
	switch {
	case len(r.Findings.Violations) > 0:
		return 1
	case !r.Complete:
		return 2
	default:
		return 0
	}
}

// loadSite loads DIR/ID.yaml (or .yml).
func loadSite(dir, id string) (*site.Site, error) {
	for _, ext := range []string{".yaml", ".yml"} {
		path := filepath.Join(dir, id+ext)
		if _, err := os.Stat(path); err == nil {
			return site.Load(path)
		}
	}
	return nil, fmt.Errorf("no site file for %q in %s (expected %s.yaml)", id, dir, id)
}

// printProgress writes one line per page visit.
func printProgress(w io.Writer, p scan.Progress) {
	el := p.Elapsed.Round(time.Second)
	fmt.Fprintf(w, "consentd scan: pass %d/%d %s: %d/%d pages, %d:%02d  %s\n",
		p.Pass, p.Passes, p.PassName, p.Done, p.Total, int(el.Minutes()), int(el.Seconds())%60, p.URL)
}

// writeScan writes report.json, report.html and site-patch.yaml to dir
// and the summary, with the files' paths, to stdout. It returns
// report.json's bytes as written.
func writeScan(r *scan.Report, s *site.Site, dir string, stdout io.Writer) (report []byte, err error) {
	var paths []string
	for _, write := range []func() (string, error){
		func() (p string, err error) { p, report, err = r.WriteJSONContent(dir); return p, err },
		func() (string, error) { return r.WriteHTML(dir) },
		func() (string, error) { return r.WritePatch(dir, s) },
	} {
		p, err := write()
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	if err := r.WriteSummary(stdout); err != nil {
		return nil, err
	}
	fmt.Fprintln(stdout)
	for _, p := range paths {
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	return report, nil
}
