package scan

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// fixtureTracker declares tp_px, the third party's image cookie, under
// marketing; its other cookie, tp_js, and its storage key tp_ls stay
// undeclared.
const fixtureTracker = `      - name: Tracker
        provider: Tracker Ltd
        purpose: {fi: Mainonnan seuranta., sv: Spårning av reklam., en: Ad tracking.}
        cookies:
          - name: tp_px
            duration: 1d
            description: {fi: Seurantatunniste., sv: Spårnings-id., en: Tracking identifier.}
`

// TestScanThirdPartyCookie scans /3p of the fixture, whose third party
// (px.tracker.localhost, thirdPartyLocal) sets tp_px by Set-Cookie on an
// image request of a page script, and tp_js by script in its frame, both
// Secure and SameSite=None: all a third party's cookie needs, since
// Chromium counts *.localhost as trustworthy over plain http. The frame
// also writes the localStorage key tp_ls.
//
// The scan's profile allows third-party cookies (profilePreferences), so
// each pass stores both as a visitor's browser that allows them would:
// third-party cookies, with what set them, present before consent and
// after reject all (the script is not blocked), so violations: tp_px of
// its declared category, tp_js undeclared. The tracker's other cookie,
// trk (no SameSite, so Lax), is still refused and listed as blocked.
func TestScanThirdPartyCookie(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium, consentd and Redis")
	}
	f := startFixture(t, 0, fixtureTracker)
	o := f.options()
	o.URL, o.Pages = f.base+"/3p", 1
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	page := f.base + "/3p"
	tp := "http://" + localTrackerHost + ":" + f.port
	for _, name := range []string{"no-decision", "reject-all", "accept-all"} {
		p := pass(r, name)
		var third []string
		for _, c := range p.Cookies {
			if !c.FirstParty {
				var by []string
				for _, s := range c.SetBy {
					by = append(by, s.String()+" on "+s.Page)
				}
				third = append(third, fmt.Sprintf("%s %s %s before=%v by %q", c.Name, c.Domain, c.FirstPage, c.BeforeDecision, by))
			}
		}
		before := p.Decision == "" // the deciding passes read the page after deciding
		if want := []string{
			fmt.Sprintf("tp_js %s %s before=%v by %q", localTrackerHost, page, before, []string{"script " + tp + "/js/frame.js line 1 on " + page}),
			fmt.Sprintf("tp_px %s %s before=%v by %q", localTrackerHost, page, before, []string{"Set-Cookie of " + tp + "/px.gif on " + page}),
		}; !reflect.DeepEqual(third, want) {
			t.Errorf("%s: third-party cookies\n%q\nwant\n%q", name, third, want)
		}

		var storage []string
		for _, it := range p.Storage {
			if !it.FirstParty {
				var by []string
				for _, s := range it.SetBy {
					by = append(by, s.String())
				}
				storage = append(storage, fmt.Sprintf("%s %s %s by %q", it.Kind, it.Origin, it.Key, by))
			}
		}
		if want := []string{fmt.Sprintf("localStorage %s tp_ls by %q", tp, []string{"script " + tp + "/js/frame.js line 2"})}; !reflect.DeepEqual(storage, want) {
			t.Errorf("%s: third-party storage %q, want %q", name, storage, want)
		}

		var blocked []string
		for _, v := range p.Visits {
			for _, b := range v.BlockedCookies {
				blocked = append(blocked, fmt.Sprint(b.Name, " ", b.URL, " ", b.Reasons))
			}
		}
		if want := "trk http://" + trackerHost + ":" + f.port + "/px.gif [SchemefulSameSiteUnspecifiedTreatedAsLax]"; !slices.Contains(blocked, want) {
			t.Errorf("%s: blocked cookies %q, want %q", name, blocked, want)
		}
		if slices.ContainsFunc(blocked, func(b string) bool { return b[:2] == "tp" }) {
			t.Errorf("%s: blocked cookies %q: the third party's cookies were refused", name, blocked)
		}
		if !slices.ContainsFunc(p.ThirdParty, func(h HostContact) bool {
			return h.Host == localTrackerHost && h.URL == tp+"/js/px.js" && h.FirstPage == page
		}) {
			t.Errorf("%s: third-party hosts %+v: want %s from /3p", name, p.ThirdParty, localTrackerHost)
		}
	}

	var violations []string
	for _, v := range r.Findings.Violations {
		if !v.FirstParty {
			violations = append(violations, render([]Violation{v})...)
		}
	}
	frameJS, pxGIF := "script "+tp+"/js/frame.js line 1", "Set-Cookie of "+tp+"/px.gif"
	if want := []string{
		"no-decision before consent cookie tp_js - on " + page + " by " + frameJS,
		"no-decision before consent cookie tp_px marketing on " + page + " by " + pxGIF,
		"reject-all after reject all cookie tp_js - on " + page + " by " + frameJS,
		"reject-all after reject all cookie tp_px marketing on " + page + " by " + pxGIF,
	}; !reflect.DeepEqual(violations, want) {
		t.Errorf("third-party violations\n%q\nwant\n%q", violations, want)
	}
	var und []string
	for _, u := range r.Findings.Undeclared {
		if !u.FirstParty {
			und = append(und, fmt.Sprintf("%s %s %s %v", u.Kind, u.Name, u.Domain, u.Passes))
		}
	}
	if want := []string{
		"cookie tp_js " + localTrackerHost + " [no-decision reject-all accept-all]",
		"localStorage tp_ls " + tp + " [no-decision reject-all accept-all]",
	}; !reflect.DeepEqual(und, want) {
		t.Errorf("undeclared third-party cookies and keys %q, want %q", und, want)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings %q", r.Warnings)
	}
}
