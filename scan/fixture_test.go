package scan

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/servertest"
)

// The fixture's host names; Chromium maps them to loopback
// (--host-resolver-rules) and fixtureClient dials loopback for them.
const (
	fixtureHost = "www.shop-scan.test"
	trackerHost = "px.tracker-scan.test"
	fixtureMap  = "MAP *.shop-scan.test 127.0.0.1, MAP *.tracker-scan.test 127.0.0.1"
	// localTrackerHost is the third party of /3p (thirdPartyLocal).
	localTrackerHost = "px.tracker.localhost"
)

// fixture is a site with known behaviour, served on loopback as
// www.shop-scan.test, with a real consentd (and Redis) for its widget:
//
//   - /           Set-Cookie oppimo_session (declared, necessary)
//   - /products   Set-Cookie ab_test (undeclared, before consent: a violation)
//   - every page  /js/pixel.js, not blocked: sets _fbp (declared marketing,
//     3mo, set for 400 days: a violation and a lifetime finding) and
//     contacts px.tracker-scan.test (a third party) before consent
//   - every page  a blocked analytics tag (<script type="text/plain"
//     data-consent="analytics">) setting _pk_id.1.abcd (declared) and
//     _ga (undeclared, Google Analytics in the pattern table): only after
//     accept all
//   - /hidden     linked, not in the sitemap, without the widget (a warning)
//   - /private    in the sitemap and linked, disallowed by robots.txt
//   - extra pages /p/1 … /p/N (in the sitemap) for the speed figure
//
// Declared and never set: _pk_ses.* and YouTube's cookies (from the service
// catalogue: VISITOR_INFO1_LIVE, YSC, VISITOR_PRIVACY_METADATA).
type fixture struct {
	env  *servertest.Env
	site *site.Site
	URL  string // http://www.shop-scan.test:PORT/
	base string // http://www.shop-scan.test:PORT
	port string
}

// fixtureSite is the demo site with the fixture's origin and Meta Pixel's
// _fbp declared under marketing, then the services given (site-file YAML
// at the indentation of a service) in marketing too.
func fixtureSite(t testing.TB, consentd, origin string, services ...string) string {
	s := servertest.DemoSite(t, consentd)
	s = strings.Replace(s, "origins:\n", "origins:\n  - "+origin+"\n", 1)
	pixel := `      - name: Meta Pixel
        provider: Meta Platforms Ireland Ltd
        purpose: {fi: Mainonnan mittaus., sv: Mätning av reklam., en: Measuring ads.}
        cookies:
          - name: _fbp
            duration: 3mo
            description: {fi: Selaimen tunniste., sv: Webbläsarens id., en: Browser identifier.}
`
	anchor := "      - use: youtube\n"
	if !strings.Contains(s, anchor) {
		t.Fatal("demo.yaml: no YouTube service (use: youtube) to put Meta Pixel before")
	}
	return strings.Replace(s, anchor, pixel+strings.Join(services, "")+anchor, 1)
}

const fixturePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{title}}</title>
{{widget}}
<script src="/js/pixel.js"></script>
<script type="text/plain" data-consent="analytics">
document.cookie = "_pk_id.1.abcd=v1; path=/; max-age=34128000";
document.cookie = "_ga=GA1.1.42; path=/; max-age=63072000";
</script>
</head><body><h1>{{title}}</h1>
<nav><a href="/">Home</a> <a href="/about">About</a> <a href="/products#top">Products</a>
<a href="/contact">Contact</a> <a href="/hidden">Hidden</a> <a href="/private">Private</a>
<a href="http://elsewhere.test/">elsewhere</a> <a href="/brochure.pdf">PDF</a></nav>
</body></html>`

const fixturePixel = `document.cookie = "_fbp=fb.1.1700000000.42; path=/; max-age=" + 400 * 86400;
new Image().src = "http://` + trackerHost + `:{{port}}/px.gif";
`

// startFixture starts consentd and the fixture site with extra pages
// /p/1 … /p/extra listed in the sitemap, and the services given declared
// in the site file's marketing category (fixtureSite).
func startFixture(t testing.TB, extra int, services ...string) *fixture {
	t.Helper()
	ps := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(ps.Listener.Addr().String())
	base := "http://" + fixtureHost + ":" + port
	env := servertest.Start(t, servertest.Options{Sites: func(consentd string) map[string]string {
		return map[string]string{"demo.yaml": fixtureSite(t, consentd, base, services...)}
	}})
	s, err := site.Load(filepath.Join(env.SitesDir, "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sitemap := []string{"/", "/about", "/products", "/private", "/contact"}
	for i := 1; i <= extra; i++ {
		sitemap = append(sitemap, fmt.Sprintf("/p/%d", i))
	}
	ps.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		w.Header().Set("Cache-Control", "no-store")
		if host == localTrackerHost {
			thirdPartyLocal(w, r)
			return
		}
		if host == trackerHost {
			http.SetCookie(w, &http.Cookie{Name: "trk", Value: "1", Path: "/", MaxAge: 86400})
			w.Header().Set("Content-Type", "image/gif")
			fmt.Fprint(w, "GIF89a\x01\x00\x01\x00\x00\x00\x00;")
			return
		}
		page := func(title string, widget bool) {
			tag := ""
			if widget {
				tag = `<script src="` + env.URL + `/w/demo.js"></script>`
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, strings.NewReplacer("{{title}}", title, "{{widget}}", tag).Replace(fixturePage))
		}
		switch p := r.URL.Path; {
		case p == "/robots.txt":
			fmt.Fprintf(w, "User-agent: *\nDisallow: /private\n\nSitemap: %s/sitemap.xml\n", base)
		case p == "/sitemap.xml":
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
			for _, s := range sitemap {
				fmt.Fprintf(w, "<url><loc>%s%s</loc></url>", base, s)
			}
			fmt.Fprint(w, "</urlset>")
		case p == "/js/pixel.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, strings.ReplaceAll(fixturePixel, "{{port}}", port))
		case p == "/":
			http.SetCookie(w, &http.Cookie{Name: "oppimo_session", Value: "s1", Path: "/", HttpOnly: true})
			page("Home", true)
		case p == "/products":
			http.SetCookie(w, &http.Cookie{Name: "ab_test", Value: "b", Path: "/", MaxAge: 86400})
			page("Products", true)
		case p == "/3p":
			frame := `<script src="http://` + localTrackerHost + `:` + port + `/js/px.js"></script>` +
				`<iframe src="http://` + localTrackerHost + `:` + port + `/frame"></iframe>`
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, strings.NewReplacer("{{title}}", "Third party", "{{widget}}",
				`<script src="`+env.URL+`/w/demo.js"></script>`+frame).Replace(fixturePage))
		case p == "/hidden":
			page("Hidden", false)
		case p == "/about" || p == "/contact" || p == "/private" || strings.HasPrefix(p, "/p/"):
			page(strings.TrimPrefix(p, "/"), true)
		default:
			http.NotFound(w, r)
		}
	})
	ps.Start()
	t.Cleanup(ps.Close)
	return &fixture{env: env, site: s, URL: base + "/", base: base, port: port}
}

// thirdPartyLocal serves the third party of /3p, on localTrackerHost: a
// *.localhost host, which Chromium resolves to loopback and counts as
// potentially trustworthy, so over plain http it stores the Secure,
// SameSite=None cookies that a third party's cookies must be. /js/px.js
// (a script of the page) requests /px.gif, which sets tp_px; /frame is
// a frame whose script /js/frame.js writes the cookie tp_js (line 1) and
// the localStorage key tp_ls (line 2).
func thirdPartyLocal(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/js/px.js":
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, "new Image().src = %q;\n", "http://"+r.Host+"/px.gif")
	case "/px.gif":
		http.SetCookie(w, &http.Cookie{Name: "tp_px", Value: "1", Path: "/", MaxAge: 86400, Secure: true, SameSite: http.SameSiteNoneMode})
		w.Header().Set("Content-Type", "image/gif")
		fmt.Fprint(w, "GIF89a\x01\x00\x01\x00\x00\x00\x00;")
	case "/frame":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>frame</title><script src="/js/frame.js"></script>`)
	case "/js/frame.js":
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.cookie = "tp_js=1; path=/; max-age=86400; SameSite=None; Secure";`+"\n"+
			`localStorage.setItem("tp_ls", "1");`+"\n")
	default:
		http.NotFound(w, r)
	}
}

// fixtureClient fetches robots.txt and sitemaps from the fixture: every
// host name dials loopback, as Chromium's host rules do.
func fixtureClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
	}}
}

// options are scan options for the fixture.
func (f *fixture) options() Options {
	return Options{Site: f.site, URL: f.URL, HostResolverRules: fixtureMap, HTTP: fixtureClient(),
		WidgetWait: 2 * time.Second, Quiet: 300 * time.Millisecond}
}
