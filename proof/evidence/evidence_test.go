package evidence_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/consentd/consentd/proof/evidence"
	"github.com/consentd/consentd/proof/evidence/evidencetest"
)

func TestFromReport(t *testing.T) {
	report := evidencetest.Report("demo", 3)
	site, s, err := evidence.FromReport(report)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(report)
	want := evidence.Scan{V: 1, URL: "https://www.example.fi/", Started: "2026-11-23T10:00:00.123Z", Finished: "2026-11-23T10:01:01.500Z",
		Complete: true, Pages: 2, Visits: 4, Violations: 3, ThirdParty: 1, Undeclared: 2, NeverSeen: 0, LongerThanDeclared: 1,
		ReportSHA256: hex.EncodeToString(sum[:]), ReportVersion: 1, Browser: "Chrome/156.0.8078.114",
		Passes: []evidence.Pass{{Name: "no-decision", Complete: true, Visits: 2, Cookies: 3, ThirdParty: 1},
			{Name: "reject-all", Complete: true, Visits: 2, Cookies: 1, Storage: 1}}}
	a, _ := s.Canonical()
	b, _ := want.Canonical()
	if site != "demo" || string(a) != string(b) {
		t.Errorf("FromReport: %s %s\nwant %s", site, a, b)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	for _, tt := range []struct{ name, report, want string }{
		{"not JSON", "{", "report.json"},
		{"no site", `{"url":"https://a.fi/","started":"2026-11-23T10:00:00Z","finished":"2026-11-23T10:00:00Z"}`, "not a scan report"},
		{"no times", `{"site":"demo","url":"https://a.fi/"}`, "not a scan report"},
	} {
		if _, _, err := evidence.FromReport([]byte(tt.report)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestCanonical: the summary's bytes are canonical JSON, members sorted,
// integers only; a map of notice versions is sorted too.
func TestCanonical(t *testing.T) {
	s := evidencetest.Scan(t, "demo", 0)
	s.NoticeVersions = map[string]string{"sv": strings.Repeat("b", 64), "fi": strings.Repeat("a", 64)}
	b, err := s.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{`{"browser":"Chrome/156.0.8078.114","complete":true,"consent_version":`, `"notice_versions":{"fi":"aaaa`,
		`"passes":[{"complete":true,"cookies":3,"name":"no-decision","storage":0,"third_party_hosts":1,"visits":2}`, `"v":1,"violations":0,"visits":4}`} {
		if !strings.Contains(got, want) {
			t.Errorf("canonical summary %s\nlacks %s", got, want)
		}
	}
}
