package e2e

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/consentd/consentd/server/servertest"
)

// askEnv is a consentd whose demo site has the asking features on
// (closeRejects, gpcInOptIn: reject, cookieDomain, UET and Clarity), and
// a page server answering as www.consentd.test and app.consentd.test
// (browser_test.go maps *.consentd.test to loopback).
type askEnv struct {
	*servertest.Env
	www, app string // the page server as each host: http://NAME:PORT
	log      *servertest.LogBuffer
}

// askSite is the demo site with the asking features, for pages at www
// and app.
func askSite(t *testing.T, base, www, app string) string {
	s := servertest.DemoSite(t, base)
	s = strings.Replace(s, "origins:\n", "origins:\n  - "+www+"\n  - "+app+"\n", 1)
	s = strings.Replace(s, "banner:\n  layout: bar\n", "banner:\n  layout: bar\n  closeRejects: true\n", 1)
	return s + `
gpcInOptIn: reject
cookieDomain: consentd.test
serverCookie: true
signals:
  uet: [marketing]
  clarity: {ad_Storage: [marketing], analytics_Storage: [analytics]}
`
}

// askPage has the widget, a blocked marketing iframe with a placeholder
// and a preview image of the site's own.
const askPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>asking</title>
<script src="{{consentd}}/w/demo.js"></script>
</head><body><h1>Asking</h1>
<iframe id="f" data-consent="marketing" data-src="/frame.html" data-placeholder data-preview="/preview.svg" width="400" height="300" title="Video"></iframe>
</body></html>`

func askStart(t *testing.T) *askEnv {
	t.Helper()
	ps := httptest.NewUnstartedServer(nil)
	port := ps.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]
	www, app := "http://www.consentd.test:"+port, "http://app.consentd.test:"+port
	log := &servertest.LogBuffer{}
	env := servertest.Start(t, servertest.Options{Log: log, Sites: func(base string) map[string]string {
		return map[string]string{"demo.yaml": askSite(t, base, www, app)}
	}})
	files := map[string]string{
		"/":            askPage,
		"/frame.html":  `<!doctype html><title>frame</title><p>frame loaded</p>`,
		"/preview.svg": `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180"><rect width="320" height="180" fill="#456"/></svg>`,
	}
	ps.Config.Handler = blkPages(files, env.URL)
	ps.Start()
	t.Cleanup(ps.Close)
	return &askEnv{Env: env, www: www, app: app, log: log}
}

// TestAsking: what regulators ask of a consent tool (docs/widget.md, "What
// regulators ask"), row by row, on one server; the rows that change the
// site file come last.
func TestAsking(t *testing.T) {
	env := askStart(t)
	for _, tt := range []struct {
		name string
		test func(*testing.T, *askEnv)
	}{
		{"close refuses, reopen control", askTestClose},
		{"withdraw from the settings, shared by subdomains", askTestWithdraw},
		{"GPC refuses in the opt-in mode", askTestGPC},
		{"UET and Clarity signals", askTestSignals},
		{"embed shown once", askTestEmbedOnce},
		{"cookie from the response (Safari)", askTestServerCookie},
		{"asked again only on a material change", askTestMaterial}, // last: changes the site file
	} {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, env) })
	}
}

// askRecord waits for the site's record number n (counting from 1) and
// returns it as "method choices".
func askRecord(t *testing.T, env *askEnv, n int) string {
	t.Helper()
	r := waitRecords(t, env.Env, int64(n))[n-1]
	return wdgJoin(r.Method, r.Choices)
}

const askRejected = "map[analytics:false marketing:false necessary:true]"

