// Package e2e drives the real widget in headless Chromium against a real
// consentd and redis-server.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

// browser is the one Chromium of this test binary; each test opens its own
// browser context in it (own cookies and storage).
var browser context.Context

func TestMain(m *testing.M) {
	path, err := findChromium()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// Names for pages on loopback servers, so a test can have hosts that
		// share a parent domain (asking_test.go, cookieDomain).
		chromedp.Flag("host-resolver-rules", "MAP *.consentd.test 127.0.0.1"),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// The first Run starts the browser; no timeout on this context.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int]("1")); err != nil {
		fmt.Fprintf(os.Stderr, "start chromium: %v\n", err)
		os.Exit(1)
	}
	browser = ctx
	code := m.Run()
	cancel()
	cancelAlloc()
	os.Exit(code)
}

func findChromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium not found: install it (Debian: apt-get install -y chromium) or run make test")
}

// tab opens a new isolated browser context for one test.
func tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// Pin the viewport: headless window sizes and layout viewports can
	// disagree, and clicks go to viewport coordinates.
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// The widget renders in an open shadow root of #consentd.
const (
	jsBanner     = `(() => { const h = document.getElementById('consentd'); return h && h.shadowRoot ? h.shadowRoot.getElementById('consentd-banner') : null })()`
	jsBannerShow = `(() => { const b = ` + jsBanner + `; return !!b && b.getBoundingClientRect().height > 0 })()`
	// jsBannerSettled: shown and no animation running (a person clicks
	// where the button is after it has slid in).
	jsBannerSettled = `(` + jsBannerShow + ` && document.getElementById('consentd').shadowRoot.getAnimations().length === 0)`
)

type rect struct{ X, Y, W, H float64 }

// buttonRect finds a banner button by its data-action.
func buttonRect(t *testing.T, ctx context.Context, action string) rect {
	t.Helper()
	js := fmt.Sprintf(`(() => { const b = %s.querySelector('[data-action=%q]'); const r = b.getBoundingClientRect();
		return {X: r.x, Y: r.y, W: r.width, H: r.height} })()`, jsBanner, action)
	return run(t, ctx, chromedp.Evaluate[rect](js))
}

func click(t *testing.T, ctx context.Context, action string) {
	t.Helper()
	r := buttonRect(t, ctx, action)
	run(t, ctx, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2))
}

