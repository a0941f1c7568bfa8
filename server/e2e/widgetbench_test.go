//go:build widgetbench

package e2e

// The widget's first-paint benchmark (make bench-widget; docs/performance.md,
// "Widget: time to the banner"). Built only with the tag widgetbench, so
// make test does not run it.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"

	"github.com/consentd/consentd/server/servertest"
	"github.com/consentd/consentd/widget"
)

// benchProbe is the first script of every page: it notes the time, then
// watches the document (and every shadow root made later) and notes the
// time at which the widget's banner is first in the DOM with a box laid
// out (found by {{find}}). Reading the box forces style and layout, so
// the time includes them; not the paint, and not a fade-in or a delay a
// widget adds before it makes the banner visible (vanilla-cookieconsent
// shows its box 100 ms after inserting it, for its animation).
const benchProbe = `<script>
window.__t0 = performance.now();
(() => {
  const find = () => { {{find}} };
  const opts = {subtree: true, childList: true, attributes: true};
  const check = () => {
    if (window.__t1) return;
    const el = find(), r = el && el.getBoundingClientRect();
    if (r && r.width > 0 && r.height > 0) { window.__t1 = performance.now(); mo.disconnect(); setTimeout(report); }
  };
  // The result, to the page's server (a page opened without DevTools,
  // $CONSENTD_BENCH_DETACHED): the two times and the first of each mark.
  const report = () => {
    const w = performance.getEntriesByName('widget-start')[0].startTime, o = {};
    for (const e of performance.getEntriesByType('mark')) if (e.name != 'widget-start' && !(e.name in o)) o[e.name] = e.startTime - w;
    o.banner = __t1 - w;
    navigator.sendBeacon('/result' + location.search, JSON.stringify({t: [__t1 - __t0, __t1 - w], marks: o}));
  };
  const mo = new MutationObserver(check);
  mo.observe(document, opts);
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (o) { const r = attach.call(this, o); mo.observe(r, opts); return r; };
})();
</script>`

// benchBody is the same page for every widget: a article of about 6 KB.
var benchBody = func() string {
	var b strings.Builder
	b.WriteString(`<header><a href="/">Oppimo</a> <nav><a href="/a">Oppiminen</a> <a href="/b">Opettajille</a> <a href="/c">Huoltajille</a></nav></header><main><h1>Tervetuloa Oppimoon</h1>`)
	for i := range 12 {
		fmt.Fprintf(&b, `<h2>Osio %d</h2><p>Oppimo on oppimisympäristö, jota kaupungin perusopetuksen koulut käyttävät opetuksessa, tehtävien palauttamisessa ja palautteen antamisessa. Kappale %d kertoo lisää sen käytöstä, ja siinä on <a href="/x%d">linkki</a> ja <strong>korostus</strong>.</p>`, i, i, i)
	}
	b.WriteString(`</main><footer><p>Oppimo Oy · Esimerkkikatu 1, 00100 Helsinki</p></footer>`)
	return b.String()
}()

// benchPage is a whole page: the probe, then the widget's tags in head.
func benchPage(find, head string) string {
	return `<!doctype html><html lang="fi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Oppimo</title>` +
		strings.Replace(benchProbe, "{{find}}", find, 1) + head + `</head><body>` + benchBody + `</body></html>`
}

// benchNull is the floor: a script that only puts a banner (title, text,
// three buttons, a little CSS) into a shadow root.
const benchNull = `(() => {
  const h = document.createElement('div'), r = h.attachShadow({mode: 'open'});
  r.innerHTML = '<style>section{position:fixed;left:0;right:0;bottom:0;padding:16px;background:#fff;font:15px system-ui}button{margin:4px}</style>' +
    '<section role="region" aria-label="Evästeet"><h2>Evästeet</h2><p>Käytämme välttämättömiä evästeitä, jotta sivusto toimii. Muita evästeitä käytämme vain, jos annat siihen suostumuksesi.</p>' +
    '<button>Hyväksy kaikki</button><button>Hylkää kaikki</button><button>Asetukset</button></section>';
  const add = () => document.body.append(h);
  document.body ? add() : document.addEventListener('DOMContentLoaded', add);
})();`

