package ledger

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/proof/evidence"
	"github.com/consentd/consentd/proof/evidence/evidencetest"
)

func newScanRecord(t *testing.T, site string, violations int) *Record {
	t.Helper()
	rid, _ := uuid.NewV7()
	return ScanRecord(site, rid.String(), time.Date(2026, 11, 23, 10, 2, 0, 0, time.UTC), evidencetest.Scan(t, site, violations))
}

// TestScanRecordInTheChain: a scan record takes the next place in the
// site's chain, signed like a decision, with its own kind and only its
// own members; it writes no visitor hash and no report counter, and the
// scans index lists it.
func TestScanRecordInTheChain(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	first, err := l.Append(ctx, newRecord("demo"))
	if err != nil {
		t.Fatal(err)
	}
	sr := newScanRecord(t, "demo", 2)
	ack, err := l.Append(ctx, sr)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Seq != 2 || ack.StreamID == "" {
		t.Fatalf("ack %+v", ack)
	}
	if _, err := l.Append(ctx, newRecord("demo")); err != nil {
		t.Fatal(err)
	}

	ms, _ := rdb.XRange(ctx, LogKey("demo"), ack.StreamID, ack.StreamID).Result()
	raw := ms[0].Values["record"].(string)
	summary, _ := sr.Scan.Canonical()
	body := `{"cv":1,%s"kind":"scan","prev":"` + first.Hash + `","record_id":"` + sr.RecordID + `","scan":` + string(summary) +
		`,"seq":2,"site":"demo","time":"2026-11-23T10:02:00.000Z","v":2}`
	hash := proof.Sum([]byte(strings.Replace(body, "%s", "", 1))).String()
	if want := strings.Replace(body, "%s", `"hash":"`+hash+`",`, 1); raw != want || ack.Hash != hash {
		t.Errorf("stored scan record\n got %s\nwant %s", raw, want)
	}
	if !strings.Contains(string(summary), `"report_sha256":"`) || !strings.Contains(string(summary), `"violations":2`) {
		t.Errorf("summary %s", summary)
	}

	counters, _ := rdb.HGetAll(ctx, DailyKey("demo", "2026-11-23")).Result()
	if counters["decisions"] != "2" || counters["method:"] != "" {
		t.Errorf("counters %v: want the 2 decisions only", counters)
	}
	if n := rdb.Exists(ctx, VisitorKey("demo", "")).Val(); n != 0 {
		t.Error("a scan record wrote a visitor hash")
	}
	if ids := rdb.ZRange(ctx, ScansKey("demo"), 0, -1).Val(); len(ids) != 1 || ids[0] != ack.StreamID {
		t.Errorf("scans index %v, want [%s]", ids, ack.StreamID)
	}

	page, err := l.Scans(ctx, "demo", 10, "")
	got, bad := page.Entries, page.Unverified
	if err != nil || len(bad) != 0 || len(got) != 1 || page.Total != 1 || page.Next != "" {
		t.Fatalf("Scans: %+v, %v", page, err)
	}
	e := got[0]
	if !e.Record.IsScan() || e.Record.IsDecision() || e.Record.Scan.Violations != 2 || e.Record.Seq != 2 {
		t.Errorf("Scans: %+v", e.Record)
	}
	rc, err := proof.ParseReceipt(e.Receipt)
	if err != nil || rc.Verify(l.PublicKeys()) != nil || rc.Hash != hash {
		t.Errorf("receipt %s: %v", e.Receipt, err)
	}
}