func askTestClose(t *testing.T, env *askEnv) {
	n := env.Records(t, "demo")
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.www+"/"))
	poll(t, ctx, jsBannerSettled)
	// An icon button named by what it does, in the banner's corner.
	got := eval[string](t, ctx, `(() => { const x = `+jsBanner+`.querySelector('button.x'); const r = x.getBoundingClientRect(), b = `+jsBanner+`.getBoundingClientRect();
		return [x.getAttribute('aria-label'), x.textContent === '', r.width >= 24 && r.height >= 24, r.right <= b.right && r.top >= b.top].join('|') })()`)
	if want := "Reject optional cookies and close|true|true|true"; got != want {
		t.Errorf("close button: label|icon only|target size|in the banner = %s, want %s", got, want)
	}
	axe := a11yAxe(t)
	a11yCheck(t, ctx, axe, "banner with a close button", "#consentd")
	click(t, ctx, "close")
	if got := askRecord(t, env, n+1); got != "close "+askRejected {
		t.Errorf("close recorded %s", got)
	}
	poll(t, ctx, `!(`+jsBannerShow+`)`)

	// After a decision the opt-in mode has a reopen control: a round icon
	// button named "Cookie settings", bottom left, opening the settings.
	poll(t, ctx, `!!`+jsLink)
	r := eval[rect](t, ctx, `(() => { const r = `+jsLink+`.getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height} })()`)
	label := eval[string](t, ctx, jsLink+`.getAttribute('aria-label') + '|' + `+jsLink+`.className`)
	if label != "Cookie settings|reopen bottom-left" || r.W < 24 || r.H < 24 || r.X > 100 || r.Y+r.H > 800 {
		t.Errorf("reopen control %q at %+v", label, r)
	}
	a11yCheck(t, ctx, axe, "reopen control", "#consentd")
	for _, scheme := range []string{"dark", "light"} {
		a11yScheme(t, ctx, scheme)
		a11yCheck(t, ctx, axe, "reopen control, "+scheme, "#consentd")
	}
	run(t, ctx, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2))
	poll(t, ctx, jsPrefsOpen)
	// Reloaded: no banner, the control is there at once.
	run(t, ctx, chromedp.Navigate(env.www+"/"))
	poll(t, ctx, `!!window.consentd && !!`+jsLink)
	if eval[bool](t, ctx, jsBannerShow) {
		t.Error("banner shown after a refusal by close")
	}
}

func askTestWithdraw(t *testing.T, env *askEnv) {
	n := env.Records(t, "demo")
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.www+"/"))
	poll(t, ctx, jsBannerSettled)
	click(t, ctx, "accept-all")
	if got := askRecord(t, env, n+1); !strings.HasPrefix(got, "accept_all ") {
		t.Fatalf("accept recorded %s", got)
	}
	id := readCookie(t, ctx).ID

	// The decision cookie is for consentd.test: app. has the same
	// decision and consent ID, without a banner.
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{env.www + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	domain := ""
	for _, c := range res.Cookies {
		if c.Name == "consentd" {
			domain += c.Domain + " "
		}
	}
	if domain != ".consentd.test " {
		t.Errorf("consentd cookie domains %q, want .consentd.test only", domain)
	}
	run(t, ctx, chromedp.Navigate(env.app+"/"))
	poll(t, ctx, `!!window.consentd && !!consentd.get()`)
	if got := eval[string](t, ctx, `consentd.get().id + ' ' + consentd.has('marketing') + ' ' + !!`+jsBanner); got != id+" true false" {
		t.Errorf("on app.: id has(marketing) banner = %s, want %s true false", got, id)
	}

	// Taking it back in the settings (reopen control, Reject all) is a
	// withdrawal, on any subdomain.
	poll(t, ctx, `!!`+jsLink)
	eval[any](t, ctx, jsLink+`.click()`)
	poll(t, ctx, jsPrefsOpen)
	eval[any](t, ctx, jsPrefs+`.querySelector('[data-action=reject-all]').click()`)
	if got := askRecord(t, env, n+2); got != "withdraw "+askRejected {
		t.Errorf("withdrawal recorded %s", got)
	}
	if r := waitRecords(t, env.Env, int64(n+2))[n+1]; r.ConsentID != id {
		t.Errorf("withdrawal consent ID %s, want %s", r.ConsentID, id)
	}
	run(t, ctx, chromedp.Navigate(env.www+"/"))
	poll(t, ctx, `!!window.consentd && !!consentd.get()`)
	if eval[bool](t, ctx, `consentd.has('marketing')`) {
		t.Error("www. still has marketing after the withdrawal on app.")
	}
}

