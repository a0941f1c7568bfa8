package e2e

import (
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

// blkEnv is a consentd with the demo site plus a page server on another
// loopback port, whose origin the site allows: host pages under the test's
// control, without the demo page's CSP.
type blkEnv struct {
	*servertest.Env
	Page string // the page server's URL
}

// TestHostPages runs the widget on host pages: blocking (this file),
// Consent Mode (gcm_test.go), accessibility and hostile CSS
// (a11y_test.go). They share one server, since under -race starting one
// takes seconds; each subtest has its own browser context.
func TestHostPages(t *testing.T) {
	env := blkStart(t, blkFiles(), gcmFiles, a11yFiles)
	for _, tt := range []struct {
		name string
		test func(*testing.T, *blkEnv)
	}{
		{"blocking", blkTest},
		{"decision before the later script", blkTestEarly},
		{"demo page", blkTestDemoPage},
		{"consent mode", gcmTest},
		{"accessibility", a11yTest},
		{"hostile CSS", a11yTestHostileCSS},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, env) })
	}
}

// blkStart starts both servers. files map a path ("/", "/a.js") to its
// body; "{{consentd}}" in a body becomes the consentd URL. A path containing
// "slow" is answered after 300 ms; pages under /csp get a nonce-only CSP.
func blkStart(t *testing.T, files ...map[string]string) *blkEnv {
	t.Helper()
	all := map[string]string{}
	for _, m := range files {
		maps.Copy(all, m)
	}
	ps := httptest.NewUnstartedServer(nil)
	page := "http://" + ps.Listener.Addr().String()
	env := servertest.Start(t, servertest.Options{Sites: func(base string) map[string]string {
		site := servertest.DemoSite(t, base)
		return map[string]string{"demo.yaml": strings.Replace(site, "origins:\n", "origins:\n  - "+page+"\n", 1)}
	}})
	ps.Config.Handler = blkPages(all, env.URL)
	ps.Start()
	t.Cleanup(ps.Close)
	return &blkEnv{Env: env, Page: page}
}

// blkPages serves the pages of files (path → body; "{{consentd}}" in a
// body becomes consentdURL), typed by their extension (HTML without one),
// never cached. A path containing "slow" is answered after 300 ms; pages
// under /csp get a nonce-only CSP.
func blkPages(files map[string]string, consentdURL string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.Contains(r.URL.Path, "slow") {
			time.Sleep(300 * time.Millisecond)
		}
		if strings.HasPrefix(r.URL.Path, "/csp") {
			w.Header().Set("Content-Security-Policy", "script-src 'nonce-t3st'")
		}
		ct := mime.TypeByExtension(path.Ext(r.URL.Path))
		if ct == "" {
			ct = "text/html; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, strings.ReplaceAll(body, "{{consentd}}", consentdURL))
	}
}

// blkRecord waits for the record at index i of the demo site's log.
func blkRecord(t *testing.T, env *blkEnv, i int) ledger.Stored {
	t.Helper()
	return waitRecords(t, env.Env, int64(i+1))[i]
}

// blkCSPPage allows only scripts with its nonce: the blocked scripts run
// because their copies keep it.
const blkCSPPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>csp</title>
<script nonce="t3st">window.__order = []</script>
<script nonce="t3st" src="{{consentd}}/w/demo.js"></script>
<script type="text/plain" nonce="t3st" data-consent="necessary">__order.push('n-inline')</script>
<script type="text/plain" nonce="t3st" data-consent="necessary" src="/a2.js"></script>
<script type="text/plain" data-consent="necessary">__order.push('no-nonce')</script>
</head><body></body></html>`

// blkTwicePage has the widget twice (a theme and a plugin both add it).
const blkTwicePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>twice</title>
<script>window.__order = []; window.dataLayer = []</script>
<script src="{{consentd}}/w/demo.js"></script>
<script src="{{consentd}}/w/demo.js"></script>
<script type="text/plain" data-consent="necessary" src="/a2.js"></script>
</head><body>
<iframe data-consent="marketing" data-src="/frame.html" data-placeholder width="400" height="200" title="Embedded"></iframe>
</body></html>`

