package audit_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/proof/audit"
	"github.com/consentd/consentd/proof/evidence/evidencetest"
	"github.com/consentd/consentd/server/export"
	"github.com/consentd/consentd/server/ledger"
)

// appendScan records the scan of evidencetest.Report(site, violations)
// through l, citing the notice version nv.
func appendScan(t *testing.T, l *ledger.Ledger, site string, violations int, nv string) ledger.Ack {
	t.Helper()
	s := evidencetest.Scan(t, site, violations)
	s.NoticeVersions = map[string]string{"fi": nv}
	rid, _ := uuid.NewV7()
	ack, err := l.Append(context.Background(), ledger.ScanRecord(site, rid.String(), time.Now(), s))
	if err != nil {
		t.Fatal(err)
	}
	return ack
}

// TestScanRecordsVerifyAndTamperingIsFound: a scan record in the chain
// verifies like a decision and is listed in the summary; every way of
// changing, forging or moving it is found and named.
func TestScanRecordsVerifyAndTamperingIsFound(t *testing.T) {
	rng := seed(t)
	c := newChain(t, rng)
	c.appendRandom(t, rng, 5)
	// The scan cites a notice version no decision cites.
	snap := []byte(`{"lang":"sv","html":"<p>notice</p>"}`)
	nv := proof.Sum(snap).String()
	c.led.RegisterNotice("demo", nv, snap)
	ack := appendScan(t, c.led, "demo", 2, nv)
	c.appendRandom(t, rng, 5)
	if _, err := c.led.Checkpoint(context.Background(), "demo", 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	b := c.bundle(t)
	if b.Site != "demo" {
		t.Fatalf("bundle site %q", b.Site)
	}
	if _, ok := b.Notices[nv]; !ok {
		t.Fatal("the bundle lacks the notice snapshot the scan record cites")
	}
	ls := lines(t, b)
	i := int(ack.Seq) - 1 // the scan record's line, 0-based
	if !strings.Contains(ls[i], `"kind":"scan"`) {
		t.Fatalf("line %d is not the scan record: %s", i+1, ls[i])
	}
	o := options(b)
	o.Site = b.Site
	sum, err := verify(ls, o)
	if err != nil {
		t.Fatalf("untouched export: %v", err)
	}
	if len(sum.Scans) != 1 || sum.Scans[0].Seq != ack.Seq || sum.Sites["demo"].Scans != 1 || sum.Scans[0].Scan.Violations != 2 {
		t.Fatalf("summary %+v", sum)
	}
	if s := sum.String(); !strings.Contains(s, "decisions, 1 scan records)") ||
		!strings.Contains(s, "scan record seq ") || !strings.Contains(s, "2 violations") {
		t.Errorf("summary text:\n%s", s)
	}

	// The same scan recorded for another site, signed by its own key: the
	// records an attacker could move or splice in.
	shop := newChain(t, rng)
	shop.led.RegisterNotice("shop", nv, snap)
	appendScan(t, shop.led, "shop", 2, nv)
	shopLines := lines(t, bundleOf(t, shop, "shop"))
	other, _ := proof.NewSigningKey()

	tests := []struct {
		name   string
		tamper func(ls []string, o *audit.Options) []string
		kind   string
		line   int
		msg    string
	}{
		{"a count changed", func(ls []string, _ *audit.Options) []string {
			ls[i] = strings.Replace(ls[i], `"violations":2`, `"violations":0`, 1)
			return ls
		}, audit.Edited, i + 1, "the scan record's content does not hash to its hash"},
		{"the report hash changed", func(ls []string, _ *audit.Options) []string {
			ls[i] = replaceReportHash(ls[i])
			return ls
		}, audit.Edited, i + 1, "the report's SHA-256"},
		{"a count changed, hash recomputed", func(ls []string, _ *audit.Options) []string {
			ls[i] = rehash(t, strings.Replace(ls[i], `"violations":2`, `"violations":0`, 1))
			return ls
		}, audit.Receipt, i + 1, "the receipt is for hash"},
		{"signed by another key under the server's key ID", func(ls []string, _ *audit.Options) []string {
			ls[i] = forgeSig(t, ls[i], other)
			return ls
		}, audit.Signature, i + 1, "bad signature"},
		{"signed by a key that is not in the key set", func(ls []string, o *audit.Options) []string {
			o.Checkpoints, o.Site = nil, ""
			return shopLines
		}, audit.UnknownKey, 1, "receipt: signed with a key that is not in the key set (kid " + shop.key.ID() + ")"},
		{"moved from another site's bundle", func(ls []string, _ *audit.Options) []string {
			return append(append(ls[:i:i], shopLines[0]), ls[i:]...)
		}, audit.OtherSite, i + 1, "a record of site shop in the export of site demo"},
		{"relabelled to another site", func(ls []string, o *audit.Options) []string {
			o.Site = ""
			ls[i] = strings.Replace(ls[i], `"site":"demo","time"`, `"site":"shop","time"`, 1)
			return ls
		}, audit.Edited, i + 1, "does not hash"},
		{"relabelled to another site, hash recomputed", func(ls []string, o *audit.Options) []string {
			o.Site = ""
			ls[i] = rehash(t, strings.Replace(ls[i], `"site":"demo","time"`, `"site":"shop","time"`, 1))
			return ls
		}, audit.Receipt, i + 1, "the receipt is for hash"},
		{"deleted", func(ls []string, _ *audit.Options) []string {
			return append(ls[:i:i], ls[i+1:]...)
		}, audit.Deleted, i + 1, "missing"},
		{"its notice snapshot missing", func(ls []string, o *audit.Options) []string {
			o.Notices = c.snaps
			return ls
		}, audit.Notice, i + 1, "cites notice version " + nv + ", but there is no snapshot of it"},
		{"another kind", func(ls []string, _ *audit.Options) []string {
			ls[i] = strings.Replace(ls[i], `"kind":"scan"`, `"kind":"audit"`, 1)
			return ls
		}, audit.Malformed, i + 1, `a record of kind audit`},
		{"a decision's member on a scan record", func(ls []string, _ *audit.Options) []string {
			ls[i] = strings.Replace(ls[i], `"kind":"scan"`, `"choices":{"analytics":true},"kind":"scan"`, 1)
			return ls
		}, audit.Malformed, i + 1, `the member "choices"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(b)
			o.Site = b.Site
			ls := tt.tamper(append([]string(nil), ls...), &o)
			_, err := verify(ls, o)
			p, ok := err.(*audit.Problem)
			if !ok {
				t.Fatalf("not found: %v", err)
			}
			if p.Kind != tt.kind || p.Line != tt.line || !strings.Contains(p.Error(), tt.msg) {
				t.Fatalf("got %q (kind %s, line %d)\nwant kind %s, line %d, containing %q", p, p.Kind, p.Line, tt.kind, tt.line, tt.msg)
			}
			t.Log(p)
		})
	}
}

// replaceReportHash puts another report SHA-256 into a scan record line.
func replaceReportHash(line string) string {
	const m = `"report_sha256":"`
	j := strings.Index(line, m) + len(m)
	return line[:j] + strings.Repeat("0", 64) + line[j+64:]
}

// bundleOf exports site's chain of c as a proof bundle.
func bundleOf(t *testing.T, c *chain, site string) *audit.Bundle {
	t.Helper()
	saved := demoSite.ID
	demoSite.ID = site
	defer func() { demoSite.ID = saved }()
	return c.bundle(t)
}

// TestCheckReport: a report.json checks against the scan record that
// summarises it, and not once a byte of it changed.
func TestCheckReport(t *testing.T) {
	rng := seed(t)
	c := newChain(t, rng)
	appendScan(t, c.led, "demo", 2, c.versions[0])
	b := c.bundle(t)
	sum, err := verify(lines(t, b), options(b))
	if err != nil {
		t.Fatal(err)
	}
	report := evidencetest.Report("demo", 2)
	if sr, err := sum.CheckReport(report); err != nil || sr.Seq != 1 {
		t.Fatalf("the recorded report: %v %v", sr, err)
	}
	for _, tt := range []struct {
		name   string
		report []byte
		msg    string
	}{
		{"a count changed", evidencetest.Report("demo", 1), "the scan record of the scan of https://www.example.fi/ started 2026-11-23T10:00:00.123Z, but report.json was changed after the scan was recorded"},
		{"a byte changed", bytes.Replace(report, []byte(`"seconds": 61.4`), []byte(`"seconds": 61.5`), 1), "report.json was changed after the scan was recorded"},
		{"another scan", bytes.Replace(report, []byte("10:00:00.123456Z"), []byte("11:00:00Z"), 1), "no scan record of the export has report.json's SHA-256"},
		{"another site", evidencetest.Report("shop", 2), "no scan record"},
		{"not a report", []byte(`{"site":"demo"}`), "not a scan report"},
	} {
		_, err := sum.CheckReport(tt.report)
		p, ok := err.(*audit.Problem)
		if !ok || p.Kind != audit.Report || !strings.Contains(p.Error(), tt.msg) {
			t.Errorf("%s: %v, want a report problem containing %q", tt.name, err, tt.msg)
		}
	}
}

// TestScanRecordOfAnotherKey: a scan recorded with a key the site's
// verifiers do not hold (a consentd scan --record given another key than
// the server's) is in the chain, but does not verify.
func TestScanRecordOfAnotherKey(t *testing.T) {
	rng := seed(t)
	c := newChain(t, rng)
	c.appendRandom(t, rng, 3)
	other, _ := proof.NewSigningKey()
	rogue := ledger.New(c.rdb, ledger.Options{Signer: other})
	t.Cleanup(func() { _ = rogue.Close(context.Background()) })
	ack := appendScan(t, rogue, "demo", 0, c.versions[0])
	keys := c.led.PublicKeys().With(other.Public(proof.StatusCurrent))
	var buf bytes.Buffer
	if _, err := export.WriteBundle(context.Background(), c.rdb, demoSite, keys, time.Now().Add(time.Second), &buf, nil); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "demo.proof.zip")
	if err := os.WriteFile(name, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := audit.OpenBundle(name)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := options(b)
	if _, err := verify(lines(t, b), o); err != nil {
		t.Fatalf("with both keys: %v", err)
	}
	o.Keys = c.led.PublicKeys()
	_, err = verify(lines(t, b), o)
	p, ok := err.(*audit.Problem)
	if !ok || p.Kind != audit.UnknownKey || p.Seq != ack.Seq || !strings.Contains(p.Error(), other.ID()) {
		t.Fatalf("with the server's key only: %v", err)
	}
}