func waitRecords(t *testing.T, env *servertest.Env, n int64) []ledger.Stored {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		entries, err := env.Redis.XRange(ctx, ledger.LogKey("demo"), "-", "+").Result()
		if err == nil && int64(len(entries)) >= n {
			out := make([]ledger.Stored, len(entries))
			for i, e := range entries {
				if out[i], err = ledger.DecodeEntry(e.Values); err != nil {
					t.Fatal(err)
				}
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 15s for %d ledger records, have %d (err %v)", n, len(entries), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type cookieState struct {
	ID string         `json:"id"`
	V  string         `json:"v"`
	C  map[string]int `json:"c"`
	T  int64          `json:"t"`
}

// decisionCookie returns the browser's consentd cookie for url (the
// current page's when empty), as CDP sees it.
func decisionCookie(t *testing.T, ctx context.Context, url string) *network.Cookie {
	t.Helper()
	var p network.GetCookiesParams
	if url != "" {
		p.URLs = []string{url}
	}
	res, err := chromedp.Call(ctx, network.GetCookies, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "consentd" {
			return c
		}
	}
	t.Fatal("no consentd cookie")
	return nil
}

func readCookie(t *testing.T, ctx context.Context) cookieState {
	t.Helper()
	raw := run(t, ctx, chromedp.Evaluate[string](`(document.cookie.split('; ').find(c => c.startsWith('consentd=')) || '').slice(9)`))
	if raw == "" {
		t.Fatal("no consentd cookie")
	}
	dec, err := url.QueryUnescape(raw)
	if err != nil {
		t.Fatal(err)
	}
	var s cookieState
	if err := json.Unmarshal([]byte(dec), &s); err != nil {
		t.Fatalf("cookie %q: %v", dec, err)
	}
	return s
}

func TestAcceptAllRecordsOnceAndRemembers(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	run(t, ctx, chromedp.Poll[bool](jsBannerSettled, chromedp.WithPollingTimeout(10*time.Second)))

	// Equal prominence: both choices are the same size and style.
	accept, reject := buttonRect(t, ctx, "accept-all"), buttonRect(t, ctx, "reject-all")
	if accept.W != reject.W || accept.H != reject.H {
		t.Errorf("accept %vx%v vs reject %vx%v: the two choices must be equally prominent", accept.W, accept.H, reject.W, reject.H)
	}
	styles := run(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`['accept-all','reject-all'].map(a => { const s = getComputedStyle(%s.querySelector('[data-action='+a+']'));
		return [s.backgroundColor, s.color, s.fontSize, s.fontWeight, s.borderStyle].join('|') })`, jsBanner)))
	if styles[0] != styles[1] {
		t.Errorf("button styles differ: %q vs %q", styles[0], styles[1])
	}

	click(t, ctx, "accept-all")
	recs := waitRecords(t, env, 1)
	r := recs[0]
	cookie := readCookie(t, ctx)
	nv := env.NoticeVersion(t, "demo", "fi")
	got := fmt.Sprint(r.Site, r.Method, r.Choices, r.NoticeVersion, r.Language, r.URL, r.IP, r.ConsentID)
	want := fmt.Sprint("demo", "accept_all", map[string]bool{"analytics": true, "marketing": true, "necessary": true}, nv, "fi", env.URL+"/", "127.0.0.0", cookie.ID)
	if got != want {
		t.Errorf("record\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(r.UserAgent, "Chrome") || len(r.RecordID) != 36 {
		t.Errorf("user_agent %q record_id %q", r.UserAgent, r.RecordID)
	}
	if cookie.V != nv || cookie.C["analytics"] != 1 {
		t.Errorf("cookie %+v", cookie)
	}
	run(t, ctx, chromedp.Poll[bool](`!(`+jsBannerShow+`)`, chromedp.WithPollingTimeout(5*time.Second)))

	// Reload: no banner, state known, still exactly one record.
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	run(t, ctx, chromedp.Poll[bool](`!!(window.consentd && window.consentd.get && window.consentd.get())`, chromedp.WithPollingTimeout(10*time.Second)))
	time.Sleep(300 * time.Millisecond) // give a wrongly shown banner time to appear
	if shown := run(t, ctx, chromedp.Evaluate[bool](jsBannerShow)); shown {
		t.Fatal("banner shown again after reload")
	}
	if has := run(t, ctx, chromedp.Evaluate[bool](`window.consentd.has('analytics')`)); !has {
		t.Error("consentd.has('analytics') is false after accept all")
	}
	if n := env.Records(t, "demo"); n != 1 {
		t.Fatalf("%d records after reload, want exactly 1", n)
	}
}

func TestRejectAllRecordsOnlyRequired(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	run(t, ctx, chromedp.Poll[bool](jsBannerSettled, chromedp.WithPollingTimeout(10*time.Second)))
	click(t, ctx, "reject-all")
	r := waitRecords(t, env, 1)[0]
	if r.Method != "reject_all" || fmt.Sprint(r.Choices) != "map[analytics:false marketing:false necessary:true]" {
		t.Fatalf("record %+v", r)
	}
	if has := run(t, ctx, chromedp.Evaluate[bool](`window.consentd.has('analytics')`)); has {
		t.Error("consentd.has('analytics') is true after reject all")
	}
}

// wantQueuedDecisionStoredOnce: the queued "accept all" arrives as the
// visitor's one record, the queue empties and nothing is stored twice.
func wantQueuedDecisionStoredOnce(t *testing.T, ctx context.Context, env *servertest.Env) {
	t.Helper()
	r := waitRecords(t, env, 1)[0]
	if r.Method != "accept_all" || r.ConsentID != readCookie(t, ctx).ID {
		t.Fatalf("record %+v", r)
	}
	run(t, ctx, chromedp.Poll[bool](`(JSON.parse(localStorage.getItem('consentd.queue') || '[]')).length === 0`, chromedp.WithPollingTimeout(10*time.Second)))
	time.Sleep(500 * time.Millisecond)
	if n := env.Records(t, "demo"); n != 1 {
		t.Fatalf("%d records, want exactly 1", n)
	}
}

// TestDecisionRetriedAfterNetworkFailure: the server cannot be reached when
// the visitor clicks (every fetch fails, as when consentd is down); the
// decision waits in the queue and, once the network is back, the widget's
// back-off timer sends it on the same page: one record, the queue empty.
func TestDecisionRetriedAfterNetworkFailure(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	run(t, ctx, chromedp.Poll[bool](jsBannerSettled, chromedp.WithPollingTimeout(10*time.Second)))
	run(t, ctx, chromedp.Evaluate[bool](`window.__fetch = window.fetch; window.__tries = 0;
		window.fetch = (...a) => (window.__tries++, Promise.reject(new TypeError('Failed to fetch'))); true`))
	click(t, ctx, "accept-all")
	// The first try and at least one retry (1 s back-off) fail.
	run(t, ctx, chromedp.Poll[bool](`window.__tries >= 2 && JSON.parse(localStorage.getItem('consentd.queue') || '[]').length === 1`,
		chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	if n := env.Records(t, "demo"); n != 0 {
		t.Fatalf("%d records while the network was down", n)
	}
	run(t, ctx, chromedp.Evaluate[bool](`window.fetch = window.__fetch; true`))
	wantQueuedDecisionStoredOnce(t, ctx, env)
}

// With Redis down the decision is kept in the browser and sent once Redis
// is back: no decision is lost, none is stored twice.
func TestDecisionSurvivesRedisOutage(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	run(t, ctx, chromedp.Poll[bool](jsBannerSettled, chromedp.WithPollingTimeout(10*time.Second)))
	_ = env.RedisSrv.Kill()
	click(t, ctx, "accept-all")
	queued := run(t, ctx, chromedp.Poll[int](`(() => { const q = JSON.parse(localStorage.getItem('consentd.queue') || '[]'); return q.length })()`,
		chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	if queued != 1 {
		t.Fatalf("queue length %d", queued)
	}
	env.RestartRedis(t)
	// Next page view flushes the queue.
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	wantQueuedDecisionStoredOnce(t, ctx, env)
}