// benchVCCConfig is vanilla-cookieconsent's configuration: the demo
// site's three categories and texts, and hideFromBots off (headless
// Chromium counts as a bot).
const benchVCCConfig = `<script>window.__vcc = {hideFromBots: false,
  categories: {necessary: {enabled: true, readOnly: true}, analytics: {}, marketing: {}},
  language: {default: 'fi', translations: {fi: {
    consentModal: {title: 'Evästeet', description: 'Käytämme välttämättömiä evästeitä, jotta sivusto toimii. Muita evästeitä käytämme vain, jos annat siihen suostumuksesi. Voit muuttaa valintaasi milloin tahansa.',
      acceptAllBtn: 'Hyväksy kaikki', acceptNecessaryBtn: 'Hylkää kaikki', showPreferencesBtn: 'Asetukset'},
    preferencesModal: {title: 'Evästeasetukset', acceptAllBtn: 'Hyväksy kaikki', acceptNecessaryBtn: 'Hylkää kaikki', savePreferencesBtn: 'Tallenna valinnat', closeIconLabel: 'Sulje',
      sections: [{title: 'Välttämättömät', description: 'Sivuston toiminnan kannalta välttämättömät evästeet.', linkedCategory: 'necessary'},
        {title: 'Analytiikka', description: 'Autamme kehittämään palvelua keräämällä nimetöntä tietoa sivujen käytöstä.', linkedCategory: 'analytics'},
        {title: 'Markkinointi', description: 'Mahdollistaa kohdennetun mainonnan.', linkedCategory: 'marketing'}]}}}}};</script>`

// benchVCCDir is where make bench-widget unpacked vanilla-cookieconsent:
// $CONSENTD_VCC, else <repo>/.cache/vanilla-cookieconsent.
func benchVCCDir(t *testing.T) string {
	if d := os.Getenv("CONSENTD_VCC"); d != "" {
		return d
	}
	return filepath.Join(servertest.RepoRoot(t), ".cache", "vanilla-cookieconsent")
}

