package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consentd/consentd/server/auth"
	"github.com/consentd/consentd/server/servertest"
)

// dashSites starts demo, a web shop and a blog, and a controllers file
// whose token grants the shop, demo and the blog, in that order; each
// site has four weeks of counters. It returns the token.
func dashSites(t *testing.T) (*servertest.Env, string) {
	t.Helper()
	token, _ := auth.New()
	env := servertest.Start(t, servertest.Options{
		Sites: func(u string) map[string]string {
			return map[string]string{"demo.yaml": servertest.DemoSite(t, u),
				"shop.yaml": servertest.PlainSite("shop", "Kauppa Oy – verkkokauppa", "ads"), "blog.yaml": servertest.PlainSite("blog", "Blogi", "analytics")}
		},
		Controllers: "tokens:\n  - name: anna\n    hash: " + auth.Hash(token) + "\n    sites: [shop, demo, blog]\n",
	})
	// demo: 10 a day, half grant analytics, 4 in 10 marketing; shop: 20 a
	// day, 3 in 4 grant ads; blog: 5 a day, 1 in 5 grants analytics.
	dashCounters(t, env, "demo", 28, func(int) map[string]any {
		return map[string]any{"decisions": 10, "method:accept_all": 4, "method:reject_all": 4, "method:custom": 2,
			"cat:analytics:yes": 5, "cat:analytics:no": 5, "cat:marketing:yes": 4, "cat:marketing:no": 6, "country:FI": 10}
	})
	dashCounters(t, env, "shop", 28, func(int) map[string]any {
		return map[string]any{"decisions": 20, "method:accept_all": 15, "method:reject_all": 5, "cat:ads:yes": 15, "cat:ads:no": 5, "country:SE": 20}
	})
	dashCounters(t, env, "blog", 28, func(int) map[string]any {
		return map[string]any{"decisions": 5, "method:accept_all": 1, "method:reject_all": 4, "cat:analytics:yes": 1, "cat:analytics:no": 4, "country:FI": 5}
	})
	return env, token
}

