package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/consentd/consentd/widget"
)

// TestScanFixture scans the fixture site (fixture_test.go) in real
// Chromium against a real consentd, and checks every finding the
// fixture was built to produce.
func TestScanFixture(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium, consentd and Redis")
	}
	f := startFixture(t, 0)
	var progress []Progress
	o := f.options()
	o.Progress = func(p Progress) { progress = append(progress, p) }
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d visits in %.1fs: %.0f pages/min", r.Visits, r.Seconds, r.PagesPerMinute)
	u := func(path string) string { return f.base + path }

	// The crawl: sitemap order, then links; /private only in robots.txt's
	// shadow; off-site links and the PDF ignored.
	if want := []string{u("/"), u("/about"), u("/products"), u("/contact"), u("/hidden")}; !reflect.DeepEqual(r.Pages, want) {
		t.Errorf("pages %q, want %q", r.Pages, want)
	}
	if want := []Skip{{URL: u("/private"), Reason: "disallowed by robots.txt"}}; !reflect.DeepEqual(r.Skipped, want) {
		t.Errorf("skipped %+v", r.Skipped)
	}
	if !r.Complete || len(r.Passes) != 3 || !reflect.DeepEqual(r.ConsentHosts, []string{"127.0.0.1"}) {
		t.Errorf("complete %v, %d passes, consent hosts %q", r.Complete, len(r.Passes), r.ConsentHosts)
	}
	// Each pass visits every page once; the deciding passes decide on the first.
	if want := []int{5, 6, 6}; !reflect.DeepEqual(visitsPerPass(r), want) {
		t.Errorf("visits per pass %v, want %v", visitsPerPass(r), want)
	}
	if last := progress[len(progress)-1]; len(progress) != r.Visits || last.Pass != 3 || last.Done != last.Total {
		t.Errorf("%d progress calls for %d visits, last %+v", len(progress), r.Visits, last)
	}
	for i, p := range r.Passes[1:] {
		if p.DecidedOn != u("/") || p.Visits[0].Decision != passSpecs[i+1].Decision || !p.Visits[0].Decided {
			t.Errorf("pass %s decided on %q: %+v", p.Name, p.DecidedOn, p.Visits[0])
		}
	}

	// What each pass saw: the blocked tag's cookie only after accept all,
	// the decision cookie only after a decision.
	for _, tt := range []struct {
		pass string
		want []string
	}{
		{"no-decision", []string{"_fbp", "ab_test", "oppimo_session"}},
		{"reject-all", []string{"_fbp", "ab_test", "consentd", "oppimo_session"}},
		{"accept-all", []string{"_fbp", "_ga", "_pk_id.1.abcd", "ab_test", "consentd", "oppimo_session"}},
	} {
		if got := cookieNames(pass(r, tt.pass)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: cookies %q, want %q", tt.pass, got, tt.want)
		}
	}
	sess := findCookie(pass(r, "no-decision"), "oppimo_session")
	if !sess.HTTPOnly || sess.LifetimeSeconds != 0 || fmt.Sprint(sess.SetBy) != fmt.Sprint([]Setter{{Kind: "set-cookie", URL: u("/"), Page: u("/")}}) {
		t.Errorf("oppimo_session %+v", sess)
	}
	pk := findCookie(pass(r, "accept-all"), "_pk_id.1.abcd")
	core, err := widget.CoreFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(pk.SetBy) == 0 || !pk.SetBy[0].Inline || pk.SetBy[0].Via != f.env.URL+"/w/"+core {
		t.Errorf("_pk_id.1.abcd set by %+v: want the blocked inline tag, inserted by the widget", pk.SetBy)
	}

	fs := r.Findings
	pixel := "script " + u("/js/pixel.js") + " line 1"
	if want := []string{
		"no-decision before consent cookie _fbp marketing on " + u("/") + " by " + pixel,
		"no-decision before consent cookie ab_test - on " + u("/products") + " by Set-Cookie of " + u("/products"),
		"reject-all after reject all cookie _fbp marketing on " + u("/") + " by " + pixel,
		"reject-all after reject all cookie ab_test - on " + u("/products") + " by Set-Cookie of " + u("/products"),
	}; !reflect.DeepEqual(render(fs.Violations), want) {
		t.Errorf("violations\n%s\nwant\n%s", strings.Join(render(fs.Violations), "\n"), strings.Join(want, "\n"))
	}
	var hosts []string
	for _, h := range fs.ThirdParty {
		hosts = append(hosts, fmt.Sprintf("%s %s %s by %s", h.Pass, h.Host, h.Page, h.Initiator))
	}
	if want := []string{
		"no-decision " + trackerHost + " " + u("/") + " by " + u("/js/pixel.js"),
		"reject-all " + trackerHost + " " + u("/") + " by " + u("/js/pixel.js"),
	}; !reflect.DeepEqual(hosts, want) {
		t.Errorf("third-party hosts %q, want %q", hosts, want)
	}
	if und, want := undeclared(fs), []string{"_ga [accept-all] Google Analytics/analytics", "ab_test [no-decision reject-all accept-all] -"}; !reflect.DeepEqual(und, want) {
		t.Errorf("undeclared %q, want %q", und, want)
	}
	if never, want := neverSeen(fs), []string{"_pk_ses.*", "VISITOR_INFO1_LIVE", "YSC", "VISITOR_PRIVACY_METADATA"}; !reflect.DeepEqual(never, want) {
		t.Errorf("never seen %q, want %q", never, want)
	}
	if len(fs.LongerThanDeclared) != 1 || fs.LongerThanDeclared[0].Name != "_fbp" || fs.LongerThanDeclared[0].Duration != "3mo" {
		t.Errorf("longer than declared %+v", fs.LongerThanDeclared)
	}
	var noWidget int
	for _, w := range r.Warnings {
		if strings.Contains(w, u("/hidden")+": window.consentd never appeared") {
			noWidget++
		}
	}
	if noWidget != 3 || len(r.Warnings) != 3 {
		t.Errorf("warnings %q: want one per pass for /hidden, which has no widget", r.Warnings)
	}
	// The tracker's cookie was refused by the browser (no SameSite, so Lax: not sent or stored
	// in a third-party request, TestScanThirdPartyCookie): shown, not counted.
	if b := pass(r, "no-decision").Visits[0].BlockedCookies; len(b) == 0 || b[0].Name != "trk" {
		t.Errorf("blocked cookies %+v", b)
	}

	checkOutputs(t, r, f)
}

