package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/ledger/ledgertest"
	"github.com/consentd/consentd/server/redisproc"
	"github.com/consentd/consentd/server/servertest"
)

var exportNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func sitesDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo.yaml"), []byte(servertest.DemoSite(t, "http://127.0.0.1:1")), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runExportTest(args []string, env map[string]string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = exportCmd(context.Background(), args, &out, &errOut, func(k string) string { return env[k] }, exportNow)
	return code, out.String(), errOut.String()
}

func TestExportUsage(t *testing.T) {
	dir := sitesDir(t)
	site := []string{"--site", "demo", "--sites-dir", dir, "--redis-url", "redis://127.0.0.1:1/0"}
	with := func(extra ...string) []string { return append(append([]string(nil), site...), extra...) }
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"help", []string{"--help"}, 0, ""},
		{"no site", nil, 2, "--site is required"},
		{"unknown flag", with("--limit", "5"), 2, "flag provided but not defined: -limit"},
		{"extra argument", with("x"), 2, `unexpected argument "x"`},
		{"bad date", with("--from", "2026-13-01"), 2, `--from: "2026-13-01" is not a time`},
		{"from after to", with("--from", "2026-11-02", "--to", "2026-11-01"), 2, "--from: must not be after to"},
		{"unknown format", with("--format", "xlsx"), 2, "--format: "},
		{"unknown method", with("--method", "expired"), 2, "--method: "},
		{"unknown category", with("--category", "ads:yes"), 2, `--category: "ads" is not a category of site demo`},
		{"lower-case country", with("--country", "fi"), 2, "--country: "},
		{"bad delimiter", with("--delimiter", "|"), 2, `--delimiter: "|" is not a delimiter`},
		{"delimiter with ndjson", with("--format", "ndjson", "--delimiter", ";"), 2, "--delimiter: only for format=csv"},
		{"bad redis url", []string{"--site", "demo", "--sites-dir", dir, "--redis-url", "http://x"}, 2, "--redis-url: "},
		{"no such site", []string{"--site", "nosuch", "--sites-dir", dir}, 1, `site "nosuch": ` + filepath.Join(dir, "nosuch.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runExportTest(tt.args, nil)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.stderr)
			}
			if tt.name == "help" && !strings.HasPrefix(out, "Usage: consentd export") {
				t.Errorf("help: %q", out)
			}
		})
	}
	if _, ok := subcommands()["export"]; !ok {
		t.Error("export is not a subcommand")
	}
}

// seed stores n records of demo, one a minute from 2026-11-01, method
// reject_all for every third, chained and signed with a new key, which it
// returns.
func seed(t *testing.T, rdb *redis.Client, n int) *proof.SigningKey {
	t.Helper()
	key, err := proof.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var entries []ledgertest.Entry
	for i := 0; i < n; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		r := ledger.Record{Site: "demo", RecordID: fmt.Sprintf("0196a1b2-0000-7000-8000-%012d", i),
			ConsentID: "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f", Time: at, NoticeVersion: "2d22", PolicyVersion: "2026-11-01",
			Method: ledger.MethodAcceptAll, Choices: map[string]bool{"necessary": true, "analytics": true, "marketing": true},
			Language: "fi", URL: "https://www.oppimo.fi/", UserAgent: "-curl", IP: "198.51.100.0", Country: "FI", Mode: "opt-in"}
		if i%3 == 0 {
			r.Method, r.Choices = ledger.MethodRejectAll, map[string]bool{"necessary": true, "analytics": false, "marketing": false}
		}
		entries = append(entries, ledgertest.Entry{ID: strconv.FormatInt(at.UnixMilli(), 10) + "-0", Record: r})
	}
	if err := ledgertest.Store(context.Background(), rdb, key, entries); err != nil {
		t.Fatal(err)
	}
	return key
}

