package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/consentd/consentd/server/servertest"
)

// noticeSections are the section ids (without "cdn-") of the demo site's
// notice, in order.
var noticeSections = []string{"controller", "contact", "register", "purposes", "data", "sources", "requirement",
	"recipients", "transfers", "cookies", "retention", "security", "rights", "complaint", "automated", "extra-1", "about"}

// noticeShot saves a PNG as a test artifact in $CONSENTD_ARTIFACTS, else
// <repo>/artifacts/e2e.
func noticeShot(t *testing.T, name string, png []byte) {
	t.Helper()
	dir := os.Getenv("CONSENTD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(servertest.RepoRoot(t), "artifacts", "e2e")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

func poll(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	run(t, ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second)))
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	return run(t, ctx, chromedp.Evaluate[T](js))
}

func jsonList(v []string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// The notice view in the widget's shadow root.
const (
	jsRoot   = `document.getElementById('consentd').shadowRoot`
	jsDialog = `(document.getElementById('consentd') && ` + jsRoot + `.querySelector('dialog'))`
	// jsNoticeLoaded: the dialog is open and shows the notice.
	jsNoticeLoaded = `!!(` + jsDialog + ` && ` + jsDialog + `.open && ` + jsRoot + `.getElementById('cdn-about'))`
	// jsActive is the focused element, inside shadow roots too.
	jsActive = `(() => { let a = document.activeElement; while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement; return a })()`
	// jsNoticeFetches counts the requests for notice snapshots.
	jsNoticeFetches = `performance.getEntriesByType('resource').filter(e => e.name.includes('/n/demo/v/')).length`
)

func TestNoticePage(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx := tab(t)
	ids := jsonList(noticeSections)
	for _, lang := range []string{"fi", "sv", "en"} {
		run(t, ctx, chromedp.Navigate(env.URL+"/n/demo?lang="+lang))
		if got := eval[string](t, ctx, `document.documentElement.lang`); got != lang {
			t.Errorf("%s: <html lang=%q>", lang, got)
		}
		// Every section, with a visible non-empty heading.
		missing := eval[[]string](t, ctx, `(`+ids+`).filter(id => { const s = document.getElementById('cdn-' + id), h = document.getElementById('cdn-' + id + '-h');
			return !s || !h || !s.contains(h) || h.tagName !== 'H2' || !h.innerText.trim() || h.getBoundingClientRect().height === 0 })`)
		if len(missing) > 0 {
			t.Errorf("%s: sections missing or without a visible heading: %v", lang, missing)
		}
		toc := eval[[]string](t, ctx, `[...document.querySelectorAll('.cdn-toc a')].map(a => a.getAttribute('href'))`)
		if want := "#cdn-" + strings.Join(noticeSections, " #cdn-"); strings.Join(toc, " ") != want {
			t.Errorf("%s: table of contents\n got %v\nwant %s", lang, toc, want)
		}
		noticeShot(t, "notice-page-"+lang+".png", run(t, ctx, chromedp.FullScreenshot(100)))

		// Tab reaches every link, each once, in document order.
		n := eval[int](t, ctx, `(() => { const as = [...document.querySelectorAll('a')];
			as.forEach((a, i) => a.dataset.i = i); window.__tabs = [];
			document.addEventListener('focusin', e => window.__tabs.push(e.target.dataset.i || e.target.tagName));
			document.activeElement.blur(); return as.length })()`)
		for range n {
			run(t, ctx, chromedp.KeyEvent(kb.Tab))
		}
		tabs := eval[[]string](t, ctx, `window.__tabs`)
		want := make([]string, n)
		for i := range want {
			want[i] = fmt.Sprint(i)
		}
		if strings.Join(tabs, " ") != strings.Join(want, " ") {
			t.Errorf("%s: %d links; Tab focused\n%v\nwant\n%v", lang, n, tabs, want)
		}
	}

	// The language links switch the page.
	run(t, ctx, chromedp.Navigate(env.URL+"/n/demo?lang=fi"))
	r := run(t, ctx, chromedp.Poll[rect](`(() => { const a = [...document.querySelectorAll('nav a')].find(a => a.textContent === 'svenska');
		if (!a) return null; const r = a.getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height} })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	run(t, ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2)))
	poll(t, ctx, `document.documentElement.lang === 'sv' && location.search === '?lang=sv' && !!document.getElementById('cdn-about')`)
}

func TestNoticeView(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)

	// The banner's control opens the view; the banner stays as it was.
	click(t, ctx, "notice")
	poll(t, ctx, jsNoticeLoaded)
	missing := eval[[]string](t, ctx, `(`+jsonList(noticeSections)+`).filter(id => !`+jsRoot+`.getElementById('cdn-' + id))`)
	if len(missing) > 0 {
		t.Errorf("sections missing from the notice view: %v", missing)
	}
	if got := eval[string](t, ctx, jsDialog+`.querySelector('h2').textContent + '|' + `+jsRoot+`.getElementById(`+jsDialog+`.getAttribute('aria-labelledby')).textContent`); got != "Tietosuojaseloste|Tietosuojaseloste" {
		t.Errorf("dialog title | aria-labelledby: %q", got)
	}
	if got := eval[string](t, ctx, jsDialog+`.querySelector('.bar a').href`); got != env.URL+"/n/demo?lang=fi" {
		t.Errorf("page link %q", got)
	}
	noticeShot(t, "notice-widget-fi.png", run(t, ctx, chromedp.CaptureScreenshot()))

	// A table-of-contents link scrolls the view and moves the focus to the
	// heading; the page's URL stays.
	r := eval[rect](t, ctx, `(() => { const r = `+jsRoot+`.querySelector('.cdn-toc a[href="#cdn-rights"]').getBoundingClientRect();
		return {X: r.x, Y: r.y, W: r.width, H: r.height} })()`)
	run(t, ctx, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2))
	poll(t, ctx, `(() => { const a = `+jsActive+`; return !!a && a.id === 'cdn-rights-h' })()`)
	poll(t, ctx, `(() => { const b = `+jsRoot+`.querySelector('.body').getBoundingClientRect(), h = `+jsRoot+`.getElementById('cdn-rights-h').getBoundingClientRect();
		return h.top >= b.top - 1 && h.top < b.top + 40 })()`)
	if u := eval[string](t, ctx, `location.href`); u != env.URL+"/" {
		t.Errorf("page URL changed to %q", u)
	}

	// Tab goes through every link and button of the view, and only them.
	n := eval[int](t, ctx, jsDialog+`.querySelectorAll('a[href], button, [tabindex="0"]').length`)
	seen := map[string]bool{}
	for i := range n + 2 {
		run(t, ctx, chromedp.KeyEvent(kb.Tab))
		where := eval[string](t, ctx, `(() => { const a = `+jsActive+`, d = `+jsDialog+`;
			if (!a || !d.contains(a)) return 'outside: ' + (a ? a.outerHTML.slice(0, 80) : 'nothing');
			const all = [...d.querySelectorAll('a[href], button, [tabindex="0"]')]; return String(all.indexOf(a)) })()`)
		if strings.HasPrefix(where, "outside") {
			t.Fatalf("Tab %d: focus left the dialog (%s)", i+1, where)
		}
		seen[where] = true
	}
	for i := range n {
		if !seen[fmt.Sprint(i)] {
			t.Errorf("Tab never reached focusable element %d of %d in the dialog", i, n)
		}
	}
	// Shift+Tab on the first goes round to the last.
	eval[any](t, ctx, jsDialog+`.querySelector('a').focus()`)
	run(t, ctx, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(kb.ModifierShift)))
	if last := eval[bool](t, ctx, `(() => { const all = `+jsDialog+`.querySelectorAll('a[href], button, [tabindex="0"]'); return all[all.length - 1] === `+jsActive+` })()`); !last {
		t.Error("Shift+Tab on the first link did not go to the last one")
	}

	// Esc closes it, the focus goes back to the notice control, the banner
	// is still there.
	run(t, ctx, chromedp.KeyEvent(kb.Escape))
	poll(t, ctx, `!`+jsDialog+`.open`)
	poll(t, ctx, `(() => { const a = `+jsActive+`; return !!a && a.getAttribute('data-action') === 'notice' })()`)
	if !eval[bool](t, ctx, jsBannerShow) {
		t.Error("banner gone after closing the notice")
	}

	// After a decision (no banner) consentd.showNotice() opens it too,
	// from the cache.
	click(t, ctx, "accept-all")
	poll(t, ctx, `!(`+jsBannerShow+`)`)
	eval[any](t, ctx, `consentd.showNotice()`)
	poll(t, ctx, jsNoticeLoaded)
	if n := eval[int](t, ctx, jsNoticeFetches); n != 1 {
		t.Errorf("notice fetched %d times, want once", n)
	}

	// The close button closes it.
	r = eval[rect](t, ctx, `(() => { const r = `+jsDialog+`.querySelector('.bar button').getBoundingClientRect();
		return {X: r.x, Y: r.y, W: r.width, H: r.height} })()`)
	if r.W < 24 || r.H < 24 {
		t.Errorf("close button %vx%v, want at least 24x24", r.W, r.H)
	}
	run(t, ctx, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2))
	poll(t, ctx, `!`+jsDialog+`.open`)

	// On a phone nothing but the tables scrolls sideways.
	run(t, ctx, chromedp.EmulateViewport(360, 740))
	eval[any](t, ctx, `consentd.showNotice()`)
	poll(t, ctx, jsNoticeLoaded)
	wide := eval[[]string](t, ctx, `(() => { const d = `+jsDialog+`, b = d.querySelector('.body'), out = [];
		if (d.scrollWidth > d.clientWidth) out.push('dialog ' + d.scrollWidth + ' > ' + d.clientWidth);
		if (b.scrollWidth > b.clientWidth) out.push('body ' + b.scrollWidth + ' > ' + b.clientWidth);
		const right = b.getBoundingClientRect().right + 0.5;
		for (const el of d.querySelectorAll('*')) if (!el.closest('.cdn-table') && el.getBoundingClientRect().right > right)
			out.push(el.tagName + '.' + el.className + ' ' + el.textContent.slice(0, 40));
		return out })()`)
	if len(wide) > 0 {
		t.Errorf("at 360px these overflow sideways: %v", wide)
	}
	noticeShot(t, "notice-widget-narrow-fi.png", run(t, ctx, chromedp.CaptureScreenshot()))
}

// The notice view script or the notice that cannot be loaded: no view
// (the script) or a message and the page link (the notice); the next
// opening tries again.
func TestNoticeViewLoadError(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerShow)
	// The view script fails (its URL made a 404): showNotice settles,
	// nothing opens, the failed script element is gone.
	eval[any](t, ctx, `window.__append = document.head.append;
		document.head.append = function (s) { s.src = '/no-such-script.js'; window.__append.call(this, s) };
		consentd.showNotice().then(() => window.__settled = true)`)
	poll(t, ctx, `window.__settled === true`)
	if got := eval[string](t, ctx, `String(!!`+jsDialog+`) + '|' + document.querySelectorAll('script[src$="/no-such-script.js"]').length + '|' + typeof window.__consentdNotice`); got != "false|0|undefined" {
		t.Errorf("after a failed view script: dialog|scripts left|__consentdNotice = %q, want false|0|undefined", got)
	}
	eval[any](t, ctx, `document.head.append = window.__append`)
	eval[any](t, ctx, `window.__fetch = window.fetch; window.fetch = () => Promise.reject(new TypeError('offline')); consentd.showNotice()`)
	poll(t, ctx, `(() => { const b = `+jsDialog+`?.querySelector('.body'), a = b?.querySelector('a');
		return !!b && b.textContent.startsWith('Selostetta ei voitu ladata.') && !!a && a.href === '`+env.URL+`/n/demo?lang=fi' })()`)
	eval[any](t, ctx, `window.fetch = window.__fetch; `+jsDialog+`.close(); consentd.showNotice()`)
	poll(t, ctx, jsNoticeLoaded)
}

// hostile are markup a site owner might paste by mistake, or an attacker
// who can edit the site's texts might write: they must stay text.
var hostile = []string{`<img src=x onerror="window.__xss=1">`, `<script>window.__xss=1</script>`, `"><svg onload=window.__xss=1>`}

func xssSite(baseURL string) map[string]string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) } // JSON strings are YAML
	img, script, svg := q(hostile[0]), q(hostile[1]), q(hostile[2])
	all := q(strings.Join(hostile, " "))
	return map[string]string{"demo.yaml": `id: demo
name: ` + all + `
origins: [` + baseURL + `]
languages: [en]
defaultLanguage: en
policyVersion: "1"
categories:
  - id: necessary
    required: true
    label: {en: ` + img + `}
    description: {en: ` + script + `}
    services:
      - name: ` + svg + `
        provider: ` + img + `
        purpose: {en: ` + all + `}
        cookies:
          - name: sid
            duration: session
            description: {en: ` + all + `}
notice:
  registerName: {en: ` + all + `}
  purposes:
    - purpose: {en: ` + script + `}
      legalBasis: [consent]
      details: {en: ` + all + `}
  sections:
    - title: {en: ` + svg + `}
      body: {en: ` + q(strings.Join(hostile, "\n\n")+"\n\n- "+hostile[0]) + `}
`}
}

func TestNoticeViewEscapesHostileTexts(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Sites: xssSite})
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	click(t, ctx, "notice")
	poll(t, ctx, `!!(`+jsDialog+` && `+jsDialog+`.open && `+jsRoot+`.getElementById('cdn-register'))`)
	noticeShot(t, "notice-widget-xss.png", run(t, ctx, chromedp.CaptureScreenshot()))

	if got := eval[string](t, ctx, `String(window.__xss)`); got != "undefined" {
		t.Errorf("window.__xss = %s: a hostile text ran", got)
	}
	if n := eval[int](t, ctx, jsRoot+`.querySelectorAll('img, script, svg, [onerror], [onload]').length`); n != 0 {
		t.Errorf("%d hostile elements in the shadow root", n)
	}
	text := eval[string](t, ctx, jsRoot+`.querySelector('.body').innerText`)
	for _, h := range hostile {
		if n := strings.Count(text, h); n < 4 {
			t.Errorf("notice view shows %q as text %d times, want every field that has it (4+)", h, n)
		}
	}
	if t.Failed() {
		t.Logf("notice view text:\n%s", text)
	}
}

func TestChangedNoticeAsksAgain(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx := tab(t)
	// The widget script may be cached for minutes; the test wants the new one.
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	click(t, ctx, "accept-all")
	first := waitRecords(t, env, 1)[0]

	path := filepath.Join(env.SitesDir, "demo.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const old, changed = "Autamme kehittämään palvelua", "Autamme parantamaan palvelua"
	if !strings.Contains(string(b), old) {
		t.Fatalf("demo.yaml lacks %q", old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, changed, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.Reload(); err != nil {
		t.Fatal(err)
	}

	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	click(t, ctx, "accept-all")
	second := waitRecords(t, env, 2)[1]
	nv := env.NoticeVersion(t, "demo", "fi")
	if second.NoticeVersion != nv || second.NoticeVersion == first.NoticeVersion {
		t.Errorf("notice versions: first %s, second %s, current %s; want second = current ≠ first",
			first.NoticeVersion, second.NoticeVersion, nv)
	}
	if second.ConsentID != first.ConsentID {
		t.Errorf("consent id changed from %s to %s", first.ConsentID, second.ConsentID)
	}
}
