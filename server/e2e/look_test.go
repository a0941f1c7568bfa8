package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/consentd/consentd/server/servertest"
)

// The subtests of TestWidget (widget_test.go) for the banner's layout on
// phones, its keyboard focus and the settings' controls (issue 19).

// wdgLoad opens the demo page on a w x h screen and waits for the banner.
func wdgLoad(t *testing.T, ctx context.Context, env *servertest.Env, w, h int64) {
	t.Helper()
	run(t, ctx, chromedp.EmulateViewport(w, h))
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
}

// wdgLang switches the widget to lang with the settings' language switcher
// and closes them: the banner is made anew in lang.
func wdgLang(t *testing.T, ctx context.Context, lang string) {
	t.Helper()
	eval[any](t, ctx, `consentd.showSettings()`)
	poll(t, ctx, jsPrefsOpen)
	eval[any](t, ctx, `(() => { const s = `+jsPrefs+`.querySelector('select'); s.value = '`+lang+`'; s.dispatchEvent(new Event('change')) })()`)
	run(t, ctx, chromedp.KeyEvent(kb.Escape))
	poll(t, ctx, `!`+jsPrefs+` && `+jsBanner+`.lang === '`+lang+`'`)
	poll(t, ctx, jsBannerSettled)
}

// jsButtons describes the banner's three choices: each one's rect, style,
// and whether it is wholly in the viewport.
const jsButtons = `['accept-all', 'reject-all', 'settings'].map(a => { const b = ` + jsBanner + `.querySelector('[data-action=' + a + ']'),
	r = b.getBoundingClientRect(), s = getComputedStyle(b);
	return {W: r.width, H: r.height, Style: [s.backgroundColor, s.color, s.fontSize, s.fontWeight, s.borderStyle].join(' '),
		In: r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth} })`

type wdgButton struct {
	W, H  float64
	Style string
	In    bool
}

