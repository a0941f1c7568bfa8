package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/scan"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/notice"
	"github.com/consentd/consentd/server/redisproc"
	"github.com/consentd/consentd/widget"
)

// TestScanRecordUsage: --record's settings are checked before the scan
// runs (no Chromium is needed to fail).
func TestScanRecordUsage(t *testing.T) {
	sites := filepath.Join("..", "..", "config", "sites")
	key, _ := proof.NewSigningKey()
	base := []string{"--site", "demo", "--sites", sites, "https://a.fi/"}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"redis without record", []string{"--redis-url", "redis://127.0.0.1:1/0"}, "--redis-url and --signing-key are for --record"},
		{"key without record", []string{"--signing-key", key.Secret()}, "--redis-url and --signing-key are for --record"},
		{"no key", []string{"--record"}, "--record needs the key the server signs with"},
		{"bad key", []string{"--record", "--signing-key", "ed25519:nope"}, "--signing-key: proof: a signing key is ed25519:"},
		{"bad Redis URL", []string{"--record", "--signing-key", key.Secret(), "--redis-url", "mysql://x"}, "--redis-url: unknown scheme"},
		{"Redis down", []string{"--record", "--signing-key", key.Secret(), "--redis-url", "redis://127.0.0.1:1/0"},
			"--record: Redis at redis://127.0.0.1:1/0 does not answer"},
	} {
		var stdout, stderr bytes.Buffer
		code := scanCmd(context.Background(), append(append([]string(nil), base...), tt.args...), &stdout, &stderr, func(string) string { return "" })
		if code != 2 || !strings.Contains(stderr.String(), tt.want) || strings.Contains(stderr.String(), "chromium not found") {
			t.Errorf("%s: code %d, stderr %q; want 2 and %q", tt.name, code, stderr.String(), tt.want)
		}
	}
}