func TestExportToFile(t *testing.T) {
	rs := redisproc.StartT(t, redisproc.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	key := seed(t, rdb, 3000) // 2026-11-01 00:00 to 2026-11-03 01:59, one a minute
	dir := sitesDir(t)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "november.csv")

	// No keys: nothing could be told from a forgery.
	code, stdout, stderr := runExportTest([]string{"--site", "demo", "--sites-dir", dir, "--redis-url", rs.URL()}, nil)
	if code != 2 || stdout != "" || !strings.Contains(stderr, "an export needs the public keys") {
		t.Fatalf("without keys: exit %d, stderr %q", code, stderr)
	}

	// The site dir, Redis and key from the environment, as in production.
	env := map[string]string{"CONSENTD_SITES_DIR": dir, "CONSENTD_REDIS_URL": rs.URL(), "CONSENTD_SIGNING_KEY": key.Secret()}
	code, stdout, stderr = runExportTest([]string{"--site", "demo", "--to", "2026-11-02", "--method", "accept_all", "--out", out}, env)
	if code != 0 || stdout != "" || !strings.HasPrefix(stderr, "exported 1920 records to "+out) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st, _ := f.Stat(); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// 2 days × 1440 minutes, two thirds accept_all.
	if len(rows) != 1+1920 || rows[0][0] != "record_id" || rows[0][len(rows[0])-1] != "other_choices" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	if r := rows[1]; r[0] != "0196a1b2-0000-7000-8000-000000000001" || r[1] != "2026-11-01T00:01:00.000Z" || r[3] != "accept_all" || r[10] != "'-curl" {
		t.Errorf("row 1 %q", r)
	}
	if last := rows[len(rows)-1]; last[1] != "2026-11-02T23:59:00.000Z" {
		t.Errorf("last row %q", last)
	}

	// --delimiter ';': the same rows with ; between the cells.
	code, stdout, stderr = runExportTest([]string{"--site", "demo", "--to", "2026-11-01T00:02:00Z", "--delimiter", ";"}, env)
	if code != 0 || !strings.HasPrefix(stdout, "record_id;time;consent_id;") || !strings.HasPrefix(stderr, "exported 3 records to stdout") {
		t.Fatalf("--delimiter ';': exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	r := csv.NewReader(strings.NewReader(stdout))
	r.Comma = ';'
	if rows, err := r.ReadAll(); err != nil || len(rows) != 4 || rows[2][1] != "2026-11-01T00:01:00.000Z" || rows[2][10] != "'-curl" {
		t.Errorf("--delimiter ';': %q, %v", rows, err)
	}

	// NDJSON to stdout, flags override the environment.
	code, stdout, stderr = runExportTest([]string{"--site", "demo", "--sites-dir", dir, "--redis-url", rs.URL(), "--format", "ndjson",
		"--from", "2026-11-03T01:00:00Z", "--category", "analytics:no"}, map[string]string{"CONSENTD_REDIS_URL": "redis://127.0.0.1:1/0", "CONSENTD_SIGNING_KEY": key.Secret()})
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 20 || !strings.HasPrefix(stderr, "exported 20 records to stdout") {
		t.Fatalf("exit %d, %d lines, stderr %q", code, len(lines), stderr)
	}
	var s ledger.Stored
	if err := json.Unmarshal([]byte(lines[0]), &s); err != nil || s.Method != ledger.MethodRejectAll || s.Time != "2026-11-03T01:00:00.000Z" {
		t.Errorf("line 0 %s: %v", lines[0], err)
	}

	// An entry outside the signed chain is named, not exported.
	if err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: ledger.LogKey("demo"), ID: "1795000000000-0",
		Values: []any{"v", "1", "record", "{}"}}).Err(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runExportTest([]string{"--site", "demo", "--from", "2026-11-03T01:00:00Z"}, env)
	if code != 0 || strings.Count(stdout, "\r\n") != 1+60 || !strings.Contains(stderr, "WARNING: stream entry 1795000000000-0 is not part of the signed chain") ||
		!strings.Contains(stderr, "WARNING: 1 stream entries are not part of the signed chain") {
		t.Fatalf("with a forged entry: exit %d, %d lines, stderr %q", code, strings.Count(stdout, "\r\n"), stderr)
	}

	// Redis gone: exit 1, the old file stays as it was, and no temp file is left.
	before, _ := os.ReadFile(out)
	_ = rs.Kill()
	for _, target := range []string{out, filepath.Join(outDir, "new.csv")} {
		code, _, stderr = runExportTest([]string{"--site", "demo", "--sites-dir", dir, "--redis-url", rs.URL(), "--out", target}, env)
		if code != 1 || !strings.Contains(stderr, target+" not written") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Error("a failed export changed the existing file")
	}
	if names, _ := filepath.Glob(filepath.Join(outDir, "*")); len(names) != 1 {
		t.Errorf("files left: %v", names)
	}
	if names, _ := filepath.Glob(filepath.Join(outDir, ".*")); len(names) != 0 {
		t.Errorf("temp files left: %v", names)
	}
	code, stdout, stderr = runExportTest([]string{"--site", "demo", "--sites-dir", dir, "--redis-url", rs.URL()}, env)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "INCOMPLETE") {
		t.Errorf("stdout export with Redis gone: exit %d, %q, %q", code, stdout, stderr)
	}
}

// TestScansNote: the summary line counts scan records apart from the
// decisions, and says nothing of them when there are none.
func TestScansNote(t *testing.T) {
	for n, want := range map[int]string{0: "", 1: " and 1 scan record", 3: " and 3 scan records"} {
		if got := scansNote(n); got != want {
			t.Errorf("scansNote(%d) = %q, want %q", n, got, want)
		}
	}
}
