package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// passSpec is one of the three passes: how it decides.
type passSpec struct {
	Name     string
	Decision string // "", reject, accept
	JS       string // the widget API call that decides
}

// passSpecs are the passes, in the order run.
var passSpecs = []passSpec{
	{Name: "no-decision"},
	{Name: "reject-all", Decision: "reject", JS: "window.consentd.reject()"},
	{Name: "accept-all", Decision: "accept", JS: "window.consentd.accept('all')"},
}

// JavaScript the pass evaluates in the page.
const (
	jsWidget   = `!!(window.consentd && typeof window.consentd.accept === 'function' && typeof window.consentd.get === 'function')`
	jsDecided  = `!!(window.consentd && typeof window.consentd.get === 'function' && window.consentd.get())`
	jsSnapshot = `(() => {
  const keys = f => { try { return Object.keys(f()) } catch (e) { return [] } };
  return { href: location.href, origin: location.origin,
    local: keys(() => localStorage), session: keys(() => sessionStorage),
    links: Array.from(document.querySelectorAll('a[href], area[href]'), a => a.href).slice(0, 5000) };
})()`
	// jsFrameStorage runs in an isolated world of a frame, which shares
	// the frame's storage but not its scripts' changes to the built-ins.
	jsFrameStorage = `(() => {
  const keys = f => { try { return Object.keys(f()) } catch (e) { return [] } };
  return { origin: location.origin, local: keys(() => localStorage), session: keys(() => sessionStorage) };
})()`
)

// maxFrames bounds the frames whose storage one visit reads.
const maxFrames = 50

// refusedBySettings are the reasons for which Chromium refuses a cookie
// because of its third-party cookie settings, not the cookie's own
// attributes: the scan's profile allows third-party cookies
// (profilePreferences), so one of these means the scan misses cookies.
var refusedBySettings = []string{"UserPreferences", "ThirdPartyPhaseout"}

// pageState is what jsSnapshot returns; jsFrameStorage fills Origin,
// Local and Session.
type pageState struct {
	Href    string   `json:"href"`
	Origin  string   `json:"origin"`
	Local   []string `json:"local"`
	Session []string `json:"session"`
	Links   []string `json:"links"`
}

// passRun runs one pass in its own browser context (a fresh profile).
type passRun struct {
	o         *Options
	spec      passSpec
	index     int
	browser   context.Context
	scope     Scope
	frontier  *Frontier
	start     time.Time
	deadline  time.Time
	userAgent string

	tab          context.Context
	rec          *recorder
	pass         Pass
	cookies      map[string]*Cookie
	storage      map[string]*StorageItem
	hosts        map[string]*HostContact
	setters      []named // every setter of the pass so far
	decided      bool
	refusedWarn  bool // warned that Chromium refused a cookie by its settings
	warnings     []string
	consentHosts map[string]bool
}

// run visits the pages: the no-decision pass follows the frontier and
// adds each page's links to it; the others visit the pages it found,
// after deciding on the first page where the widget is.
func (p *passRun) run(ctx context.Context) (Pass, error) {
	p.pass = Pass{Name: p.spec.Name, Decision: p.spec.Decision}
	p.cookies, p.storage, p.hosts = map[string]*Cookie{}, map[string]*StorageItem{}, map[string]*HostContact{}
	tab, cancel := chromedp.NewContext(p.browser, chromedp.WithNewBrowserContext())
	defer cancel()
	p.tab = tab
	p.rec = newRecorder(p.scope, p.o.Site.ID)
	if err := p.prepare(); err != nil {
		return Pass{}, err
	}
	complete := true
	if p.spec.Decision != "" {
		for _, pg := range p.frontier.Pages() {
			if !p.more(ctx) {
				complete = false
				break
			}
			v := p.visit(pg, true)
			p.add(v)
			if v.Decision != "" {
				p.pass.DecidedOn = pg
				break
			}
		}
		if p.pass.DecidedOn == "" {
			p.warn("%s: the widget never appeared, so the pass could not decide (%s)", p.spec.Name, p.spec.JS)
			complete = false
		}
	}
	if p.spec.Decision == "" || p.pass.DecidedOn != "" {
		for i := 0; i < len(p.frontier.Pages()); i++ {
			if !p.more(ctx) {
				complete = false
				break
			}
			pg := p.frontier.Pages()[i]
			v := p.visit(pg, false)
			p.add(v)
		}
	}
	p.pass.Complete = complete
	p.consentHosts = p.rec.consentHosts()
	p.finish()
	return p.pass, nil
}

// more reports whether there is time for another visit.
func (p *passRun) more(ctx context.Context) bool {
	return ctx.Err() == nil && time.Now().Before(p.deadline)
}

