package server_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof/audit"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

// TestForgedEntryIsNotADecision writes, as an attacker with write access
// to Redis (not the signing key) would, a format-1 "accept_all" entry at
// stream ID 1-0, before the chain, into a real visitor's history. The
// look-up lists it apart as unverified, the CSV export leaves it out, the
// NDJSON export marks it, the proof bundle does not verify (naming it),
// and the metric counts each time it was met.
func TestForgedEntryIsNotADecision(t *testing.T) {
	env, token, _ := adminEnv(t, servertest.Options{})
	ctx := context.Background()
	body := validBody(noticeVersion(t, env))
	cid := body["consentId"].(string)
	forged := `{"choices":{"analytics":true,"marketing":true,"necessary":true},"consent_id":"` + cid + `","country":"FI","ip":"","language":"fi","method":"accept_all","mode":"opt-in","notice_version":"` + body["noticeVersion"].(string) + `","policy_version":"2026-11-01","record_id":"01a00000-0000-7000-8000-000000000000","site":"demo","time":"2026-01-01T00:00:00.000Z","url":"","user_agent":"","v":1}`
	if err := env.Redis.XAdd(ctx, &redis.XAddArgs{Stream: ledger.LogKey("demo"), ID: "1-0", Values: []any{"v", "1", "record", forged}}).Err(); err != nil {
		t.Fatal(err)
	}
	if r := post(t, env, jsonOf(t, body), nil); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Raw)
	}
	if err := env.Redis.HSet(ctx, ledger.VisitorKey("demo", cid), "1-0", "accept_all").Err(); err != nil {
		t.Fatal(err)
	}

	r := adminGet(t, env.URL+"/v1/sites/demo/consents/"+cid, token)
	recs, _ := r.Body["records"].([]any)
	bad, _ := r.Body["unverified"].([]any)
	if r.Status != http.StatusOK || len(recs) != 1 || len(bad) != 1 || !strings.Contains(r.Raw, `"stream_id":"1-0"`) {
		t.Fatalf("look-up: %d %s; want the one real decision and 1-0 as unverified", r.Status, r.Raw)
	}
	if m := recs[0].(map[string]any); m["method"] != "custom" {
		t.Errorf("look-up served %v", m)
	}

	res := exportGet(t, env.URL+"/v1/sites/demo/consents?format=csv", token)
	rows, err := csv.NewReader(res.Body).ReadAll()
	res.Body.Close()
	if err != nil || len(rows) != 2 || rows[1][3] != "custom" {
		t.Fatalf("CSV: %v %q; want the header and the real decision", err, rows)
	}

	res = exportGet(t, env.URL+"/v1/sites/demo/consents?format=ndjson", token)
	var lines []string
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	res.Body.Close()
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"not_verified":`) || !strings.Contains(lines[0], `"stream_id":"1-0"`) {
		t.Fatalf("NDJSON: %q; want 1-0 marked not_verified, then the real record", lines)
	}

	res = exportGet(t, env.URL+"/v1/sites/demo/consents?format=proof", token)
	_, err = verifyBundle(t, res.Body, publishedKeys(t, env))
	res.Body.Close()
	if p, ok := err.(*audit.Problem); !ok || p.Kind != audit.Unverified || p.Line != 1 || !strings.Contains(p.Msg, "1-0") {
		t.Fatalf("verify: %v; want line 1 named as not in the signed chain", err)
	}

	for where, want := range map[string]float64{"lookup": 1, "export": 3} {
		if n := servertest.Metric(t, env.URL+"/metrics", "consentd_unverified_entries_total", map[string]string{"site": "demo", "where": where}); n != want {
			t.Errorf("consentd_unverified_entries_total{where=%q} = %v, want %v", where, n, want)
		}
	}
}
