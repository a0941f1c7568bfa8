package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/geo/geotest"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

// TestWidget drives the banner, the settings, the JS API and the regional
// modes (docs/widget.md) on the demo page. The subtests share one server,
// which has the City test database and trusts the loopback browser's
// CF-IPCountry and CF-Region-Code headers; without them the browser's
// address (127.0.0.1) is unknown, so the mode is opt-in.
func TestWidget(t *testing.T) {
	db := filepath.Join(t.TempDir(), "geo.mmdb")
	if err := geotest.Write(db, true); err != nil {
		t.Fatal(err)
	}
	env := servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.GeoIPDB = db
		c.CountryHeader, c.RegionHeader = "CF-IPCountry", "CF-Region-Code"
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}})
	for _, tt := range []struct {
		name string
		test func(*testing.T, *servertest.Env)
	}{

		{"keyboard", wdgTestKeyboard},
		{"focus", wdgTestFocus},
		{"controls", wdgTestControls},
		{"mobile", wdgTestMobile},
		{"slow page", wdgTestSlowPage},
		{"api", wdgTestAPI},
		{"regions", wdgTestRegions},
		{"cookie reads", wdgTestCookieReads},
		{"layouts", wdgTestLayouts}, // last: it changes the site file
	} {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, env) })
	}
}

