package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/notice"
	"github.com/consentd/consentd/server/servertest"
)

// examples are the site files of config/examples: real kinds of Finnish
// privacy notices (docs/notice.md).
var examples = []string{"school", "vet", "shop", "association", "saas"}

// exEnv is a consentd with the example sites plus a page server whose
// origin they allow; /<id>/<lang>.html is a page in lang with the site's
// widget.
type exEnv struct {
	*servertest.Env
	Page  string
	Sites map[string]*site.Site // as loaded from config/examples, for Facts
}

func exStart(t *testing.T) *exEnv {
	t.Helper()
	ps := httptest.NewUnstartedServer(nil)
	page := "http://" + ps.Listener.Addr().String()
	dir := filepath.Join(servertest.RepoRoot(t), "config", "examples")
	sites := map[string]*site.Site{}
	files := map[string]string{}
	for _, id := range examples {
		path := filepath.Join(dir, id+".yaml")
		s, err := site.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		sites[id] = s
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[id] = string(b)
	}
	env := servertest.Start(t, servertest.Options{Sites: func(base string) map[string]string {
		out := map[string]string{}
		for id, src := range files {
			out[id+".yaml"] = strings.Replace(src, "origins:\n", "origins:\n  - "+page+"\n  - "+base+"\n", 1)
		}
		return out
	}})
	ps.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id, lang string
		if _, err := fmt.Sscanf(strings.ReplaceAll(strings.TrimSuffix(r.URL.Path, ".html"), "/", " "), "%s %s", &id, &lang); err != nil || sites[id] == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, `<!doctype html><html lang=%q><head><meta charset="utf-8"><title>%s</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script src="%s/w/%s.js"></script></head><body><p>%s</p></body></html>`, lang, id, env.URL, id, id)
	})
	ps.Start()
	t.Cleanup(ps.Close)
	return &exEnv{Env: env, Page: page, Sites: sites}
}

// exNormal collapses white space (no-break spaces too), as the facts and
// the page's text are compared.
func exNormal(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\u00a0", " ")), " ")
}

// exMissing returns the facts of s in lang that are not in text.
func exMissing(s *site.Site, lang, text string) []string {
	text = exNormal(text)
	var missing []string
	for _, f := range notice.Facts(s, lang) {
		if !strings.Contains(text, exNormal(f)) {
			missing = append(missing, f)
		}
	}
	return missing
}

// jsPageText is the standalone page's text and its links' targets.
const jsPageText = `document.body.innerText + '\n' + [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')).join('\n')`

// jsViewText is the notice view's title, text and links' targets.
const jsViewText = `(() => { const d = ` + jsDialog + `; return d.querySelector('h2').textContent + '\n' + d.querySelector('.body').innerText + '\n' +
	[...d.querySelectorAll('.body a[href]')].map(a => a.getAttribute('href')).join('\n') })()`

// TestExampleNotices renders each example in each of its languages on
// its page (/n/<id>) and in the widget's notice view, and finds every
// fact of the site file in both.
func TestExampleNotices(t *testing.T) {
	env := exStart(t)
	for _, id := range examples {
		s := env.Sites[id]
		for _, lang := range s.Languages {
			t.Run(id+"/"+lang, func(t *testing.T) {
				ctx := tab(t)
				run(t, ctx, chromedp.Navigate(env.URL+"/n/"+id+"?lang="+lang))
				poll(t, ctx, `!!document.getElementById('cdn-about')`)
				title := s.Notice.Title[lang]
				if title != "" {
					if h1 := eval[string](t, ctx, `document.querySelector('h1').textContent`); h1 != title {
						t.Errorf("page title %q, want %q", h1, title)
					}
				}
				if m := exMissing(s, lang, eval[string](t, ctx, jsPageText)); len(m) > 0 {
					t.Errorf("page /n/%s?lang=%s lacks %d facts:\n%s", id, lang, len(m), strings.Join(m, "\n"))
				}

				run(t, ctx, chromedp.Navigate(env.Page+"/"+id+"/"+lang+".html"))
				poll(t, ctx, `!!(window.consentd && window.consentd.showNotice)`)
				eval[any](t, ctx, `consentd.showNotice()`)
				poll(t, ctx, jsNoticeLoaded)
				view := eval[string](t, ctx, jsViewText)
				if title != "" && !strings.HasPrefix(view, title+"\n") {
					t.Errorf("notice view title %q, want %q (notice.title)", strings.SplitN(view, "\n", 2)[0], title)
				}
				if m := exMissing(s, lang, view); len(m) > 0 {
					t.Errorf("notice view (%s) lacks %d facts:\n%s", lang, len(m), strings.Join(m, "\n"))
				}
			})
		}
	}
	t.Run("information banner", func(t *testing.T) { exInfoBanner(t, env) })
	t.Run("narrow and dark", func(t *testing.T) { exNarrow(t, env) })
}

