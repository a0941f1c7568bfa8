package scan

import (
	_ "embed"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
)

// recorderJS wraps the cookie and storage setters of every document.
//
//go:embed recorder.js
var recorderJS string

// bindingName is the binding recorder.js reports to.
const bindingName = "__consentdScan"

// Setter is what set a cookie or storage key: a Set-Cookie header of a
// response, or a script (by the script's address and line; an inline
// script by its page's address).
type Setter struct {
	// Kind: set-cookie (a response header), script (document.cookie),
	// cookieStore (cookieStore.set), localStorage or sessionStorage
	// (setItem).
	Kind string `json:"kind"`
	// URL is the response's address, or the calling script's (for an
	// inline script of the page, the page's: Inline is true). Empty for
	// code without an address of its own (an inline script that a script
	// inserted, eval): then Inline is true and Via names the script.
	URL    string `json:"url"`
	Line   int    `json:"line,omitempty"`
	Inline bool   `json:"inline,omitempty"`
	Via    string `json:"via,omitempty"`
	// Page is the page the scan was visiting.
	Page string `json:"page"`
}

// String is how a setter reads in the summary and the HTML report.
func (s Setter) String() string {
	switch {
	case s.Kind == "set-cookie":
		return "Set-Cookie of " + s.URL
	case s.URL != "" && s.Inline:
		return "inline script of " + s.URL + lineSuffix(s.Line)
	case s.URL != "":
		return "script " + s.URL + lineSuffix(s.Line)
	case s.Via != "":
		return "inline script" + lineSuffix(s.Line) + " inserted by " + s.Via
	default:
		return "a script without address on " + s.Page
	}
}

func lineSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return " line " + strconv.Itoa(n)
}

// named is a setter of one cookie or storage key; origin is the writing
// document's (scripts only), which tells a frame's storage from the page's.
type named struct {
	name   string
	origin string
	Setter
}

// BlockedCookie is a cookie a response tried to set and the browser
// refused (a third party's SameSite=Lax cookie, a Secure cookie over
// http, …): not stored, so not a violation, but a sign of intent.
type BlockedCookie struct {
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	Reasons []string `json:"reasons"`
}

// contact is a request to a host other than the site's.
type contact struct {
	url, initiator string
	byScript       bool // the initiator is a script on the stack, not the page's parser
}

// recorder collects the events of one tab for the visit in progress: it
// is the function chromedp.Listen calls, so it only files events under
// its lock; the pass reads them between visits.
type recorder struct {
	scope   Scope
	consent *regexp.Regexp // the consentd widget's script paths

	mu       sync.Mutex
	page     string
	urls     map[network.RequestID]string
	pending  map[network.RequestID][]string // Set-Cookie names waiting for their request's address
	pendingB map[network.RequestID][]BlockedCookie
	inflight map[network.RequestID]bool
	active   time.Time // last request started or ended
	setters  []named
	hosts    map[string]contact // third-party host → its first request
	order    []string           // hosts in the order contacted
	consentd map[string]bool    // hosts that served the widget
	blocked  []BlockedCookie
}

func newRecorder(scope Scope, siteID string) *recorder {
	return &recorder{
		scope:   scope,
		consent: regexp.MustCompile(`^/w/(` + regexp.QuoteMeta(siteID) + `(\.[0-9a-f]+)?|_prefs|_notice|_core\.[0-9a-f]+)\.js$`),
		urls:    map[network.RequestID]string{}, pending: map[network.RequestID][]string{}, pendingB: map[network.RequestID][]BlockedCookie{},
		inflight: map[network.RequestID]bool{}, hosts: map[string]contact{}, consentd: map[string]bool{},
	}
}

// begin starts the record of a visit to page.
func (r *recorder) begin(page string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.page = page
	r.setters, r.blocked, r.order = nil, nil, nil
	r.hosts = map[string]contact{}
	r.active = time.Now()
}

// visitEvents is what the events told of one visit.
type visitEvents struct {
	setters  []named
	hosts    []string
	contacts map[string]contact
	blocked  []BlockedCookie
}

// take returns what was recorded since begin.
func (r *recorder) take() visitEvents {
	r.mu.Lock()
	defer r.mu.Unlock()
	return visitEvents{setters: r.setters, hosts: r.order, contacts: r.hosts, blocked: r.blocked}
}

// consentHosts are the hosts that served the consentd widget so far.
func (r *recorder) consentHosts() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]bool, len(r.consentd))
	for h := range r.consentd {
		out[h] = true
	}
	return out
}

// quiet reports whether no request is in flight and none started or
// ended for d.
func (r *recorder) quiet(d time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.inflight) == 0 && time.Since(r.active) >= d
}

// handle files one event; chromedp.Listen calls it on the tab's reading
// goroutine, so it must return at once.
func (r *recorder) handle(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.requested(ev)
	case *network.EventResponseReceivedExtraInfo:
		r.setCookies(ev)
	case *network.EventLoadingFinished:
		delete(r.inflight, ev.RequestID)
		r.active = time.Now()
	case *network.EventLoadingFailed:
		delete(r.inflight, ev.RequestID)
		r.active = time.Now()
	case *runtime.EventBindingCalled:
		if ev.Name == bindingName {
			r.scriptSet(ev.Payload)
		}
	}
}

