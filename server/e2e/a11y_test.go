package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/consentd/consentd/server/servertest"
)

// a11yAxe returns axe-core's source: $CONSENTD_AXE, else
// <repo>/.cache/axe-core/axe.min.js (make axe).
func a11yAxe(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CONSENTD_AXE")
	if p == "" {
		p = filepath.Join(servertest.RepoRoot(t), ".cache", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("axe-core not found at %s: run `make axe` (downloads it), or set CONSENTD_AXE to an axe.min.js", p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type a11yViolation struct {
	ID, Impact, Help string
	Targets          []string
}

// a11yCheck runs axe-core on the elements that match selector and fails on
// every violation, whatever its impact (the last moderate one, two
// landmarks named "Evästeet" in the notice view, is fixed). For the widget (#consentd)
// it also makes sure axe looked inside the shadow root.
func a11yCheck(t *testing.T, ctx context.Context, axe, what, selector string) {
	t.Helper()
	if !eval[bool](t, ctx, `typeof window.axe === 'object'`) {
		// CDP's evaluate is not subject to the page's CSP.
		run(t, ctx, chromedp.Evaluate[bool](axe+"\n;true"))
	}
	if selector == "#consentd" {
		// Not while a dialog or the banner fades in: contrast is checked on what stays.
		poll(t, ctx, jsRoot+`.getAnimations().length === 0`)
	}
	type result struct {
		Violations []a11yViolation
		Shadow     int // nodes checked inside the shadow root
	}
	res := run(t, ctx, chromedp.Evaluate[result](`axe.run({include: [`+jsonList([]string{selector})+`]}, {resultTypes: ['violations']}).then(r => ({
		Violations: r.violations.map(v => ({ID: v.id, Impact: v.impact || '', Help: v.help, Targets: v.nodes.map(n => JSON.stringify(n.target))})),
		Shadow: [...r.passes, ...r.violations].flatMap(x => x.nodes).filter(n => Array.isArray(n.target[0])).length,
	}))`, chromedp.EvalAwaitPromise))
	if selector == "#consentd" && res.Shadow == 0 {
		t.Errorf("%s: axe checked nothing inside the widget's shadow root", what)
	}
	for _, v := range res.Violations {
		msg := fmt.Sprintf("%s: axe %s (%s): %s at %s", what, v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
		t.Error(msg)
	}
}

// a11yScheme emulates prefers-color-scheme.
func a11yScheme(t *testing.T, ctx context.Context, scheme string) {
	t.Helper()
	features := []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features}); err != nil {
		t.Fatal(err)
	}
}

// a11yTest checks the banner and the settings (light and dark), the notice
// view and the placeholder of a blocked embed on the demo page with
// axe-core. A subtest of TestHostPages (blocking_test.go).
func a11yTest(t *testing.T, env *blkEnv) {
	axe := a11yAxe(t)
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	a11yCheck(t, ctx, axe, "banner", "#consentd")
	a11yCheck(t, ctx, axe, "placeholder of a blocked embed", ".consentd-placeholder")

	a11yScheme(t, ctx, "dark")
	poll(t, ctx, `matchMedia('(prefers-color-scheme: dark)').matches`)
	a11yCheck(t, ctx, axe, "banner, dark", "#consentd")
	a11yScheme(t, ctx, "light")

	eval[any](t, ctx, `consentd.showNotice()`)
	poll(t, ctx, jsNoticeLoaded)
	a11yCheck(t, ctx, axe, "notice view", "#consentd")
	eval[any](t, ctx, jsDialog+`.close()`)

	// The settings, every service list open, in both schemes.
	eval[any](t, ctx, `consentd.showSettings()`)
	poll(t, ctx, jsPrefsOpen)
	eval[any](t, ctx, `for (const d of `+jsPrefs+`.querySelectorAll('details')) d.open = true`)
	a11yCheck(t, ctx, axe, "settings", "#consentd")
	a11yScheme(t, ctx, "dark")
	poll(t, ctx, `matchMedia('(prefers-color-scheme: dark)').matches`)
	a11yCheck(t, ctx, axe, "settings, dark", "#consentd")
	a11yScheme(t, ctx, "light")

	// On a small phone, a phone and a desktop, light and dark.
	a11yWidgetScreens(t, env.URL+"/", axe)
}

// a11yHostilePage has CSS that would hide or flatten anything of a widget
// that lived in the page's DOM.
const a11yHostilePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hostile</title>
<style>* { all: unset !important } div { display: none !important } button { visibility: hidden !important }</style>
<script src="{{consentd}}/w/demo.js"></script>
</head><body><p>A page with hostile CSS.</p></body></html>`

// a11yFiles are the pages of the subtests in this file.
var a11yFiles = map[string]string{"/hostile.html": a11yHostilePage}

// a11yTestHostileCSS: the banner stays visible and usable on a page whose
// CSS hides every div and button; a real click records the decision. A
// subtest of TestHostPages (blocking_test.go).
func a11yTestHostileCSS(t *testing.T, env *blkEnv) {
	ctx := tab(t)
	base := env.Records(t, "demo")
	run(t, ctx, chromedp.Navigate(env.Page+"/hostile.html"))
	poll(t, ctx, jsBannerSettled)
	for _, action := range []string{"accept-all", "reject-all", "notice"} {
		r := buttonRect(t, ctx, action)
		// Visible, with a size, and the topmost element at its centre.
		ok := eval[string](t, ctx, fmt.Sprintf(`(() => { const root = document.getElementById('consentd').shadowRoot, b = root.querySelector('[data-action=%q]');
			const s = getComputedStyle(b), hit = root.elementFromPoint(%v, %v);
			return [s.visibility, s.display, String(b.checkVisibility()), String(hit === b || b.contains(hit))].join(' ') })()`, action, r.X+r.W/2, r.Y+r.H/2))
		if r.W < 24 || r.H < 24 || strings.Split(ok, " ")[0] != "visible" || strings.HasSuffix(ok, "false") {
			t.Errorf("%s button: %vx%v, visibility display checkVisibility hit = %s", action, r.W, r.H, ok)
		}
	}
	click(t, ctx, "accept-all")
	if r := blkRecord(t, env, base); r.Method != "accept_all" {
		t.Errorf("record %s", r.Method)
	}
	poll(t, ctx, `!(`+jsBannerShow+`)`)
}