// exInfoBanner: a site with only required categories (association) shows
// an information notice with OK and the notice link, no choice; OK
// records the required categories.
func exInfoBanner(t *testing.T, env *exEnv) {
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.Page+"/association/fi.html"))
	poll(t, ctx, jsBannerSettled)
	got := eval[string](t, ctx, `[...`+jsBanner+`.querySelectorAll('button[data-action]')].map(b => b.dataset.action + '=' + b.textContent).join('|') + '|' + `+jsBanner+`.querySelector('p').textContent`)
	want := "notice=Tietosuojaseloste|accept-all=OK|Käytämme vain välttämättömiä evästeitä, joita sivusto tarvitsee toimiakseen. Ne eivät vaadi suostumustasi."
	if got != want {
		t.Errorf("banner\n got %s\nwant %s", got, want)
	}
	noticeShot(t, "example-info-banner.png", run(t, ctx, chromedp.CaptureScreenshot()))
	click(t, ctx, "accept-all")
	poll(t, ctx, `!(`+jsBannerShow+`)`)
	deadline := time.Now().Add(10 * time.Second)
	for servertest.Records(t, env.Redis, "association") < 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a second record would be a bug
	entries, err := env.Redis.XRange(context.Background(), ledger.LogKey("association"), "-", "+").Result()
	if err != nil || len(entries) != 1 {
		t.Fatalf("%d records after OK (%v), want 1", len(entries), err)
	}
	r, err := ledger.DecodeEntry(entries[0].Values)
	if err != nil || r.Method != "accept_all" || fmt.Sprint(r.Choices) != "map[necessary:true]" {
		t.Errorf("record after OK: %s %v (%v), want accept_all of the required category", r.Method, r.Choices, err)
	}
}

// exNarrow: on a 375 px phone and in the dark, the page and the view
// have no table that scrolls sideways (axe: no scrollable region without
// focus), nothing wider than the screen; screenshots for a person to look at.
func exNarrow(t *testing.T, env *exEnv) {
	axe := a11yAxe(t)
	for _, c := range []struct {
		id, lang, scheme, section string
		w, h                      int64
	}{{"saas", "fi", "light", "recipients", 1280, 800}, {"saas", "en", "light", "recipients", 375, 740},
		{"shop", "fi", "dark", "recipients", 375, 740}, {"vet", "fi", "dark", "purposes", 1280, 800}, {"vet", "en", "light", "purposes", 375, 740}} {
		name := fmt.Sprintf("%s-%s-%d-%s", c.id, c.lang, c.w, c.scheme)
		ctx := tab(t)
		run(t, ctx, chromedp.EmulateViewport(c.w, c.h))
		a11yScheme(t, ctx, c.scheme)
		run(t, ctx, chromedp.Navigate(env.URL+"/n/"+c.id+"?lang="+c.lang))
		poll(t, ctx, `!!document.getElementById('cdn-about')`)
		if wide := eval[[]string](t, ctx, `[...document.querySelectorAll('body *')].filter(e => !e.closest('thead') && e.getBoundingClientRect().right > innerWidth + 0.5)
			.map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + e.textContent.slice(0, 40))`); len(wide) > 0 {
			t.Errorf("%s: wider than the screen (%d px): %v", name, c.w, wide)
		}
		if n := eval[int](t, ctx, `[...document.querySelectorAll('.cdn-table')].filter(e => e.scrollWidth > e.clientWidth).length`); n > 0 {
			t.Errorf("%s: %d tables scroll sideways on the page", name, n)
		}
		a11yCheck(t, ctx, axe, name+" page", "body")
		noticeShot(t, "example-page-"+name+".png", run(t, ctx, chromedp.FullScreenshot(100)))

		run(t, ctx, chromedp.Navigate(env.Page+"/"+c.id+"/"+c.lang+".html"))
		poll(t, ctx, `!!(window.consentd && window.consentd.showNotice)`)
		eval[any](t, ctx, `consentd.reject(); consentd.showNotice()`) // the banner out of the way
		poll(t, ctx, jsNoticeLoaded)
		if n := eval[int](t, ctx, `[...`+jsRoot+`.querySelectorAll('.cdn-table')].filter(e => e.scrollWidth > e.clientWidth).length`); n > 0 {
			t.Errorf("%s: %d tables scroll sideways in the notice view", name, n)
		}
		a11yCheck(t, ctx, axe, name+" notice view", "#consentd")
		// The recipients or purposes table in view.
		eval[any](t, ctx, `(() => { const b = `+jsRoot+`.querySelector('.body'), s = `+jsRoot+`.querySelector('#cdn-`+c.section+`');
			b.scrollTo({top: s.getBoundingClientRect().top - b.getBoundingClientRect().top + b.scrollTop, behavior: 'instant'}) })()`)
		noticeShot(t, "example-view-"+name+".png", run(t, ctx, chromedp.CaptureScreenshot()))
	}
}
