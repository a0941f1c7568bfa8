package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/consentd/consentd/server/servertest"
)

// TestSiteStringsOverrideWidgetTexts: a site's strings section replaces
// a built-in widget text, in the visitor's language only.
func TestSiteStringsOverrideWidgetTexts(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Sites: func(u string) map[string]string {
		s := servertest.DemoSite(t, u)
		s = strings.Replace(s, "\ncategories:\n", "\nstrings:\n  fi:\n    widget.acceptAll: Kyllä, sopii\n\ncategories:\n", 1)
		return map[string]string{"demo.yaml": s}
	}})
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	run(t, ctx, chromedp.Poll[bool](jsBannerShow, chromedp.WithPollingTimeout(10*time.Second)))
	labels := run(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`['accept-all','reject-all'].map(a => %s.querySelector('[data-action='+a+']').textContent)`, jsBanner)))
	if labels[0] != "Kyllä, sopii" || labels[1] != "Hylkää kaikki" {
		t.Errorf("banner buttons %q", labels)
	}
}