// checkOutputs writes the three files and checks them.
func checkOutputs(t *testing.T, r *Report, f *fixture) {
	dir := t.TempDir()
	for _, write := range []func() (string, error){
		func() (string, error) { return r.WriteJSON(dir) },
		func() (string, error) { return r.WriteHTML(dir) },
		func() (string, error) { return r.WritePatch(dir, f.site) },
	} {
		if _, err := write(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Findings.Violations) != 4 || back.Version != ReportVersion {
		t.Errorf("report.json: %v, %d violations", err, len(back.Findings.Violations))
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h2>Violations</h2>", "_fbp", f.base + "/js/pixel.js", "Google Analytics", "VISITOR_INFO1_LIVE", "default-src &#39;none&#39;"} {
		if !strings.Contains(string(html), want) && !strings.Contains(string(html), strings.ReplaceAll(want, "&#39;", "'")) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	var patch struct {
		Categories []struct {
			ID       string
			Services []struct {
				Use, Name string
				Cookies   []struct{ Name, Duration string }
			}
		}
	}
	pb, err := os.ReadFile(filepath.Join(dir, "site-patch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(pb, &patch); err != nil {
		t.Fatalf("site-patch.yaml: %v\n%s", err, pb)
	}
	got := fmt.Sprint(patch.Categories)
	// _ga: Google Analytics 4 from the catalogue; ab_test: no pattern.
	if want := "[{analytics [{google-analytics-4  []}]} {unknown [{ " + fixtureHost + " [{ab_test 24h}]}]}]"; got != want {
		t.Errorf("site-patch.yaml declares %s, want %s\n%s", got, want, pb)
	}
}

func visitsPerPass(r *Report) []int {
	var n []int
	for _, p := range r.Passes {
		n = append(n, len(p.Visits))
	}
	return n
}

func pass(r *Report, name string) Pass {
	for _, p := range r.Passes {
		if p.Name == name {
			return p
		}
	}
	return Pass{}
}

func cookieNames(p Pass) []string {
	var names []string
	for _, c := range p.Cookies {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	return names
}

func findCookie(p Pass, name string) Cookie {
	for _, c := range p.Cookies {
		if c.Name == name {
			return c
		}
	}
	return Cookie{}
}

// render writes violations as "pass when kind name category on page by setters".
func render(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		cat := v.Category
		if cat == "" {
			cat = "-"
		}
		var by []string
		for _, s := range v.SetBy {
			by = append(by, s.String())
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %s on %s by %s", v.Pass, v.When, v.Kind, v.Name, cat, v.Page, strings.Join(by, "; ")))
	}
	return out
}

// BenchmarkScan20Pages scans a 20-page fixture with the default settle
// times and reports pages per minute (docs/scan.md, "Speed"):
//
//	go test ./scan -run '^$' -bench Scan20Pages -benchtime 1x
func BenchmarkScan20Pages(b *testing.B) {
	f := startFixture(b, 20)
	o := Options{Site: f.site, URL: f.URL, HostResolverRules: fixtureMap, HTTP: fixtureClient()}
	for b.Loop() {
		r, err := Run(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Pages) != 20 || !r.Complete {
			b.Fatalf("%d pages, complete %v", len(r.Pages), r.Complete)
		}
		b.ReportMetric(r.PagesPerMinute, "pages/min")
		b.ReportMetric(float64(r.Visits), "visits")
	}
}