// blkPage has blocked scripts in two categories, external (src, data-src)
// and inline, and a blocked iframe with a placeholder. Each script appends
// its name to window.__order. a1 is slow: the scripts after it would
// overtake it if the order were not kept.
const blkPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>blocking</title>
<script>window.__order = []</script>
<script src="{{consentd}}/w/demo.js"></script>
<script type="text/plain" data-consent="analytics" src="/a1-slow.js"></script>
<script type="text/plain" data-consent="analytics" data-src="/a2.js" data-type="text/javascript"></script>
<script type="text/plain" data-consent="analytics">__order.push('a3-inline')</script>
<script type="text/plain" data-consent="marketing" src="/m1.js"></script>
<script type="text/plain" data-consent="analytics marketing" src="/am.js"></script>
<script type="text/plain" data-consent="analytics">__order.push('a4-inline')</script>
</head><body>
<h1>Blocking</h1>
<iframe id="f" data-consent="marketing" data-src="/frame.html" data-placeholder width="400" height="200" title="Embedded"></iframe>
</body></html>`

// blkEarlyPage decides in a script that runs right after the widget's,
// before the widget has even asked for its later script (/w/_core.HASH.js,
// which sends decisions and runs the blocking): what a visitor's click
// on the banner before that script has loaded does.
const blkEarlyPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>early</title>
<script>window.__order = []</script>
<script src="{{consentd}}/w/demo.js"></script>
<script>
const core = () => String(!!window.__consentdCore || performance.getEntriesByType('resource').some(e => /\/w\/_core\.\w+\.js$/.test(e.name)));
window.__early = [core()]; consentd.accept(['analytics']); window.__early.push(core(), JSON.parse(localStorage.getItem('consentd.queue') || '[]').length);
</script>
<script type="text/plain" data-consent="analytics" src="/a2.js"></script>
</head><body></body></html>`

