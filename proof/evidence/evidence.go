// Package evidence is the scan record of a site's proof chain
// (docs/proof.md, "Scan records"): the summary of a `consentd scan`
// (docs/scan.md) that `consentd scan --record` signs into the site's
// chain next to its consent decisions. The summary is made from
// report.json's bytes alone (FromReport), so anyone holding the report
// can check it against the record (CheckReport). Like package proof, it
// has no Redis or HTTP in it: the server, the scanner and the offline
// verifier share it.
package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/consentd/consentd/proof/canon"
)

// Kind is the "kind" member of a scan record. A consent decision has no
// "kind": a record with one is never read as a decision.
const Kind = "scan"

// Version is the version of the summary format (Scan.V).
const Version = 1

// TimeFormat is how the summary writes times: RFC 3339, UTC, milliseconds
// (the records' format).
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Scan is the summary of one scan, the "scan" member of a scan record.
// Every number is an integer, so the record has one canonical form
// (package canon).
type Scan struct {
	V        int    `json:"v"`
	URL      string `json:"url"`      // the address the crawl started at
	Started  string `json:"started"`  // TimeFormat
	Finished string `json:"finished"` // TimeFormat
	// Complete is false when a time limit, an interruption or a missing
	// widget cut a pass short.
	Complete bool   `json:"complete"`
	Pages    int    `json:"pages"`  // pages each pass visited
	Visits   int    `json:"visits"` // page visits of all passes
	Passes   []Pass `json:"passes"`
	// The findings, counted as report.json lists them.
	Violations         int `json:"violations"`
	ThirdParty         int `json:"third_party"` // third-party hosts contacted without consent
	Undeclared         int `json:"undeclared"`
	NeverSeen          int `json:"never_seen"`
	LongerThanDeclared int `json:"longer_than_declared"`
	// ReportSHA256 is the SHA-256 (hex) of report.json exactly as the
	// scan wrote it; ReportVersion its "version".
	ReportSHA256  string `json:"report_sha256"`
	ReportVersion int    `json:"report_version"`
	Browser       string `json:"browser"`  // the Chromium that scanned
	Consentd      string `json:"consentd"` // the consentd version that scanned and recorded
	// NoticeVersions (language → notice version) and ConsentVersion are
	// those of the site file the scan compared the pages with, as
	// consentd computes them from it; the snapshots are stored with the
	// record like those decisions cite.
	NoticeVersions map[string]string `json:"notice_versions,omitempty"`
	ConsentVersion string            `json:"consent_version,omitempty"`
}

// Pass is what one pass of the scan saw.
type Pass struct {
	Name       string `json:"name"` // no-decision, reject-all, accept-all
	Complete   bool   `json:"complete"`
	Visits     int    `json:"visits"`
	Cookies    int    `json:"cookies"`
	Storage    int    `json:"storage"`
	ThirdParty int    `json:"third_party_hosts"`
}

