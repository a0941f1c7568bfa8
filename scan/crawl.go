package scan

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Scope is what the scan counts as the site: its pages are those of the
// start address's origin; its first party is the registrable domain of
// that host (www.example.fi → example.fi), so cookies and requests of
// other hosts under it are first-party too.
type Scope struct {
	Start  *url.URL
	Domain string // the registrable domain, or the host itself for an IP address or a single label
}

// NewScope checks the start address: http or https with a host.
func NewScope(start string) (Scope, error) {
	u, err := url.Parse(start)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Scope{}, fmt.Errorf("%q is not a web address: expected http:// or https:// and a host", start)
	}
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	return Scope{Start: u, Domain: registrableDomain(u.Hostname())}, nil
}

// registrableDomain is the host's eTLD+1 by the public suffix list, or
// the host for an IP address or a name the list cannot place.
func registrableDomain(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(host) != nil {
		return host
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return d
}

// FirstParty reports whether host (or a cookie's domain, with or without
// its leading dot) is under the site's registrable domain.
func (s Scope) FirstParty(host string) bool {
	host = strings.ToLower(strings.TrimPrefix(host, "."))
	return host == s.Domain || strings.HasSuffix(host, "."+s.Domain)
}

// nonPages are file name endings the crawl does not open as pages.
var nonPages = map[string]bool{
	".pdf": true, ".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true, ".svg": true, ".ico": true,
	".zip": true, ".gz": true, ".mp4": true, ".webm": true, ".mp3": true, ".doc": true, ".docx": true, ".xls": true,
	".xlsx": true, ".ppt": true, ".pptx": true, ".css": true, ".js": true, ".json": true, ".xml": true, ".txt": true,
}

// Page resolves a link found on base (or a sitemap address) and returns
// it as a page of the site: same origin, no fragment, not a file such as
// a PDF. ok is false for anything else.
func (s Scope) Page(base *url.URL, link string) (string, bool) {
	u, err := base.Parse(strings.TrimSpace(link))
	if err != nil || u.Scheme != s.Start.Scheme || !strings.EqualFold(u.Host, s.Start.Host) {
		return "", false
	}
	if nonPages[strings.ToLower(path.Ext(u.Path))] {
		return "", false
	}
	u.Fragment, u.RawFragment, u.User = "", "", nil
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), true
}

// Skip is an address the crawl found but did not visit, and why.
type Skip struct {
	URL    string `json:"url"`
	Reason string `json:"reason"`
}

// Frontier is the breadth-first queue of the crawl: pages in the order
// found, each once, robots.txt honoured, at most Limit.
type Frontier struct {
	scope   Scope
	robots  *Robots
	limit   int
	queue   []string
	seen    map[string]bool
	skipped []Skip
}

// NewFrontier starts a crawl of at most limit pages at the scope's
// start address.
func NewFrontier(scope Scope, robots *Robots, limit int) *Frontier {
	f := &Frontier{scope: scope, robots: robots, limit: limit, seen: map[string]bool{}}
	f.Add(scope.Start, scope.Start.String())
	return f
}

// Add queues the pages of links found on base. Pages robots.txt
// disallows are remembered as skipped; beyond the limit, nothing is
// queued.
func (f *Frontier) Add(base *url.URL, links ...string) {
	for _, l := range links {
		p, ok := f.scope.Page(base, l)
		if !ok || f.seen[p] {
			continue
		}
		f.seen[p] = true
		u, _ := url.Parse(p)
		if !f.robots.Allowed(UserAgent, u.RequestURI()) {
			f.skipped = append(f.skipped, Skip{URL: p, Reason: "disallowed by robots.txt"})
			continue
		}
		if len(f.queue) < f.limit {
			f.queue = append(f.queue, p)
		}
	}
}

// Pages are the pages queued so far, in order.
func (f *Frontier) Pages() []string { return f.queue }

// Skipped are the pages found and not queued because of robots.txt.
func (f *Frontier) Skipped() []Skip { return f.skipped }

// Full reports whether the limit is reached.
func (f *Frontier) Full() bool { return len(f.queue) >= f.limit }

// maxFetch bounds robots.txt and sitemap files.
const maxFetch = 10 << 20

// maxSitemaps bounds the sitemap files read (an index and its maps).
const maxSitemaps = 10

// Fetcher gets robots.txt and sitemaps; *http.Client is one.
type Fetcher interface {
	Do(req *http.Request) (*http.Response, error)
}

// fetch GETs u; a 404 (or other 4xx) is "not there": nil, nil.
func fetch(ctx context.Context, c Fetcher, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", UserAgent+" (consentd; +https://github.com/consentd/consentd/blob/main/docs/scan.md)")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 && resp.StatusCode < 500 {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxFetch))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return b, nil
}

// Discovery is what the site says of itself before the crawl: its
// robots.txt and the pages of its sitemaps.
type Discovery struct {
	Robots   *Robots
	Sitemaps []string // the sitemap files read
	Pages    []string // their page addresses, in order
	Warnings []string
}

// Discover reads robots.txt and the sitemaps it names (else
// /sitemap.xml), following one level of sitemap index.
func Discover(ctx context.Context, c Fetcher, scope Scope) (Discovery, error) {
	root := &url.URL{Scheme: scope.Start.Scheme, Host: scope.Start.Host}
	var d Discovery
	b, err := fetch(ctx, c, root.JoinPath("robots.txt").String())
	if err != nil {
		return d, fmt.Errorf("robots.txt: %w", err)
	}
	d.Robots = ParseRobots(b)
	maps := d.Robots.Sitemaps
	if len(maps) == 0 {
		maps = []string{root.JoinPath("sitemap.xml").String()}
	}
	for len(maps) > 0 && len(d.Sitemaps) < maxSitemaps {
		m := maps[0]
		maps = maps[1:]
		b, err := fetch(ctx, c, m)
		if err != nil {
			d.Warnings = append(d.Warnings, fmt.Sprintf("sitemap %s: %v", m, err))
			continue
		}
		if b == nil {
			continue
		}
		d.Sitemaps = append(d.Sitemaps, m)
		sm, err := ParseSitemap(b)
		if err != nil {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %v", m, err))
			continue
		}
		d.Pages = append(d.Pages, sm.Pages...)
		maps = append(maps, sm.Sitemaps...)
	}
	return d, nil
}