// prepare opens the tab and installs the recorder: the event listener,
// the binding recorder.js reports to and the script itself, and a
// User-Agent without "Headless" (sites may hide their tags from bots).
func (p *passRun) prepare() error {
	if err := chromedp.Listen(p.tab, p.rec.handle); err != nil {
		return fmt.Errorf("open tab: %w", err)
	}
	if _, err := chromedp.Call(p.tab, runtime.AddBinding, runtime.AddBindingParams{Name: bindingName}); err != nil {
		return fmt.Errorf("add binding: %w", err)
	}
	if _, err := chromedp.Call(p.tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recorderJS}); err != nil {
		return fmt.Errorf("add recorder: %w", err)
	}
	if ua := strings.Replace(p.userAgent, "HeadlessChrome", "Chrome", 1); ua != "" {
		if _, err := chromedp.Call(p.tab, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua}); err != nil {
			return fmt.Errorf("user agent: %w", err)
		}
	}
	return nil
}

func (p *passRun) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.warnings = append(p.warnings, msg)
	p.o.Log.Warn(msg)
}

// pageVisit is one visit before it is merged into the pass.
type pageVisit struct {
	Visit
	state   pageState
	frames  []pageState // the storage of the page's frames of other origins
	cookies []*network.Cookie
	events  visitEvents
	at      time.Time
}

// visit loads one page, waits for the widget and for the network to
// settle, decides when asked to (and the widget is there), and reads the
// cookies and storage keys.
func (p *passRun) visit(pg string, decide bool) pageVisit {
	began := time.Now()
	v := pageVisit{Visit: Visit{URL: pg}}
	deadline := began.Add(p.o.PageTimeout)
	if p.deadline.Before(deadline) {
		deadline = p.deadline
	}
	ctx, cancel := context.WithDeadline(p.tab, deadline)
	defer cancel()
	p.rec.begin(pg)
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(pg))
	if err != nil {
		v.Error = fmt.Sprintf("load: %v", err)
		p.warn("%s: %s: %s", p.spec.Name, pg, v.Error)
	} else if resp != nil {
		v.Status = int(resp.Status)
	}
	if err == nil {
		v.Widget = p.waitWidget(ctx)
		if !v.Widget {
			p.warn("%s: %s: window.consentd never appeared (within %s): is the widget on this page?", p.spec.Name, pg, p.o.WidgetWait)
		}
		p.settle(ctx)
		if decide && v.Widget {
			if err := p.decide(ctx); err != nil {
				p.warn("%s: %s: %v", p.spec.Name, pg, err)
			} else {
				v.Decision = p.spec.Decision
				p.decided = true
				p.settle(ctx)
			}
		}
	}
	v.Decided = p.decided
	// Read the page even after a timeout: what loaded may have set cookies.
	rctx, rcancel := context.WithTimeout(p.tab, 10*time.Second)
	defer rcancel()
	if st, err := chromedp.Run(rctx, chromedp.Evaluate[pageState](jsSnapshot)); err == nil {
		v.state = st
		v.frames = p.frameStorage(rctx, st.Origin)
	}
	if res, err := chromedp.CallBrowser(rctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: chromedp.FromContext(p.tab).BrowserContextID}); err == nil {
		v.cookies = res.Cookies
	} else {
		p.warn("%s: %s: read cookies: %v", p.spec.Name, pg, err)
	}
	v.at = time.Now()
	v.events = p.rec.take()
	v.Seconds = time.Since(began).Seconds()
	return v
}

// frameStorage reads the storage keys of the page's frames (at most
// maxFrames) whose origin is not top's. With site isolation off, the
// frames of other sites are in the page's target: each is read in an
// isolated world of its own. A frame gone meanwhile is skipped.
func (p *passRun) frameStorage(ctx context.Context, top string) []pageState {
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil || tree.FrameTree == nil {
		return nil
	}
	var ids []cdp.FrameID
	var walk func(*page.FrameTree)
	walk = func(t *page.FrameTree) {
		for _, c := range t.ChildFrames {
			if c.Frame != nil && len(ids) < maxFrames {
				ids = append(ids, c.Frame.ID)
			}
			walk(c)
		}
	}
	walk(tree.FrameTree)
	var out []pageState
	byValue := true
	for _, id := range ids {
		w, err := chromedp.Call(ctx, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: id, WorldName: "consentd-scan"})
		if err != nil {
			continue
		}
		res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{Expression: jsFrameStorage,
			ContextID: w.ExecutionContextID, ReturnByValue: &byValue})
		if err != nil || res.ExceptionDetails != nil || res.Result == nil {
			continue
		}
		var st pageState
		if json.Unmarshal(res.Result.Value, &st) != nil || st.Origin == "" || st.Origin == "null" || st.Origin == top {
			continue
		}
		out = append(out, st)
	}
	return out
}

