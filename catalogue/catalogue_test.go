package catalogue

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/consentd/consentd/config/lifetime"
	"github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/region"
)

func builtin(t *testing.T) *Catalogue {
	t.Helper()
	cat, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestEntries checks every entry as a reviewer would, each property on
// its own so that a failure says which fact of which entry is wrong.
func TestEntries(t *testing.T) {
	cat := builtin(t)
	for _, e := range cat.Entries() {
		t.Run(e.Name, func(t *testing.T) {
			texts := map[string]map[string]string{"purpose": e.Purpose}
			for _, c := range e.Cookies {
				texts["cookie "+c.Name] = c.Description
			}
			for what, text := range texts {
				for _, l := range Languages {
					if strings.TrimSpace(text[l]) == "" {
						t.Errorf("%s: no %s text", what, l)
					}
				}
			}
			if e.Title == "" {
				t.Error("no title")
			}
			if !slices.Contains(Categories, e.Category) {
				t.Errorf("category %q is not one of %v", e.Category, Categories)
			}
			if !e.SelfHosted && (e.Provider == nil || e.Provider.Name == "") {
				t.Error("no provider")
			}
			if e.Provider != nil && e.Provider.Country != "" && !region.IsCountry(e.Provider.Country) {
				t.Errorf("provider country %q is not an ISO code", e.Provider.Country)
			}
			urls := append([]string{e.PrivacyPolicy}, e.Sources...)
			if e.PrivacyPolicy == "" {
				urls = urls[1:]
			}
			for _, u := range urls {
				if p, err := url.Parse(u); err != nil || p.Scheme != "https" || p.Host == "" {
					t.Errorf("%q is not an https URL", u)
				}
			}
			if len(e.Sources) == 0 {
				t.Error("no sources")
			}
			if _, err := time.Parse(time.DateOnly, e.Checked); err != nil {
				t.Errorf("checked %q is not a date", e.Checked)
			}
			for _, c := range e.Cookies {
				re, err := CookiePattern(c.Name)
				switch {
				case err != nil:
					t.Errorf("cookie %q: %v", c.Name, err)
				case !re.MatchString(strings.ReplaceAll(c.Name, "*", "X1")):
					t.Errorf("cookie pattern %q does not match a name of its family", c.Name)
				}
				if _, ok := lifetime.Approx(c.Duration); !ok {
					t.Errorf("cookie %q: duration %q does not parse", c.Name, c.Duration)
				}
				if c.Party != FirstParty && c.Party != ThirdParty {
					t.Errorf("cookie %q: party %q", c.Name, c.Party)
				}
			}
			if tr := e.Transfers; tr != nil {
				for _, s := range tr.Safeguards {
					if !slices.Contains(notice.Safeguards, s) {
						t.Errorf("safeguard %q is not one of %v", s, notice.Safeguards)
					}
				}
				for _, c := range tr.Countries {
					if !region.IsCountry(c) || region.InEEA(c) {
						t.Errorf("transfer country %q is not a country outside the EU/EEA", c)
					}
				}
			}
			gapped := e.PrivacyPolicy == "" && !e.SelfHosted || e.Transfers == nil && !e.SelfHosted ||
				e.Provider != nil && (e.Provider.Address == "" || e.Provider.Country == "")
			if gapped && len(e.Gaps) == 0 {
				t.Error("a fact is left out but gaps does not say why")
			}
			if err := e.Check(e.File()); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	const good = `name: demo-service
title: Demo
category: analytics
purpose: {fi: Tilastot., sv: Statistik., en: Statistics.}
provider: {name: Demo Ltd, address: Street 1, country: IE}
privacyPolicy: https://demo.example/privacy
cookies:
  - {name: _d_*, duration: 13mo, party: first, description: {fi: Tunniste., sv: Id., en: Identifier.}}
transfers: {outsideEEA: false}
sources: [https://demo.example/cookies]
checked: "2026-12-05"
`
	tests := []struct {
		name, from, to, want string
	}{
		{"valid", "", "", ""},
		{"name not the file's", "name: demo-service", "name: other", `name: "other" does not match the file name`},
		{"unknown category", "category: analytics", "category: stats", `category: "stats" is not a category`},
		{"missing language", "sv: Statistik., ", "", "purpose.sv: missing translation"},
		{"bad duration", "duration: 13mo", "duration: 13 months", `cookies[0].duration: "13 months" is not a duration`},
		{"bad party", "party: first", "party: own", `cookies[0].party: "own" is not a party`},
		{"http source", "https://demo.example/cookies", "http://demo.example/cookies", `sources[0]: "http://demo.example/cookies" is not a web address`},
		{"no sources", "sources: [https://demo.example/cookies]", "sources: []", "sources: required"},
		{"bad date", `checked: "2026-12-05"`, `checked: "5.12.2026"`, `checked: "5.12.2026" is not a date`},
		{"EEA country", "transfers: {outsideEEA: false}", "transfers: {outsideEEA: true, countries: [SE], safeguards: [scc]}", `transfers.countries[0]: "SE" is in the EU/EEA`},
		{"unknown safeguard", "transfers: {outsideEEA: false}", "transfers: {outsideEEA: true, countries: [US], safeguards: [shield]}", `transfers.safeguards[0]: unknown safeguard "shield"`},
		{"gap not said", "transfers: {outsideEEA: false}\n", "", "gaps: required: transfers left out"},
		{"unknown signal", "checked:", "signals: {consentMode: [ads]}\nchecked:", `signals.consentMode[0]: unknown signal "ads"`},
		{"unknown field", "checked:", "cookie: x\nchecked:", "field cookie not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := good
			if tc.from != "" {
				src = strings.Replace(good, tc.from, strings.ReplaceAll(tc.to, `\n`, "\n"), 1)
			}
			_, err := Parse(fstest.MapFS{"demo-service.yaml": {Data: []byte(src)}})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), "catalogue/services/demo-service.yaml: "):
				t.Fatalf("error %v does not name the file", err)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	cat := builtin(t)
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"google-analytics", "google-analytics-4"},
		{"google analytics 4", "google-analytics-4"},
		{"Google-Analytics-4", "google-analytics-4"},
		{"analytics", "google-analytics-4"},
	} {
		got := cat.Closest(tc.in, 3)
		if !slices.Contains(got, tc.want) {
			t.Errorf("Closest(%q) = %v, want it to include %s", tc.in, got, tc.want)
		}
	}
	if got := cat.Closest("zzzzzzzzzz", 3); len(got) != 0 {
		t.Errorf("Closest(nonsense) = %v, want none", got)
	}
}

func TestVersion(t *testing.T) {
	cat := builtin(t)
	ga, _ := cat.Lookup("google-analytics-4")
	v := Version([]*Entry{ga})
	if len(v) != 12 || Version(nil) != "" {
		t.Fatalf("Version = %q", v)
	}
	changed := *ga
	changed.Checked = "2027-01-01"
	if Version([]*Entry{&changed}) == v {
		t.Error("a changed fact keeps the version")
	}
	changed = *ga
	changed.raw = append([]byte("# a comment\n"), ga.raw...)
	if Version([]*Entry{&changed}) != v {
		t.Error("a comment changes the version")
	}
}

func TestEntryCookie(t *testing.T) {
	ga, _ := builtin(t).Lookup("google-analytics-4")
	for name, want := range map[string]string{"_ga": "_ga", "_ga_ABC123": "_ga_*", "_gid": ""} {
		c, ok := ga.Cookie(name)
		if ok != (want != "") || c.Name != want {
			t.Errorf("Cookie(%q) = %q, %v; want %q", name, c.Name, ok, want)
		}
	}
}

// docs/catalogue.md lists every entry, and only entries, in its table.
func TestDocsListEveryEntry(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "catalogue.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(b), "## The entries")
	var listed []string
	for _, line := range strings.Split(table, "\n") {
		if rest, ok := strings.CutPrefix(line, "| `"); ok {
			listed = append(listed, rest[:strings.Index(rest, "`")])
		}
	}
	if names := builtin(t).Names(); !slices.Equal(listed, names) {
		t.Errorf("docs/catalogue.md lists %v\nthe catalogue has %v", listed, names)
	}
	if !strings.Contains(table, fmt.Sprintf("%d entries", len(listed))) {
		t.Errorf("docs/catalogue.md does not say %d entries", len(listed))
	}
}
