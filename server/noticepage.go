package server

import (
	"context"
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

// noticeEntry is a site's rendered notice, ready to serve.
type noticeEntry struct {
	pages    map[string]*asset.Asset // language → standalone page
	fallback map[string]*asset.Asset // language asked for that the site lacks ("" any other) → page with a note
	json     *asset.Asset            // structured notice
	snaps    map[string]*asset.Asset // version → snapshot (current versions)
	versions map[string]string       // version → language (current versions)
	csp      string                  // the page's Content-Security-Policy
}

func (s *Server) newNoticeEntry(site *site.Site, set *notice.Set) (*noticeEntry, error) {
	n := &noticeEntry{pages: map[string]*asset.Asset{}, snaps: map[string]*asset.Asset{},
		versions: map[string]string{}, fallback: map[string]*asset.Asset{}}
	var err error
	for asked, page := range set.Fallback {
		if n.fallback[asked], err = s.asset("text/html; charset=utf-8", page); err != nil {
			return nil, err
		}
	}
	for lang, d := range set.Docs {
		if n.pages[lang], err = s.asset("text/html; charset=utf-8", d.Page); err != nil {
			return nil, err
		}
		if n.snaps[d.Version], err = s.asset(fiber.MIMEApplicationJSONCharsetUTF8, d.Snapshot); err != nil {
			return nil, err
		}
		n.versions[d.Version] = lang
	}
	if n.json, err = s.asset(fiber.MIMEApplicationJSONCharsetUTF8, set.JSON); err != nil {
		return nil, err
	}
	// Sites may frame their notice page; nobody else may.
	n.csp = notice.PageCSP + "; frame-ancestors " + strings.Join(site.Origins, " ")
	return n, nil
}

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
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return e.notice.json.Serve(c, cacheShort)
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
		page := e.notice.fallback[lang]
		if page == nil {
			page = e.notice.fallback[""]
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
	c.Set(fiber.HeaderContentSecurityPolicy, e.notice.csp)
	c.Response().Header.Del(fiber.HeaderXFrameOptions)
	c.Set(fiber.HeaderContentLanguage, lang)
	return e.notice.pages[lang].Serve(c, cacheShort)
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
	if a := e.notice.snaps[v]; a != nil {
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
	if l, ok := e.notice.versions[version]; ok {
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
