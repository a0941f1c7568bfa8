// Package server is consentd's HTTP layer: the Fiber app, its routes,
// middleware and handlers. Dependencies are passed in through Deps.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/config/controllers"
	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/docs"
	"github.com/consentd/consentd/server/asset"
	"github.com/consentd/consentd/server/auth"
	"github.com/consentd/consentd/server/clientip"
	"github.com/consentd/consentd/server/geo"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/metrics"
	"github.com/consentd/consentd/server/notice"
	"github.com/consentd/consentd/widget"
)

// Ledger is what the server needs of the consent store (*ledger.Ledger):
// the small interfaces each route defines where it uses them.
type Ledger interface {
	Appender      // consent.go
	HistoryReader // admin.go
	ScanReader    // scans.go
	CounterReader // stats.go
	NoticeStore   // noticepage.go, and the notice registry of every site load
	PolicySetter  // every site load
	ProofStore    // proof.go, export.go
	Trimmer       // the retention job
	Pinger        // health.go
}

// PolicySetter takes how the store keeps each site's data, when the site
// loads (as its notices are registered): records do not carry it.
type PolicySetter interface {
	SetPolicy(site string, p ledger.Policy)
}

// Trimmer trims a site's log to its retention (the retention job).
type Trimmer interface {
	Trim(ctx context.Context, site string, cutoff time.Time) (int64, error)
}

// WidgetBuilder bundles the widget for one site's public config JSON
// (widget.Build in production).
type WidgetBuilder func(siteJSON []byte) ([]byte, error)

// Deps are the server's collaborators.
type Deps struct {
	Config config.Config
	Ledger Ledger
	// Assets compresses the sites' widget bundles and notice pages in the
	// background; nil: each is compressed when it is made (slow start-up
	// with many sites, docs/performance.md).
	Assets  *asset.Compressor
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	Widget  WidgetBuilder
	// UIStrings are the widget's built-in texts per language
	// (widget.Strings); they are part of every notice version.
	UIStrings notice.UIStrings
	// Demo holds the demo site's files (index.html, ...); served at / when
	// Config.Demo is set. May be nil otherwise.
	Demo fs.FS
	// Admin holds the dashboard's files (assets.Admin()), served at /admin.
	Admin fs.FS
	// Geo locates visitors for regional policies; nil: every location is
	// unknown (opt-in).
	Geo *geo.Locator
	// Redis is the client the ledger writes through: exports page through
	// the log with it.
	Redis redis.UniversalClient
	// Sites reads the site files; nil: site.NewLoader() (no parsed-site
	// cache: every start parses and checks every file).
	Sites *site.Loader
}

// Server is the consentd HTTP server.
type Server struct {
	cfg      config.Config
	appender Appender
	history  HistoryReader
	scans    ScanReader
	counters CounterReader
	notices  NoticeStore
	policies PolicySetter
	proofs   ProofStore
	trimmer  Trimmer
	pinger   Pinger
	sites    *site.Loader
	log      *slog.Logger
	metrics  *metrics.Metrics
	widget   WidgetBuilder
	ui       notice.UIStrings
	ips      *clientip.Resolver
	demo     map[string]*asset.Asset
	admin    map[string]*asset.Asset
	openapi  *asset.Asset
	// noticeView is the notice view script (widget.NoticeView).
	noticeView *asset.Asset
	// prefsView is the settings script (widget.PrefsView).
	prefsView *asset.Asset
	// core is the widget's later script (widget.Core).
	core    *asset.Asset
	app     *fiber.App
	catalog atomic.Pointer[catalog]
	// adminFails counts failed admin sign-ins per client address.
	adminFails *failLimiter
	assets     *asset.Compressor
	// noticeCache keeps the notice pages, snapshots and JSON rendered on
	// request, across all sites, up to Config.NoticeCache bytes.
	noticeCache *asset.Cache
	// builds numbers the site builds: a build's notice cache keys start
	// with its number, so a rebuilt site never meets its old pages.
	builds atomic.Uint64
	geo    *geo.Locator
	rdb    redis.UniversalClient
}

// catalog is an immutable snapshot of every site and its built widget.
// Reload builds a new one and swaps it in whole.
type catalog struct {
	sites   map[string]*siteEntry
	config  site.Sites      // the site files, reused by the next load
	tokens  *auth.Tokens    // every admin token: site files and controllers file
	origins map[string]bool // union of every site's allowed origins (for CORS preflight)
	// dirState is the sites directory and the controllers file as they
	// were when this catalog was read (configState): WatchSites reloads
	// when they are no longer so.
	dirState string
	// warm is closed once the warm-up has built every new entry.
	warm chan struct{}
}