// wdgTestCookieReads: the widget reads document.cookie once when it
// starts (consent.ts startState), before the banner, for a first visit and
// for a returning one: each read is a round trip to the browser that the
// banner waits for. A returning visitor gets the reopen control in its
// own style sheet (corner.css), which comes with it.
func wdgTestCookieReads(t *testing.T, env *servertest.Env) {
	ctx := wdgTab(t, nil)
	// Counts the widget's reads (a stack through /w/), noting whether the
	// banner was there yet.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `(() => {
			const d = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
			window.__reads = [];
			Object.defineProperty(Document.prototype, 'cookie', {configurable: true, set: d.set, get() {
				if (new Error().stack.includes('/w/')) __reads.push(` + jsBanner + ` ? 'after' : 'before');
				return d.get.call(this);
			}});
		})()`,
	}); err != nil {
		t.Fatal(err)
	}
	// Until the page has loaded and the widget's later tasks have run.
	settle := func() {
		poll(t, ctx, `document.readyState == 'complete'`)
		time.Sleep(300 * time.Millisecond)
	}
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	settle()
	if got := eval[string](t, ctx, `__reads.join(' ')`); got != "before" {
		t.Errorf("first visit: the widget's reads of document.cookie %q, want one before the banner", got)
	}
	eval[any](t, ctx, `consentd.accept()`)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	// The reopen control comes with the later script: the host may not
	// be there yet when the API is.
	poll(t, ctx, `!!window.consentd && !!consentd.get() && !!`+jsLink)
	settle()
	if got := eval[string](t, ctx, `__reads.join(' ')`); got != "before" {
		t.Errorf("returning visit: the widget's reads of document.cookie %q, want one", got)
	}
	if got := eval[string](t, ctx, `(() => { const s = getComputedStyle(`+jsRoot+`.getElementById('consentd-link')); return s.width + ' ' + s.position })()`); got != "44px fixed" {
		t.Errorf("reopen control: width, position %q, want 44px fixed (corner.css)", got)
	}
}

const (
	// jsPrefs is the settings dialog, or null.
	jsPrefs = `(document.getElementById('consentd') && ` + jsRoot + `.getElementById('consentd-prefs'))`
	// jsPrefsOpen: the settings are open.
	jsPrefsOpen = `!!(` + jsPrefs + ` && ` + jsPrefs + `.open)`
	// jsLink is the corner link of the opt-out and notice modes, or null.
	jsLink = `(document.getElementById('consentd') && ` + jsRoot + `.getElementById('consentd-link'))`
)

// wdgTab is a new browser context that bypasses the cache (the widget is
// cached for minutes, and the layouts test changes it) and sends headers
// with every request.
func wdgTab(t *testing.T, headers map[string]string) context.Context {
	t.Helper()
	ctx := tab(t)
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	if len(headers) > 0 {
		h := network.Headers{}
		for k, v := range headers {
			h[k] = v
		}
		if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h}); err != nil {
			t.Fatal(err)
		}
	}
	return ctx
}

// wdgJoin is fmt.Sprint with spaces between all values.
func wdgJoin(a ...any) string { return strings.TrimSuffix(fmt.Sprintln(a...), "\n") }

// wdgOneRecord waits for the record at index i and checks that no other
// follows it.
func wdgOneRecord(t *testing.T, env *servertest.Env, i int) ledger.Stored {
	t.Helper()
	r := waitRecords(t, env, int64(i+1))[i]
	time.Sleep(200 * time.Millisecond)
	if n := env.Records(t, "demo"); n != i+1 {
		t.Fatalf("%d records, want %d", n, i+1)
	}
	return r
}

// wdgActive describes the focused element: its data-action, data-cat or
// tag name, and whether it is inside the settings.
const wdgActive = `(() => { const a = ` + jsActive + `; if (!a) return 'nothing';
	const d = ` + jsPrefs + `; return (d && d.contains(a) ? 'prefs ' : '') + (a.getAttribute('data-action') || a.getAttribute('data-cat') || a.tagName.toLowerCase()) })()`

// wdgTabTo presses Tab until the focused element is want (see wdgActive);
// inside the settings the focus must not leave them.
func wdgTabTo(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	inPrefs := strings.HasPrefix(want, "prefs ")
	var seen []string
	for range 40 {
		run(t, ctx, chromedp.KeyEvent(kb.Tab))
		a := eval[string](t, ctx, wdgActive)
		seen = append(seen, a)
		if a == want {
			return
		}
		if inPrefs && !strings.HasPrefix(a, "prefs ") {
			t.Fatalf("Tab left the settings: %v", seen)
		}
	}
	t.Fatalf("Tab never reached %s: %v", want, seen)
}

// Keyboard only (Tab, Space, Enter, Esc): from the banner to saved
// settings, one record of the custom choice.
func wdgTestKeyboard(t *testing.T, env *servertest.Env) {
	ctx := wdgTab(t, nil)
	base := env.Records(t, "demo")
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)

	wdgTabTo(t, ctx, "settings")
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	poll(t, ctx, jsPrefsOpen)
	// Modal, labelled by its title; the focus on the first switch that can change.
	got := eval[string](t, ctx, `(() => { const d = `+jsPrefs+`; return [d.matches(':modal'), `+jsRoot+`.getElementById(d.getAttribute('aria-labelledby')).textContent,
		[...d.querySelectorAll('[role=switch]')].map(i => i.dataset.cat + ':' + i.checked + ':' + i.disabled + ':' + i.labels[0].textContent).join(' ')].join('|') })()`)
	if want := "true|Evästeasetukset|necessary:true:true:Välttämättömät Aina käytössä analytics:false:false:Analytiikka marketing:false:false:Markkinointi"; got != want {
		t.Errorf("settings\n got %s\nwant %s", got, want)
	}
	if a := eval[string](t, ctx, wdgActive); a != "prefs analytics" {
		t.Errorf("focus on %q at opening, want the analytics switch", a)
	}
	// Esc closes; the focus goes back to Settings.
	run(t, ctx, chromedp.KeyEvent(kb.Escape))
	poll(t, ctx, `!`+jsPrefsOpen)
	if a := eval[string](t, ctx, wdgActive); a != "settings" {
		t.Errorf("focus on %q after Esc, want the Settings button", a)
	}
	if !eval[bool](t, ctx, jsBannerShow) {
		t.Error("banner gone after Esc")
	}

	// Again: Space switches analytics on, Tab to Save, Enter.
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	poll(t, ctx, jsPrefsOpen)
	poll(t, ctx, `(`+wdgActive+`) === 'prefs analytics'`)
	run(t, ctx, chromedp.KeyEvent(" "))
	poll(t, ctx, jsPrefs+`.querySelector('[data-cat=analytics]').checked`)
	wdgTabTo(t, ctx, "prefs save")
	// Tab on the last control goes round to the first.
	run(t, ctx, chromedp.KeyEvent(kb.Tab))
	if a := eval[string](t, ctx, wdgActive); a != "prefs select" {
		t.Errorf("Tab on Save went to %q, want the language switcher (the first control)", a)
	}
	run(t, ctx, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(kb.ModifierShift)))
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	r := wdgOneRecord(t, env, base)
	if got := wdgJoin(r.Method, r.Choices, r.Language, r.Mode); got != "custom map[analytics:true marketing:false necessary:true] fi opt-in" {
		t.Errorf("record %s", got)
	}
	poll(t, ctx, `!`+jsPrefs+` && !(`+jsBannerShow+`)`)

	// The consent ID shown in the settings is the cookie's, and the
	// switches show the decision.
	cookie := readCookie(t, ctx)
	eval[any](t, ctx, `consentd.showSettings()`)
	poll(t, ctx, jsPrefsOpen)
	got = eval[string](t, ctx, jsPrefs+`.querySelector('code').textContent + ' ' + [...`+jsPrefs+`.querySelectorAll('[data-cat]')].map(i => i.checked).join(' ')`)
	if want := cookie.ID + " true true false"; got != want || r.ConsentID != cookie.ID {
		t.Errorf("settings show %q, want %q (record's consent id %s)", got, want, r.ConsentID)
	}
	run(t, ctx, chromedp.KeyEvent(kb.Escape))
	poll(t, ctx, `!`+jsPrefs)
}

// The JS API, data-consentd, the language switcher, withdrawal, reload
// and expiry.
func wdgTestAPI(t *testing.T, env *servertest.Env) {
	ctx := wdgTab(t, nil)
	base := env.Records(t, "demo")
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	// Each decision: consentd.on's callback, then the DOM event.
	eval[any](t, ctx, `window.__ev = []; consentd.on('change', s => __ev.push(s)); document.addEventListener('consentd:change', e => __ev.push(e.detail))`)

	// data-consentd on the page's own elements (click delegation).
	eval[any](t, ctx, `document.body.insertAdjacentHTML('afterbegin', '<p><a id=o href="#nope" data-consentd=open>cookies</a> <button id=n data-consentd=notice>notice</button></p>')`)
	for _, c := range []struct{ id, open string }{{"o", jsPrefsOpen}, {"n", jsNoticeLoaded}} {
		r := eval[rect](t, ctx, `(() => { const r = document.getElementById('`+c.id+`').getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height} })()`)
		run(t, ctx, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2))
		poll(t, ctx, c.open)
		run(t, ctx, chromedp.KeyEvent(kb.Escape))
		poll(t, ctx, `!(`+c.open+`)`)
	}
	if h := eval[string](t, ctx, `location.hash`); h != "" {
		t.Errorf("data-consentd link followed its href: %q", h)
	}

	// The language switcher shows the settings, the banner and the notice
	// in English; a decision made then is recorded in English.
	eval[any](t, ctx, `consentd.showSettings()`)
	poll(t, ctx, jsPrefsOpen)
	eval[any](t, ctx, `(() => { const s = `+jsPrefs+`.querySelector('select'); s.value = 'en'; s.dispatchEvent(new Event('change')) })()`)
	got := eval[string](t, ctx, `[`+jsPrefs+`.lang, `+jsPrefs+`.querySelector('h2').textContent, [...`+jsPrefs+`.querySelectorAll('option')].map(o => o.textContent).join(','),
		`+jsBanner+`.querySelector('[data-action=accept-all]').textContent, `+jsPrefs+`.querySelector('li').textContent].join('|')`)
	if want := "en|Cookie settings|suomi,svenska,English|Accept all|consentd · 365 days"; got != want {
		t.Errorf("after switching to English\n got %s\nwant %s", got, want)
	}
	if a := eval[string](t, ctx, wdgActive); a != "prefs select" {
		t.Errorf("focus on %q after the switch, want the switcher", a)
	}
	r := eval[rect](t, ctx, `(() => { const r = `+jsPrefs+`.querySelector('[data-action=accept-all]').getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height} })()`)
	run(t, ctx, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2))
	rec := wdgOneRecord(t, env, base)
	if got := wdgJoin(rec.Method, rec.Language, rec.NoticeVersion == env.NoticeVersion(t, "demo", "en")); got != "accept_all en true" {
		t.Errorf("record method, language, English notice version: %s", got)
	}
	id := readCookie(t, ctx).ID

	// withdraw(): a record of its own, the consent ID kept; the event.
	eval[any](t, ctx, `consentd.withdraw()`)
	rec = wdgOneRecord(t, env, base+1)
	if got := wdgJoin(rec.Method, rec.Choices, rec.ConsentID == id); got != "withdraw map[analytics:false marketing:false necessary:true] true" {
		t.Errorf("withdrawal recorded %s", got)
	}
	got = eval[string](t, ctx, `JSON.stringify([__ev.length, __ev[1].c, __ev[3].c, consentd.has('analytics'), consentd.has('necessary'), JSON.stringify(consentd.get()) === JSON.stringify(__ev[3])])`)
	if want := `[4,{"necessary":1,"analytics":1,"marketing":1},{"necessary":1,"analytics":0,"marketing":0},false,true,true]`; got != want {
		t.Errorf("events and state\n got %s\nwant %s", got, want)
	}

	// Reload: no banner, the state kept; show() opens the settings.
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, `!!(window.consentd && consentd.get())`)
	time.Sleep(300 * time.Millisecond)
	if eval[bool](t, ctx, jsBannerShow) || eval[int](t, ctx, `consentd.get().c.analytics`) != 0 {
		t.Error("after reload: banner shown or state lost")
	}
	eval[any](t, ctx, `consentd.show()`)
	poll(t, ctx, jsPrefsOpen)

	// Expired (the cookie outlived its Max-Age): asked again; the decision
	// keeps the consent ID.
	old := time.Now().Add(-366 * 24 * time.Hour).Unix()
	eval[any](t, ctx, fmt.Sprintf(`document.cookie = 'consentd=' + encodeURIComponent(JSON.stringify({id: %q, v: %q, c: {necessary: 1, analytics: 1, marketing: 1}, t: %d})) + '; Path=/'`,
		id, env.NoticeVersion(t, "demo", "fi"), old))
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	if eval[bool](t, ctx, `consentd.get() !== null || consentd.has('analytics')`) {
		t.Error("expired decision still in force")
	}
	click(t, ctx, "reject-all")
	if rec := wdgOneRecord(t, env, base+2); rec.Method != "reject_all" || rec.ConsentID != id {
		t.Errorf("after expiry recorded %s for %s, want reject_all for %s", rec.Method, rec.ConsentID, id)
	}
	// The cookie: SameSite=Lax, Max-Age of consentExpiryDays (365), not
	// Secure on http.
	c := decisionCookie(t, ctx, "")
	if days := (c.Expires - float64(time.Now().Unix())) / 86400; c.SameSite != network.CookieSameSiteLax || c.Secure || days < 364.9 || days > 365.1 {
		t.Errorf("cookie SameSite %s, Secure %v, expires in %.2f days", c.SameSite, c.Secure, days)
	}
}

// Regional modes: opt-out (US-CA) with and without GPC, notice (JP),
// opt-in (FI).
func wdgTestRegions(t *testing.T, env *servertest.Env) {
	california := map[string]string{"CF-IPCountry": "US", "CF-Region-Code": "CA"}

	// Opt-out: no banner, nothing recorded, everything on until the
	// visitor opts out; the Do Not Sell link opens the settings.
	ctx := wdgTab(t, california)
	base := env.Records(t, "demo")
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, `!!window.consentd && !!`+jsLink)
	time.Sleep(300 * time.Millisecond)
	got := eval[string](t, ctx, `[!!`+jsBanner+`, `+jsLink+`.textContent, consentd.has('analytics'), consentd.has('marketing'), consentd.get()].join('|')`)
	if want := "false|Älä myy tai jaa henkilötietojani|true|true|"; got != want {
		t.Errorf("opt-out: banner, link, analytics, marketing, state\n got %s\nwant %s", got, want)
	}
	r := eval[rect](t, ctx, `(() => { const r = `+jsLink+`.getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height} })()`)
	if r.H < 24 || r.Y+r.H > 800 || r.X < 0 {
		t.Errorf("link at %+v", r)
	}
	run(t, ctx, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2))
	poll(t, ctx, jsPrefsOpen)
	if got := eval[string](t, ctx, `[...`+jsPrefs+`.querySelectorAll('[data-cat]')].map(i => i.checked).join(' ') + ' ' + !!`+jsPrefs+`.querySelector('.note')`); got != "true true true false" {
		t.Errorf("opt-out settings: switches and GPC note %s", got)
	}
	if n := env.Records(t, "demo"); n != base {
		t.Errorf("opt-out without a decision stored %d records", n-base)
	}

	// With GPC: marketing (saleShare) denied without asking, recorded once
	// as gpc; the link and the settings say so.
	ctx = wdgTab(t, california)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true, configurable: true})`,
	}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, `!!window.consentd && navigator.globalPrivacyControl === true && !!consentd.get()`)
	rec := wdgOneRecord(t, env, base)
	if got := wdgJoin(rec.Method, rec.Choices, rec.Mode, rec.Country); got != "gpc map[analytics:true marketing:false necessary:true] opt-out US" {
		t.Errorf("GPC recorded %s", got)
	}
	got = eval[string](t, ctx, `[consentd.has('analytics'), consentd.has('marketing'), `+jsLink+`.textContent, !!`+jsBanner+`].join('|')`)
	if want := "true|false|Kieltopyyntösi on huomioitu (Global Privacy Control)|false"; got != want {
		t.Errorf("GPC: analytics, marketing, link, banner\n got %s\nwant %s", got, want)
	}
	noticeShot(t, "widget-gpc-link.png", run(t, ctx, chromedp.CaptureScreenshot()))
	eval[any](t, ctx, `consentd.showSettings()`)
	poll(t, ctx, jsPrefsOpen)
	if got := eval[string](t, ctx, jsPrefs+`.querySelector('.note').textContent`); !strings.Contains(got, "Global Privacy Control") {
		t.Errorf("settings note %q", got)
	}
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, `!!window.consentd && !!consentd.get()`)
	time.Sleep(300 * time.Millisecond)
	if n := env.Records(t, "demo"); n != base+1 {
		t.Errorf("%d records after the reload, want the one GPC record", n-base)
	}

	// Notice mode (JP, the default rule): a notice link only.
	ctx = wdgTab(t, map[string]string{"CF-IPCountry": "JP"})
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, `!!window.consentd && !!`+jsLink)
	if got := eval[string](t, ctx, `[!!`+jsBanner+`, `+jsLink+`.textContent, consentd.has('marketing')].join('|')`); got != "false|Tietosuojaseloste|true" {
		t.Errorf("notice mode: banner, link, marketing %s", got)
	}
	eval[any](t, ctx, jsLink+`.click()`)
	poll(t, ctx, jsNoticeLoaded)

	// Opt-in (FI): the banner, nothing optional; GPC changes nothing.
	ctx = wdgTab(t, map[string]string{"CF-IPCountry": "FI"})
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	if got := eval[string](t, ctx, `[!!`+jsLink+`, consentd.has('analytics'), consentd.has('marketing')].join('|')`); got != "false|false|false" {
		t.Errorf("opt-in: link, analytics, marketing %s", got)
	}
	if n := env.Records(t, "demo"); n != base+1 {
		t.Errorf("%d records, want 1", n-base)
	}
}