func (r *recorder) requested(ev *network.EventRequestWillBeSent) {
	if ev.Request == nil {
		return
	}
	r.urls[ev.RequestID] = ev.Request.URL
	for _, name := range r.pending[ev.RequestID] {
		r.setters = append(r.setters, named{name: name, Setter: Setter{Kind: "set-cookie", URL: ev.Request.URL, Page: r.page}})
	}
	delete(r.pending, ev.RequestID)
	for _, b := range r.pendingB[ev.RequestID] {
		b.URL = ev.Request.URL
		r.blocked = append(r.blocked, b)
	}
	delete(r.pendingB, ev.RequestID)
	r.inflight[ev.RequestID] = true
	r.active = time.Now()
	u, err := url.Parse(ev.Request.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return
	}
	host := strings.ToLower(u.Hostname())
	if r.consent.MatchString(u.Path) {
		r.consentd[host] = true
	}
	if r.scope.FirstParty(host) {
		return
	}
	init, byScript := initiatorOf(ev.Initiator)
	c, ok := r.hosts[host]
	if !ok {
		r.order = append(r.order, host)
		r.hosts[host] = contact{url: ev.Request.URL, initiator: init, byScript: byScript}
	} else if byScript && !c.byScript {
		c.initiator, c.byScript = init, true
		r.hosts[host] = c
	}
}

// initiatorOf names what made a request: the script on top of its
// stack (byScript), else the document or script the initiator names.
func initiatorOf(in *network.Initiator) (name string, byScript bool) {
	if in == nil {
		return "", false
	}
	if in.Stack != nil {
		for _, f := range in.Stack.CallFrames {
			if f.URL != "" {
				return f.URL, true
			}
		}
	}
	return in.URL, false
}

func (r *recorder) setCookies(ev *network.EventResponseReceivedExtraInfo) {
	u, known := r.urls[ev.RequestID]
	for k, v := range ev.Headers {
		if !strings.EqualFold(k, "set-cookie") {
			continue
		}
		s, _ := v.(string)
		for _, line := range strings.Split(s, "\n") {
			name := cookieLineName(line)
			if name == "" {
				continue
			}
			if !known {
				r.pending[ev.RequestID] = append(r.pending[ev.RequestID], name)
				continue
			}
			r.setters = append(r.setters, named{name: name, Setter: Setter{Kind: "set-cookie", URL: u, Page: r.page}})
		}
	}
	for _, b := range ev.BlockedCookies {
		name := cookieLineName(b.CookieLine)
		if b.Cookie != nil {
			name = b.Cookie.Name
		}
		reasons := make([]string, len(b.BlockedReasons))
		for i, reason := range b.BlockedReasons {
			reasons[i] = string(reason)
		}
		b := BlockedCookie{Name: name, URL: u, Reasons: reasons}
		if !known {
			r.pendingB[ev.RequestID] = append(r.pendingB[ev.RequestID], b)
			continue
		}
		r.blocked = append(r.blocked, b)
	}
}

// cookieLineName is the name of a Set-Cookie line or a document.cookie
// assignment: the text before the first '=' of its first part.
func cookieLineName(line string) string {
	first, _, _ := strings.Cut(line, ";")
	name, _, _ := strings.Cut(first, "=")
	return strings.TrimSpace(name)
}

// scriptSet files a report of recorder.js.
func (r *recorder) scriptSet(payload string) {
	var p struct {
		Kind   string `json:"kind"`
		Name   string `json:"name"`
		Stack  string `json:"stack"`
		Page   string `json:"page"`
		Origin string `json:"origin"`
	}
	if json.Unmarshal([]byte(payload), &p) != nil || p.Name == "" {
		return
	}
	s := stackSetter(p.Stack, p.Page)
	s.Kind, s.Page = p.Kind, r.page
	r.setters = append(r.setters, named{name: p.Name, origin: p.Origin, Setter: s})
}

// stackFrame finds the address, line and column of a V8 stack frame:
// "    at f (https://host/a.js:3:14)" or "    at https://host/a.js:3:14";
// anonFrame, the line of a frame of code without an address: "    at
// <anonymous>:3:14".
var (
	stackFrame = regexp.MustCompile(`(https?://[^\s()]+?):(\d+):(\d+)\)?$`)
	anonFrame  = regexp.MustCompile(`<anonymous>:(\d+):(\d+)\)?$`)
)

// stackSetter names the caller of a wrapped setter from its Error stack
// (recorder.js cuts the wrapper's own frames): the first frame's script
// address and line; for code without an address (an inline script that
// a script inserted, eval), its line and, as Via, the first script with
// an address below it on the stack.
func stackSetter(stack, page string) Setter {
	var s Setter
	if strings.TrimSpace(stack) == "" {
		return s
	}
	for i, line := range strings.Split(strings.TrimSpace(stack), "\n") {
		line = strings.TrimSpace(line)
		m := stackFrame.FindStringSubmatch(line)
		if m == nil {
			if i == 0 {
				s.Inline = true
				if a := anonFrame.FindStringSubmatch(line); a != nil {
					s.Line, _ = strconv.Atoi(a[1])
				}
			}
			continue
		}
		if i > 0 && s.Inline {
			s.Via = m[1]
			return s
		}
		s.Line, _ = strconv.Atoi(m[2])
		s.URL, s.Inline = m[1], sameDocument(m[1], page)
		return s
	}
	return s
}

// sameDocument reports whether a script address is the page's own
// (an inline script), fragments aside.
func sameDocument(script, page string) bool {
	strip := func(s string) string { s, _, _ = strings.Cut(s, "#"); return s }
	return strip(script) == strip(page)
}