// siteEntry is one site of a catalog. Its widget bundle and notice
// versions are built on first use or by the warm-up that follows each
// load, whichever comes first: s.site returns entries that are built.
// Its notice pages are rendered when asked for (noticepage.go).
type siteEntry struct {
	variants     sync.Map     // "mode|country" → *asset.Asset: the bundle with a visitor's region in front
	variantCount atomic.Int64 // variants built, to bound the map
	site         *site.Site

	once     sync.Once
	buildErr error
	// Set by the build (read only after once.Do):
	bundle *asset.Asset
	notice *noticeEntry
	// consentVersion is the site's consent version (site.ConsentVersionOf)
	// the widget was built with, for the decision cookie (cookie.go).
	consentVersion string
}

// build builds the entry once (later calls wait for the first).
func (e *siteEntry) build(s *Server) error {
	e.once.Do(func() {
		if e.buildErr = s.buildSite(e); e.buildErr != nil {
			s.log.Error("site not built: it answers as unknown", "site", e.site.ID, "err", e.buildErr)
		}
	})
	return e.buildErr
}

// New loads the sites, builds their widgets and sets up the routes. It
// fails if any site file is invalid.
func New(d Deps) (*Server, error) {
	s := &Server{
		cfg:         d.Config,
		appender:    d.Ledger,
		history:     d.Ledger,
		scans:       d.Ledger,
		counters:    d.Ledger,
		notices:     d.Ledger,
		policies:    d.Ledger,
		proofs:      d.Ledger,
		trimmer:     d.Ledger,
		pinger:      d.Ledger,
		log:         d.Logger,
		metrics:     d.Metrics,
		widget:      d.Widget,
		ui:          d.UIStrings,
		ips:         clientip.New(d.Config.TrustedProxies, d.Config.IPMode, d.Config.IPHashSecret),
		assets:      d.Assets,
		noticeCache: asset.NewCache(d.Config.NoticeCache),
		adminFails:  newFailLimiter(max(d.Config.AdminFailLimit, 1), time.Minute),
		geo:         d.Geo,
		rdb:         d.Redis,
		sites:       d.Sites,
	}
	if s.sites == nil {
		l, err := site.NewLoader()
		if err != nil {
			return nil, err
		}
		s.sites = l
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	s.metrics.WatchNoticeCache(func() metrics.CacheFigures {
		st := s.noticeCache.Stats()
		return metrics.CacheFigures{Entries: st.Assets, Bytes: st.Bytes, Budget: st.Budget, Evicted: st.Evicted, Hits: st.Hits, Misses: st.Misses}
	})
	if d.Config.Demo {
		demo, err := s.loadFiles("demo", d.Demo, demoFiles)
		if err != nil {
			return nil, err
		}
		s.demo = demo
	}
	admin, err := s.loadFiles("admin dashboard", d.Admin, adminFiles)
	if err != nil {
		return nil, err
	}
	s.admin = admin
	if s.openapi, err = s.asset("application/yaml; charset=utf-8", docs.OpenAPI); err != nil {
		return nil, err
	}
	view, err := widget.NoticeView()
	if err != nil {
		return nil, err
	}
	if s.noticeView, err = s.asset("text/javascript; charset=utf-8", view); err != nil {
		return nil, err
	}
	if view, err = widget.PrefsView(); err != nil {
		return nil, err
	}
	if s.prefsView, err = asset.New("text/javascript; charset=utf-8", view); err != nil {
		return nil, err
	}
	// Every page view loads it: compressed at once, like the settings.
	if view, err = widget.Core(); err != nil {
		return nil, err
	}
	if s.core, err = asset.New("text/javascript; charset=utf-8", view); err != nil {
		return nil, err
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	s.app = s.newApp()
	return s, nil
}

// App returns the Fiber app (for Listener, Test and Shutdown).
func (s *Server) App() *fiber.App { return s.app }

// Reload reads the sites directory and the controllers file again. If
// anything is invalid the running configuration stays in force and the
// error is returned.
func (s *Server) Reload() error {
	err := s.load()
	s.metrics.Reload(err)
	return err
}

// SiteIDs returns the ids of the sites in force.
func (s *Server) SiteIDs() []string {
	c := s.catalog.Load()
	ids := make(site.Sites, len(c.sites))
	for id, e := range c.sites {
		ids[id] = e.site
	}
	return ids.IDs()
}

// asset makes a site's asset: compressed in the background when the
// server has a Compressor, else now.
func (s *Server) asset(contentType string, raw []byte) (*asset.Asset, error) {
	if s.assets != nil {
		return s.assets.New(contentType, raw), nil
	}
	return asset.New(contentType, raw)
}

// requestedAsset makes an asset for the request in hand: with a
// Compressor, its compressed forms come from the cache directory at once
// or are made next; else now.
func (s *Server) requestedAsset(contentType string, raw []byte) (*asset.Asset, error) {
	if s.assets != nil {
		return s.assets.NewRequested(contentType, raw), nil
	}
	return asset.New(contentType, raw)
}

// sitePolicy is how the store keeps site's data: visitor state as long
// as its log (logRetentionDays), report counters at least 400 days, and
// no opt-in counts of required categories.
func sitePolicy(st *site.Site) ledger.Policy {
	p := ledger.Policy{
		CounterTTL:   time.Duration(max(st.LogRetentionDays, 400)) * 24 * time.Hour,
		RetentionTTL: time.Duration(st.LogRetentionDays) * 24 * time.Hour,
	}
	for _, cat := range st.Categories {
		if cat.Required {
			p.Required = append(p.Required, cat.ID)
		}
	}
	return p
}

// load reads the sites directory and the controllers file and swaps the
// new catalog in. A site whose file has not changed since the last load
// keeps its built entry (widget bundle, notice, variants); the others
// are built in parallel.
func (s *Server) load() error {
	start := time.Now()
	state := s.configState() // before reading: a change while reading is met by the next check
	old := s.catalog.Load()
	var prev site.Sites
	if old != nil {
		prev = old.config
	}
	sites, err := s.sites.LoadDirReusing(s.cfg.SitesDir, prev)
	if err != nil {
		return err
	}
	ctl, err := s.loadControllers(sites)
	if err != nil {
		return err
	}
	c := &catalog{sites: make(map[string]*siteEntry, len(sites)), config: sites, tokens: auth.NewTokens(sites, ctl),
		origins: map[string]bool{}, dirState: state, warm: make(chan struct{})}
	var fresh []*siteEntry
	for id, st := range sites {
		if old != nil && old.sites[id] != nil && old.sites[id].site == st {
			c.sites[id] = old.sites[id]
			continue
		}
		// What Build would refuse is refused now, at load, as every
		// other error of a site file.
		if err := notice.Check(st, s.ui); err != nil {
			return err
		}
		e := &siteEntry{site: st}
		c.sites[id], fresh = e, append(fresh, e)
	}
	for _, st := range sites {
		for _, o := range st.Origins {
			c.origins[o] = true
		}
	}
	for _, e := range fresh {
		if old != nil && old.sites[e.site.ID] != nil {
			s.logChange(old.sites[e.site.ID].site, e.site)
		}
		for _, w := range e.site.CheckNotice() {
			s.log.Warn("privacy notice incomplete", "site", e.site.ID, "field", w.Field, "article", w.Article, "msg", w.Msg)
		}
		s.policies.SetPolicy(e.site.ID, sitePolicy(e.site))
	}
	s.catalog.Store(c)
	go s.warmUp(c, fresh)
	s.log.Info("sites ready", "count", len(c.sites), "to_build", len(fresh), "unchanged", len(c.sites)-len(fresh),
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// logChange says what a changed site file means for the visitors'
// stored decisions (docs/widget.md, "When the widget asks again").
func (s *Server) logChange(before, after *site.Site) {
	s.log.Info("site changed: "+site.CompareConsent(before, after).String(), "site", after.ID,
		"consent_version", after.ConsentVersionOf(), "was", before.ConsentVersionOf())
}

// loadControllers reads the controllers file (config.ControllersPath)
// and checks it against sites: nil when there is none, an error when it
// is invalid or when a file that must exist does not.
func (s *Server) loadControllers(sites site.Sites) (*controllers.File, error) {
	path, required := s.cfg.ControllersPath()
	if path == "" {
		return nil, nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if !required {
			return nil, nil
		}
		return nil, fmt.Errorf("controllers file %s (%s): not found: create it, or set %s to auto (%s next to the sites directory, when it exists) or off",
			path, config.EnvName("controllers"), config.EnvName("controllers"), config.ControllersFileName)
	}
	return controllers.Load(path, sites)
}

// warmUp builds the catalog's new entries in the background, a few at a
// time, so that first requests seldom wait for a build, and primes the
// asset cache with their notice pages; then it saves the notice
// snapshots of the sites and closes c.warm.
func (s *Server) warmUp(c *catalog, fresh []*siteEntry) {
	defer close(c.warm)
	start := time.Now()
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, e := range fresh {
		g.Go(func() error {
			if e.build(s) == nil { // a failure is logged by build
				s.primeNotice(e)
			}
			return nil
		})
	}
	_ = g.Wait()
	s.saveNotices(fresh)
	if len(fresh) > 0 {
		s.log.Info("sites built", "count", len(fresh), "took", time.Since(start).Round(time.Millisecond))
	}
}

// WaitBuilt returns once every site of the current catalog is built (or
// ctx ends).
func (s *Server) WaitBuilt(ctx context.Context) error {
	select {
	case <-s.catalog.Load().warm:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// buildSite builds what a site serves at once: its widget bundle, with
// the notice versions in its public config; and registers the notice
// snapshots with the ledger, which keeps each until it is in Redis. The
// notice pages are rendered when asked for.
func (s *Server) buildSite(e *siteEntry) error {
	st := e.site
	pub, err := st.Public()
	if err != nil {
		return err
	}
	set, err := notice.Snapshots(st, s.ui)
	if err != nil {
		return err
	}
	ne := s.newNoticeEntry(st, set)
	pub.NoticeVersions = ne.versions
	js, err := json.Marshal(pub)
	if err != nil {
		return err
	}
	code, err := s.widget(js)
	if err != nil {
		return fmt.Errorf("build widget: %w", err)
	}
	bundle, err := s.asset("text/javascript; charset=utf-8", code)
	if err != nil {
		return err
	}
	for _, d := range set.Docs {
		s.notices.RegisterNotice(st.ID, d.Version, d.Snapshot)
	}
	e.bundle, e.notice, e.consentVersion = bundle, ne, pub.ConsentVersion
	raw, _, _ := bundle.Sizes()
	s.log.Info("site built", "site", st.ID, "file", st.File, "notice_versions", shortVersions(set),
		"bundle", "/w/"+st.ID+"."+bundle.Hash+".js", "bytes", raw)
	return nil
}

// primeNotice renders every notice document of a built entry and hands
// it to the Compressor's Prime, so that the cache directory has their
// compressed forms: a document rendered on request later gets them at
// once, and is served compressed from its first request as it was when
// every page was kept. Nothing rendered here is kept in memory.
func (s *Server) primeNotice(e *siteEntry) {
	if s.assets == nil {
		return
	}
	set, err := notice.Build(e.site, s.ui)
	if err != nil {
		s.log.Warn("notice pages not primed: compressed when asked for", "site", e.site.ID, "err", err)
		return
	}
	const html, json = fiber.MIMETextHTMLCharsetUTF8, fiber.MIMEApplicationJSONCharsetUTF8
	for _, d := range set.Docs {
		s.assets.Prime(html, d.Page)
		s.assets.Prime(json, d.Snapshot)
	}
	for _, page := range set.Fallback {
		s.assets.Prime(html, page)
	}
	s.assets.Prime(json, set.JSON)
}

// BundlePath returns the content-hashed path of a site's widget bundle
// (/w/<id>.<hash>.js), the same for every visitor and cached for a year.
func (s *Server) BundlePath(id string) (string, bool) {
	e, ok := s.site(id)
	if !ok {
		return "", false
	}
	return "/w/" + id + "." + e.bundle.Hash + ".js", true
}

func (s *Server) site(id string) (*siteEntry, bool) {
	e, ok := s.catalog.Load().sites[id]
	if !ok || e.build(s) != nil {
		return nil, false
	}
	return e, true
}

// saveNotices writes the notice snapshots of the built entries to Redis,
// so each version is kept from the moment it can be shown. Best effort:
// when Redis is down the first record citing a version writes it instead.
func (s *Server) saveNotices(entries []*siteEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, e := range entries {
		if err := s.notices.SaveNotices(ctx, e.site.ID); err != nil {
			s.log.Warn("notice snapshots not saved yet; the first decision will save them", "site", e.site.ID, "err", err)
		}
	}
}

// shortVersions formats a set's versions for the log: "fi=1a2b3c4d5e6f ...".
func shortVersions(set *notice.Set) string {
	langs := make([]string, 0, len(set.Docs))
	for l := range set.Docs {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	var b strings.Builder
	for i, l := range langs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(l + "=" + set.Docs[l].Version[:12])
	}
	return b.String()
}

// RunRetention trims every site's consent log to its logRetentionDays now
// and then every interval, until ctx ends. Several instances may run it
// at once: trimming twice removes nothing more.
func (s *Server) RunRetention(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.TrimLogs(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// TrimLogs removes, from each site's log, the records older than the
// site's retention at now.
func (s *Server) TrimLogs(ctx context.Context, now time.Time) {
	for id, e := range s.catalog.Load().sites {
		cutoff := now.AddDate(0, 0, -e.site.LogRetentionDays)
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		n, err := s.trimmer.Trim(tctx, id, cutoff)
		cancel()
		if err != nil {
			s.log.Warn("retention: log not trimmed; next try at the next interval", "site", id, "err", err)
			continue
		}
		s.metrics.Trimmed(id, n)
		if n > 0 {
			s.log.Info("retention: trimmed consent log", "site", id, "records", n, "older_than", cutoff.UTC().Format(time.RFC3339))
		}
	}
}