// TestScanRecordVerifies records a scan (a report built here, as a scan
// makes one: no Chromium) in a real Redis, exports the site's proof
// bundle and verifies it with the report: the record is in the signed
// chain, the report matches it, and an edited report does not.
func TestScanRecordVerifies(t *testing.T) {
	rs := redisproc.StartT(t, redisproc.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	dir := sitesDir(t)
	s, err := loadSite(dir, "demo")
	if err != nil {
		t.Fatal(err)
	}
	key := decide(t, rdb, s, 3) // three decisions first
	r := &scan.Report{Version: scan.ReportVersion, Site: "demo", URL: "https://www.example.fi/", Domain: "example.fi",
		Started: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Finished: time.Date(2026, 11, 23, 10, 1, 0, 0, time.UTC),
		Visits: 6, Complete: true, Browser: "Chrome/156", Pages: []string{"https://www.example.fi/", "https://www.example.fi/b"},
		Passes: []scan.Pass{{Name: "no-decision", Complete: true, Visits: make([]scan.Visit, 2), Cookies: make([]scan.Cookie, 1)},
			{Name: "reject-all", Complete: true, Visits: make([]scan.Visit, 2)}, {Name: "accept-all", Complete: true, Visits: make([]scan.Visit, 2)}},
		Findings: scan.Findings{Violations: make([]scan.Violation, 1), Undeclared: make([]scan.Undeclared, 2)}}
	out := t.TempDir()
	var stdout bytes.Buffer
	report, err := writeScan(r, s, out, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	reportPath := filepath.Join(out, "report.json")
	if onDisk, _ := os.ReadFile(reportPath); !bytes.Equal(onDisk, report) {
		t.Fatal("writeScan returned other bytes than report.json holds")
	}

	ctx := context.Background()
	rec, err := newScanRecording(ctx, rs.URL(), key.Secret(), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer rec.rdb.Close()
	ack, sum, err := rec.record(ctx, s, report, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ack.Seq != 4 || sum.Violations != 1 || sum.Undeclared != 2 || sum.Pages != 2 || sum.Consentd != version ||
		len(sum.NoticeVersions) == 0 || !strings.HasPrefix(sum.ConsentVersion, "cv1:") {
		t.Fatalf("ack %+v, summary %+v", ack, sum)
	}
	printRecorded(&stdout, "demo", ack, sum, key.ID(), reportPath)
	if !strings.Contains(stdout.String(), "recorded the scan in the proof chain of site demo: seq 4") {
		t.Errorf("stdout:\n%s", &stdout)
	}
	if _, _, err := rec.record(ctx, s, bytes.Replace(report, []byte(`"site": "demo"`), []byte(`"site": "shop"`), 1), time.Now()); err == nil ||
		!strings.Contains(err.Error(), `report.json is of site "shop", not "demo"`) {
		t.Errorf("a report of another site: %v", err)
	}

	keys := filepath.Join(t.TempDir(), "keys.json")
	kb, _ := json.Marshal(proof.KeySet{Keys: []proof.PublicKey{key.Public(proof.StatusCurrent)}})
	if err := os.WriteFile(keys, kb, 0o600); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "demo.proof.zip")
	var eout, eerr bytes.Buffer
	if code := exportCmd(ctx, []string{"--site", "demo", "--sites-dir", dir, "--redis-url", rs.URL(), "--keys", keys, "--format", "proof", "--out", bundle},
		&eout, &eerr, func(string) string { return "" }, time.Now().Add(time.Second)); code != 0 {
		t.Fatalf("export: %d %s", code, &eerr)
	}

	verifyWith := func(report string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := runVerify([]string{bundle, "--keys", keys, "--report", report}, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, vout, verr := verifyWith(reportPath)
	if code != 0 || !strings.Contains(vout, "OK: 4 records (3 decisions, 1 scan records)") ||
		!strings.Contains(vout, reportPath+": the report of scan record seq 4 of site demo") {
		t.Fatalf("verify: %d\n%s\n%s", code, vout, verr)
	}
	edited := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(edited, bytes.Replace(report, []byte(`"visits": 6`), []byte(`"visits": 7`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, verr := verifyWith(edited); code != 1 || !strings.Contains(verr, "FAILED") ||
		!strings.Contains(verr, "report.json was changed after the scan was recorded") {
		t.Errorf("edited report: %d %s", code, verr)
	}

	// Not a decision: the site's report counters have the three
	// decisions only.
	if n := rdb.HGet(ctx, ledger.DailyKey("demo", time.Now().UTC().Format(time.DateOnly)), "decisions").Val(); n != "3" {
		t.Errorf("decisions counted: %q, want 3", n)
	}
}

// decide stores n decisions of site s through a ledger with a new key,
// citing its Finnish notice (stored with them), and returns the key.
func decide(t *testing.T, rdb redis.UniversalClient, s *site.Site, n int) *proof.SigningKey {
	t.Helper()
	key, _ := proof.NewSigningKey()
	set, err := notice.Snapshots(s, widget.Strings)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(rdb, ledger.Options{Signer: key})
	defer func() { _ = l.Close(context.Background()) }()
	d := set.Docs["fi"]
	l.RegisterNotice(s.ID, d.Version, d.Snapshot)
	for i := range n {
		rid, _ := uuid.NewV7()
		r := &ledger.Record{Site: s.ID, RecordID: rid.String(), ConsentID: uuid.NewString(), Time: time.Now(), NoticeVersion: d.Version,
			Method: ledger.MethodRejectAll, Choices: map[string]bool{"necessary": true, "analytics": false}, Language: "fi", URL: fmt.Sprint("https://www.example.fi/", i)}
		if _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	return key
}

// TestScanRecordLostAnswer: when the append's answer is an error, the
// record is looked for: one that Redis stored is reported as recorded
// (once: a scan run again after a lost answer is not recorded twice), and
// one that was never sent is reported as not recorded.
func TestScanRecordLostAnswer(t *testing.T) {
	rs := redisproc.StartT(t, redisproc.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	s, err := loadSite(sitesDir(t), "demo")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := proof.NewSigningKey()
	r := &scan.Report{Version: scan.ReportVersion, Site: "demo", URL: "https://www.example.fi/", Domain: "example.fi",
		Started: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Finished: time.Date(2026, 11, 23, 10, 1, 0, 0, time.UTC),
		Complete: true, Browser: "Chrome/156", Pages: []string{"https://www.example.fi/"}}
	report, err := writeScan(r, s, t.TempDir(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec, err := newScanRecording(ctx, rs.URL(), key.Secret(), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer rec.rdb.Close()

	rec.loseAnswer = true
	ack, sum, err := rec.record(ctx, s, report, time.Now())
	if err != nil || ack.Seq != 1 || ack.StreamID == "" || ack.Hash == "" || len(ack.Receipt) == 0 || sum == nil {
		t.Fatalf("a stored record whose answer was lost: ack %+v, %v; want it found", ack, err)
	}
	if ids := rdb.ZRange(ctx, ledger.ScansKey("demo"), 0, -1).Val(); len(ids) != 1 || ids[0] != ack.StreamID {
		t.Errorf("scans index %v, want the one record %s", ids, ack.StreamID)
	}

	// The context ended before the answer: the ledger may still have
	// written the record (it took it) or not. Either way the command says
	// what Redis holds: recorded exactly when it is stored.
	rec.loseAnswer = false
	done, cancel := context.WithCancel(ctx)
	cancel()
	ack2, _, err := rec.record(done, s, report, time.Now())
	n := rdb.ZCard(ctx, ledger.ScansKey("demo")).Val()
	switch {
	case err == nil && (n != 2 || ack2.Seq != 2):
		t.Errorf("reported as recorded (%+v), but %d scan records", ack2, n)
	case err != nil && n != 1:
		t.Errorf("reported as not recorded (%v), but %d scan records", err, n)
	case err != nil && strings.Contains(err.Error(), "is not known"):
		t.Errorf("the look-up failed with Redis up: %v", err)
	}
}
