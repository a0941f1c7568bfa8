package scan

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ReportVersion is the version of report.json's shape (docs/scan.md).
const ReportVersion = 1

// Report is what a scan found; written as report.json (docs/scan.md,
// "report.json").
type Report struct {
	Version  int       `json:"version"`
	Site     string    `json:"site"`
	SiteFile string    `json:"siteFile"`
	URL      string    `json:"url"`
	Domain   string    `json:"domain"` // the registrable domain: the first party
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Seconds  float64   `json:"seconds"`
	// Visits counts the page visits of all passes; PagesPerMinute is
	// Visits over the scan's whole time.
	Visits         int     `json:"visits"`
	PagesPerMinute float64 `json:"pagesPerMinute"`
	// Complete is false when the time limit, an interruption or a widget
	// that never appeared cut a pass short.
	Complete bool     `json:"complete"`
	Browser  string   `json:"browser"`
	Limits   Limits   `json:"limits"`
	Pages    []string `json:"pages"`    // the pages every pass visits, in order
	Skipped  []Skip   `json:"skipped"`  // found but not visited (robots.txt)
	Sitemaps []string `json:"sitemaps"` // the sitemap files read
	// ConsentHosts served the consentd widget: contacting them is
	// expected, so they are not third-party findings.
	ConsentHosts []string `json:"consentHosts"`
	Passes       []Pass   `json:"passes"`
	Findings     Findings `json:"findings"`
	Warnings     []string `json:"warnings"`
}

// Limits are the bounds the scan ran with.
type Limits struct {
	Pages       int    `json:"pages"`
	PageTimeout string `json:"pageTimeout"`
	MaxTime     string `json:"maxTime"`
}

// Pass is one of the three passes: no-decision, reject-all, accept-all.
type Pass struct {
	Name     string `json:"name"`
	Decision string `json:"decision,omitempty"` // reject or accept
	// DecidedOn is the page whose widget took the decision; the visits
	// after it see the decision in force.
	DecidedOn  string        `json:"decidedOn,omitempty"`
	Complete   bool          `json:"complete"`
	Visits     []Visit       `json:"visits"`
	Cookies    []Cookie      `json:"cookies"`
	Storage    []StorageItem `json:"storage"`
	ThirdParty []HostContact `json:"thirdPartyHosts"`
}

// Visit is one page load of a pass.
type Visit struct {
	URL      string  `json:"url"`
	FinalURL string  `json:"finalUrl,omitempty"` // after redirects, when different
	Status   int     `json:"status"`
	Error    string  `json:"error,omitempty"`
	Seconds  float64 `json:"seconds"`
	// Widget: window.consentd appeared.
	Widget bool `json:"widget"`
	// Decision is the decision taken on this visit; Decided, whether a
	// decision was in force when the page was read.
	Decision        string          `json:"decision,omitempty"`
	Decided         bool            `json:"decided"`
	NewCookies      []string        `json:"newCookies"` // "name (domain)", first seen on this visit
	ThirdPartyHosts []string        `json:"thirdPartyHosts"`
	LocalStorage    []string        `json:"localStorage"`
	SessionStorage  []string        `json:"sessionStorage"`
	BlockedCookies  []BlockedCookie `json:"blockedCookies,omitempty"`
}

// Presence says where in a pass a cookie, key or host was seen.
type Presence struct {
	FirstPage string `json:"firstPage"`
	// BeforeDecision: present on a page read with no decision in force
	// (every page of the no-decision pass).
	BeforeDecision bool `json:"beforeDecision"`
	// AfterDecisionPage is the first page where it was present with the
	// pass's decision in force.
	AfterDecisionPage string `json:"afterDecisionPage,omitempty"`
}

// Cookie is one cookie of a pass, as last read, with what set it.
type Cookie struct {
	Name   string `json:"name"`
	Domain string `json:"domain"`
	Path   string `json:"path"`
	// Expires is null for a session cookie; LifetimeSeconds is the time
	// from reading to expiry (0: session).
	Expires         *time.Time `json:"expires"`
	LifetimeSeconds int64      `json:"lifetimeSeconds"`
	HTTPOnly        bool       `json:"httpOnly"`
	Secure          bool       `json:"secure"`
	SameSite        string     `json:"sameSite,omitempty"`
	FirstParty      bool       `json:"firstParty"`
	Presence
	SetBy []Setter `json:"setBy"`
}

// Lifetime is the cookie's lifetime (0 for a session cookie).
func (c Cookie) Lifetime() time.Duration { return time.Duration(c.LifetimeSeconds) * time.Second }

// StorageItem is one localStorage or sessionStorage key of a pass.
type StorageItem struct {
	Kind       string `json:"kind"` // localStorage or sessionStorage
	Origin     string `json:"origin"`
	Key        string `json:"key"`
	FirstParty bool   `json:"firstParty"`
	Presence
	SetBy []Setter `json:"setBy"`
}

// HostContact is a third-party host a pass contacted: first request
// and what made it: the script on the stack of one of its requests
// (ByScript), else the document whose parser requested it.
type HostContact struct {
	Host      string `json:"host"`
	URL       string `json:"url"`
	Initiator string `json:"initiator,omitempty"`
	ByScript  bool   `json:"byScript"`
	Presence
}

// WriteJSON writes the report as dir/report.json.
func (r *Report) WriteJSON(dir string) (string, error) {
	path, _, err := r.WriteJSONContent(dir)
	return path, err
}

// WriteJSONContent writes the report as dir/report.json and returns the
// bytes written too: what a scan record's report_sha256 is the hash of
// (consentd scan --record, docs/scan.md).
func (r *Report) WriteJSONContent(dir string) (path string, content []byte, err error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", nil, fmt.Errorf("report.json: %w", err)
	}
	b = append(b, '\n')
	path, err = writeFile(dir, "report.json", b)
	return path, b, err
}

// writeFile writes dir/name whole: to a temporary file first, renamed
// into place, so a reader never sees half a report.
func writeFile(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return path, nil
}