// TestScanRecordsAreNotDecisions writes to Redis as an attacker without
// the signing key would: a visitor hash made to name a scan record, the
// scans index made to name a decision, a scan record with a count
// changed. None of them is served as what it is not.
func TestScanRecordsAreNotDecisions(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	dec := newRecord("demo")
	decAck, err := l.Append(ctx, dec)
	if err != nil {
		t.Fatal(err)
	}
	scanAck, err := l.Append(ctx, newScanRecord(t, "demo", 3))
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := rdb.XRange(ctx, LogKey("demo"), scanAck.StreamID, scanAck.StreamID).Result()
	raw, batch := ms[0].Values["record"].(string), ms[0].Values["b"].(string)
	edited := strings.Replace(raw, `"violations":3`, `"violations":0`, 1)
	editedID, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: LogKey("demo"), Values: []any{"v", "2", "record", edited, "b", batch}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	pipe := rdb.Pipeline()
	pipe.HSet(ctx, VisitorKey("demo", dec.ConsentID), scanAck.StreamID, "accept_all")
	pipe.ZAdd(ctx, ScansKey("demo"), redis.Z{Score: 1, Member: decAck.StreamID}, redis.Z{Score: 2, Member: editedID},
		redis.Z{Score: 3, Member: "nope"})
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	entries, bad, err := l.History(ctx, "demo", dec.ConsentID)
	if err != nil || len(entries) != 1 || entries[0].StreamID != decAck.StreamID {
		t.Fatalf("History: %v %v", entries, err)
	}
	if len(bad) != 1 || bad[0].StreamID != scanAck.StreamID || !strings.Contains(bad[0].Reason, "a scan record, not a decision") {
		t.Errorf("History unverified: %v", bad)
	}

	// A retried request whose idempotency value was made to name the scan
	// record gets no receipt of it.
	retry := newRecord("demo")
	retry.ConsentID, retry.IdempotencyKey, retry.RequestHash = dec.ConsentID, "k1", "h1"
	if err := rdb.HSet(ctx, VisitorKey("demo", dec.ConsentID), IdemField("k1"), "3|h1|"+scanAck.StreamID).Err(); err != nil {
		t.Fatal(err)
	}
	if ack, err := l.Append(ctx, retry); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "a scan record, not the decision") {
		t.Errorf("a retry answered from a scan record: %+v, %v", ack, err)
	}

	page, err := l.Scans(ctx, "demo", 10, "")
	scans, bad := page.Entries, page.Unverified
	if err != nil || len(scans) != 1 || scans[0].StreamID != scanAck.StreamID {
		t.Fatalf("Scans: %v %v", scans, err)
	}
	why := map[string]string{}
	for _, b := range bad {
		why[b.StreamID] = b.Reason
	}
	for id, want := range map[string]string{
		decAck.StreamID: "not a scan record",
		editedID:        "does not hash to its hash",
		"nope":          "names no stream entry",
	} {
		if !strings.Contains(why[id], want) {
			t.Errorf("Scans: entry %s: %q, want %q (all: %v)", id, why[id], want, why)
		}
	}
}

// TestScanRecordRefused: a summary that is not of the format is not
// stored, and nothing of it is written.
func TestScanRecordRefused(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		change func(*evidence.Scan)
		want   string
	}{
		{"no report hash", func(s *evidence.Scan) { s.ReportSHA256 = "" }, "report_sha256"},
		{"another format", func(s *evidence.Scan) { s.V = 2 }, "format v=2"},
		{"negative count", func(s *evidence.Scan) { s.Violations = -1 }, "negative count"},
		{"time not UTC ms", func(s *evidence.Scan) { s.Started = "2026-11-23T12:00:00+02:00" }, "not RFC 3339 UTC"},
		{"notice version", func(s *evidence.Scan) { s.NoticeVersions = map[string]string{"fi": "ab12"} }, "not a notice version"},
	} {
		r := newScanRecord(t, "demo", 0)
		tt.change(r.Scan)
		if _, err := l.Append(ctx, r); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if n := rdb.XLen(ctx, LogKey("demo")).Val(); n != 0 {
		t.Errorf("%d entries written", n)
	}
	if _, err := l.Append(ctx, &Record{Site: "demo", RecordID: "x", ConsentID: "y", Time: time.Now()}); err == nil {
		t.Error("a decision without a method was stored")
	}
}