// report is the part of report.json (scan.Report) the summary is made of.
type report struct {
	Version  int       `json:"version"`
	Site     string    `json:"site"`
	URL      string    `json:"url"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Visits   int       `json:"visits"`
	Complete bool      `json:"complete"`
	Browser  string    `json:"browser"`
	Pages    []any     `json:"pages"`
	Passes   []struct {
		Name       string `json:"name"`
		Complete   bool   `json:"complete"`
		Visits     []any  `json:"visits"`
		Cookies    []any  `json:"cookies"`
		Storage    []any  `json:"storage"`
		ThirdParty []any  `json:"thirdPartyHosts"`
	} `json:"passes"`
	Findings struct {
		Violations         []any `json:"violations"`
		ThirdParty         []any `json:"thirdPartyWithoutConsent"`
		Undeclared         []any `json:"undeclared"`
		NeverSeen          []any `json:"neverSeen"`
		LongerThanDeclared []any `json:"longerThanDeclared"`
	} `json:"findings"`
}

// FromReport makes the summary of report.json's bytes and returns the
// site the report is of. Consentd, NoticeVersions and ConsentVersion
// are not in the report: the recorder sets them.
func FromReport(reportJSON []byte) (site string, s Scan, err error) {
	var r report
	if err := json.Unmarshal(reportJSON, &r); err != nil {
		return "", Scan{}, fmt.Errorf("report.json: %w", err)
	}
	if r.Site == "" || r.URL == "" || r.Started.IsZero() || r.Finished.IsZero() {
		return "", Scan{}, errors.New("report.json: not a scan report (no site, url, started or finished)")
	}
	sum := sha256.Sum256(reportJSON)
	s = Scan{V: Version, URL: r.URL, Started: r.Started.UTC().Format(TimeFormat), Finished: r.Finished.UTC().Format(TimeFormat),
		Complete: r.Complete, Pages: len(r.Pages), Visits: r.Visits, Passes: make([]Pass, len(r.Passes)),
		Violations: len(r.Findings.Violations), ThirdParty: len(r.Findings.ThirdParty), Undeclared: len(r.Findings.Undeclared),
		NeverSeen: len(r.Findings.NeverSeen), LongerThanDeclared: len(r.Findings.LongerThanDeclared),
		ReportSHA256: hex.EncodeToString(sum[:]), ReportVersion: r.Version, Browser: r.Browser}
	for i, p := range r.Passes {
		s.Passes[i] = Pass{Name: p.Name, Complete: p.Complete, Visits: len(p.Visits), Cookies: len(p.Cookies),
			Storage: len(p.Storage), ThirdParty: len(p.ThirdParty)}
	}
	return r.Site, s, nil
}

// Validate checks that s is a summary of this format: what the ledger
// stores and the verifier accepts.
func (s *Scan) Validate() error {
	bad := func(format string, a ...any) error { return fmt.Errorf("scan summary: "+format, a...) }
	switch {
	case s.V != Version:
		return bad("format v=%d, want %d", s.V, Version)
	case !isHex64(s.ReportSHA256):
		return bad("report_sha256 %q is not 64 lower-case hex digits", s.ReportSHA256)
	case s.URL == "":
		return bad("no url")
	case s.Pages < 0 || s.Visits < 0 || s.Violations < 0 || s.ThirdParty < 0 || s.Undeclared < 0 || s.NeverSeen < 0 || s.LongerThanDeclared < 0:
		return bad("a negative count")
	}
	for _, t := range []string{s.Started, s.Finished} {
		if pt, err := time.Parse(TimeFormat, t); err != nil || pt.UTC().Format(TimeFormat) != t {
			return bad("time %q is not RFC 3339 UTC with milliseconds", t)
		}
	}
	for lang, v := range s.NoticeVersions {
		if lang == "" || !isHex64(v) {
			return bad("notice_versions: %q: %q is not a notice version", lang, v)
		}
	}
	for _, p := range s.Passes {
		if p.Name == "" || p.Visits < 0 || p.Cookies < 0 || p.Storage < 0 || p.ThirdParty < 0 {
			return bad("pass %q: no name or a negative count", p.Name)
		}
	}
	return nil
}

// Canonical returns the summary's canonical JSON (RFC 8785): the bytes
// the scan record holds as its "scan" member.
func (s *Scan) Canonical() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	v, err := canon.Parse(b)
	if err != nil {
		return nil, err
	}
	return canon.Marshal(v)
}

// ErrReportChanged means a report's bytes are not those a scan record
// summarises: their SHA-256 differs from the record's report_sha256.
var ErrReportChanged = errors.New("report.json was changed after the scan was recorded, or is another scan's report")

// CheckReport checks report.json's bytes against the scan record of site
// whose summary is s: their SHA-256 is the recorded one, the report is
// of that site, and what the summary says of it (times, pages, counts) is
// what the report holds.
func CheckReport(reportJSON []byte, site string, s *Scan) error {
	sum := sha256.Sum256(reportJSON)
	if got := hex.EncodeToString(sum[:]); got != s.ReportSHA256 {
		return fmt.Errorf("%w: its SHA-256 is %s, the record says %s", ErrReportChanged, got, s.ReportSHA256)
	}
	rsite, fresh, err := FromReport(reportJSON)
	if err != nil {
		return err
	}
	if rsite != site {
		return fmt.Errorf("report.json is of site %q, the scan record of site %q", rsite, site)
	}
	fresh.Consentd, fresh.NoticeVersions, fresh.ConsentVersion = s.Consentd, s.NoticeVersions, s.ConsentVersion
	a, err := fresh.Canonical()
	if err != nil {
		return err
	}
	b, err := s.Canonical()
	if err != nil {
		return err
	}
	if !bytes.Equal(a, b) {
		return fmt.Errorf("the scan record's summary is not that of report.json (%s recorded, %s in the report)", b, a)
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
