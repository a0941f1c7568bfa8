package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/asset"
	"github.com/consentd/consentd/server/notice"
)

// NoticeStore keeps the snapshot of every notice version: registered when
// a site loads, saved to Redis, read back for a version no longer loaded.
type NoticeStore interface {
	RegisterNotice(site, version string, snapshotJSON []byte)
	SaveNotices(ctx context.Context, site string) error
	Notice(ctx context.Context, site, version string) ([]byte, bool, error)
}

// noticeEntry is what a site build keeps of its notice: the versions
// and the page's CSP. The pages, snapshots and JSON are rendered when
// asked for and kept in the server's notice cache while they are asked
// for; they are the same bytes (and so ETags) whenever they are rendered.
type noticeEntry struct {
	key      string            // this build's prefix in the notice cache: "<build number> <site>"
	versions map[string]string // language → current notice version
	csp      string            // the page's Content-Security-Policy
}

func (s *Server) newNoticeEntry(site *site.Site, set *notice.Set) *noticeEntry {
	return &noticeEntry{key: strconv.FormatUint(s.builds.Add(1), 10) + " " + site.ID, versions: set.Versions(),
		// Sites may frame their notice page; nobody else may.
		csp: notice.PageCSP + "; frame-ancestors " + strings.Join(site.Origins, " ")}
}

// language returns the language whose current notice version is v.
func (n *noticeEntry) language(v string) (string, bool) {
	for lang, version := range n.versions {
		if version == v {
			return lang, true
		}
	}
	return "", false
}

// Kinds of notice documents, in notice cache keys.
const (
	noticePageDoc     = "page"     // the standalone page in a language
	noticeFallbackDoc = "fallback" // the page for a language the site lacks (by notice.FallbackKey)
	noticeJSONDoc     = "json"     // the structured notice
	noticeSnapDoc     = "snapshot" // the snapshot of a current version, by language
)

// noticeAsset returns one of e's notice documents (kind, lang) from the
// notice cache, rendering it when the cache does not hold it.
func (s *Server) noticeAsset(e *siteEntry, kind, lang string) (*asset.Asset, error) {
	return s.noticeCache.Get(e.notice.key+" "+kind+" "+lang, func() (*asset.Asset, error) {
		st, versions := e.site, e.notice.versions
		contentType := fiber.MIMETextHTMLCharsetUTF8
		var b []byte
		var err error
		switch kind {
		case noticePageDoc:
			b, err = notice.Page(st, versions, lang)
		case noticeFallbackDoc:
			b, err = notice.FallbackPage(st, versions, lang)
		case noticeJSONDoc:
			contentType = fiber.MIMEApplicationJSONCharsetUTF8
			b, err = notice.JSON(st, versions)
		case noticeSnapDoc:
			contentType = fiber.MIMEApplicationJSONCharsetUTF8
			var d *notice.Document
			if d, err = notice.Doc(st, s.ui, lang); err == nil && d.Version != versions[lang] {
				err = fmt.Errorf("site %s: the %s notice renders to version %s, not %s as built", st.ID, lang, d.Version, versions[lang])
			}
			if err == nil {
				b = d.Snapshot
			}
		default:
			err = fmt.Errorf("unknown notice document %q", kind)
		}
		if err != nil {
			return nil, err
		}
		return s.requestedAsset(contentType, b)
	})
}

// NoticeCacheStats returns what the notice cache holds: the rendered
// notice pages, snapshots and JSON of all sites.
func (s *Server) NoticeCacheStats() asset.CacheStats { return s.noticeCache.Stats() }

// noticeJSON serves GET /n/{site}.json: the structured notice, every
// language in one. A lang parameter, if any, must be one of the site's.
func (s *Server) noticeJSON(c *fiber.Ctx) error {
	e, err := s.noticeSite(c.Params("site"))
	if err != nil {
		return err
	}
	if lang := c.Query("lang"); lang != "" && !e.site.HasLanguage(lang) {
		return badRequest("lang", "must be one of the site's languages: "+strings.Join(e.site.Languages, ", "))
	}
	a, err := s.noticeAsset(e, noticeJSONDoc, "")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return a.Serve(c, cacheShort)
}