// TestTrimRemovesScanRecords: the retention trims scan records with the
// log, and the scans index with them.
func TestTrimRemovesScanRecords(t *testing.T) {
	l, rdb, _ := setup(t, Options{})
	ctx := context.Background()
	old, err := l.Append(ctx, newScanRecord(t, "demo", 0))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Millisecond) // the next record in a later millisecond
	kept, err := l.Append(ctx, newScanRecord(t, "demo", 1))
	if err != nil {
		t.Fatal(err)
	}
	ms, _, _ := strings.Cut(kept.StreamID, "-")
	cut, _ := strconv.ParseInt(ms, 10, 64)
	if n, err := l.Trim(ctx, "demo", time.UnixMilli(cut)); err != nil || n != 1 {
		t.Fatalf("Trim = %d, %v", n, err)
	}
	if ids := rdb.ZRange(ctx, ScansKey("demo"), 0, -1).Val(); len(ids) != 1 || ids[0] != kept.StreamID {
		t.Errorf("scans index after the trim: %v, want [%s] (not %s)", ids, kept.StreamID, old.StreamID)
	}
	page, err := l.Scans(ctx, "demo", 10, "")
	if err != nil || len(page.Unverified) != 0 || len(page.Entries) != 1 || page.Entries[0].StreamID != kept.StreamID || page.Total != 1 {
		t.Errorf("Scans after the trim: %+v %v", page, err)
	}
	// A cursor of a trimmed scan is refused, not taken as the start.
	if _, err := l.Scans(ctx, "demo", 10, old.StreamID); !errors.Is(err, ErrUnknownScan) {
		t.Errorf("Scans before a trimmed scan: %v, want ErrUnknownScan", err)
	}
}

// TestScansPages: pages of Scans follow each other through Next, newest
// first, each scan once, and the last page has no Next; a cursor that is
// not in the index is refused.
func TestScansPages(t *testing.T) {
	l, _, _ := setup(t, Options{})
	ctx := context.Background()
	var ids []string // oldest first
	for i := range 7 {
		ack, err := l.Append(ctx, newScanRecord(t, "demo", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ack.StreamID)
	}
	for _, tt := range []struct {
		limit int
		pages string
	}{{3, "6 5 4 | 3 2 1 | 0"}, {7, "6 5 4 3 2 1 0"}, {10, "6 5 4 3 2 1 0"}, {1, "6 | 5 | 4 | 3 | 2 | 1 | 0"}} {
		var pages []string
		before := ""
		for range 10 {
			page, err := l.Scans(ctx, "demo", tt.limit, before)
			if err != nil || len(page.Unverified) != 0 || page.Total != 7 {
				t.Fatalf("limit %d, before %q: %+v, %v", tt.limit, before, page, err)
			}
			var got []string
			for _, e := range page.Entries {
				got = append(got, strconv.Itoa(e.Record.Scan.Violations))
			}
			pages = append(pages, strings.Join(got, " "))
			if page.Next == "" {
				break
			}
			if page.Next != page.Entries[len(page.Entries)-1].StreamID {
				t.Errorf("Next %s is not the page's last entry", page.Next)
			}
			before = page.Next
		}
		if got := strings.Join(pages, " | "); got != tt.pages {
			t.Errorf("limit %d: pages %q, want %q", tt.limit, got, tt.pages)
		}
	}
	for _, before := range []string{"1-1", "junk", ids[0] + "0"} {
		if _, err := l.Scans(ctx, "demo", 3, before); !errors.Is(err, ErrUnknownScan) {
			t.Errorf("before %q: %v, want ErrUnknownScan", before, err)
		}
	}
	if _, err := l.Scans(ctx, "other", 3, ids[0]); !errors.Is(err, ErrUnknownScan) {
		t.Errorf("a cursor of another site's scans: %v, want ErrUnknownScan", err)
	}
}