// dashShot saves a full-page screenshot as name in the artifacts
// directory.
func dashShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	p := filepath.Join(dashArtifacts(t), name)
	if err := os.WriteFile(p, run(t, ctx, chromedp.FullScreenshot(100)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// jsTotals is the decisions total of the site shown.
const jsTotals = `document.querySelector('#totals dd')?.textContent`

// TestDashboardSeveralSites: a token of several sites sees them side by
// side (decisions, opt-in rate per category), and switches between them
// with the labelled select or the overview's site buttons; the site chosen
// stays chosen across a page reload; axe finds nothing in light and dark,
// and at 375 px nothing scrolls sideways.
func TestDashboardSeveralSites(t *testing.T) {
	env, token := dashSites(t)
	axe := a11yAxe(t)
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/admin"))
	a11yCheck(t, ctx, axe, "sign-in", "body")
	dashShot(t, ctx, "dashboard-signin.png")
	eval[bool](t, ctx, fmt.Sprintf(`document.getElementById('token').value = %q; document.getElementById('signin-form').requestSubmit(); true`, token))
	poll(t, ctx, `document.querySelectorAll('#overview-table tbody tr').length === 3 && `+jsTotals+` === '560'`)

	// The overview: the sites in the order declared, a column per category of any of them.
	if h := eval[string](t, ctx, `[...document.querySelectorAll('#overview-table thead th')].map(th => th.textContent).join('|')`); h != "Opt-in rate|Site|Decisions|Accept all|Reject all|ads|analytics|marketing" {
		t.Errorf("overview columns %s", h)
	}
	rows := eval[[]string](t, ctx, `[...document.querySelectorAll('#overview-table tbody tr')].map(tr => [...tr.cells].map(c => c.textContent).join('|'))`)
	want := []string{"Kauppa Oy – verkkokauppashop|560|420|140|75 %|–|–", "Oppimo Oydemo|280|112|112|–|50 %|40 %", "Blogiblog|140|28|112|–|20 %|–"}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("overview rows\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	// The switcher: a labelled select of the token's sites, the first chosen.
	if got := eval[string](t, ctx, `(() => { const s = document.getElementById('site-select');
		return [s.labels[0].textContent, s.value, [...s.options].map(o => o.value).join(','), document.getElementById('who').textContent].join(' ') })()`); got != "Site shop shop,demo,blog anna: 3 sites" {
		t.Errorf("switcher: label, value, options, header = %s", got)
	}
	dashShot(t, ctx, "dashboard-sites.png")

	// Switch with the select: demo's details.
	eval[bool](t, ctx, `(() => { const s = document.getElementById('site-select'); s.value = 'demo'; s.dispatchEvent(new Event('change')); return true })()`)
	poll(t, ctx, jsTotals+` === '280' && document.querySelector('#chart .legend').textContent.includes('marketing 40 %')`)
	if cur := eval[string](t, ctx, `document.querySelector('#overview-table tr.current button[aria-current=true]')?.dataset.site`); cur != "demo" {
		t.Errorf("overview marks %q as the site shown, want demo", cur)
	}
	// Switch with the overview's button: the blog, and the select follows.
	eval[bool](t, ctx, `document.querySelector('#overview-table button[data-site=blog]').click(); true`)
	poll(t, ctx, jsTotals+` === '140' && document.getElementById('site-select').value === 'blog'`)
	// Export and look-up are the blog's.
	eval[bool](t, ctx, `window.__blobs = []; const o = URL.createObjectURL;
		URL.createObjectURL = b => { window.__blobs.push(b); return o.call(URL, b) };
		document.getElementById('export-form').requestSubmit(); true`)
	poll(t, ctx, `document.getElementById('export-status').textContent.startsWith('Downloaded')`)
	if csv := run(t, ctx, chromedp.Evaluate[string](`window.__blobs[0].text()`, chromedp.EvalAwaitPromise)); !strings.Contains(strings.SplitN(csv, "\n", 2)[0], "analytics") || strings.Contains(csv, "marketing") {
		t.Errorf("export of the blog: %.200q", csv)
	}

	// A page reload keeps the token and the site chosen.
	run(t, ctx, chromedp.Reload())
	poll(t, ctx, `document.querySelectorAll('#overview-table tbody tr').length === 3 && `+jsTotals+` === '140'`)
	if v := eval[string](t, ctx, `document.getElementById('site-select').value`); v != "blog" {
		t.Errorf("after a reload the select shows %q, want blog", v)
	}
	for _, scheme := range []string{"light", "dark"} {
		a11yScheme(t, ctx, scheme)
		poll(t, ctx, `matchMedia('(prefers-color-scheme: `+scheme+`)').matches`)
		a11yCheck(t, ctx, axe, "dashboard of several sites, "+scheme, "body")
	}
	a11yScheme(t, ctx, "light")

	// A phone: nothing but the overview's own scroller goes sideways.
	run(t, ctx, chromedp.EmulateViewport(375, 740))
	if w := eval[string](t, ctx, `(() => { const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + .5 && !e.closest('.scroll'));
		return document.documentElement.scrollWidth + ' ' + wide.map(e => e.id || e.tagName).join(',') })()`); w != "375 " {
		t.Errorf("at 375px: scroll width and what sticks out: %s", w)
	}
	a11yCheck(t, ctx, axe, "dashboard of several sites, 375 px", "body")
	dashShot(t, ctx, "dashboard-sites-375.png")
	// The overview's figures scroll sideways; the site names stay in view.
	if got := eval[string](t, ctx, `(() => { const s = document.getElementById('overview-table'); s.scrollLeft = s.scrollWidth;
		const name = s.querySelector('tbody th').getBoundingClientRect(), last = s.querySelector('tbody td:last-child').getBoundingClientRect();
		return [s.scrollLeft > 0, Math.round(name.left - s.getBoundingClientRect().left), last.right <= innerWidth].join(' ') })()`); got != "true 0 true" {
		t.Errorf("overview scrolled to its end at 375px: scrolled, site column's offset, last column in view = %s", got)
	}
	dashShot(t, ctx, "dashboard-sites-375-scrolled.png")
	if n := eval[int](t, ctx, `performance.getEntriesByType('resource').filter(e => !e.name.startsWith(location.origin)).length`); n != 0 {
		t.Errorf("%d requests to other origins", n)
	}
}
