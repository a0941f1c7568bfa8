package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/consentd/consentd/server/servertest"
)

// shotViewports are the screens every state is taken on.
var shotViewports = []struct {
	name string
	w, h int64
}{{"desktop", 1280, 800}, {"phone", 375, 740}, {"small", 320, 568}}

// shotDocs are the screenshots that docs/widget.md shows; make
// screenshots ($CONSENTD_SCREENSHOTS=docs/img/widget) writes them there.
// Every screenshot goes to the test artifacts.
var shotDocs = map[string]bool{
	"banner-bar-desktop-light": true, "banner-bar-desktop-dark": true, "banner-bar-phone-light": true,
	"banner-bar-phone-dark": true, "banner-bar-small-light": true, "banner-more-phone-light": true,
	"banner-box-desktop-light": true, "banner-box-phone-light": true, "banner-cloud-desktop-light": true,
	"banner-cloud-desktop-dark": true, "banner-focus-desktop-light": true, "settings-desktop-light": true,
	"settings-phone-dark": true, "notice-phone-light": true, "link-opt-out-phone-light": true,
	"banner-close-desktop-light": true, "banner-close-phone-dark": true, "reopen-phone-light": true,
	"reopen-desktop-dark": true,
}

// TestScreenshots takes a screenshot of every state of the real widget
// on the demo page, on a desktop, a phone and a small phone, light and
// dark: the banner in each layout, its text opened, the keyboard focus,
// the close button and the reopen control, the settings, the notice view
// and the corner link. `make screenshots`
// writes them to docs/img/widget for docs/widget.md.
func TestScreenshots(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	dirs := []string{filepath.Join(dashArtifacts(t), "widget")}
	docs := os.Getenv("CONSENTD_SCREENSHOTS")
	for _, d := range append(dirs, docs) {
		if err := os.MkdirAll(d, 0o755); d != "" && err != nil {
			t.Fatal(err)
		}
	}
	ctx := wdgTab(t, nil)
	shot := func(name string) {
		t.Helper()
		poll(t, ctx, jsRoot+`.getAnimations().length === 0`)
		png := run(t, ctx, chromedp.CaptureScreenshot())
		for _, d := range dirs {
			if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if docs != "" && shotDocs[name] {
			if err := os.WriteFile(filepath.Join(docs, name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
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
	// The close button (closeRejects) and, after a decision, the reopen
	// control.
	wdgBanner(t, env, "  layout: bar\n  closeRejects: true\n")
	each(func(s string) {
		shot("banner-close" + s)
		click(t, ctx, "close")
		poll(t, ctx, `!!`+jsLink)
		shot("reopen" + s)
		if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
	})
	wdgBanner(t, env, "  layout: bar\n")
	each(func(s string) {
		// The keyboard focus on the first choice.
		run(t, ctx, chromedp.KeyEvent(kb.Tab))
		wdgTabTo(t, ctx, "accept-all")
		shot("banner-focus" + s)
		// The text opened (small screens cut it to two lines).
		if eval[bool](t, ctx, `!`+jsBanner+`.querySelector('.more').hidden && getComputedStyle(`+jsBanner+`.querySelector('.more')).display !== 'none'`) {
			eval[any](t, ctx, jsBanner+`.querySelector('.more').click(); `+jsRoot+`.activeElement?.blur()`)
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
	// The corner link of the opt-out and notice modes (the server tells
	// the widget the mode; here the page does).
	for _, mode := range []string{"opt-out", "notice"} {
		ctx = wdgTab(t, nil)
		if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__consentdGeo = {m: '` + mode + `', c: 'US'}`,
		}); err != nil {
			t.Fatal(err)
		}
		for _, v := range shotViewports[:2] {
			for _, scheme := range []string{"light", "dark"} {
				run(t, ctx, chromedp.EmulateViewport(v.w, v.h))
				run(t, ctx, chromedp.Navigate(env.URL+"/"))
				wdgScheme(t, ctx, scheme)
				poll(t, ctx, `!!window.consentd && !!`+jsLink)
				shot(fmt.Sprintf("link-%s-%s-%s", mode, v.name, scheme))
			}
		}
	}
}
