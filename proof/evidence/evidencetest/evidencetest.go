// Package evidencetest makes scan summaries for tests of what records,
// serves and verifies scan records, without running a scan: from a small
// report.json of the shape package scan writes.
package evidencetest

import (
	"fmt"
	"testing"

	"github.com/consentd/consentd/proof/evidence"
)

// Report returns a report.json of site with the given number of
// violations (two passes, two pages), as package scan writes one.
func Report(site string, violations int) []byte {
	vs := ""
	for i := range violations {
		if i > 0 {
			vs += ","
		}
		vs += fmt.Sprintf(`{"pass":"no-decision","when":"before consent","kind":"cookie","name":"_fbp%d","page":"https://www.example.fi/"}`, i)
	}
	return fmt.Appendf(nil, `{
  "version": 1,
  "site": %q,
  "siteFile": "config/sites/%s.yaml",
  "url": "https://www.example.fi/",
  "domain": "example.fi",
  "started": "2026-11-23T10:00:00.123456Z",
  "finished": "2026-11-23T10:01:01.5Z",
  "seconds": 61.4,
  "visits": 4,
  "complete": true,
  "browser": "Chrome/156.0.8078.114",
  "pages": ["https://www.example.fi/", "https://www.example.fi/kurssit"],
  "passes": [
    {"name": "no-decision", "complete": true, "visits": [{}, {}], "cookies": [{}, {}, {}], "storage": [], "thirdPartyHosts": [{}]},
    {"name": "reject-all", "decision": "reject", "complete": true, "visits": [{}, {}], "cookies": [{}], "storage": [{}], "thirdPartyHosts": []}
  ],
  "findings": {"violations": [%s], "thirdPartyWithoutConsent": [{}], "undeclared": [{}, {}], "neverSeen": [], "longerThanDeclared": [{}]}
}
`, site, site, vs)
}

// Scan returns the summary of Report(site, violations), as `consentd
// scan --record` makes it.
func Scan(t testing.TB, site string, violations int) *evidence.Scan {
	t.Helper()
	_, s, err := evidence.FromReport(Report(site, violations))
	if err != nil {
		t.Fatal(err)
	}
	s.Consentd = "0.1.0"
	s.ConsentVersion = "cv1:0123456789abcdef0123456789abcdef"
	return &s
}