// waitWidget waits up to WidgetWait for the consentd widget's API.
func (p *passRun) waitWidget(ctx context.Context) bool {
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](jsWidget,
		chromedp.WithPollingTimeout(p.o.WidgetWait), chromedp.WithPollingInterval(50*time.Millisecond)))
	return err == nil
}

// decide calls the widget's API and waits until it holds the decision.
func (p *passRun) decide(ctx context.Context) error {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("("+p.spec.JS+", true)")); err != nil {
		return fmt.Errorf("%s: %w", p.spec.JS, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](jsDecided,
		chromedp.WithPollingTimeout(p.o.WidgetWait), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		return fmt.Errorf("%s: the widget holds no decision afterwards: %w", p.spec.JS, err)
	}
	return nil
}

// settle waits until no request has been in flight for Quiet, at most
// SettleMax.
func (p *passRun) settle(ctx context.Context) {
	limit := time.NewTimer(p.o.SettleMax)
	defer limit.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !p.rec.quiet(p.o.Quiet) {
		select {
		case <-ctx.Done():
			return
		case <-limit.C:
			return
		case <-tick.C:
		}
	}
}

// add merges a visit into the pass: cookies, storage keys and hosts seen
// for the first time (and first after the decision), with their setters.
func (p *passRun) add(v pageVisit) {
	p.setters = append(p.setters, v.events.setters...)
	if p.spec.Decision == "" && v.state.Href != "" {
		if base, err := url.Parse(v.state.Href); err == nil {
			p.frontier.Add(base, v.state.Links...)
		}
	}
	if v.state.Href != "" && v.state.Href != v.URL {
		v.FinalURL = v.state.Href
	}
	for _, c := range v.cookies {
		key := c.Name + "\x00" + c.Domain + "\x00" + c.Path
		ck, seen := p.cookies[key]
		if !seen {
			ck = &Cookie{Name: c.Name, Domain: c.Domain, Path: c.Path, FirstParty: p.scope.FirstParty(c.Domain), Presence: Presence{FirstPage: v.URL}}
			p.cookies[key] = ck
			v.NewCookies = append(v.NewCookies, c.Name+" ("+c.Domain+")")
			ck.SetBy = settersFor(p.setters, c.Name, c.Domain, "set-cookie", "script", "cookieStore")
		} else {
			ck.SetBy = mergeSetters(ck.SetBy, settersFor(v.events.setters, c.Name, c.Domain, "set-cookie", "script", "cookieStore"))
		}
		ck.HTTPOnly, ck.Secure, ck.SameSite = c.HTTPOnly, c.Secure, string(c.SameSite)
		ck.Expires, ck.LifetimeSeconds = nil, 0
		if !c.Session && c.Expires > 0 {
			exp := time.Unix(int64(c.Expires), 0).UTC()
			ck.Expires = &exp
			ck.LifetimeSeconds = max(int64(exp.Sub(v.at).Seconds()), 1)
		}
		p.mark(&ck.Presence, v)
	}
	for i, st := range append([]pageState{v.state}, v.frames...) {
		firstParty := i == 0 // the page's own storage; a frame's by its origin's host
		if i > 0 {
			u, err := url.Parse(st.Origin)
			firstParty = err == nil && p.scope.FirstParty(u.Hostname())
		}
		for kind, keys := range map[string][]string{"localStorage": st.Local, "sessionStorage": st.Session} {
			for _, k := range keys {
				key := kind + "\x00" + st.Origin + "\x00" + k
				it, seen := p.storage[key]
				if !seen {
					it = &StorageItem{Kind: kind, Origin: st.Origin, Key: k, FirstParty: firstParty, Presence: Presence{FirstPage: v.URL}}
					p.storage[key] = it
					it.SetBy = storageSetters(p.setters, k, kind, st.Origin)
				}
				p.mark(&it.Presence, v)
			}
		}
	}
	consent := p.rec.consentHosts()
	for _, h := range v.events.hosts {
		if consent[h] {
			continue
		}
		c := v.events.contacts[h]
		hc, seen := p.hosts[h]
		if !seen {
			hc = &HostContact{Host: h, URL: c.url, Initiator: c.initiator, ByScript: c.byScript, Presence: Presence{FirstPage: v.URL}}
			p.hosts[h] = hc
		} else if c.byScript && !hc.ByScript {
			hc.Initiator, hc.ByScript = c.initiator, true
		}
		v.ThirdPartyHosts = append(v.ThirdPartyHosts, h)
		p.mark(&hc.Presence, v)
	}
	for _, b := range v.events.blocked {
		v.BlockedCookies = append(v.BlockedCookies, b)
		if !p.refusedWarn && slices.ContainsFunc(b.Reasons, func(r string) bool { return slices.Contains(refusedBySettings, r) }) {
			p.refusedWarn = true
			p.warn("%s: %s: Chromium refused the cookie %s of %s by its third-party cookie settings (%s): the scan misses such cookies",
				p.spec.Name, v.URL, b.Name, b.URL, strings.Join(b.Reasons, ", "))
		}
	}
	v.LocalStorage, v.SessionStorage = v.state.Local, v.state.Session
	p.pass.Visits = append(p.pass.Visits, v.Visit)
	if p.o.Progress != nil {
		total := len(p.frontier.Pages())
		if p.spec.Decision != "" {
			total++ // the visit that decides
		}
		p.o.Progress(Progress{Pass: p.index + 1, Passes: len(passSpecs), PassName: p.spec.Name, Done: len(p.pass.Visits),
			Total: max(total, len(p.pass.Visits)), URL: v.URL, Elapsed: time.Since(p.start)})
	}
}