// The bar on a desktop keeps its own padding, no side borders or rounded
// corners, and readable lines; the box keeps its maximum height (found
// item 1: an id selector overrode the layout classes). On phones the bar
// covers at most a quarter of a 375 x 740 screen in every language, with
// the three choices visible, as wide and high and in the same style; the
// page's end can be scrolled above it; the settings' header stays on one
// line.
func wdgTestMobile(t *testing.T, env *servertest.Env) {
	ctx := wdgTab(t, nil)
	wdgLoad(t, ctx, env, 1280, 800)
	got := eval[string](t, ctx, `(() => { const b = `+jsBanner+`, s = getComputedStyle(b), p = b.querySelector('p').getBoundingClientRect();
		return [s.paddingLeft, s.borderLeftWidth, s.borderTopLeftRadius, p.width <= 700].join(' ') })()`)
	if got != "24px 0px 0px true" {
		t.Errorf("bar at 1280: padding-left, border-left, radius, text at most 700px wide = %s, want 24px 0px 0px true", got)
	}
	// One font weight in the banner: each further one is a font look-up
	// before its first layout (docs/performance.md).
	if got := eval[string](t, ctx, `[...new Set([`+jsBanner+`, ...`+jsBanner+`.querySelectorAll('*')].map(e => getComputedStyle(e).fontWeight))].join(' ')`); got != "400" {
		t.Errorf("font weights in the banner: %s, want 400 only", got)
	}
	wdgBanner(t, env, "  layout: box\n  position: bottom-right\n")
	wdgLoad(t, ctx, env, 1280, 800)
	if got := eval[string](t, ctx, `getComputedStyle(`+jsBanner+`).maxHeight + ' ' + getComputedStyle(`+jsBanner+`).paddingLeft`); got != "768px 20px" {
		t.Errorf("box at 1280x800: max-height, padding-left %s, want 768px 20px", got)
	}
	wdgBanner(t, env, "  layout: bar\n  position: bottom\n") // the demo site's

	for _, v := range []struct {
		w, h  int64
		share float64 // of the screen's height, at most
	}{{375, 740, .25}, {320, 568, .34}, {640, 400, .5}} { // 640 x 400: a 1280 x 800 window at 200 %
		wdgLoad(t, ctx, env, v.w, v.h)
		for _, lang := range []string{"fi", "sv", "en"} {
			if lang != "fi" {
				wdgLang(t, ctx, lang)
			}
			h := eval[float64](t, ctx, jsBanner+`.getBoundingClientRect().height`)
			t.Logf("%dx%d, %s: the banner is %.0f px high, %.1f %% of the screen", v.w, v.h, lang, h, 100*h/float64(v.h))
			if h > v.share*float64(v.h) {
				t.Errorf("%dx%d, %s: the banner is %.0f px high, %.0f %% of the screen; want at most %.0f %%", v.w, v.h, lang, h, 100*h/float64(v.h), 100*v.share)
			}
			bs := eval[[]wdgButton](t, ctx, jsButtons)
			for i, b := range bs {
				if !b.In || math.Abs(b.W-bs[0].W) > .5 || b.H != bs[0].H || b.Style != bs[0].Style || b.H < 24 {
					t.Errorf("%dx%d, %s: choice %d %+v, the first %+v: want all in view, the same size and style", v.w, v.h, lang, i, b, bs[0])
				}
			}
		}
		// The page's last line scrolls above the banner.
		got := eval[string](t, ctx, `(() => { scrollTo(0, document.documentElement.scrollHeight);
			const f = document.querySelector('footer p').getBoundingClientRect().bottom, b = `+jsBanner+`.getBoundingClientRect().top;
			return f <= b ? 'ok' : 'footer ends at ' + f + ', the banner starts at ' + b })()`)
		if got != "ok" {
			t.Errorf("%dx%d, scrolled to the end: %s", v.w, v.h, got)
		}
	}

	// Tab through the page on a phone: each control of the page that gets
	// the focus is scrolled clear of the banner (WCAG 2.4.11).
	wdgLoad(t, ctx, env, 375, 740)
	eval[any](t, ctx, `document.querySelector('main').insertAdjacentHTML('beforeend', '<p><a href="#a">a</a> <a href="#b">b</a></p><p style="height:900px"></p><p><a href="#c">c</a></p>')`)
	for range 12 {
		run(t, ctx, chromedp.KeyEvent(kb.Tab))
		js := `(() => { const a = document.activeElement; if (!a || a === document.body || a.id === 'consentd') return 'ok';
			const r = a.getBoundingClientRect(), b = ` + jsBanner + `.getBoundingClientRect();
			return r.bottom <= b.top + .5 ? 'ok' : (a.id || a.textContent.slice(0, 20)) + ' at ' + r.top + '..' + r.bottom + ', the banner from ' + b.top })()`
		// The widget scrolls in the next frame.
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js+` === 'ok'`, chromedp.WithPollingTimeout(2*time.Second))); err != nil {
			t.Errorf("Tab on a phone: %s", eval[string](t, ctx, js))
		}
	}

	// The settings' header on a phone: the title and the close button on
	// one line, the language switcher beside them.
	wdgLoad(t, ctx, env, 375, 740)
	eval[any](t, ctx, `consentd.showSettings()`)
	poll(t, ctx, jsPrefsOpen)
	got = eval[string](t, ctx, `(() => { const d = `+jsPrefs+`, r = e => d.querySelector(e).getBoundingClientRect(), h = r('h2'), x = r('.x'), s = r('select');
		return [Math.abs((h.top + h.bottom) / 2 - (x.top + x.bottom) / 2) < 8, Math.abs(s.top - h.top) < 16, r('.bar').height <= 64, h.height < 30].join(' ') })()`)
	if got != "true true true true" {
		t.Errorf("settings header at 375: title beside close, switcher beside title, bar at most 64px, title one line = %s", got)
	}
	run(t, ctx, chromedp.KeyEvent(kb.Escape))
}

