package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof/evidence/evidencetest"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

// recordScan appends a scan record of site with the given number of
// violations through the test server's ledger.
func recordScan(t *testing.T, env *servertest.Env, site string, violations int) ledger.Ack {
	t.Helper()
	rid, _ := uuid.NewV7()
	ack, err := env.Ledger.Append(context.Background(), ledger.ScanRecord(site, rid.String(), time.Now(), evidencetest.Scan(t, site, violations)))
	if err != nil {
		t.Fatal(err)
	}
	return ack
}

// TestSiteScans: GET /v1/sites/{site}/scans lists the site's scan
// records, newest first, with their place in the chain and summary; the
// decisions' reports do not count them.
func TestSiteScans(t *testing.T) {
	env, token, _ := adminEnv(t, servertest.Options{})
	empty := adminGet(t, env.URL+"/v1/sites/demo/scans", token)
	if empty.Status != 200 || empty.Raw != `{"site":"demo","scans":[],"total":0}` {
		t.Fatalf("no scans: %d %s", empty.Status, empty.Raw)
	}
	first := recordScan(t, env, "demo", 2)
	second := recordScan(t, env, "demo", 0)

	r := adminGet(t, env.URL+"/v1/sites/demo/scans", token)
	var body struct {
		Site  string
		Scans []struct {
			StreamID string `json:"stream_id"`
			RecordID string `json:"record_id"`
			Seq      int64
			Hash     string
			Time     string
			Scan     struct {
				Violations   int
				Pages        int
				ReportSHA256 string `json:"report_sha256"`
				Finished     string
			}
		}
	}
	if err := json.Unmarshal([]byte(r.Raw), &body); err != nil || r.Status != 200 || len(body.Scans) != 2 {
		t.Fatalf("%d %s (%v)", r.Status, r.Raw, err)
	}
	newest, oldest := body.Scans[0], body.Scans[1]
	if newest.StreamID != second.StreamID || newest.Seq != second.Seq || newest.Hash != second.Hash || newest.Scan.Violations != 0 ||
		oldest.RecordID != first.RecordID || oldest.Scan.Violations != 2 || oldest.Scan.Pages != 2 || len(oldest.Scan.ReportSHA256) != 64 ||
		oldest.Time == "" || oldest.Scan.Finished != "2026-11-23T10:01:01.500Z" {
		t.Errorf("scans %+v", body.Scans)
	}
	if !strings.Contains(r.Raw, `"total":2}`) {
		t.Errorf("both scans, no next: %s", r.Raw)
	}
	// Pages: the next of one is the before of the following.
	r = adminGet(t, env.URL+"/v1/sites/demo/scans?limit=1", token)
	if r.Status != 200 || strings.Count(r.Raw, `"stream_id"`) != 1 || !strings.Contains(r.Raw, second.StreamID) ||
		r.Body["total"] != float64(2) || r.Body["next"] != second.StreamID {
		t.Errorf("limit=1: %d %s", r.Status, r.Raw)
	}
	r = adminGet(t, env.URL+"/v1/sites/demo/scans?limit=1&before="+second.StreamID, token)
	if r.Status != 200 || strings.Count(r.Raw, `"stream_id"`) != 1 || !strings.Contains(r.Raw, first.StreamID) || r.Body["next"] != nil {
		t.Errorf("limit=1, before the newest: %d %s", r.Status, r.Raw)
	}
	// A cursor the index does not list: 400, not a first page.
	if r := adminGet(t, env.URL+"/v1/sites/demo/scans?before=1-1", token); r.Status != 400 || r.Body["field"] != "before" {
		t.Errorf("before=1-1: %d %s", r.Status, r.Raw)
	}

	// Not decisions: the stats and the export count none.
	stats := adminGet(t, env.URL+"/v1/sites/demo/stats", token)
	if totals, _ := stats.Body["totals"].(map[string]any); stats.Status != 200 || totals["decisions"] != float64(0) {
		t.Errorf("stats: %d %s", stats.Status, stats.Raw)
	}
	if csv := adminGet(t, env.URL+"/v1/sites/demo/consents", token); csv.Status != 200 || strings.Count(csv.Raw, "\r\n") != 1 {
		t.Errorf("CSV export: %d %q, want the header only", csv.Status, csv.Raw)
	}
	if nd := adminGet(t, env.URL+"/v1/sites/demo/consents?format=ndjson", token); nd.Status != 200 || strings.Count(nd.Raw, `"kind":"scan"`) != 2 {
		t.Errorf("NDJSON export: %d %s, want the 2 scan records (the chain)", nd.Status, nd.Raw)
	}

	// What the index names that is not a scan record is listed apart.
	if err := env.Redis.ZAdd(context.Background(), ledger.ScansKey("demo"), redis.Z{Score: 1, Member: "1-0"}).Err(); err != nil {
		t.Fatal(err)
	}
	r = adminGet(t, env.URL+"/v1/sites/demo/scans", token)
	if r.Status != 200 || strings.Count(r.Raw, `"stream_id"`) != 3 || !strings.Contains(r.Raw, `"unverified":[{"stream_id":"1-0","reason":"`) {
		t.Errorf("with a bogus index entry: %d %s", r.Status, r.Raw)
	}
}

func TestSiteScansBadInput(t *testing.T) {
	env, token, _ := adminEnv(t, servertest.Options{})
	for _, tt := range []struct {
		name, query string
		status      int
		field       string
	}{
		{"limit 0", "limit=0", 400, "limit"},
		{"limit not a number", "limit=ten", 400, "limit"},
		{"limit too large", "limit=501", 400, "limit"},
		{"negative limit", "limit=-1", 400, "limit"},
		{"limit twice", "limit=1&limit=2", 400, "limit"},
		{"unknown parameter", "from=2026-11-01", 400, "from"},
		{"before not a stream ID", "before=yesterday", 400, "before"},
		{"before twice", "before=1-0&before=2-0", 400, "before"},
		{"before of no scan", "before=1764932400000-0", 400, "before"},
		{"empty before is the first page", "before=", 200, ""},
		{"largest limit", "limit=500", 200, ""},
		{"empty limit is the default", "limit=", 200, ""},
	} {
		r := adminGet(t, env.URL+"/v1/sites/demo/scans?"+tt.query, token)
		if r.Status != tt.status || (tt.field != "" && (r.Body["field"] != tt.field || r.Body["error"] == "")) {
			t.Errorf("%s: %d %s, want %d with field %q", tt.name, r.Status, r.Raw, tt.status, tt.field)
		}
	}
}