// mark notes where a cookie, key or host was present: before the
// decision (or in a pass without one), or first after it.
func (p *passRun) mark(pr *Presence, v pageVisit) {
	if !v.Decided {
		pr.BeforeDecision = true
	} else if pr.AfterDecisionPage == "" {
		pr.AfterDecisionPage = v.URL
	}
}

// finish turns the pass's maps into sorted lists.
func (p *passRun) finish() {
	for _, c := range p.cookies {
		p.pass.Cookies = append(p.pass.Cookies, *c)
	}
	sort.Slice(p.pass.Cookies, func(i, j int) bool {
		a, b := p.pass.Cookies[i], p.pass.Cookies[j]
		return a.Name+"\x00"+a.Domain+"\x00"+a.Path < b.Name+"\x00"+b.Domain+"\x00"+b.Path
	})
	for _, s := range p.storage {
		p.pass.Storage = append(p.pass.Storage, *s)
	}
	sort.Slice(p.pass.Storage, func(i, j int) bool {
		a, b := p.pass.Storage[i], p.pass.Storage[j]
		return a.Kind+"\x00"+a.Origin+"\x00"+a.Key < b.Kind+"\x00"+b.Origin+"\x00"+b.Key
	})
	for _, h := range p.hosts {
		p.pass.ThirdParty = append(p.pass.ThirdParty, *h)
	}
	sort.Slice(p.pass.ThirdParty, func(i, j int) bool { return p.pass.ThirdParty[i].Host < p.pass.ThirdParty[j].Host })
}

// maxSetters bounds the setters listed for one cookie or key.
const maxSetters = 5

// settersFor picks the setters of name among ss, of the given kinds; a
// Set-Cookie setter only when its response's host may set a cookie for
// domain (empty domain: any).
func settersFor(ss []named, name, domain string, kinds ...string) []Setter {
	var out []Setter
	for _, s := range ss {
		if s.name != name || !slices.Contains(kinds, s.Kind) {
			continue
		}
		if s.Kind == "set-cookie" && domain != "" && !domainMatch(s.URL, domain) {
			continue
		}
		out = mergeSetters(out, []Setter{s.Setter})
	}
	return out
}

// storageSetters picks the setters of storage key name among ss, of
// kind (localStorage, sessionStorage), written by a document of origin.
func storageSetters(ss []named, name, kind, origin string) []Setter {
	var out []Setter
	for _, s := range ss {
		if s.name == name && s.Kind == kind && s.origin == origin {
			out = mergeSetters(out, []Setter{s.Setter})
		}
	}
	return out
}

// mergeSetters adds the setters of more not yet in ss (same kind and
// address), up to maxSetters.
func mergeSetters(ss, more []Setter) []Setter {
	for _, m := range more {
		dup := false
		for _, s := range ss {
			if s.Kind == m.Kind && s.URL == m.URL && s.Line == m.Line {
				dup = true
				break
			}
		}
		if !dup && len(ss) < maxSetters {
			ss = append(ss, m)
		}
	}
	return ss
}

// domainMatch reports whether the host of address u may set a cookie of
// domain (host-only or, with a leading dot, a parent domain).
func domainMatch(u, domain string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	host, d := strings.ToLower(pu.Hostname()), strings.ToLower(strings.TrimPrefix(domain, "."))
	return host == d || strings.HasSuffix(host, "."+d)
}