// The banner is the first stop of Tab; after a decision made with the
// keyboard the focus goes back where it was, or the next Tab starts at the
// top of the page (found item 4).
func wdgTestFocus(t *testing.T, env *servertest.Env) {
	ctx := wdgTab(t, nil)
	base := env.Records(t, "demo")
	wdgLoad(t, ctx, env, 1280, 800)
	run(t, ctx, chromedp.KeyEvent(kb.Tab))
	if in := eval[bool](t, ctx, jsBanner+`.contains(`+jsActive+`)`); !in {
		t.Errorf("the first Tab went to %q, want the banner", eval[string](t, ctx, wdgActive))
	}
	wdgTabTo(t, ctx, "accept-all")
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	wdgOneRecord(t, env, base)
	poll(t, ctx, `!(`+jsBannerShow+`)`)
	// The next Tab: the page's first control, not the end of the page.
	run(t, ctx, chromedp.KeyEvent(kb.Tab))
	if got := eval[string](t, ctx, `(() => { const a = document.activeElement, first = document.querySelector('a[href], button, input, select, textarea');
		return a === first ? 'ok' : (a.id || a.tagName) + ' instead of ' + (first.id || first.tagName) })()`); got != "ok" {
		t.Errorf("Tab after the decision: %s", got)
	}

	// From a control of the page into the banner (Shift+Tab: the banner
	// is before the page), a decision, and the focus is back on it.
	ctx = wdgTab(t, nil)
	wdgLoad(t, ctx, env, 1280, 800)
	eval[any](t, ctx, `document.getElementById('reopen').focus()`)
	run(t, ctx, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(kb.ModifierShift)))
	run(t, ctx, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(kb.ModifierShift)))
	if a := eval[string](t, ctx, wdgActive); a != "reject-all" {
		t.Fatalf("Shift+Tab twice from the page went to %q, want reject-all", a)
	}
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	poll(t, ctx, `!(`+jsBannerShow+`)`)
	if a := eval[string](t, ctx, `document.activeElement.id`); a != "reopen" {
		t.Errorf("after the decision the focus is on %q, want #reopen", a)
	}
	wdgOneRecord(t, env, base+1)

	// Through the settings: Settings, Save; the focus is back on the page's button.
	ctx = wdgTab(t, nil)
	wdgLoad(t, ctx, env, 1280, 800)
	eval[any](t, ctx, `document.getElementById('reopen').focus()`)
	run(t, ctx, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(kb.ModifierShift)))
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	poll(t, ctx, jsPrefsOpen)
	wdgTabTo(t, ctx, "prefs save")
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	poll(t, ctx, `!`+jsPrefs+` && !(`+jsBannerShow+`)`)
	if a := eval[string](t, ctx, `document.activeElement.id`); a != "reopen" {
		t.Errorf("after saving the settings the focus is on %q, want #reopen", a)
	}
	wdgOneRecord(t, env, base+2)
}

// The settings' switches are switches, described by their category's
// text; the dialogs close with an icon button that has a name (found
// item 3).
func wdgTestControls(t *testing.T, env *servertest.Env) {
	// The settings' script is not loaded with the banner, but when the
	// pointer first comes over it.
	ctx := wdgTab(t, nil)
	wdgLoad(t, ctx, env, 1280, 800)
	const jsPrefsScript = `performance.getEntriesByType('resource').filter(e => e.name.endsWith('/w/_prefs.js')).length`
	time.Sleep(200 * time.Millisecond)
	if n := eval[int](t, ctx, jsPrefsScript); n != 0 {
		t.Errorf("the settings script was loaded %d times before anyone touched the banner", n)
	}
	r := buttonRect(t, ctx, "reject-all")
	run(t, ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, r.X+r.W/2, r.Y+r.H/2))
	poll(t, ctx, `typeof window.__consentdPrefs === 'function' && `+jsPrefsScript+` === 1`)

	// A settings script that fails to load: nothing opens, the next try loads it.
	ctx = wdgTab(t, nil)
	wdgLoad(t, ctx, env, 1280, 800)
	eval[any](t, ctx, `window.__append = document.head.append; window.__warned = 0; const w = console.warn; console.warn = (...a) => (window.__warned++, w(...a));
		document.head.append = function (s) { s.src = '/no-such-script.js'; window.__append.call(this, s) }; consentd.showSettings()`)
	poll(t, ctx, `window.__warned > 0`)
	if got := eval[string](t, ctx, `String(!!`+jsPrefs+`) + '|' + document.querySelectorAll('script[src$="/no-such-script.js"]').length`); got != "false|0" {
		t.Errorf("after a failed settings script: dialog|scripts left = %q, want false|0", got)
	}
	eval[any](t, ctx, `document.head.append = window.__append`)
	eval[any](t, ctx, `consentd.showSettings()`)
	poll(t, ctx, jsPrefsOpen)
	got := eval[[]string](t, ctx, `[...`+jsPrefs+`.querySelectorAll('[role=switch]')].map(i => { const s = getComputedStyle(i), d = `+jsRoot+`.getElementById(i.getAttribute('aria-describedby'));
		return [i.type, s.appearance, s.width, s.height, d && d.textContent.length > 20, d && d.closest('.cat') === i.closest('.cat')].join(' ') })`)
	if len(got) != 3 {
		t.Fatalf("%d switches, want 3", len(got))
	}
	for _, g := range got {
		if g != "checkbox none 44px 24px true true" {
			t.Errorf("switch: type appearance width height described-by-its-text = %s", g)
		}
	}
	// A switch turns with a click on its label.
	if got := eval[string](t, ctx, `(() => { const i = `+jsPrefs+`.querySelector('[data-cat=analytics]'), b = i.checked; i.labels[0].click(); return b + ' ' + i.checked })()`); got != "false true" {
		t.Errorf("analytics switch before and after a click on its label: %s", got)
	}
	x := eval[string](t, ctx, `(() => { const x = `+jsPrefs+`.querySelector('.x'), r = x.getBoundingClientRect(); return [x.textContent === '', x.getAttribute('aria-label'), r.width >= 24 && r.height >= 24].join(' ') })()`)
	if x != "true Sulje true" {
		t.Errorf("close button: no text, aria-label, at least 24px = %s", x)
	}
	eval[any](t, ctx, jsPrefs+`.querySelector('.x').click()`)
	poll(t, ctx, `!`+jsPrefs)
}

