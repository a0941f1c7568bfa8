package scan

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestRobots(t *testing.T) {
	const general = `# comments and unknown lines are ignored
User-agent: *
Disallow: /private
Disallow: /*.php$
Allow: /private/open
Crawl-delay: 10

User-agent: otherbot
Disallow: /

Sitemap: https://www.example.fi/sitemap.xml
`
	const own = general + `
User-agent: consentd-scan
User-agent: somebot
Disallow: /drafts
`
	for _, tt := range []struct {
		name, robots, path string
		want               bool
	}{
		{"no rules", "", "/anything", true},
		{"disallowed for *", general, "/private", false},
		{"a longer path under a disallowed prefix", general, "/private/x", false},
		{"a longer Allow wins", general, "/private/open/page", true},
		{"not matching", general, "/public", true},
		{"prefix is literal", general, "/privat", true},
		{"wildcard and end anchor", general, "/a/index.php", false},
		{"end anchor not at the end", general, "/a/index.php?x=1", true},
		{"robots.txt itself", "User-agent: *\nDisallow: /", "/robots.txt", true},
		{"the whole site disallowed", "User-agent: *\nDisallow: /", "/", false},
		{"empty Disallow allows", "User-agent: *\nDisallow:", "/x", true},
		{"another bot's rules do not apply", general, "/somewhere", true},
		// RFC 9309: the group naming the scan replaces the * group.
		{"own group applies", own, "/drafts/1", false},
		{"own group replaces *", own, "/private", true},
		{"case-insensitive agent", "User-agent: Consentd-Scan\nDisallow: /x", "/x", false},
		{"own group allowing all", "User-agent: *\nDisallow: /\n\nUser-agent: consentd-scan\nAllow: /", "/page", true},
		{"own group, empty Disallow", "User-agent: *\nDisallow: /\n\nUser-agent: consentd-scan\nDisallow:", "/page", true},
	} {
		if got := ParseRobots([]byte(tt.robots)).Allowed(UserAgent, tt.path); got != tt.want {
			t.Errorf("%s: Allowed(%q) = %v, want %v", tt.name, tt.path, got, tt.want)
		}
	}
	if got := ParseRobots([]byte(general)).Sitemaps; !reflect.DeepEqual(got, []string{"https://www.example.fi/sitemap.xml"}) {
		t.Errorf("sitemaps %q", got)
	}
}

