package scan

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestScanThirdPartyCookie scans /3p of the fixture, whose third party
// (px.tracker.localhost, thirdPartyLocal) sets tp_px by Set-Cookie on an
// image request of a page script, and tp_js by script in its frame, both
// Secure and SameSite=None: all a third party's cookie needs, since
// Chromium counts *.localhost as trustworthy over plain http.
//
// What is real (Chromium 156, headless, each pass a fresh browser
// context): Chromium refuses both, with the reason UserPreferences, the
// third-party cookie blocking of its new browser contexts, which
// Network.setCookieControls (pass.go) does not lift. So the scan records
// the refusal with what was refused and where from, and the third-party
// host; it cannot record a stored third-party cookie. When the scan lifts
// that block, this test fails: then check that tp_px and tp_js are third-
// party cookies of px.tracker.localhost set by Set-Cookie of /px.gif and
// by script /js/frame.js line 1.
func TestScanThirdPartyCookie(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium, consentd and Redis")
	}
	f := startFixture(t, 0)
	o := f.options()
	o.URL, o.Pages = f.base+"/3p", 1
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	tp := "http://" + localTrackerHost + ":" + f.port
	for _, name := range []string{"no-decision", "accept-all"} {
		p := pass(r, name)
		if slices.ContainsFunc(p.Cookies, func(c Cookie) bool { return !c.FirstParty }) {
			t.Errorf("%s: a third-party cookie was stored: %q: the scan now sees them, check them (see the comment)", name, cookieNames(p))
		}
		var blocked []string
		for _, v := range p.Visits {
			for _, b := range v.BlockedCookies {
				blocked = append(blocked, fmt.Sprint(b.Name, " ", b.URL, " ", b.Reasons))
			}
		}
		if want := "tp_px " + tp + "/px.gif [UserPreferences]"; !slices.Contains(blocked, want) {
			t.Errorf("%s: blocked cookies %q, want %q", name, blocked, want)
		}
		if !slices.ContainsFunc(p.ThirdParty, func(h HostContact) bool {
			return h.Host == localTrackerHost && h.URL == tp+"/js/px.js" && h.FirstPage == f.base+"/3p"
		}) {
			t.Errorf("%s: third-party hosts %+v: want %s from /3p", name, p.ThirdParty, localTrackerHost)
		}
	}
}
