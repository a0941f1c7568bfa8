package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof/evidence/evidencetest"
	"github.com/consentd/consentd/server/auth"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

// dashArtifacts is where dashboard screenshots go: $CONSENTD_ARTIFACTS or
// <repo>/artifacts/e2e.
func dashArtifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CONSENTD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(servertest.RepoRoot(t), "artifacts", "e2e")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// dashPost stores a decision through the public API.
func dashPost(t *testing.T, env *servertest.Env, consentID, method string, analytics, marketing bool) {
	t.Helper()
	body := fmt.Sprintf(`{"site":"demo","consentId":%q,"method":%q,"choices":{"necessary":true,"analytics":%t,"marketing":%t},
		"noticeVersion":%q,"language":"fi","url":"https://www.oppimo.fi/"}`, consentID, method, analytics, marketing, env.NoticeVersion(t, "demo", "fi"))
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/consent", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://www.oppimo.fi")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("post: %d", res.StatusCode)
	}
}

// dashCounters writes a site's daily counters as the ledger does, for
// each of the days days before today: counters(d) for d = 1..days.
func dashCounters(t *testing.T, env *servertest.Env, site string, days int, counters func(d int) map[string]any) {
	t.Helper()
	for d := 1; d <= days; d++ {
		day := time.Now().UTC().AddDate(0, 0, -d).Format("2006-01-02")
		if err := env.Redis.HSet(context.Background(), ledger.DailyKey(site, day), counters(d)).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDashboard signs in with a token, sees the totals and the chart,
// exports a CSV and looks up a consent ID.
func TestDashboard(t *testing.T) {
	token, _ := auth.New()
	env := servertest.Start(t, servertest.Options{Sites: func(u string) map[string]string {
		return map[string]string{"demo.yaml": servertest.DemoSite(t, u) + "\nadminTokens:\n  - name: dpo\n    hash: " + auth.Hash(token) + "\n"}
	}})
	const cid = "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f"
	dashPost(t, env, cid, "accept_all", true, true)
	dashPost(t, env, "11111111-2222-4333-8444-555555555555", "reject_all", false, false)
	dashPost(t, env, cid, "custom", true, false)
	// An entry written into Redis by something other than consentd: not a
	// decision, listed apart in the look-up, left out of the export.
	forged, err := env.Redis.XAdd(context.Background(), &redis.XAddArgs{Stream: ledger.LogKey("demo"),
		Values: []any{"v", "1", "record", `{"consent_id":"` + cid + `","method":"accept_all","site":"demo","v":1}`}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Redis.HSet(context.Background(), ledger.VisitorKey("demo", cid), forged, "accept_all").Err(); err != nil {
		t.Fatal(err)
	}
	// 21 earlier scans and a recorded scan (consentd scan --record), listed
	// with its figures, newest first, 20 at a time.
	for range 21 {
		rid, _ := uuid.NewV7()
		if _, err := env.Ledger.Append(context.Background(), ledger.ScanRecord("demo", rid.String(), time.Now(), evidencetest.Scan(t, "demo", 0))); err != nil {
			t.Fatal(err)
		}
	}
	rid, _ := uuid.NewV7()
	scanAck, err := env.Ledger.Append(context.Background(), ledger.ScanRecord("demo", rid.String(), time.Now(), evidencetest.Scan(t, "demo", 2)))
	if err != nil {
		t.Fatal(err)
	}
	// Four earlier weeks of counters, as the ledger writes them, so the
	// chart has lines: 10 decisions a day, analytics opt-in rising.
	dashCounters(t, env, "demo", 28, func(d int) map[string]any {
		yes := 3 + (28-d)/4
		return map[string]any{
			"decisions": 10, "method:accept_all": 4, "method:reject_all": 4, "method:custom": 2,
			"cat:analytics:yes": yes, "cat:analytics:no": 10 - yes, "cat:marketing:yes": 4, "cat:marketing:no": 6,
			"country:FI": 7, "country:SE": 2, "country:unknown": 1, "mode:unknown": 10,
		}
	})

	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/admin"))
	// A wrong token is refused with a message.
	signIn := func(tok string) {
		run(t, ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.getElementById('token').value = %q;
			document.getElementById('signin-form').requestSubmit(); true`, tok)))
	}
	signIn("cdt_wrong")
	msg := run(t, ctx, chromedp.Poll[string](`document.getElementById('signin-error').textContent || null`, chromedp.WithPollingTimeout(5*time.Second)))
	if !strings.Contains(msg, "401") {
		t.Errorf("wrong token message %q", msg)
	}
	signIn(token)
	run(t, ctx, chromedp.Poll[bool](`!document.getElementById('app').hidden && document.querySelectorAll('#totals dd').length > 0`,
		chromedp.WithPollingTimeout(10*time.Second)))

	// A token of one site: no overview, no switcher; the header names the site.
	if got := run(t, ctx, chromedp.Evaluate[string](`[document.getElementById('overview').checkVisibility(), document.getElementById('switcher').checkVisibility(),
		document.getElementById('who').textContent].join(' ')`)); got != "false false Site: demo" {
		t.Errorf("one site's token: overview shown, switcher shown, header = %s", got)
	}
	totals := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#totals div')].map(d => d.textContent)`))
	if strings.Join(totals, "|") != "Decisions283|Accept all113|Reject all113|Custom57|GPC0|Withdrawals0" {
		t.Errorf("totals %q", totals)
	}
	paths := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#chart path.line')].map(p => p.dataset.category)`))
	if strings.Join(paths, ",") != "analytics,marketing" {
		t.Errorf("chart lines %v", paths)
	}
	legend := run(t, ctx, chromedp.Evaluate[string](`document.querySelector('#chart .legend').textContent`))
	// analytics: 2 of 3 live decisions + the seeded yes counts (3..9 over 28 days).
	if !strings.Contains(legend, "analytics 60.1 %") || !strings.Contains(legend, "marketing 39.9 %") {
		t.Errorf("legend %q", legend)
	}
	if c := run(t, ctx, chromedp.Evaluate[string](`document.getElementById('countries').textContent`)); c != "FI: 196SE: 56unknown: 31" {
		t.Errorf("countries %q", c)
	}
	scanRow := run(t, ctx, chromedp.Poll[[]string](`(r => r && [...r.cells].map(c => c.textContent))(document.querySelector('#scans tbody tr'))`,
		chromedp.WithPollingTimeout(5*time.Second)))
	if got := strings.Join(scanRow, "|"); !strings.HasPrefix(got, scanAck.Time.UTC().Format("2006-01-02T15:04")) ||
		!strings.Contains(got, "|https://www.example.fi/|2|2|yes|") || !strings.HasSuffix(got, fmt.Sprintf("…|%d", scanAck.Seq)) {
		t.Errorf("scans row %q", got)
	}
	scanRows := `[document.querySelectorAll('#scans tbody tr').length, document.getElementById('scans-count').textContent, document.getElementById('scans-more').hidden].join(' ')`
	if got := run(t, ctx, chromedp.Evaluate[string](scanRows)); got != "20 20 of 22 scans shown false" {
		t.Errorf("first page of scans: rows, count, button hidden = %q", got)
	}
	// The next page, from the keyboard: the older scans are added below,
	// and the focus goes to the table when no page is left.
	run(t, ctx, chromedp.Evaluate[bool](`document.getElementById('scans-more').focus(); true`))
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	if got := run(t, ctx, chromedp.Poll[string](`document.querySelectorAll('#scans tbody tr').length == 22 && `+scanRows+` + ' ' + document.activeElement.id`,
		chromedp.WithPollingTimeout(5*time.Second))); got != "22 22 of 22 scans shown true scans" {
		t.Errorf("after Show older scans: rows, count, button hidden, focus = %q", got)
	}
	// The scans table (a scroll region) and the rest: nothing for axe.
	a11yCheck(t, ctx, a11yAxe(t), "dashboard with a recorded scan", "body")
	shot := run(t, ctx, chromedp.FullScreenshot(100))
	p := filepath.Join(dashArtifacts(t), "dashboard.png")
	if err := os.WriteFile(p, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)

	// Export: catch the blob the page hands to the download link.
	run(t, ctx, chromedp.Evaluate[bool](`window.__blobs = []; const o = URL.createObjectURL;
		URL.createObjectURL = b => { window.__blobs.push(b); return o.call(URL, b) };
		document.getElementById('export-form').requestSubmit(); true`))
	run(t, ctx, chromedp.Poll[bool](`document.getElementById('export-status').textContent.startsWith('Downloaded')`,
		chromedp.WithPollingTimeout(10*time.Second)))
	csv := run(t, ctx, chromedp.Evaluate[string](`window.__blobs[0].text()`, chromedp.EvalAwaitPromise))
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "record_id,") {
		t.Errorf("exported CSV has %d lines: %.200q", len(lines), csv)
	}

	// Look-up.
	run(t, ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.getElementById('consent-id').value = %q;
		document.getElementById('lookup-form').requestSubmit(); true`, cid)))
	rows := run(t, ctx, chromedp.Poll[int](`document.querySelectorAll('#lookup tbody tr').length || null`, chromedp.WithPollingTimeout(5*time.Second)))
	methods := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#lookup tbody tr')].map(r => r.cells[1].textContent)`))
	if rows != 2 || strings.Join(methods, ",") != "accept_all,custom" {
		t.Errorf("look-up rows %d %v", rows, methods)
	}
	if warn := run(t, ctx, chromedp.Evaluate[string](`document.querySelector('#lookup [role=alert]')?.textContent || ''`)); !strings.Contains(warn, "1 other log entry of this consent ID is not") || !strings.Contains(warn, forged) {
		t.Errorf("look-up does not show the entry outside the signed chain: %q", warn)
	}
	shot = run(t, ctx, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dashArtifacts(t), "dashboard-lookup.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	// On a phone nothing scrolls sideways (the consent ID field is 38
	// characters wide).
	run(t, ctx, chromedp.EmulateViewport(375, 740))
	if w := run(t, ctx, chromedp.Evaluate[string](`(() => { const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + .5 && !e.closest('.scroll'));
		return document.documentElement.scrollWidth + ' ' + wide.map(e => e.id || e.tagName).join(',') })()`)); w != "375 " {
		t.Errorf("admin page at 375px: scroll width and what sticks out: %s", w)
	}
	shot = run(t, ctx, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dashArtifacts(t), "dashboard-375.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	// No request left this origin, and the CSP let everything run.
	if n := run(t, ctx, chromedp.Evaluate[int](`performance.getEntriesByType('resource').filter(e => !e.name.startsWith(location.origin)).length`)); n != 0 {
		t.Errorf("%d requests to other origins", n)
	}
}
