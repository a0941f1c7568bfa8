package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consentd/consentd/server/servertest"
)

// catalogueSite is a site whose services come from the service
// catalogue and whose notice declares no recipients or transfers, so
// that the catalogue fills them.
func catalogueSite(base string) string {
	return `id: demo
name: Luettelo Oy
origins: [` + base + `]
languages: [fi, en]
policyVersion: "1"
categories:
  - id: necessary
    required: true
    label: {fi: Välttämättömät, en: Necessary}
    description: {fi: Tarvitaan., en: Needed.}
  - id: analytics
    label: {fi: Analytiikka, en: Analytics}
    description: {fi: Kävijätilastot., en: Visitor statistics.}
    services:
      - use: google-analytics-4
  - id: marketing
    label: {fi: Markkinointi, en: Marketing}
    description: {fi: Upotetut videot., en: Embedded videos.}
    services:
      - use: vimeo
        purpose: {fi: Tuote-esittelyvideot., en: Product videos.}
notice:
  controllers:
    - name: Luettelo Oy
      email: tietosuoja@luettelo.example.fi
`
}

// TestCatalogueService: services written as {use: NAME} reach the
// banner's settings (name, provider, cookies) and the notice page's
// recipients (with the provider's address) and transfers, and the notice
// names the catalogue version it was filled from.
func TestCatalogueService(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Sites: func(u string) map[string]string {
		return map[string]string{"demo.yaml": catalogueSite(u)}
	}})
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerShow)
	eval[any](t, ctx, `consentd.showSettings()`)
	poll(t, ctx, jsPrefsOpen)
	prefs := eval[string](t, ctx, `(() => { const d = `+jsPrefs+`; d.querySelectorAll('details').forEach(x => x.open = true); return d.innerText })()`)
	for _, want := range []string{"Google Analytics 4 · Google Ireland Limited", "_ga_*", "Vimeo (embedded videos) · Vimeo.com, Inc.", "sd_identity · 2 vuotta", "Tuote-esittelyvideot."} {
		if !strings.Contains(prefs, want) {
			t.Errorf("settings lack %q:\n%s", want, prefs)
		}
	}
	noticeShot(t, "catalogue-prefs.png", run(t, ctx, chromedp.CaptureScreenshot()))

	run(t, ctx, chromedp.Navigate(env.URL+"/n/demo?lang=en"))
	section := func(id string) string {
		return eval[string](t, ctx, `(document.getElementById('cdn-`+id+`') || {innerText: ''}).innerText`)
	}
	checks := map[string][]string{
		"recipients": {"Google Ireland Limited", "Gordon House, Barrow Street, Dublin 4", "Ireland",
			"Vimeo.com, Inc.", "330 West 34th Street", "Product videos.", "https://vimeo.com/privacy"},
		"transfers": {"United States", "EU-US Data Privacy Framework", "European Commission standard contractual clauses"},
		"cookies":   {"_ga", "Google Analytics 4", "2 years", "continuous_play_v3"},
		"about":     {"consentd service catalogue, version ", "google-analytics-4, vimeo"},
	}
	for id, wants := range checks {
		text := section(id)
		for _, want := range wants {
			if !strings.Contains(text, want) {
				t.Errorf("notice section %s lacks %q:\n%s", id, want, text)
			}
		}
	}
	noticeShot(t, "catalogue-notice.png", run(t, ctx, chromedp.FullScreenshot(80)))
}