// noticePage serves GET /n/{site}: the standalone page in ?lang=fi, else
// the browser's Accept-Language, else the site's default language. A
// ?lang the site does not have gets the default language's page with a
// note saying so (in the language asked for when it is built in): a
// visitor who follows a link with another language still reads the
// notice.
func (s *Server) noticePage(c *fiber.Ctx) error {
	e, err := s.noticeSite(c.Params("site"))
	if err != nil {
		return err
	}
	lang := c.Query("lang")
	switch {
	case lang != "" && !e.site.HasLanguage(lang):
		page, err := s.noticeAsset(e, noticeFallbackDoc, notice.FallbackKey(e.site, lang))
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentSecurityPolicy, e.notice.csp)
		c.Response().Header.Del(fiber.HeaderXFrameOptions)
		c.Set(fiber.HeaderContentLanguage, e.site.DefaultLanguage)
		return page.Serve(c, cacheShort)
	case lang == "":
		c.Vary(fiber.HeaderAcceptLanguage)
		lang = c.AcceptsLanguages(e.site.Languages...)
		if lang == "" {
			lang = e.site.DefaultLanguage
		}
	}
	page, err := s.noticeAsset(e, noticePageDoc, lang)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentSecurityPolicy, e.notice.csp)
	c.Response().Header.Del(fiber.HeaderXFrameOptions)
	c.Set(fiber.HeaderContentLanguage, lang)
	return page.Serve(c, cacheShort)
}

// noticeVersion serves GET /n/{site}/v/{version}: the snapshot of exactly
// what a notice version showed, from memory for the current versions and
// from Redis for earlier ones. Content-addressed, so cached forever.
// The widget reads its notice view from here.
func (s *Server) noticeVersion(c *fiber.Ctx) error {
	e, err := s.noticeSite(c.Params("site"))
	if err != nil {
		return err
	}
	v := c.Params("version")
	if !isVersion(v) {
		return badRequest("version", "must be a notice version: 64 lowercase hex digits")
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if lang, ok := e.notice.language(v); ok {
		a, err := s.noticeAsset(e, noticeSnapDoc, lang)
		if err != nil {
			return err
		}
		return a.Serve(c, cacheImmutable)
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.AppendTimeout)
	defer cancel()
	b, ok, err := s.notices.Notice(ctx, e.site.ID, v)
	if err != nil {
		s.log.Warn("notice snapshot not read", "site", e.site.ID, "err", err)
		return &APIError{Code: fiber.StatusServiceUnavailable, Msg: "notice store unavailable, retry later", RetryAfter: "2"}
	}
	if !ok {
		return &APIError{Code: fiber.StatusNotFound, Field: "version", Msg: "no notice with this version for site " + e.site.ID}
	}
	c.Set(fiber.HeaderCacheControl, cacheImmutable)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(b)
}

func (s *Server) noticeSite(id string) (*siteEntry, error) {
	e, ok := s.site(id)
	if !site.ValidID(id) || !ok {
		return nil, &APIError{Code: fiber.StatusNotFound, Field: "site", Msg: "unknown site"}
	}
	return e, nil
}

// checkNoticeVersion makes sure a record cites a notice that exists: one
// of the site's current versions (in the record's language), or an
// earlier one kept in Redis (a page loaded before the notice changed).
func (s *Server) checkNoticeVersion(ctx context.Context, e *siteEntry, version, lang string) error {
	if l, ok := e.notice.language(version); ok {
		if l != lang {
			return badRequest("language", "does not match noticeVersion, which is the "+l+" notice")
		}
		return nil
	}
	_, ok, err := s.notices.Notice(ctx, e.site.ID, version)
	if err != nil {
		return err
	}
	if !ok {
		return badRequest("noticeVersion", "unknown notice version for this site: the page has an outdated widget; reload it")
	}
	return nil
}
