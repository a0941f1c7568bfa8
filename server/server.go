// Package server is consentd's HTTP layer: the Fiber app, its routes,
// middleware and handlers. Dependencies are passed in through Deps.
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/docs"
	"github.com/consentd/consentd/server/asset"
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
	Config  config.Config
	Ledger  Ledger
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
	// Limiter counts consent posts against the limits shared by every
	// instance (--rate-limit, --site-rate-limit, --consent-id-limit);
	// ratelimit.New on the ledger's Redis client. nil: no limits.
	Limiter Limiter
	// Redis is the client the ledger writes through: exports page through
	// the log with it.
	Redis redis.UniversalClient
}

// Server is the consentd HTTP server.
type Server struct {
	cfg      config.Config
	appender Appender
	history  HistoryReader
	counters CounterReader
	notices  NoticeStore
	policies PolicySetter
	proofs   ProofStore
	trimmer  Trimmer
	pinger   Pinger
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
	app       *fiber.App
	catalog   atomic.Pointer[catalog]
	// adminFails counts failed admin sign-ins per client address.
	adminFails *failLimiter
	geo        *geo.Locator
	limiter    Limiter
	rdb        redis.UniversalClient
}

// catalog is an immutable snapshot of every site and its built widget.
// Reload builds a new one and swaps it in whole.
type catalog struct {
	sites   map[string]*siteEntry
	config  site.Sites      // the site files, for token checks
	origins map[string]bool // union of every site's allowed origins (for CORS preflight)
}

type siteEntry struct {
	variants     sync.Map     // "mode|country" → *asset.Asset: the bundle with a visitor's region in front
	variantCount atomic.Int64 // variants built, to bound the map
	site         *site.Site
	public       site.PublicSite
	bundle       *asset.Asset
	notice       *noticeEntry
}

// New loads the sites, builds their widgets and sets up the routes. It
// fails if any site file is invalid.
func New(d Deps) (*Server, error) {
	s := &Server{
		cfg:        d.Config,
		appender:   d.Ledger,
		history:    d.Ledger,
		counters:   d.Ledger,
		notices:    d.Ledger,
		policies:   d.Ledger,
		proofs:     d.Ledger,
		trimmer:    d.Ledger,
		pinger:     d.Ledger,
		log:        d.Logger,
		metrics:    d.Metrics,
		widget:     d.Widget,
		ui:         d.UIStrings,
		ips:        clientip.New(d.Config.TrustedProxies, d.Config.IPMode, d.Config.IPHashSecret),
		adminFails: newFailLimiter(max(d.Config.AdminFailLimit, 1), time.Minute),
		geo:        d.Geo,
		limiter:    d.Limiter,
		rdb:        d.Redis,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if d.Config.Demo {
		demo, err := loadFiles("demo", d.Demo, demoFiles)
		if err != nil {
			return nil, err
		}
		s.demo = demo
	}
	admin, err := loadFiles("admin dashboard", d.Admin, adminFiles)
	if err != nil {
		return nil, err
	}
	s.admin = admin
	if s.openapi, err = asset.New("application/yaml; charset=utf-8", docs.OpenAPI); err != nil {
		return nil, err
	}
	view, err := widget.NoticeView()
	if err != nil {
		return nil, err
	}
	if s.noticeView, err = asset.New("text/javascript; charset=utf-8", view); err != nil {
		return nil, err
	}
	if view, err = widget.PrefsView(); err != nil {
		return nil, err
	}
	if s.prefsView, err = asset.New("text/javascript; charset=utf-8", view); err != nil {
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

// Reload reads the sites directory again. If anything is invalid the
// running configuration stays in force and the error is returned.
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

func (s *Server) load() error {
	start := time.Now()
	sites, err := site.LoadDir(s.cfg.SitesDir)
	if err != nil {
		return err
	}
	c := &catalog{sites: make(map[string]*siteEntry, len(sites)), config: sites, origins: map[string]bool{}}
	for id, site := range sites {
		pub, err := site.Public()
		if err != nil {
			return err
		}
		set, err := notice.Build(site, s.ui)
		if err != nil {
			return err
		}
		ne, err := newNoticeEntry(site, set)
		if err != nil {
			return fmt.Errorf("site %s: %w", id, err)
		}
		pub.NoticeVersions = set.Versions()
		js, err := json.Marshal(pub)
		if err != nil {
			return fmt.Errorf("site %s: %w", id, err)
		}
		code, err := s.widget(js)
		if err != nil {
			return fmt.Errorf("site %s: build widget: %w", id, err)
		}
		bundle, err := asset.New("text/javascript; charset=utf-8", code)
		if err != nil {
			return fmt.Errorf("site %s: %w", id, err)
		}
		for _, d := range set.Docs {
			s.notices.RegisterNotice(id, d.Version, d.Snapshot)
		}
		for _, w := range site.CheckNotice() {
			s.log.Warn("privacy notice incomplete", "site", id, "field", w.Field, "article", w.Article, "msg", w.Msg)
		}
		s.policies.SetPolicy(id, sitePolicy(site))
		c.sites[id] = &siteEntry{site: site, public: pub, bundle: bundle, notice: ne}
		for _, o := range site.Origins {
			c.origins[o] = true
		}
		raw, gz, br := bundle.Sizes()
		s.log.Info("site loaded", "site", id, "file", site.File, "notice_versions", shortVersions(set),
			"bundle", "/w/"+id+"."+bundle.Hash+".js", "bytes", raw, "gzip", gz, "brotli", br)
	}
	s.catalog.Store(c)
	go s.saveNotices(c)
	s.log.Info("sites ready", "count", len(c.sites), "took", time.Since(start).Round(time.Millisecond))
	return nil
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
	return e, ok
}

// saveNotices writes the notice snapshots of every site to Redis, so each
// version is kept from the moment it can be shown. Best effort: when Redis
// is down the first record citing a version writes it instead.
func (s *Server) saveNotices(c *catalog) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for id := range c.sites {
		if err := s.notices.SaveNotices(ctx, id); err != nil {
			s.log.Warn("notice snapshots not saved yet; the first decision will save them", "site", id, "err", err)
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