// wdgBanner replaces the banner section of the demo site and reloads.
func wdgBanner(t *testing.T, env *servertest.Env, banner string) {
	t.Helper()
	path := filepath.Join(env.SitesDir, "demo.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^banner:\n(?:  .*\n)+`)
	if !re.Match(b) {
		t.Fatal("demo.yaml has no banner section")
	}
	if err := os.WriteFile(path, re.ReplaceAll(b, []byte("banner:\n"+banner)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.Reload(); err != nil {
		t.Fatal(err)
	}
}

// wdgScheme emulates prefers-color-scheme (a11y_test.go) and waits for it.
func wdgScheme(t *testing.T, ctx context.Context, scheme string) {
	t.Helper()
	a11yScheme(t, ctx, scheme)
	poll(t, ctx, `matchMedia('(prefers-color-scheme: `+scheme+`)').matches`)
}

// Layouts and positions, theme colours in light and dark, no layout
// shift, 320 px; screenshots of the banner and the settings. Under -race a
// config reload takes seconds, so the positions are also checked by
// setting the banner's classes (what banner.ts makes of the config).
func wdgTestLayouts(t *testing.T, env *servertest.Env) {
	ctx := wdgTab(t, nil)
	load := func() {
		run(t, ctx, chromedp.EmulateViewport(1280, 800))
		run(t, ctx, chromedp.Navigate(env.URL+"/"))
		wdgScheme(t, ctx, "light")
		poll(t, ctx, jsBannerSettled)
	}
	// where checks the banner's rect r against the viewport (W x H).
	where := func(name, cond string) {
		t.Helper()
		got := eval[string](t, ctx, `(() => { const r = `+jsBanner+`.getBoundingClientRect(), W = innerWidth, H = innerHeight;
			return (`+cond+`) ? 'ok' : JSON.stringify([r.left, r.top, r.right, r.bottom, W, H]) })()`)
		if got != "ok" {
			t.Errorf("%s: banner at [left top right bottom W H] %s", name, got)
		}
	}

	// The demo site: a bar at the bottom, in the default colours.
	load()
	if c := eval[string](t, ctx, jsBanner+`.className`); c != "cd l-bar p-bottom" {
		t.Errorf("banner classes %q", c)
	}
	where("bar, bottom", `r.left === 0 && r.right === W && r.bottom === H`)
	wdgLook(t, ctx, "bar", "rgb(11, 87, 208) rgb(255, 255, 255) 8px", "rgb(138, 180, 248) rgb(17, 17, 17) 8px")
	wdgNoShift(t, ctx, "bar")
	wdgNarrow(t, ctx, env, "bar")
	wdgZoom(t, ctx, env, "bar")

	// Each layout and position (a bundle carries only its site's layout).
	for _, p := range []struct{ layout, position, cond string }{
		{"bar", "top", `r.left === 0 && r.right === W && r.top === 0`},
		{"box", "bottom-right", `r.right === W - 16 && r.bottom === H - 16 && r.width === 400`},
		{"box", "bottom-left", `r.left === 16 && r.bottom === H - 16 && r.width === 400`},
		{"box", "center", `Math.abs(r.left + r.right - W) < 2 && Math.abs(r.top + r.bottom - H) < 2 && r.width === 400`},
		{"cloud", "bottom", `Math.abs(r.left + r.right - W) < 2 && r.bottom === H - 16 && r.width === 1040`},
		{"cloud", "top", `Math.abs(r.left + r.right - W) < 2 && r.top === 16 && r.width === 1040`},
	} {
		wdgBanner(t, env, "  layout: "+p.layout+"\n  position: "+p.position+"\n")
		load()
		if c := eval[string](t, ctx, jsBanner+`.className`); c != "cd l-"+p.layout+" p-"+p.position {
			t.Errorf("banner classes %q", c)
		}
		where(p.layout+", "+p.position, p.cond)
	}

	// A box at the bottom left, with the site's theme and service switches.
	wdgBanner(t, env, `  layout: box
  position: bottom-left
  serviceToggles: true
  theme: {accent: "#8b0000", accentText: "#ffffff", background: "#fffbe6", text: "#222222", radius: "0"}
  dark: {accent: "#ffb4a8", accentText: "#000000", background: "#2b2118", text: "#fff4e0"}
`)
	load()
	if c := eval[string](t, ctx, jsBanner+`.className`); c != "cd l-box p-bottom-left" {
		t.Errorf("banner classes %q", c)
	}
	where("box, bottom-left", `r.left === 16 && r.bottom === H - 16`)
	wdgLook(t, ctx, "box", "rgb(139, 0, 0) rgb(255, 255, 255) 0px", "rgb(255, 180, 168) rgb(0, 0, 0) 0px")

	// serviceToggles: a switch per service, folded into its category.
	eval[any](t, ctx, `consentd.showSettings()`)
	poll(t, ctx, jsPrefsOpen)
	got := eval[string](t, ctx, `(() => { const d = `+jsPrefs+`, cat = d.querySelector('[data-cat=marketing]'),
		svc = cat.closest('.cat').querySelector('.svc [role=switch]'), out = [d.querySelectorAll('.svc [role=switch]').length];
		cat.click(); out.push(svc.checked); svc.click(); out.push(cat.checked); svc.click(); out.push(cat.checked); return out.join(' ') })()`)
	if got != "2 true false true" {
		t.Errorf("service switches (count; service after the category on; category after the service off, on) = %s, want 2 true false true", got)
	}
	run(t, ctx, chromedp.KeyEvent(kb.Escape))
	poll(t, ctx, `!`+jsPrefs)
	wdgNoShift(t, ctx, "box")
	wdgNarrow(t, ctx, env, "box")
	wdgZoom(t, ctx, env, "box")
}

// wdgLook checks the colours of Accept all and Reject all (background,
// text, corner radius) in light and dark, and saves screenshots of the
// banner and the settings in both.
func wdgLook(t *testing.T, ctx context.Context, name, light, dark string) {
	t.Helper()
	colors := func() string {
		return eval[string](t, ctx, `['accept-all', 'reject-all'].map(a => { const s = getComputedStyle(`+jsBanner+`.querySelector('[data-action=' + a + ']'));
			return s.backgroundColor + ' ' + s.color + ' ' + s.borderRadius }).join(' / ')`)
	}
	if got := colors(); got != light+" / "+light {
		t.Errorf("%s, light: buttons %s, want %s", name, got, light)
	}
	noticeShot(t, "widget-"+name+"-light.png", run(t, ctx, chromedp.CaptureScreenshot()))
	eval[any](t, ctx, `consentd.showSettings()`)
	poll(t, ctx, jsPrefsOpen)
	eval[any](t, ctx, jsPrefs+`.querySelector('details').open = true`)
	noticeShot(t, "widget-"+name+"-prefs-light.png", run(t, ctx, chromedp.CaptureScreenshot()))
	wdgScheme(t, ctx, "dark")
	noticeShot(t, "widget-"+name+"-prefs-dark.png", run(t, ctx, chromedp.CaptureScreenshot()))
	run(t, ctx, chromedp.KeyEvent(kb.Escape))
	poll(t, ctx, `!`+jsPrefs)
	if got := colors(); got != dark+" / "+dark {
		t.Errorf("%s, dark: buttons %s, want %s", name, got, dark)
	}
	noticeShot(t, "widget-"+name+"-dark.png", run(t, ctx, chromedp.CaptureScreenshot()))
	wdgScheme(t, ctx, "light")
}

// wdgNoShift: nothing of the page moves when the widget comes: every
// element of the page has the same place with the widget and without it,
// and the browser saw no layout shift while the page loaded. (The widget
// adds room after the page's end, for the banner at the bottom.)
func wdgNoShift(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	layout := `[...document.body.querySelectorAll('*')].filter(e => !e.closest('#consentd, consentd-spacer'))
		.map(e => { const r = e.getBoundingClientRect(); return [e.tagName, r.x, r.y + scrollY, r.width, r.height].join(' ') }).join('\n') + ' ' + getComputedStyle(document.body).margin + ' ' + getComputedStyle(document.body).padding`
	if shift := run(t, ctx, chromedp.Evaluate[float64](`new Promise(ok => new PerformanceObserver(l => ok(l.getEntries().reduce((s, e) => s + e.value, 0))).observe({type: 'layout-shift', buffered: true}) || setTimeout(() => ok(0), 300))`, chromedp.EvalAwaitPromise)); shift != 0 {
		t.Errorf("%s: layout shift %v while the page loaded", name, shift)
	}
	with := eval[string](t, ctx, layout)
	without := eval[string](t, ctx, `document.getElementById('consentd').remove(), document.querySelector('consentd-spacer')?.remove(), `+layout)
	if with != without {
		t.Errorf("%s: the page moved: with the widget\n%s\nwithout\n%s", name, with, without)
	}
}

// wdgNarrow: at 320 px nothing overflows sideways, the banner and the
// settings fit.
// wdgZoom: at 200 % zoom of a 1280×800 window (640×400 CSS pixels) the
// banner lies inside the viewport and each of its buttons can be brought
// into view (it scrolls when it does not fit); the settings dialog too,
// with its title bar and its buttons in view while its body scrolls.
func wdgZoom(t *testing.T, ctx context.Context, env *servertest.Env, name string) {
	t.Helper()
	run(t, ctx, chromedp.EmulateViewport(640, 400, chromedp.EmulateScale(2)))
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	// outside lists the elements not wholly inside the viewport.
	outside := `(els => [...els].filter(e => { const r = e.getBoundingClientRect();
		return !(r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5) })
		.map(e => e.dataset.action || e.className || e.tagName))`
	if out := eval[[]string](t, ctx, `(() => { const b = `+jsBanner+`, out = `+outside+`([b]);
		for (const x of b.querySelectorAll('button')) { x.scrollIntoView({block: 'nearest'}); out.push(...`+outside+`([x])) }
		return out })()`); len(out) > 0 {
		t.Errorf("%s at 200%% zoom: not in view: %v", name, out)
	}
	noticeShot(t, "widget-"+name+"-200.png", run(t, ctx, chromedp.CaptureScreenshot()))
	click(t, ctx, "settings")
	poll(t, ctx, jsPrefsOpen)
	if out := eval[[]string](t, ctx, outside+`([`+jsPrefs+`, ...`+jsPrefs+`.querySelectorAll('.bar button, .actions button')])`); len(out) > 0 {
		t.Errorf("%s settings at 200%% zoom: not in view: %v", name, out)
	}
	if s := eval[bool](t, ctx, `(b => b.scrollHeight > b.clientHeight && getComputedStyle(b).overflowY === 'auto')(`+jsPrefs+`.querySelector('.body'))`); !s {
		t.Errorf("%s settings at 200%% zoom: the body does not scroll", name)
	}
	noticeShot(t, "widget-"+name+"-prefs-200.png", run(t, ctx, chromedp.CaptureScreenshot()))
	run(t, ctx, chromedp.KeyEvent(kb.Escape))
	poll(t, ctx, `!`+jsPrefs)
}

func wdgNarrow(t *testing.T, ctx context.Context, env *servertest.Env, name string) {
	t.Helper()
	run(t, ctx, chromedp.EmulateViewport(320, 640))
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	overflow := `(el => { const out = [], right = el.getBoundingClientRect().right + 0.5;
		if (el.scrollWidth > el.clientWidth) out.push(el.id + ' ' + el.scrollWidth + ' > ' + el.clientWidth);
		for (const e of el.querySelectorAll('*')) if (e.getBoundingClientRect().right > right) out.push(e.tagName + ' ' + e.textContent.slice(0, 30));
		if (document.documentElement.scrollWidth > 320) out.push('page ' + document.documentElement.scrollWidth);
		return out })`
	if wide := eval[[]string](t, ctx, overflow+`(`+jsBanner+`)`); len(wide) > 0 {
		t.Errorf("%s at 320px, banner: overflows %v", name, wide)
	}
	noticeShot(t, "widget-"+name+"-320.png", run(t, ctx, chromedp.CaptureScreenshot()))
	click(t, ctx, "settings")
	poll(t, ctx, jsPrefsOpen)
	eval[any](t, ctx, `for (const d of `+jsPrefs+`.querySelectorAll('details')) d.open = true`)
	if wide := eval[[]string](t, ctx, overflow+`(`+jsPrefs+`)`); len(wide) > 0 {
		t.Errorf("%s at 320px, settings: overflows %v", name, wide)
	}
	noticeShot(t, "widget-"+name+"-prefs-320.png", run(t, ctx, chromedp.CaptureScreenshot()))
}