// TestWidgetBench loads the same page with each widget in turns, each
// time in a new browser context (a first visit: empty cache, cookies and
// storage), and prints the median time from the page's first script to
// the banner in the DOM, for a null widget (the floor),
// vanilla-cookieconsent and consentd, and the ratio of consentd's time
// above the floor to vanilla-cookieconsent's. $CONSENTD_BENCH_LOADS sets
// the loads per widget (default 101: fewer give a ratio too uncertain to
// read, see benchInterval).
func TestWidgetBench(t *testing.T) {
	loads := 101
	if n, err := strconv.Atoi(os.Getenv("CONSENTD_BENCH_LOADS")); err == nil && n > 0 {
		loads = n
	}
	dir := benchVCCDir(t)
	vccJS, err := os.ReadFile(filepath.Join(dir, "cookieconsent.umd.js"))
	if err != nil {
		t.Fatalf("vanilla-cookieconsent: %v (make bench-widget downloads it)", err)
	}
	vccCSS, err := os.ReadFile(filepath.Join(dir, "cookieconsent.css"))
	if err != nil {
		t.Fatal(err)
	}
	version, _ := os.ReadFile(filepath.Join(dir, "VERSION"))

	// consentd's bundle as the server sends it for the demo site, served
	// like the others from the page's own server: the same connection and
	// headers for every widget, so only the scripts differ.
	env := servertest.Start(t, servertest.Options{})
	bundle, err := benchGet(env.URL + "/w/demo.js")
	if err != nil {
		t.Fatal(err)
	}
	// Its later script (blocking, sending), which it loads after the
	// banner from its own script's origin.
	coreFile, err := widget.CoreFile()
	if err != nil {
		t.Fatal(err)
	}
	core, err := benchGet(env.URL + "/w/" + coreFile)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]struct{ typ, body string }{
		"/consentd.js":   {"text/javascript", string(bundle)},
		"/w/" + coreFile: {"text/javascript", core},
		"/null.js":       {"text/javascript", benchNull},
		"/vcc/cc.umd.js": {"text/javascript", string(vccJS)},
		"/vcc/cc.css":    {"text/css", string(vccCSS)},
		"/null.html":     {"text/html", benchPage(`const h = document.body && document.body.lastElementChild; return h && h.shadowRoot && h.shadowRoot.querySelector('section')`, `<script src="/null.js" async></script>`)},
		"/vcc.html":      {"text/html", benchPage(`return document.querySelector('#cc-main .cm')`, benchVCCConfig+`<link rel="stylesheet" href="/vcc/cc.css"><script src="/vcc/cc.umd.js" async onload="CookieConsent.run(window.__vcc)"></script>`)},
		"/consentd.html": {"text/html", benchPage(`const h = document.getElementById('consentd'); return h && h.shadowRoot.getElementById('consentd-banner')`, `<script src="/consentd.js" async></script>`)},
	}
	type result struct {
		T     [2]float64         `json:"t"`
		Marks map[string]float64 `json:"marks"`
		load  string
	}
	results := make(chan result, 1)
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/result" {
			var res result
			if err := json.NewDecoder(r.Body).Decode(&res); err == nil {
				res.load = r.URL.Query().Get("load")
				select {
				case results <- res:
				default: // a load of the other mode
				}
			}
			return
		}
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.typ+"; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if f.typ == "text/javascript" {
			// The second measure starts when the widget's script starts to run.
			body := f.body
			if strings.HasPrefix(body, "//# ") { // magic comments stay first (widget.CompileHint)
				line, rest, _ := strings.Cut(body, "\n")
				fmt.Fprintln(w, line)
				body = rest
			}
			fmt.Fprint(w, "performance.mark('widget-start');", body)
			return
		}
		fmt.Fprint(w, f.body)
	}))
	defer pages.Close()

	widgets := []struct{ name, page string }{
		{"null widget (floor)", "/null.html"},
		{"vanilla-cookieconsent " + strings.TrimSpace(string(version)), "/vcc.html"},
		{"consentd", "/consentd.html"},
	}
	// $CONSENTD_BENCH_VARIANTS: consentd's banner (its markup, demo texts
	// and style sheet from the bundle) built the null widget's way, in one
	// innerHTML, without and with the decision cookie's read: what the
	// banner itself costs, apart from the rest of consentd's code.
	if os.Getenv("CONSENTD_BENCH_VARIANTS") != "" {
		own, err := benchOwnBanner(string(bundle))
		if err != nil {
			t.Fatal(err)
		}
		find := `const h = document.getElementById('consentd'); return h && h.shadowRoot.getElementById('consentd-banner')`
		for _, v := range []struct{ name, file, pre string }{
			{"consentd's banner, null's way", "/own", ""},
			{"consentd's banner + cookie read", "/own-cookie", `RegExp('(^|;) *consentd=([^;]*)').exec(document.cookie);`},
		} {
			files[v.file+".js"] = struct{ typ, body string }{"text/javascript", "(() => {" + v.pre + own + "})();"}
			files[v.file+".html"] = struct{ typ, body string }{"text/html", benchPage(find, `<script src="`+v.file+`.js" async></script>`)}
			widgets = append(widgets, struct{ name, page string }{v.name, v.file + ".html"})
		}
	}
	// $CONSENTD_BENCH_SCRIPTS: more widgets to measure in the same run,
	// each a script file that shows consentd's banner (a build of the
	// widget with a change to try), as name=file,name=file.
	for i, kv := range strings.FieldsFunc(os.Getenv("CONSENTD_BENCH_SCRIPTS"), func(r rune) bool { return r == ',' }) {
		name, file, ok := strings.Cut(kv, "=")
		body, err := os.ReadFile(file)
		if !ok || err != nil {
			t.Fatalf("CONSENTD_BENCH_SCRIPTS: %q: want name=file, names without commas (%v)", kv, err)
		}
		path := "/script" + strconv.Itoa(i)
		files[path+".js"] = struct{ typ, body string }{"text/javascript", string(body)}
		files[path+".html"] = struct{ typ, body string }{"text/html", benchPage(`const h = document.getElementById('consentd'); return h && h.shadowRoot.getElementById('consentd-banner')`, `<script src="`+path+`.js" async></script>`)}
		widgets = append(widgets, struct{ name, page string }{name, path + ".html"})
	}
	// $CONSENTD_BENCH_MARKS: the performance.mark()s of each page (an
	// instrumented widget's), from the widget script's start, per page.
	marks := map[string][]float64{}
	// detached loads the page in a new browser context without attaching
	// DevTools to it: chromedp's targets have the Network, DOM and CSS
	// domains on, which makes each cookie read, DOM change and style
	// sheet of a page cost more (a visitor's browser has none of this).
	// The page's probe posts its result.
	b := chromedp.FromContext(browser).Browser
	loadN, traceN := 0, 0
	detached := func(page string) [2]float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		bc, err := cdp.Call(ctx, b, target.CreateBrowserContext, target.CreateBrowserContextParams{})
		if err != nil {
			t.Fatal(err)
		}
		defer cdp.Call(ctx, b, target.DisposeBrowserContext, target.DisposeBrowserContextParams{BrowserContextID: bc.BrowserContextID})
		loadN++
		id := strconv.Itoa(loadN)
		tg, err := cdp.Call(ctx, b, target.CreateTarget, target.CreateTargetParams{URL: pages.URL + page + "?load=" + id, BrowserContextID: bc.BrowserContextID, Width: 1280, Height: 800})
		if err != nil {
			t.Fatal(err)
		}
		defer cdp.Call(ctx, b, target.CloseTarget, target.CloseTargetParams{TargetID: tg.TargetID})
		for {
			select {
			case res := <-results:
				if res.load != id {
					continue
				}
				if os.Getenv("CONSENTD_BENCH_MARKS") != "" {
					for k, v := range res.Marks {
						marks[page+" "+k] = append(marks[page+" "+k], v)
					}
				}
				return res.T
			case <-ctx.Done():
				t.Fatalf("%s: no banner: %v", page, ctx.Err())
			}
		}
	}
	// load returns the time from the page's first script to the banner,
	// and from the start of the widget's script to the banner.
	load := func(page string) [2]float64 {
		if os.Getenv("CONSENTD_BENCH_DETACHED") != "" {
			return detached(page)
		}
		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer cancel()
		c, stop := context.WithTimeout(ctx, 20*time.Second)
		defer stop()
		if _, err := chromedp.Run(c, chromedp.EmulateViewport(1280, 800)); err != nil {
			t.Fatal(err)
		}
		stopTrace := benchTrace(t, c)
		if _, err := chromedp.Run(c, chromedp.Navigate(pages.URL+page)); err != nil {
			t.Fatal(err)
		}
		ms, err := chromedp.Run(c, chromedp.Poll[[2]float64](`window.__t1 && [__t1 - __t0, __t1 - performance.getEntriesByName('widget-start')[0].startTime]`, chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			t.Fatalf("%s: no banner: %v", page, err)
		}
		traceN++
		stopTrace(fmt.Sprintf("%s-%03d.json", strings.TrimSuffix(strings.TrimPrefix(page, "/"), ".html"), traceN))
		if os.Getenv("CONSENTD_BENCH_DEBUG") != "" {
			d, _ := chromedp.Run(c, chromedp.Evaluate[string](`performance.getEntriesByType('resource').map(e => e.name.replace(/.*\//, '') + ' ' + (e.responseEnd - __t0).toFixed(1)).join(', ') + ' | t1 ' + (__t1 - __t0).toFixed(1) + ' dcl ' + (performance.getEntriesByType('navigation')[0].domContentLoadedEventStart - __t0).toFixed(1)`))
			t.Logf("%s: %s", page, d)
		}
		if os.Getenv("CONSENTD_BENCH_MARKS") != "" {
			if m, err := chromedp.Run(c, chromedp.Evaluate[map[string]float64](`(() => { const w = performance.getEntriesByName('widget-start')[0].startTime, o = {}; for (const e of performance.getEntriesByType('mark')) if (e.name != 'widget-start' && !(e.name in o)) o[e.name] = e.startTime - w; o.banner = __t1 - w; return o })()`)); err == nil {
				for k, v := range m {
					marks[page+" "+k] = append(marks[page+" "+k], v)
				}
			}
		}
		return ms
	}
	loadavg := func() string {
		b, _ := os.ReadFile("/proc/loadavg")
		return strings.Join(strings.Fields(string(b))[:3], " ")
	}
	before := loadavg()
	for _, w := range widgets { // warm-up: the server's and the browser's first run
		load(w.page)
	}
	times := make([][]float64, len(widgets)) // from the page's first script
	runs := make([][]float64, len(widgets))  // from the widget script's start
	for i := range loads {
		for j := range widgets {
			k := (i + j) % len(widgets) // turns, each widget in each place
			ms := load(widgets[k].page)
			times[k] = append(times[k], ms[0])
			runs[k] = append(runs[k], ms[1])
		}
	}
	median := func(x []float64) float64 {
		s := slices.Clone(x)
		slices.Sort(s)
		return s[len(s)/2]
	}
	q := func(x []float64, p float64) float64 {
		s := slices.Clone(x)
		slices.Sort(s)
		return s[int(p*float64(len(s)-1))]
	}
	var out strings.Builder
	fmt.Fprintf(&out, "widget bench: %d loads each, in turns, new browser context each; 1280x800; load average before %s, after %s\n", loads, before, loadavg())
	report := func(title string, times [][]float64) {
		fmt.Fprintf(&out, "%s\n", title)
		floor := median(times[0])
		for i, w := range widgets {
			m := median(times[i])
			fmt.Fprintf(&out, "  %-32s median %6.1f ms  (p25 %.1f, p75 %.1f)", w.name, m, q(times[i], .25), q(times[i], .75))
			if i > 0 {
				fmt.Fprintf(&out, "  above the floor %5.1f ms", m-floor)
			}
			out.WriteString("\n")
		}
		ratio := (median(times[2]) - floor) / (median(times[1]) - floor)
		lo, hi := benchInterval(times, median)
		fmt.Fprintf(&out, "  ratio (consentd above the floor) / (vanilla-cookieconsent above the floor) = %.2f (goal ≤ 0.5; 90%% interval %.2f–%.2f)\n", ratio, lo, hi)
	}
	// $CONSENTD_BENCH_RAW: every load's two times, as CSV, for a closer look.
	if file := os.Getenv("CONSENTD_BENCH_RAW"); file != "" {
		var csv strings.Builder
		csv.WriteString("widget,turn,from_tag_ms,from_start_ms\n")
		for k, w := range widgets {
			for i := range times[k] {
				fmt.Fprintf(&csv, "%q,%d,%.2f,%.2f\n", w.name, i, times[k][i], runs[k][i])
			}
		}
		if err := os.WriteFile(file, []byte(csv.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	report("from the script tag (the page's first script) to the banner in the DOM, laid out:", times)
	report("from the start of the widget's script to the banner (without the fetch and the wait for the parser):", runs)
	// When each script started, and whether the loads of one turn go
	// together (they would, if the machine's state drove them; then
	// comparing within a turn would help).
	out.WriteString("the widget's script starts after the script tag (medians):")
	for k, w := range widgets {
		d := make([]float64, len(times[k]))
		for i := range d {
			d[i] = times[k][i] - runs[k][i]
		}
		fmt.Fprintf(&out, " %s %.1f ms;", w.name, median(d))
	}
	fmt.Fprintf(&out, "\ncorrelation of one turn's loads, from the script tag: floor–v-cc %.2f, floor–consentd %.2f, v-cc–consentd %.2f\n",
		benchCorr(times[0], times[1]), benchCorr(times[0], times[2]), benchCorr(times[1], times[2]))
	if len(marks) > 0 {
		keys := slices.Sorted(maps.Keys(marks))
		slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(median(marks[a]), median(marks[b])) })
		out.WriteString("marks, from the start of the widget's script (medians):\n")
		for _, k := range keys {
			fmt.Fprintf(&out, "  %-40s %6.2f ms\n", k, median(marks[k]))
		}
	}
	fmt.Print(out.String())

	// $CONSENTD_BENCH_SHOTS: a screenshot of each widget on the page, on a
	// desktop and a phone, to compare their looks.
	if dir := os.Getenv("CONSENTD_BENCH_SHOTS"); dir != "" {
		for _, w := range widgets {
			for _, v := range [][2]int64{{1280, 800}, {375, 740}} {
				ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
				_, err := chromedp.Run(ctx, chromedp.EmulateViewport(v[0], v[1]))
				if err == nil {
					_, err = chromedp.Run(ctx, chromedp.Navigate(pages.URL+w.page))
				}
				if err == nil {
					_, err = chromedp.Run(ctx, chromedp.Poll[bool](`!!window.__t1`))
				}
				time.Sleep(time.Second) // past the fade-ins
				var png []byte
				if err == nil {
					png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
				}
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				name := filepath.Join(dir, fmt.Sprintf("%s-%d.png", strings.TrimSuffix(strings.TrimPrefix(w.page, "/"), ".html"), v[0]))
				if err := os.WriteFile(name, png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// benchInterval is a bootstrap 90% interval of the ratio the benchmark
// reports, (median(times[2]) - median(times[0])) / (median(times[1]) -
// median(times[0])): the turns are drawn again with replacement, 2000
// times, keeping each turn's loads together. It shows how far the ratio
// of a run can be from the one many runs would give: the loads of one
// widget spread by 10 ms and more.
func benchInterval(times [][]float64, median func([]float64) float64) (lo, hi float64) {
	r := rand.New(rand.NewPCG(1, 2)) // the same interval for the same times
	n := len(times[0])
	ratios := make([]float64, 2000)
	pick := make([][]float64, 3)
	for b := range ratios {
		for k := range pick {
			pick[k] = pick[k][:0]
		}
		for range n {
			i := r.IntN(n)
			for k := range pick {
				pick[k] = append(pick[k], times[k][i])
			}
		}
		floor := median(pick[0])
		ratios[b] = (median(pick[2]) - floor) / (median(pick[1]) - floor)
	}
	slices.Sort(ratios)
	return ratios[len(ratios)/20], ratios[len(ratios)-1-len(ratios)/20]
}

// benchCorr is the Pearson correlation coefficient of x and y.
func benchCorr(x, y []float64) float64 {
	mean := func(v []float64) float64 {
		var s float64
		for _, f := range v {
			s += f
		}
		return s / float64(len(v))
	}
	mx, my := mean(x), mean(y)
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

// benchGet is the body of a GET of url that answers 200.
func benchGet(url string) (string, error) {
	res, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return string(b), err
}

// benchOwnBanner is a script body that builds consentd's banner the null
// widget's way: the host, its shadow root and one innerHTML of the
// bundle's style sheet and the banner's markup (banner.ts) with the demo
// site's Finnish texts.
func benchOwnBanner(bundle string) (string, error) {
	at := strings.Index(bundle, ":host{")
	if at < 0 {
		return "", fmt.Errorf("no style sheet in the bundle")
	}
	start := strings.LastIndexByte(bundle[:at], '\'')
	end := at + strings.IndexByte(bundle[at:], '\'')
	t, err := widget.Strings("fi")
	if err != nil {
		return "", err
	}
	x := func(k string) string { return strings.ReplaceAll(html.EscapeString(t[k]), "'", "\\'") }
	markup := `<section id="consentd-banner" class="cd l-bar p-bottom" lang="fi" role="region" aria-labelledby="consentd-title" aria-describedby="consentd-text">` +
		`<div class="in"><div class="txt"><h2 id="consentd-title">` + x("title") + `</h2><p id="consentd-text">` + x("text") + `</p><div class="links">` +
		`<button type="button" class="link" data-action="notice">` + x("notice") + `</button>` +
		`<button type="button" class="link more" aria-expanded="false" aria-controls="consentd-text" hidden>` + x("more") + `</button></div></div>` +
		`<div class="actions"><button type="button" class="btn" data-action="accept-all">` + x("acceptAll") + `</button>` +
		`<button type="button" class="btn" data-action="reject-all">` + x("rejectAll") + `</button>` +
		`<button type="button" class="btn" data-action="settings">` + x("manage") + `</button></div></div></section>`
	return `const h = document.createElement('div'); h.id = 'consentd';
  h.attachShadow({mode: 'open'}).innerHTML = '<style>` + bundle[start+1:end] + `</style>` + markup + `';
  document.body ? document.body.prepend(h) : document.documentElement.append(h);`, nil
}

// benchTrace starts a Chromium trace of the tab c when $CONSENTD_BENCH_TRACE
// names a directory (the timeline, V8, Blink, IPC and user timing), and
// returns the function that stops it and writes it there under the name
// given (JSON, for chrome://tracing or https://ui.perfetto.dev).
func benchTrace(t *testing.T, c context.Context) func(name string) {
	dir := os.Getenv("CONSENTD_BENCH_TRACE")
	if dir == "" {
		return func(string) {}
	}
	var mu sync.Mutex
	var events []string
	done := make(chan struct{})
	if err := chromedp.Listen(c, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			for _, v := range e.Value {
				events = append(events, string(v))
			}
			mu.Unlock()
		case *tracing.EventTracingComplete:
			close(done)
		}
	}); err != nil {
		t.Fatal(err)
	}
	cats := []string{"devtools.timeline", "disabled-by-default-devtools.timeline", "blink", "blink.user_timing", "v8", "toplevel", "mojom", "loading", "ipc"}
	if _, err := chromedp.Run(c, chromedp.Action[cdp.Empty](func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, tracing.Start, tracing.StartParams{TransferMode: tracing.StartTransferModeReportEvents, TraceConfig: &tracing.TraceConfig{IncludedCategories: cats}})
	})); err != nil {
		t.Fatal(err)
	}
	return func(name string) {
		if _, err := chromedp.Run(c, chromedp.Action[cdp.Empty](func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
			return cdp.Call(ctx, tg, tracing.End, cdp.Empty{})
		})); err != nil {
			t.Fatal(err)
		}
		<-done
		mu.Lock()
		defer mu.Unlock()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("["+strings.Join(events, ",\n")+"]"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