func askTestGPC(t *testing.T, env *askEnv) {
	n := env.Records(t, "demo")
	ctx := wdgTab(t, map[string]string{"Sec-GPC": "1"})
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true, configurable: true})`,
	}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(env.www+"/"))
	poll(t, ctx, `!!window.consentd && !!consentd.get()`)
	r := waitRecords(t, env.Env, int64(n+1))[n]
	if got := wdgJoin(r.Method, r.Choices, r.Mode, r.GPC != nil && *r.GPC); got != "gpc "+askRejected+" opt-in true" {
		t.Errorf("GPC recorded %s", got)
	}
	time.Sleep(200 * time.Millisecond) // a banner shown by mistake would be there by now
	if eval[bool](t, ctx, jsBannerShow) {
		t.Error("banner shown although GPC refused (gpcInOptIn: reject)")
	}
}

func askTestSignals(t *testing.T, env *askEnv) {
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.www+"/"))
	poll(t, ctx, jsBannerSettled)
	const calls = `JSON.stringify([window.uetq, window.clarity && window.clarity.q])`
	want := `[["consent","default",{"ad_storage":"denied"}],[["consentv2",{"ad_Storage":"denied","analytics_Storage":"denied"}]]]`
	if got := eval[string](t, ctx, calls); got != want {
		t.Errorf("at load:\n got %s\nwant %s", got, want)
	}
	eval[any](t, ctx, `consentd.accept(['analytics'])`)
	want = `[["consent","default",{"ad_storage":"denied"},"consent","update",{"ad_storage":"denied"}],` +
		`[["consentv2",{"ad_Storage":"denied","analytics_Storage":"denied"}],["consentv2",{"ad_Storage":"denied","analytics_Storage":"granted"}]]]`
	if got := eval[string](t, ctx, calls); got != want {
		t.Errorf("after accepting analytics:\n got %s\nwant %s", got, want)
	}
	// A returning visitor's tags get the stored decision at load.
	run(t, ctx, chromedp.Navigate(env.www+"/"))
	poll(t, ctx, `!!window.consentd && !!consentd.get()`)
	want = `[["consent","default",{"ad_storage":"denied"},"consent","update",{"ad_storage":"denied"}],[["consentv2",{"ad_Storage":"denied","analytics_Storage":"granted"}]]]`
	if got := eval[string](t, ctx, calls); got != want {
		t.Errorf("returning:\n got %s\nwant %s", got, want)
	}
}

func askTestEmbedOnce(t *testing.T, env *askEnv) {
	n := env.Records(t, "demo")
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.www+"/"))
	poll(t, ctx, `!!document.querySelector('.consentd-placeholder')`)
	const ph = `document.querySelector('.consentd-placeholder')`
	got := eval[string](t, ctx, `(() => { const p = `+ph+`, img = p.querySelector('img');
		return [img && img.getAttribute('src'), img && img.alt, img && img.complete && img.naturalWidth, ...[...p.querySelectorAll('button')].map(b => b.textContent)].join('|') })()`)
	if want := "/preview.svg||320|Show this time only|Always allow “Marketing”"; got != want {
		t.Errorf("placeholder: img src|alt|width|buttons = %s, want %s", got, want)
	}
	eval[any](t, ctx, ph+`.querySelectorAll('button')[0].click()`)
	poll(t, ctx, `(() => { try { return document.getElementById('f').contentDocument.body.textContent.includes('frame loaded') } catch { return false } })()`)
	if eval[bool](t, ctx, `!!`+ph) || eval[bool](t, ctx, `!!consentd.get()`) {
		t.Error("after 'show this time only': placeholder left, or a decision stored")
	}
	time.Sleep(200 * time.Millisecond)
	if m := env.Records(t, "demo"); m != n {
		t.Errorf("'show this time only' stored %d records", m-n)
	}
	// The next page view asks again.
	run(t, ctx, chromedp.Navigate(env.www+"/"))
	poll(t, ctx, `!!document.querySelector('.consentd-placeholder') && !document.getElementById('f').getAttribute('src')`)
}

// askTestServerCookie: on a page of the API's own origin (consentd's demo
// page; a site reaches it through a reverse-proxy path) the decision
// cookie comes from the consent response. The page drops every cookie
// written by script, as if Safari had already expired it: the cookie is
// there all the same, for the site's consent lifetime.
func askTestServerCookie(t *testing.T, env *askEnv) {
	ctx := tab(t)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `(() => { const d = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
			Object.defineProperty(Document.prototype, 'cookie', {get() { return d.get.call(this) }, set(v) { window.__scriptCookies = (window.__scriptCookies || 0) + 1 }, configurable: true}) })()`,
	}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	click(t, ctx, "accept-all")
	poll(t, ctx, `document.cookie.includes('consentd=')`)
	id := readCookie(t, ctx).ID
	if eval[int](t, ctx, `window.__scriptCookies || 0`) == 0 {
		t.Error("the widget wrote no cookie by script: the test proves nothing")
	}
	c := decisionCookie(t, ctx, env.URL+"/")
	if days := (c.Expires - float64(time.Now().Unix())) / 86400; days < 364 || days > 366 || c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
		t.Errorf("cookie from the response: %.1f days, HttpOnly %v, SameSite %s", days, c.HTTPOnly, c.SameSite)
	}
	r := waitRecords(t, env.Env, int64(env.Records(t, "demo")))
	if last := r[len(r)-1]; last.ConsentID != id || last.Method != "accept_all" {
		t.Errorf("record %s %s, cookie id %s", last.Method, last.ConsentID, id)
	}
	// The next page view has the decision: no banner.
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, `!!window.consentd && !!consentd.get()`)
	if eval[bool](t, ctx, jsBannerShow) {
		t.Error("banner shown with the cookie from the response")
	}
}

func askTestMaterial(t *testing.T, env *askEnv) {
	// Without the cache: the widget is cached for minutes.
	accepted, rejected := wdgTab(t, nil), wdgTab(t, nil)
	for _, c := range []struct {
		ctx    context.Context
		action string
	}{{accepted, "accept-all"}, {rejected, "reject-all"}} {
		run(t, c.ctx, chromedp.Navigate(env.www+"/"))
		poll(t, c.ctx, jsBannerSettled)
		click(t, c.ctx, c.action)
		poll(t, c.ctx, `!!consentd.get()`)
	}
	file := filepath.Join(env.SitesDir, "demo.yaml")
	// change edits the site file and reloads it; the server's log says
	// what the change means for stored decisions (logged).
	change := func(old, new, logged string) {
		t.Helper()
		before := strings.Count(env.log.String(), logged)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), old) {
			t.Fatalf("test setup: %q not in the site file", old)
		}
		if err := os.WriteFile(file, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := env.Server.Reload(); err != nil {
			t.Fatal(err)
		}
		if strings.Count(env.log.String(), logged) != before+1 {
			t.Errorf("reload log lacks %q", logged)
		}
	}
	// banner reports whether a page view in ctx shows the banner.
	banner := func(ctx context.Context) bool {
		t.Helper()
		run(t, ctx, chromedp.Navigate(env.www+"/"))
		// The later script too: it makes the reopen control.
		poll(t, ctx, `!!window.consentd && !!window.__consentdCore`)
		time.Sleep(200 * time.Millisecond)
		return eval[bool](t, ctx, jsBannerShow)
	}
	nv := env.NoticeVersion(t, "demo", "en")

	// Not material: the controller's phone number. The notice changed (new
	// records cite the new version), the decisions stay.
	change(`phone: "+358 3 123 4000"`, `phone: "+358 3 123 4999"`, "site changed: not what consent is asked for: stored decisions stay valid")
	if env.NoticeVersion(t, "demo", "en") == nv {
		t.Fatal("test setup: the notice version did not change")
	}
	if banner(accepted) || banner(rejected) {
		t.Error("asked again after a change that is not material (a phone number)")
	}
	// Material: a cookie's lifetime. Who accepted is asked again; a
	// refusal is respected (reaskAfterRejectDays).
	change("duration: 13mo", "duration: 25mo", "site changed: what consent is asked for changed: visitors are asked again")
	if !banner(accepted) {
		t.Error("not asked again after a material change (a cookie lifetime)")
	}
	if banner(rejected) {
		t.Error("a refusal was asked again within reaskAfterRejectDays")
	}
	// The site forces it: everyone is asked again.
	change("gpcInOptIn: reject", "gpcInOptIn: reject\nconsentVersion: \"2026-12\"", "site changed: consentVersion changed: every visitor is asked again")
	if !banner(rejected) {
		t.Error("a refusal was not asked again after a consentVersion change")
	}
	// A site with a settings link on every page turns the reopen control
	// off (a look: decisions stay).
	click(t, rejected, "reject-all")
	poll(t, rejected, `!!consentd.get() && !!`+jsLink)
	change("  closeRejects: true\n", "  closeRejects: true\n  reopen: off\n", "site changed: not what consent is asked for")
	if banner(rejected) || eval[bool](t, rejected, `!!`+jsLink) {
		t.Error("banner or reopen control shown with banner.reopen: off")
	}
}