func TestParseSitemap(t *testing.T) {
	for _, tt := range []struct {
		name, xml string
		want      Sitemap
		err       string
	}{
		{"urlset", `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
			<url><loc> https://a.fi/ </loc><lastmod>2026-01-01</lastmod></url><url><loc>https://a.fi/b</loc></url><url><loc></loc></url></urlset>`,
			Sitemap{Pages: []string{"https://a.fi/", "https://a.fi/b"}}, ""},
		{"index", `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://a.fi/s1.xml</loc></sitemap></sitemapindex>`,
			Sitemap{Sitemaps: []string{"https://a.fi/s1.xml"}}, ""},
		{"html", `<html><body>not found</body></html>`, Sitemap{}, "root element <html>"},
		{"broken", `<urlset><url>`, Sitemap{}, "sitemap:"},
	} {
		got, err := ParseSitemap([]byte(tt.xml))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

func TestScope(t *testing.T) {
	s, err := NewScope("https://www.example.co.uk")
	if err != nil {
		t.Fatal(err)
	}
	if s.Domain != "example.co.uk" || s.Start.String() != "https://www.example.co.uk/" {
		t.Fatalf("scope %q %q", s.Domain, s.Start)
	}
	for _, tt := range []struct {
		host string
		want bool
	}{
		{"www.example.co.uk", true}, {".example.co.uk", true}, {"cdn.example.co.uk", true},
		{"example.co.uk", true}, {"badexample.co.uk", false}, {"tracker.test", false}, {"co.uk", false},
	} {
		if got := s.FirstParty(tt.host); got != tt.want {
			t.Errorf("FirstParty(%q) = %v", tt.host, got)
		}
	}
	for _, tt := range []struct {
		link, want string // want "" when not a page
	}{
		{"/a#top", "https://www.example.co.uk/a"},
		{"b?x=1", "https://www.example.co.uk/b?x=1"},
		{"https://www.example.co.uk", "https://www.example.co.uk/"},
		{"http://www.example.co.uk/a", ""}, // another origin
		{"https://shop.example.co.uk/a", ""},
		{"/doc.PDF", ""},
		{"mailto:a@example.co.uk", ""},
		{"javascript:void(0)", ""},
	} {
		got, ok := s.Page(s.Start, tt.link)
		if !ok {
			got = ""
		}
		if got != tt.want {
			t.Errorf("Page(%q) = %q, want %q", tt.link, got, tt.want)
		}
	}
	for _, bad := range []string{"", "www.example.fi", "ftp://example.fi/", "https://"} {
		if _, err := NewScope(bad); err == nil {
			t.Errorf("NewScope(%q): no error", bad)
		}
	}
	if s, _ := NewScope("http://127.0.0.1:8080/"); s.Domain != "127.0.0.1" || !s.FirstParty("127.0.0.1") {
		t.Errorf("an IP address is its own first party: %q", s.Domain)
	}
}

func TestFrontier(t *testing.T) {
	scope, _ := NewScope("https://www.example.fi/")
	robots := ParseRobots([]byte("User-agent: *\nDisallow: /private\n"))
	f := NewFrontier(scope, robots, 4)
	base, _ := url.Parse("https://www.example.fi/a/")
	f.Add(base, "b", "/private/x", "/", "b#frag", "https://elsewhere.fi/", "/c", "/d", "/e")
	if want := []string{"https://www.example.fi/", "https://www.example.fi/a/b", "https://www.example.fi/c", "https://www.example.fi/d"}; !reflect.DeepEqual(f.Pages(), want) {
		t.Errorf("pages %q, want %q", f.Pages(), want)
	}
	if want := []Skip{{URL: "https://www.example.fi/private/x", Reason: "disallowed by robots.txt"}}; !reflect.DeepEqual(f.Skipped(), want) {
		t.Errorf("skipped %+v", f.Skipped())
	}
	if !f.Full() {
		t.Error("not full at the limit")
	}
}

func TestDiscover(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			if !strings.HasPrefix(r.UserAgent(), UserAgent) {
				t.Errorf("user agent %q", r.UserAgent())
			}
			w.Write([]byte("User-agent: *\nDisallow: /x\nSitemap: " + srv.URL + "/index.xml\nSitemap: " + srv.URL + "/gone.xml\n"))
		case "/index.xml":
			w.Write([]byte(`<sitemapindex><sitemap><loc>` + srv.URL + `/pages.xml</loc></sitemap></sitemapindex>`))
		case "/pages.xml":
			w.Write([]byte(`<urlset><url><loc>` + srv.URL + `/a</loc></url><url><loc>` + srv.URL + `/x</loc></url></urlset>`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	scope, _ := NewScope(srv.URL)
	d, err := Discover(context.Background(), srv.Client(), scope)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Pages, []string{srv.URL + "/a", srv.URL + "/x"}) || len(d.Sitemaps) != 2 || d.Robots.Allowed(UserAgent, "/x") {
		t.Errorf("discovery %+v", d)
	}

	// No robots.txt, no sitemap: everything allowed, no pages.
	empty := httptest.NewServer(http.NotFoundHandler())
	defer empty.Close()
	scope, _ = NewScope(empty.URL)
	if d, err := Discover(context.Background(), empty.Client(), scope); err != nil || len(d.Pages) != 0 || !d.Robots.Allowed(UserAgent, "/") {
		t.Errorf("empty site: %+v, %v", d, err)
	}

	// A site that does not answer is an error that names it.
	empty.Close()
	if _, err := Discover(context.Background(), empty.Client(), scope); err == nil || !strings.Contains(err.Error(), "robots.txt") {
		t.Errorf("closed server: %v", err)
	}
}
