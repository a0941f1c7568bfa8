package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// gcmPage has the page's own dataLayer before the widget, as a Google tag
// setup would.
const gcmPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gcm</title>
<script>window.dataLayer = []; dataLayer.push({event: 'page'})</script>
<script src="{{consentd}}/w/demo.js"></script>
</head><body><h1>Consent Mode</h1></body></html>`

// gcmOwnPage defines its own gtag before the widget: the widget uses it.
const gcmOwnPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gcm</title>
<script>window.dataLayer = []; window.__own = 0; function gtag() { window.__own++; dataLayer.push(arguments) }</script>
<script src="{{consentd}}/w/demo.js"></script>
</head><body><h1>Consent Mode</h1></body></html>`

// gcmCalls returns the consent commands in window.dataLayer, each as
// "command type {signals}" (gtag pushes an arguments object, hence
// Array.from), and the first entry.
func gcmCalls(t *testing.T, ctx context.Context) []string {
	t.Helper()
	calls := eval[[][]any](t, ctx, `window.dataLayer.filter(e => e && typeof e.length === 'number' && e[0] === 'consent').map(e => Array.from(e))`)
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(c), "["), "]")
	}
	return out
}

const (
	gcmDenied  = "map[ad_personalization:denied ad_storage:denied ad_user_data:denied analytics_storage:denied]"
	gcmGranted = "map[ad_personalization:granted ad_storage:granted ad_user_data:granted analytics_storage:granted]"
)

// gcmFiles are the pages of gcmTest.
var gcmFiles = map[string]string{"/gcm.html": gcmPage, "/gcm-own.html": gcmOwnPage}

// gcmTest is a subtest of TestHostPages (blocking_test.go).
func gcmTest(t *testing.T, env *blkEnv) {
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.Page+"/gcm.html"))
	poll(t, ctx, `!!window.consentd && `+jsBannerSettled)

	// The page's dataLayer is kept; the default comes first, all denied.
	if first := eval[string](t, ctx, `JSON.stringify(window.dataLayer[0])`); first != `{"event":"page"}` {
		t.Errorf("dataLayer[0] = %s: the page's dataLayer was replaced", first)
	}
	if !eval[bool](t, ctx, `typeof window.gtag === 'function'`) {
		t.Error("no window.gtag")
	}
	wantDefault := "consent default map[ad_personalization:denied ad_storage:denied ad_user_data:denied analytics_storage:denied wait_for_update:500]"
	if got := gcmCalls(t, ctx); strings.Join(got, "\n") != wantDefault {
		t.Errorf("at load\n got %q\nwant %q", got, wantDefault)
	}

	// Accept all: an update with everything granted.
	click(t, ctx, "accept-all")
	poll(t, ctx, `window.dataLayer.filter(e => e && e[0] === 'consent').length >= 2`)
	if got := gcmCalls(t, ctx); len(got) != 2 || got[1] != "consent update "+gcmGranted {
		t.Errorf("after accept all: %q", got)
	}

	// A stored decision: the default already reflects it, and an update
	// follows for tags that read only updates.
	run(t, ctx, chromedp.Navigate(env.Page+"/gcm.html"))
	poll(t, ctx, `!!window.consentd && window.consentd.get() !== null`)
	want := []string{
		"consent default map[ad_personalization:granted ad_storage:granted ad_user_data:granted analytics_storage:granted wait_for_update:500]",
		"consent update " + gcmGranted,
	}
	if got := gcmCalls(t, ctx); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("with a stored decision\n got %q\nwant %q", got, want)
	}

	// The demo site's mapping: analytics → analytics_storage, marketing → ad_*.
	eval[any](t, ctx, `consentd.accept(['analytics'])`)
	poll(t, ctx, `window.dataLayer.filter(e => e && e[0] === 'consent').length >= 3`)
	if got := gcmCalls(t, ctx); len(got) != 3 || got[2] != "consent update map[ad_personalization:denied ad_storage:denied ad_user_data:denied analytics_storage:granted]" {
		t.Errorf("after accepting analytics only: %q", got)
	}
	eval[any](t, ctx, `consentd.reject()`)
	poll(t, ctx, `window.dataLayer.filter(e => e && e[0] === 'consent').length >= 4`)
	if got := gcmCalls(t, ctx); got[3] != "consent update "+gcmDenied {
		t.Errorf("after reject: %q", got[3])
	}

	// A page's own gtag is used, not replaced.
	run(t, ctx, chromedp.Navigate(env.Page+"/gcm-own.html"))
	poll(t, ctx, `!!window.consentd`)
	if n := eval[int](t, ctx, `window.__own`); n != 2 {
		t.Errorf("the page's gtag was called %d times, want 2 (default and update)", n)
	}
	if got := gcmCalls(t, ctx); len(got) != 2 || !strings.HasPrefix(got[0], "consent default") {
		t.Errorf("with the page's gtag: %q", got)
	}
}
