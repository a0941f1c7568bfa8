package scan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
)

func TestStackSetter(t *testing.T) {
	const page = "https://www.example.fi/shop?x=1#top"
	for _, tt := range []struct {
		name, stack string
		want        Setter
		says        string
	}{
		{"external script", "    at https://www.example.fi/js/pixel.js:1:17",
			Setter{URL: "https://www.example.fi/js/pixel.js", Line: 1}, "script https://www.example.fi/js/pixel.js line 1"},
		{"named function", "    at setCookie (https://cdn.example.com/a.min.js:3:140)\n    at https://www.example.fi/x.js:9:1",
			Setter{URL: "https://cdn.example.com/a.min.js", Line: 3}, "script https://cdn.example.com/a.min.js line 3"},
		{"inline script of the page", "    at https://www.example.fi/shop?x=1:12:5",
			Setter{URL: "https://www.example.fi/shop?x=1", Line: 12, Inline: true}, "inline script of https://www.example.fi/shop?x=1 line 12"},
		{"inline script inserted by a script", "    at <anonymous>:3:17\n    at _t (https://consent.example.fi/w/demo.js:1:8409)\n    at https://consent.example.fi/w/demo.js:1:5152",
			Setter{Line: 3, Inline: true, Via: "https://consent.example.fi/w/demo.js"}, "inline script line 3 inserted by https://consent.example.fi/w/demo.js"},
		{"no address anywhere", "    at <anonymous>:1:1", Setter{Line: 1, Inline: true}, "a script without address on " + page},
		{"empty", "", Setter{}, "a script without address on " + page},
	} {
		got := stackSetter(tt.stack, page)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
		got.Kind, got.Page = "script", page
		if s := got.String(); s != tt.says {
			t.Errorf("%s: reads %q, want %q", tt.name, s, tt.says)
		}
	}
}

// TestRecorder feeds events as Chromium sends them, in both orders of a
// response's extra info and its request.
func TestRecorder(t *testing.T) {
	scope, _ := NewScope("https://www.example.fi/")
	r := newRecorder(scope, "demo")
	r.begin("https://www.example.fi/")
	r.handle(&network.EventRequestWillBeSent{RequestID: "1", Request: &network.Request{URL: "https://www.example.fi/"}})
	r.handle(&network.EventResponseReceivedExtraInfo{RequestID: "1", Headers: network.Headers{"Set-Cookie": "sid=1; Path=/; HttpOnly\nab=2"}})
	// Extra info before its request (Chromium sends them in either order).
	r.handle(&network.EventResponseReceivedExtraInfo{RequestID: "2", Headers: network.Headers{"set-cookie": "trk=1"},
		BlockedCookies: []*network.BlockedSetCookieWithReason{{CookieLine: "trk=1", BlockedReasons: []network.SetCookieBlockedReason{"SameSiteLax"}}}})
	r.handle(&network.EventRequestWillBeSent{RequestID: "2", Request: &network.Request{URL: "https://px.tracker.test/p.gif"},
		Initiator: &network.Initiator{Type: "parser", URL: "https://www.example.fi/"}})
	r.handle(&network.EventRequestWillBeSent{RequestID: "3", Request: &network.Request{URL: "https://px.tracker.test/q.gif"},
		Initiator: &network.Initiator{Type: "script", Stack: &runtime.StackTrace{CallFrames: []*runtime.CallFrame{{URL: "https://www.example.fi/pixel.js"}}}}})
	r.handle(&network.EventRequestWillBeSent{RequestID: "4", Request: &network.Request{URL: "https://consent.example.com/w/demo.js"}})
	r.handle(&network.EventRequestWillBeSent{RequestID: "5", Request: &network.Request{URL: "https://cdn.example.fi/lib.js"}})
	r.handle(&runtime.EventBindingCalled{Name: bindingName, Payload: `{"kind":"script","name":"_fbp","stack":"    at https://www.example.fi/pixel.js:1:17","page":"https://www.example.fi/"}`})
	r.handle(&runtime.EventBindingCalled{Name: "someoneElse", Payload: `{"kind":"script","name":"x"}`})
	if r.quiet(0) {
		t.Error("quiet with requests in flight")
	}
	for _, id := range []network.RequestID{"1", "2", "3", "4"} {
		r.handle(&network.EventLoadingFinished{RequestID: id})
	}
	r.handle(&network.EventLoadingFailed{RequestID: "5"})
	if !r.quiet(0) {
		t.Error("not quiet with every request done")
	}

	ev := r.take()
	var setters []string
	for _, s := range ev.setters {
		setters = append(setters, s.name+" ← "+s.String())
	}
	if want := []string{
		"sid ← Set-Cookie of https://www.example.fi/",
		"ab ← Set-Cookie of https://www.example.fi/",
		"trk ← Set-Cookie of https://px.tracker.test/p.gif",
		"_fbp ← script https://www.example.fi/pixel.js line 1",
	}; !reflect.DeepEqual(setters, want) {
		t.Errorf("setters\n%s\nwant\n%s", strings.Join(setters, "\n"), strings.Join(want, "\n"))
	}
	// cdn.example.fi is first party (same registrable domain); the widget's host is consentd's.
	if !reflect.DeepEqual(ev.hosts, []string{"px.tracker.test", "consent.example.com"}) {
		t.Errorf("hosts %q", ev.hosts)
	}
	if c := ev.contacts["px.tracker.test"]; c.url != "https://px.tracker.test/p.gif" || c.initiator != "https://www.example.fi/pixel.js" || !c.byScript {
		t.Errorf("tracker contact %+v: want the first request, and the script that made one", c)
	}
	if !reflect.DeepEqual(r.consentHosts(), map[string]bool{"consent.example.com": true}) {
		t.Errorf("consent hosts %v", r.consentHosts())
	}
	if want := []BlockedCookie{{Name: "trk", URL: "https://px.tracker.test/p.gif", Reasons: []string{"SameSiteLax"}}}; !reflect.DeepEqual(ev.blocked, want) {
		t.Errorf("blocked %+v", ev.blocked)
	}
	r.begin("https://www.example.fi/next")
	if ev := r.take(); len(ev.setters)+len(ev.hosts)+len(ev.blocked) != 0 {
		t.Errorf("a new visit starts empty: %+v", ev)
	}
}

func TestHTMLEscapes(t *testing.T) {
	r := &Report{Site: "demo", URL: "https://www.example.fi/", Complete: true,
		Warnings: []string{`<script>alert(1)</script>`},
		Findings: Findings{Violations: []Violation{{Pass: "no-decision", When: beforeConsent, Kind: "cookie", Name: `x"><img src=y>`,
			SetBy: []Setter{{Kind: "script", URL: "https://www.example.fi/a.js?<b>"}}}}}}
	b, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, bad := range []string{"<script>alert", "<img src=y>", "?<b>"} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html has %q unescaped", bad)
		}
	}
	// Self-contained: no element that loads anything.
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "<object", "<embed", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html has %q: it must make no request", bad)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the warning is not in the page")
	}
}