// wdgAxeViewports are the screens axe checks the widget on.
var wdgAxeViewports = [][2]int64{{320, 568}, {375, 740}, {1280, 800}}

// a11yWidgetScreens runs axe on the banner, the settings and the notice
// view at 320, 375 and 1280 px, light and dark. A part of a11yTest.
func a11yWidgetScreens(t *testing.T, url, axe string) {
	for _, v := range wdgAxeViewports {
		ctx := tab(t)
		run(t, ctx, chromedp.EmulateViewport(v[0], v[1]))
		run(t, ctx, chromedp.Navigate(url))
		poll(t, ctx, jsBannerSettled)
		for _, scheme := range []string{"light", "dark"} {
			wdgScheme(t, ctx, scheme)
			what := fmt.Sprintf("%dx%d %s", v[0], v[1], scheme)
			a11yCheck(t, ctx, axe, "banner "+what, "#consentd")
			eval[any](t, ctx, `consentd.showSettings()`)
			poll(t, ctx, jsPrefsOpen)
			eval[any](t, ctx, `for (const d of `+jsPrefs+`.querySelectorAll('details')) d.open = true`)
			poll(t, ctx, jsRoot+`.getAnimations().length === 0`)
			a11yCheck(t, ctx, axe, "settings "+what, "#consentd")
			run(t, ctx, chromedp.KeyEvent(kb.Escape))
			poll(t, ctx, `!`+jsPrefs)
			eval[any](t, ctx, `consentd.showNotice()`)
			poll(t, ctx, jsNoticeLoaded)
			poll(t, ctx, jsRoot+`.getAnimations().length === 0`)
			a11yCheck(t, ctx, axe, "notice view "+what, "#consentd")
			// Its tables fit, or scroll sideways and take the focus (found item 5).
			if bad := eval[int](t, ctx, `[...`+jsRoot+`.querySelectorAll('.cdn-table')].filter(w => w.scrollWidth > w.clientWidth && w.tabIndex !== 0).length`); bad > 0 {
				t.Errorf("notice view %s: %d tables scroll and cannot take the focus", what, bad)
			}
			eval[any](t, ctx, jsDialog+`.close()`)
		}
	}
}

// wdgTestSlowPage: on a page whose end arrives after the banner is shown
// (its server pauses in the middle of the body), the spacer that keeps
// the page's end clear of the banner goes after the page's last content,
// not where the parser was, and nothing of the page moves.
func wdgTestSlowPage(t *testing.T, env *servertest.Env) {
	rest := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="fi"><head><meta charset="utf-8"><title>Hidas</title>`+
			`<script src="%s/w/demo.js" async></script></head><body><main><h1>Hidas sivu</h1>%s`, env.URL, strings.Repeat("<p>Kappale.</p>", 30))
		w.(http.Flusher).Flush()
		select {
		case <-rest:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, `</main><footer><p>Sivun loppu</p></footer></body></html>`)
	}))
	defer srv.Close()
	released := false
	release := func() {
		if !released {
			released = true
			close(rest)
		}
	}
	defer release()

	ctx := wdgTab(t, nil)
	run(t, ctx, chromedp.EmulateViewport(375, 740))
	// Not chromedp.Navigate: it would wait for the page's load event.
	if _, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: srv.URL + "/"}); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, jsBannerSettled)
	if s := eval[string](t, ctx, `document.readyState`); s != "loading" {
		t.Fatalf("the banner came when the page was %q; the test needs it while the page loads", s)
	}
	release()
	poll(t, ctx, `document.readyState === 'complete' && !!document.querySelector('footer')`)
	poll(t, ctx, `!!document.querySelector('consentd-spacer')`)
	if got := eval[string](t, ctx, `document.body.lastElementChild.tagName + ' after ' + document.querySelector('consentd-spacer').previousElementSibling.tagName`); got != "CONSENTD-SPACER after FOOTER" {
		t.Errorf("the end of <body>: %s, want CONSENTD-SPACER after FOOTER", got)
	}
	wdgNoShift(t, ctx, "slow page")
}
