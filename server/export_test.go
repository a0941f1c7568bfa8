package server_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/ledger/ledgertest"
	"github.com/consentd/consentd/server/servertest"
)

// exportGet starts GET url with the token and returns the response with
// its body unread.
func exportGet(t *testing.T, url, token string) *http.Response {
	t.Helper()
	req := mustReq(t, http.MethodGet, url)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}

func TestExportConsents(t *testing.T) {
	var log servertest.LogBuffer
	env, token, _ := adminEnv(t, servertest.Options{Log: &log})
	nv := noticeVersion(t, env)
	for i, m := range []string{"accept_all", "custom", "reject_all"} {
		body := edit(nv, func(b map[string]any) {
			b["method"] = m
			b["consentId"] = fmt.Sprintf("3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6%d", i)
			b["choices"] = map[string]any{"necessary": true, "analytics": m != "reject_all", "marketing": m == "accept_all"}
		})()
		if r := post(t, env, body, map[string]string{"User-Agent": `=HYPERLINK("http://x")`}); r.Status != 201 {
			t.Fatalf("post: %d %s", r.Status, r.Raw)
		}
	}
	base := env.URL + "/v1/sites/demo/consents"
	today := time.Now().UTC().Format("20060102")

	res := exportGet(t, base, token)
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %v %s", res.StatusCode, err, raw)
	}
	for h, want := range map[string]string{
		"Content-Type":        "text/csv; charset=utf-8",
		"Content-Disposition": `attachment; filename="consents-demo-until-` + today + `.csv"`,
		"Cache-Control":       "no-store",
	} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if len(res.TransferEncoding) != 1 || res.TransferEncoding[0] != "chunked" {
		t.Errorf("Transfer-Encoding %v, want chunked", res.TransferEncoding)
	}
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("%d rows, %v: %s", len(rows), err, raw)
	}
	if got := strings.Join(rows[0][13:], ","); got != "gpc,cat_necessary,cat_analytics,cat_marketing,other_choices" {
		t.Errorf("category columns %s", got)
	}
	if r := rows[1]; r[3] != "accept_all" || r[4] != nv || r[10] != `'=HYPERLINK("http://x")` || r[9] != "https://www.oppimo.fi/kurssit" ||
		r[15] != "yes" || r[16] != "yes" || r[13] != "no" {
		t.Errorf("row 1 %q", r)
	}
	if r := rows[3]; r[3] != "reject_all" || r[14] != "yes" || r[15] != "no" || r[16] != "no" {
		t.Errorf("row 3 %q", r)
	}

	// delimiter=; (sent as %3B or as it is): the same rows with ; between
	// the cells, the same file name.
	for _, d := range []string{"%3B", ";"} {
		res := exportGet(t, base+"?delimiter="+d, token)
		semi, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Disposition") != `attachment; filename="consents-demo-until-`+today+`.csv"` {
			t.Fatalf("delimiter=%s: %d %v %v", d, res.StatusCode, err, res.Header)
		}
		r := csv.NewReader(strings.NewReader(string(semi)))
		r.Comma = ';'
		if got, err := r.ReadAll(); err != nil || !slices.EqualFunc(got, rows, slices.Equal) {
			t.Errorf("delimiter=%s: %q, %v\nwant the rows of the , export %q", d, got, err, rows)
		}
	}

	// NDJSON with filters; the record is the stored one plus stream_id.
	res = exportGet(t, base+"?format=ndjson&category=analytics:yes&from=2026-01-01", token)
	raw, _ = io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-ndjson" ||
		res.Header.Get("Content-Disposition") != `attachment; filename="consents-demo-20260101-`+today+`.ndjson"` {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines %q", lines)
	}
	var rec struct {
		ledger.Stored
		StreamID string `json:"stream_id"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil || rec.Method != "custom" || rec.UserAgent != `=HYPERLINK("http://x")` {
		t.Fatalf("line %s: %v", lines[1], err)
	}
	// The stored record, then its receipt and stream ID.
	stored := ""
	if e, _ := env.Redis.XRange(context.Background(), ledger.LogKey("demo"), rec.StreamID, rec.StreamID).Result(); len(e) == 1 {
		stored, _ = e[0].Values["record"].(string)
	}
	if stored == "" || !strings.HasPrefix(lines[1], strings.TrimSuffix(stored, "}")+`,"receipt":{"hash":"`+rec.Hash+`"`) ||
		!strings.HasSuffix(lines[1], `},"stream_id":"`+rec.StreamID+`"}`) {
		t.Errorf("line %s\nis not the stored record %s with receipt and stream_id", lines[1], stored)
	}

	// HEAD answers the headers only.
	req := mustReq(t, http.MethodHead, base)
	req.Header.Set("Authorization", "Bearer "+token)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 || res.Header.Get("Content-Disposition") == "" {
		t.Errorf("HEAD: %v %v", res, err)
	}

	if !strings.Contains(log.String(), `msg="export done" site=demo format=csv records=3`) {
		t.Errorf("no audit line for the export:\n%s", log.String())
	}
}

// TestExportErrors: a bad query is a 400 naming the parameter; a Redis
// that does not answer is a 503 before anything is sent.
func TestExportErrors(t *testing.T) {
	env, token, _ := adminEnv(t, servertest.Options{})
	for _, tt := range []struct{ query, field string }{
		{"from=2026-13-01", "from"},
		{"to=tomorrow", "to"},
		{"from=2026-11-02&to=2026-11-01", "from"},
		{"format=xlsx", "format"},
		{"method=expired", "method"},
		{"category=ads", "category"},
		{"category=analytics:maybe", "category"},
		{"country=fi", "country"},
		{"granularity=day", "granularity"},
		{"method=gpc&method=custom", "method"},
		{"delimiter=%7C", "delimiter"},
		{"format=ndjson&delimiter=%3B", "delimiter"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			r := adminGet(t, env.URL+"/v1/sites/demo/consents?"+tt.query, token)
			if r.Status != 400 || r.Body["field"] != tt.field || r.Body["error"] == "" {
				t.Fatalf("%d %s, want 400 field %s", r.Status, r.Raw, tt.field)
			}
		})
	}

	_ = env.RedisSrv.Kill()
	r := adminGet(t, env.URL+"/v1/sites/demo/consents", token)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.Header.Get("Content-Disposition") != "" || r.Body["error"] == nil {
		t.Fatalf("%d %v %s", r.Status, r.Header, r.Raw)
	}
}

// seedLog stores n records of the demo site, one a millisecond from
// 2025-01-01, chained and signed with key (ledgertest), 10 000 at a time.
func seedLog(t testing.TB, rdb redis.UniversalClient, key *proof.SigningKey, n int) {
	t.Helper()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i += 10_000 {
		var entries []ledgertest.Entry
		for j := i; j < min(i+10_000, n); j++ {
			at := t0.Add(time.Duration(j) * time.Millisecond)
			r := ledger.Record{Site: "demo", RecordID: fmt.Sprintf("0196a1b2-0000-7000-8000-%012d", j),
				ConsentID: fmt.Sprintf("3f2b6c1e-8d4a-4b7e-9c0d-%012d", j%7000), Time: at,
				NoticeVersion: "2d220c4e6f16c66a47c892c18ab49e32416e4703a072cf88a7feded2c1d9dcea", PolicyVersion: "2026-11-01",
				Method: ledger.ClientMethods[j%len(ledger.ClientMethods)], Language: "fi", Country: "FI", Mode: "opt-in",
				Choices:   map[string]bool{"necessary": true, "analytics": j%2 == 0, "marketing": j%3 == 0},
				URL:       "https://www.oppimo.fi/kurssit/" + strconv.Itoa(j%100),
				UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", IP: "198.51.100.0"}
			entries = append(entries, ledgertest.Entry{ID: strconv.FormatInt(at.UnixMilli(), 10) + "-0", Record: r})
		}
		if err := ledgertest.Store(context.Background(), rdb, key, entries); err != nil {
			t.Fatal(err)
		}
	}
}

// heapPeak samples HeapInuse every 2 ms until stop is called, which
// returns the largest growth over the baseline taken at the start.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
				peak.Store(ms.HeapInuse - base)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// TestExport100k exports 100 000 records through the HTTP route and
// checks that the server streams them: the heap (server and client share
// this process; the client only counts lines) grows by far less than
// the size of the output.
func TestExport100k(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const total = 100_000
	env, token, _ := adminEnv(t, servertest.Options{})
	seedLog(t, env.Redis, env.Key, total)
	for _, format := range []string{"csv", "ndjson"} {
		t.Run(format, func(t *testing.T) {
			stop := heapPeak()
			start := time.Now()
			res := exportGet(t, env.URL+"/v1/sites/demo/consents?format="+format, token)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			lines, size := 0, 0
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				lines++
				size += len(sc.Bytes()) + 1
			}
			took := time.Since(start)
			peak := stop()
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			want := total
			if format == "csv" {
				want++ // header
			}
			if lines != want {
				t.Fatalf("%d lines, want %d", lines, want)
			}
			t.Logf("%s: %d records, %.1f MB in %v: %.0f records/s; peak heap growth %.1f MB",
				format, total, float64(size)/1e6, took.Round(time.Millisecond), total/took.Seconds(), float64(peak)/1e6)
			if peak > 32<<20 {
				t.Errorf("peak heap growth %.1f MB, want < 32 MB: the export is not streamed", float64(peak)/1e6)
			}
		})
	}
}

// TestExportRedisFailsMidStream: Redis dies while a large export is being
// sent. The client must not get a complete-looking file: the chunked body
// is cut off (io.ErrUnexpectedEOF), and NDJSON ends with an error line.
func TestExportRedisFailsMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const total = 100_000
	var log servertest.LogBuffer
	env, token, _ := adminEnv(t, servertest.Options{Log: &log})
	for i, format := range []string{"csv", "ndjson"} {
		t.Run(format, func(t *testing.T) {
			if i > 0 { // Redis was killed by the previous run
				env.RestartRedis(t)
				if err := env.Redis.Del(context.Background(), ledger.LogKey("demo"), ledger.BatchesKey("demo"), ledger.HeadKey("demo")).Err(); err != nil {
					t.Fatal(err)
				}
			}
			seedLog(t, env.Redis, env.Key, total)
			res := exportGet(t, env.URL+"/v1/sites/demo/consents?format="+format, token)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			br := bufio.NewReaderSize(res.Body, 128<<10)
			if _, err := br.Peek(64 << 10); err != nil {
				t.Fatal(err)
			}
			_ = env.RedisSrv.Kill()
			body, err := io.ReadAll(br)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("reading the body: %v, want io.ErrUnexpectedEOF (a cut-off chunked body)", err)
			}
			lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
			if format == "ndjson" {
				last := lines[len(lines)-1]
				var e map[string]string
				if json.Unmarshal([]byte(last), &e) != nil || !strings.HasPrefix(e["error"], "export incomplete") {
					t.Errorf("last line %q, want an error line", last)
				}
			}
			if len(lines) >= total {
				t.Errorf("%d lines of %d: the export looks complete", len(lines), total)
			}
			t.Logf("%s: the client got %d lines, then %v", format, len(lines), err)
			if !strings.Contains(log.String(), `msg="export failed part-way; response cut off" site=demo format=`+format) {
				t.Errorf("failure not logged:\n%s", log.String())
			}
		})
	}
}