// blkNoStoragePage is blkEarlyPage where localStorage throws (blocked
// storage, as in sandboxed iframes): the send queue lives in the
// bundle's memory, and the later script must send from that queue.
const blkNoStoragePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>no storage</title>
<script>window.__order = [];
for (const k of ['getItem', 'setItem', 'removeItem']) Storage.prototype[k] = () => { throw new DOMException('blocked', 'SecurityError') };</script>
<script src="{{consentd}}/w/demo.js"></script>
<script>consentd.accept(['analytics'])</script>
<script type="text/plain" data-consent="analytics" src="/a2.js"></script>
</head><body></body></html>`

// blkFiles are the page and its scripts.
func blkFiles() map[string]string {
	files := map[string]string{
		"/":               blkPage,
		"/csp.html":       blkCSPPage,
		"/twice.html":     blkTwicePage,
		"/early.html":     blkEarlyPage,
		"/nostorage.html": blkNoStoragePage,
		"/frame.html":     `<!doctype html><title>frame</title><p>frame loaded</p>`,
	}
	for _, name := range []string{"a1-slow", "a2", "m1", "am", "a5", "m2"} {
		files["/"+name+".js"] = "window.__order.push('" + name + "')"
	}
	return files
}

// blkLoaded lists the page's requests for the blocked files.
const blkLoaded = `performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)
	.filter(p => /^\/(a1-slow|a2|m1|am|a5|m2)\.js$|^\/frame\.html$/.test(p)).sort()`

// blkTestEarly: a decision made before the later script has loaded is
// queued at once, then sent and applied when the script starts: the
// record is stored, its receipt kept, the queue emptied and the allowed
// script run; also when localStorage is blocked.
func blkTestEarly(t *testing.T, env *blkEnv) {
	ctx := tab(t)
	base := env.Records(t, "demo")
	run(t, ctx, chromedp.Navigate(env.Page+"/early.html"))
	poll(t, ctx, `document.readyState === 'complete' && window.__order.includes('a2')`)
	if got := fmt.Sprint(eval[[]any](t, ctx, `window.__early`)); got != "[false false 1]" {
		t.Errorf("later script there before / after the decision, queued entries = %s; want [false false 1]", got)
	}
	if r := blkRecord(t, env, base); r.Method != "custom" || fmt.Sprint(r.Choices) != "map[analytics:true marketing:false necessary:true]" {
		t.Errorf("record %s %v", r.Method, r.Choices)
	}
	poll(t, ctx, `!localStorage.getItem('consentd.queue') && consentd.receipts().length === 1`)

	// With localStorage blocked the queue is in memory: still sent.
	run(t, ctx, chromedp.Navigate(env.Page+"/nostorage.html"))
	poll(t, ctx, `document.readyState === 'complete' && window.__order.includes('a2')`)
	if r := blkRecord(t, env, base+1); r.Method != "custom" {
		t.Errorf("with localStorage blocked: record %s %v", r.Method, r.Choices)
	}
}

func blkTest(t *testing.T, env *blkEnv) {
	ctx := tab(t)
	base := env.Records(t, "demo")
	run(t, ctx, chromedp.Navigate(env.Page+"/"))
	poll(t, ctx, `document.readyState === 'complete' && !!window.consentd && `+jsBannerShow)

	// Before consent nothing ran and nothing was fetched.
	if got := eval[[]string](t, ctx, `window.__order`); len(got) != 0 {
		t.Errorf("before consent these ran: %v", got)
	}
	if got := eval[[]string](t, ctx, blkLoaded); len(got) != 0 {
		t.Errorf("before consent these were requested: %v", got)
	}
	if src := eval[string](t, ctx, `document.getElementById('f').getAttribute('src') || ''`); src != "" {
		t.Errorf("blocked iframe has src %q", src)
	}
	ph := eval[[]string](t, ctx, `(() => { const p = document.querySelector('.consentd-placeholder'), f = document.getElementById('f');
		if (!p) return []; const r = p.getBoundingClientRect();
		return [p.querySelector('p').textContent, [...p.querySelectorAll('button')].map(b => b.textContent).join(' + '), p.lang,
			String(p.nextElementSibling === f), getComputedStyle(f).display, r.width + 'x' + r.height] })()`)
	want := []string{"This content is blocked because it uses cookies of the category “Marketing”.", "Show this time only + Always allow “Marketing”", "en", "true", "none", "400x200"}
	if strings.Join(ph, "|") != strings.Join(want, "|") {
		t.Errorf("placeholder\n got %q\nwant %q", ph, want)
	}

	// Analytics only: its scripts run, in document order.
	eval[any](t, ctx, `consentd.accept(['analytics'])`)
	poll(t, ctx, `window.__order.length >= 4`)
	time.Sleep(100 * time.Millisecond) // a wrongly run marketing script would show by now
	if got := strings.Join(eval[[]string](t, ctx, `window.__order`), " "); got != "a1-slow a2 a3-inline a4-inline" {
		t.Errorf("after accepting analytics, ran %q; want a1-slow a2 a3-inline a4-inline", got)
	}
	if got := strings.Join(eval[[]string](t, ctx, blkLoaded), " "); got != "/a1-slow.js /a2.js" {
		t.Errorf("after accepting analytics, requested %q", got)
	}
	if r := blkRecord(t, env, base); r.Method != "custom" || fmt.Sprint(r.Choices) != "map[analytics:true marketing:false necessary:true]" {
		t.Errorf("record %s %v", r.Method, r.Choices)
	}

	// Scripts added later: the granted one runs, the other waits.
	eval[any](t, ctx, `for (const [cat, src] of [['analytics', '/a5.js'], ['marketing', '/m2.js']]) {
		const s = document.createElement('script'); s.type = 'text/plain'; s.dataset.consent = cat; s.src = src; document.body.append(s) }`)
	poll(t, ctx, `window.__order.includes('a5')`)
	if eval[bool](t, ctx, `window.__order.includes('m2') || !!document.getElementById('f').getAttribute('src')`) {
		t.Error("marketing content loaded without consent")
	}

	// The placeholder's "always allow" button (a real click) grants
	// marketing through the API: a record, the iframe loads and takes the
	// focus, the marketing scripts run in document order.
	r := eval[rect](t, ctx, `(() => { const r = document.querySelector('.consentd-placeholder button:last-of-type').getBoundingClientRect();
		return {X: r.x, Y: r.y, W: r.width, H: r.height} })()`)
	run(t, ctx, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2))
	poll(t, ctx, `(() => { const f = document.getElementById('f'); return !!f.contentDocument?.body?.textContent.includes('frame loaded') })()`)
	poll(t, ctx, `window.__order.length >= 8`)
	if got := strings.Join(eval[[]string](t, ctx, `window.__order`), " "); got != "a1-slow a2 a3-inline a4-inline a5 m1 am m2" {
		t.Errorf("after the placeholder's button, ran %q", got)
	}
	got := eval[[]string](t, ctx, `[String(!!document.querySelector('.consentd-placeholder')), getComputedStyle(document.getElementById('f')).display,
		document.activeElement ? document.activeElement.id : '']`)
	if strings.Join(got, " ") != "false inline f" {
		t.Errorf("after loading: placeholder present, iframe display, focus = %v; want false inline f", got)
	}
	if r := blkRecord(t, env, base+1); r.Method != "accept_all" {
		t.Errorf("placeholder button recorded %s %v, want accept_all", r.Method, r.Choices)
	}

	// A stored decision at load: everything runs in document order, while
	// the page is still being parsed or right after.
	run(t, ctx, chromedp.Navigate(env.Page+"/"))
	poll(t, ctx, `document.readyState === 'complete' && window.__order.length >= 6 && !!document.getElementById('f').getAttribute('src')`)
	if got := strings.Join(eval[[]string](t, ctx, `window.__order`), " "); got != "a1-slow a2 a3-inline m1 am a4-inline" {
		t.Errorf("with consent stored, ran %q; want document order", got)
	}

	// Withdrawal deletes the category's listed first-party cookies (the
	// patterns _pk_id.* and _pk_ses.*), nothing else.
	eval[any](t, ctx, `document.cookie = '_pk_id.1.abc=x; Path=/'; document.cookie = '_pk_ses.1.abc=x; Path=/'; document.cookie = 'keep=1; Path=/'`)
	eval[any](t, ctx, `consentd.reject()`)
	poll(t, ctx, `!document.cookie.includes('_pk_')`)
	if c := eval[string](t, ctx, `document.cookie`); !strings.Contains(c, "keep=1") || !strings.Contains(c, "consentd=") {
		t.Errorf("withdrawal deleted other cookies too: %q", c)
	}
	// Taking back all that was granted is recorded as a withdrawal.
	if r := blkRecord(t, env, base+2); r.Method != "withdraw" {
		t.Errorf("withdrawal recorded %s", r.Method)
	}
	// A stored "no" also clears what scripts that still ran set afterwards.
	eval[any](t, ctx, `document.cookie = '_pk_ses.1.abc=x; Path=/'`)
	run(t, ctx, chromedp.Navigate(env.Page+"/"))
	poll(t, ctx, `document.readyState === 'complete' && !!window.consentd && !document.cookie.includes('_pk_')`)
	if got := eval[[]string](t, ctx, `window.__order`); len(got) != 0 {
		t.Errorf("after withdrawal these ran: %v", got)
	}

	// Under a nonce-based CSP the copies keep the nonce; a script without
	// one stays refused by the CSP.
	run(t, ctx, chromedp.Navigate(env.Page+"/csp.html"))
	poll(t, ctx, `document.readyState === 'complete' && window.__order.length >= 2`)
	time.Sleep(100 * time.Millisecond)
	if got := strings.Join(eval[[]string](t, ctx, `window.__order`), " "); got != "n-inline a2" {
		t.Errorf("under a nonce CSP, ran %q; want n-inline a2", got)
	}

	// Loaded twice, the widget still blocks and tells Consent Mode once.
	run(t, ctx, chromedp.Navigate(env.Page+"/twice.html"))
	poll(t, ctx, `document.readyState === 'complete' && window.__order.length >= 1`)
	time.Sleep(100 * time.Millisecond)
	got = eval[[]string](t, ctx, `[window.__order.join(' '), String(document.querySelectorAll('.consentd-placeholder').length),
		String(dataLayer.filter(e => e[0] === 'consent' && e[1] === 'default').length)]`)
	if strings.Join(got, "|") != "a2|1|1" {
		t.Errorf("widget loaded twice: ran, placeholders, consent defaults = %q; want a2, 1, 1", got)
	}
}

// The demo page shows blocking: its tags run and its embed loads only
// after consent, and withdrawal deletes the analytics cookies.
func blkTestDemoPage(t *testing.T, env *blkEnv) {
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, `document.readyState === 'complete' && `+jsBannerSettled)
	if got := eval[string](t, ctx, `document.getElementById('tags').textContent.replace(/\s+/g, ' ').trim() + ' | ' + !!document.querySelector('#embed[src]')`); got != "Analytics tag: not run Marketing tag: not run | false" {
		t.Errorf("before consent: %q", got)
	}
	if !eval[bool](t, ctx, `!!document.querySelector('.consentd-placeholder button')`) {
		t.Error("no placeholder for the embed")
	}
	click(t, ctx, "accept-all")
	poll(t, ctx, `document.getElementById('tags').textContent.replace(/\s+/g, ' ').trim() === 'Analytics tag: ran Marketing tag: ran'`)
	poll(t, ctx, `(() => { const f = document.getElementById('embed'); try { return !!f.contentDocument.getElementById('cdn-about') } catch (e) { return false } })()`)
	poll(t, ctx, `document.getElementById('cookies').textContent.includes('_pk_id.1.demo')`)
	eval[any](t, ctx, `consentd.reject()`)
	poll(t, ctx, `!document.cookie.includes('_pk_') && !document.getElementById('cookies').textContent.includes('_pk_')`)
}
