package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/consentd/consentd/server/servertest"
)

// shotViewports are the screens every state is taken on.
var shotViewports = []struct {
	name string
	w, h int64
}{{"desktop", 1280, 800}, {"phone", 375, 740}, {"small", 320, 568}}

// shotDir is where TestScreenshots writes: $CONSENTD_SCREENSHOTS (make
// screenshots sets docs/img/widget), else the test artifacts.
func shotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CONSENTD_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(dashArtifacts(t), "widget")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestScreenshots takes a screenshot of every state of the real widget
// on the demo page, on a desktop, a phone and a small phone, light and
// dark: the banner in each layout, its text opened, the keyboard focus,
// the settings, the notice view and the corner link. `make screenshots`
// writes them to docs/img/widget for docs/widget.md.
func TestScreenshots(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	dir := shotDir(t)
	ctx := wdgTab(t, nil)
	shot := func(name string) {
		t.Helper()
		poll(t, ctx, jsRoot+`.getAnimations().length === 0`)
		png := run(t, ctx, chromedp.CaptureScreenshot())
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// each loads the demo page on every viewport in both schemes and
	// calls state, which may take screenshots named by its argument.
	each := func(state func(suffix string)) {
		t.Helper()
		for _, v := range shotViewports {
			for _, scheme := range []string{"light", "dark"} {
				run(t, ctx, chromedp.EmulateViewport(v.w, v.h))
				run(t, ctx, chromedp.Navigate(env.URL+"/"))
				wdgScheme(t, ctx, scheme)
				poll(t, ctx, jsBannerSettled)
				state(fmt.Sprintf("-%s-%s", v.name, scheme))
			}
		}
	}
	for _, layout := range []string{"bar", "box", "cloud"} {
		wdgBanner(t, env, "  layout: "+layout+"\n")
		each(func(s string) { shot("banner-" + layout + s) })
	}
	wdgBanner(t, env, "  layout: bar\n")
	each(func(s string) {
		// The keyboard focus on the first choice.
		run(t, ctx, chromedp.KeyEvent(kb.Tab))
		wdgTabTo(t, ctx, "accept-all")
		shot("banner-focus" + s)
		// The text opened (small screens cut it to two lines).
		if eval[bool](t, ctx, `!`+jsBanner+`.querySelector('.more').hidden && getComputedStyle(`+jsBanner+`.querySelector('.more')).display !== 'none'`) {
			eval[any](t, ctx, jsBanner+`.querySelector('.more').click()`)
			shot("banner-more" + s)
		}
		eval[any](t, ctx, `consentd.showSettings()`)
		poll(t, ctx, jsPrefsOpen)
		eval[any](t, ctx, jsPrefs+`.querySelector('details').open = true`)
		shot("settings" + s)
		run(t, ctx, chromedp.KeyEvent(kb.Escape))
		eval[any](t, ctx, `consentd.showNotice()`)
		poll(t, ctx, jsNoticeLoaded)
		shot("notice" + s)
		run(t, ctx, chromedp.KeyEvent(kb.Escape))
	})
}
