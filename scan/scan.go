// Package scan is `consentd scan`: it crawls a site in headless Chromium
// three times — with no decision, after "reject all" and after "accept
// all", each in a fresh browser context (of one browser whose profile
// allows third-party cookies, as a visitor's browser does), deciding
// through the consentd
// widget's JavaScript API — records every cookie and storage key, what set
// it, and the third-party hosts contacted, and compares them with the
// site file: cookies before consent or after a refusal (violations),
// undeclared cookies, declared ones never seen and lifetimes longer than
// declared. See docs/scan.md.
//
// Files: crawl.go (scope, robots.txt and sitemaps: robots.go,
// sitemap.go, the frontier), chromium.go (finding and starting the
// browser), pass.go (one pass in one browser context), recorder.go with
// recorder.js (what set each cookie), declared.go (the site file's
// declarations, durations), compare.go (the findings), patterns.go with
// patterns.yaml (known cookies), and the outputs: report.go (JSON),
// html.go (report.html), patch.go (site-patch.yaml), summary.go.
package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/consentd/consentd/config/site"
)

// Defaults of Options.
const (
	DefaultPages       = 20
	DefaultPageTimeout = 30 * time.Second
	DefaultMaxTime     = 15 * time.Minute
	DefaultWidgetWait  = 5 * time.Second
	DefaultQuiet       = 500 * time.Millisecond
	DefaultSettleMax   = 5 * time.Second
)

// Options are the settings of one scan.
type Options struct {
	// Site is the site file the pages should follow.
	Site *site.Site
	// URL is the address the crawl starts at.
	URL string
	// Pages is the most pages visited per pass (DefaultPages when 0).
	Pages int
	// PageTimeout bounds one page visit: load, widget, settling
	// (DefaultPageTimeout when 0).
	PageTimeout time.Duration
	// MaxTime bounds the whole scan (DefaultMaxTime when 0); a scan that
	// reaches it stops and reports what it has, marked incomplete.
	MaxTime time.Duration
	// WidgetWait is how long a page may take to have window.consentd
	// (DefaultWidgetWait when 0).
	WidgetWait time.Duration
	// Quiet and SettleMax: after the load (and after a decision), a page
	// is read once no request has been in flight for Quiet, or after
	// SettleMax at the latest.
	Quiet, SettleMax time.Duration
	// Chromium is the browser's path; empty: looked up (FindChromium).
	Chromium string
	// HostResolverRules are passed to Chromium (--host-resolver-rules),
	// e.g. "MAP *.example.test 127.0.0.1" in tests.
	HostResolverRules string
	// HTTP fetches robots.txt and the sitemaps; nil: a client with
	// PageTimeout.
	HTTP Fetcher
	// Patterns suggest a service for undeclared cookies; nil: the
	// built-in table.
	Patterns Patterns
	// Progress, when set, is called after each page visit.
	Progress func(Progress)
	// Log receives warnings as they happen; nil: discarded.
	Log *slog.Logger
}

// Progress is the state of a running scan.
type Progress struct {
	Pass, Passes int    // 1-based
	PassName     string // no-decision, reject-all, accept-all
	Done, Total  int    // visits of this pass done, and planned
	URL          string // the page just visited
	Elapsed      time.Duration
}

func (o *Options) applyDefaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Pages <= 0 {
		o.Pages = DefaultPages
	}
	def(&o.PageTimeout, DefaultPageTimeout)
	def(&o.MaxTime, DefaultMaxTime)
	def(&o.WidgetWait, DefaultWidgetWait)
	def(&o.Quiet, DefaultQuiet)
	def(&o.SettleMax, DefaultSettleMax)
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: o.PageTimeout}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Run scans the site: discovery (robots.txt, sitemaps), then the three
// passes in one headless Chromium, one tab at a time, then the
// comparison with the site file. It returns an error when the scan
// cannot start (no Chromium, bad address, robots.txt unreachable); a scan
// cut short by MaxTime or by ctx returns its report, Complete false.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Site == nil {
		return nil, errors.New("scan: no site")
	}
	o.applyDefaults()
	patterns := o.Patterns
	if patterns == nil {
		var err error
		if patterns, err = BuiltinPatterns(); err != nil {
			return nil, err
		}
	}
	scope, err := NewScope(o.URL)
	if err != nil {
		return nil, err
	}
	exec, err := FindChromium(o.Chromium)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	deadline := start.Add(o.MaxTime)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	disc, err := Discover(dctx, o.HTTP, scope)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", scope.Start, err)
	}
	for _, w := range disc.Warnings {
		o.Log.Warn(w)
	}
	frontier := NewFrontier(scope, disc.Robots, o.Pages)
	frontier.Add(scope.Start, disc.Pages...)
	if !disc.Robots.Allowed(UserAgent, scope.Start.RequestURI()) {
		return nil, fmt.Errorf("%s: robots.txt disallows the start address for %s", scope.Start, UserAgent)
	}

	bctx, stop, err := startBrowser(ctx, exec, o.HostResolverRules)
	if err != nil {
		return nil, err
	}
	defer stop()
	version, err := chromedp.CallBrowser(bctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		return nil, fmt.Errorf("browser version: %w", err)
	}

	r := &Report{Version: ReportVersion, Site: o.Site.ID, SiteFile: o.Site.File, URL: scope.Start.String(), Domain: scope.Domain,
		Started: start.UTC(), Browser: version.Product, Sitemaps: disc.Sitemaps, Warnings: disc.Warnings,
		Limits: Limits{Pages: o.Pages, PageTimeout: o.PageTimeout.String(), MaxTime: o.MaxTime.String()}}
	consentHosts := map[string]bool{}
	for i, spec := range passSpecs {
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		pr := &passRun{o: &o, spec: spec, index: i, browser: bctx, scope: scope, frontier: frontier, start: start,
			deadline: deadline, userAgent: version.UserAgent}
		p, err := pr.run(ctx)
		if err != nil {
			return nil, fmt.Errorf("pass %s: %w", spec.Name, err)
		}
		r.Passes = append(r.Passes, p)
		r.Warnings = append(r.Warnings, pr.warnings...)
		for h := range pr.consentHosts {
			consentHosts[h] = true
		}
	}
	r.Pages, r.Skipped = frontier.Pages(), frontier.Skipped()
	r.ConsentHosts = slices.Sorted(maps.Keys(consentHosts))
	r.Finished = time.Now().UTC()
	r.Seconds = r.Finished.Sub(r.Started).Seconds()
	visits := 0
	for _, p := range r.Passes {
		visits += len(p.Visits)
	}
	r.Visits = visits
	if r.Seconds > 0 {
		r.PagesPerMinute = float64(visits) / r.Seconds * 60
	}
	r.Complete = len(r.Passes) == len(passSpecs)
	for _, p := range r.Passes {
		r.Complete = r.Complete && p.Complete
	}
	switch {
	case ctx.Err() != nil:
		r.Warnings = append(r.Warnings, "the scan was interrupted: the report covers what was visited until then")
	case !r.Complete:
		r.Warnings = append(r.Warnings, fmt.Sprintf("the scan reached its time limit (%s) or a pass could not decide: the report is incomplete", o.MaxTime))
	}
	r.Findings = Compare(Declared(o.Site), patterns, r.Passes)
	return r, nil
}
