package site

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/consentd/consentd/catalogue"
	"github.com/consentd/consentd/config/notice"
)

// testCatalogue is a catalogue of two invented services of one provider
// and a self-hosted one, so the tests do not follow the real data.
func testCatalogue(t *testing.T) *catalogue.Catalogue {
	t.Helper()
	entry := func(name, title, category, cookie, transfers string) string {
		return `name: ` + name + `
title: ` + title + `
category: ` + category + `
purpose: {fi: ` + title + ` FI., sv: ` + title + ` SV., en: ` + title + ` EN.}
provider: {name: Tracker Ltd, address: "1 Road\nDublin", country: IE}
privacyPolicy: https://tracker.example/privacy
cookies:
  - {name: ` + cookie + `, duration: 2y, party: first, description: {fi: Tunniste., sv: Id., en: Identifier.}}
  - {name: _t_ses, duration: 30min, party: first, description: {fi: Käynti., sv: Besök., en: Visit.}}
transfers: ` + transfers + `
sources: [https://tracker.example/cookies]
checked: "2026-12-05"
`
	}
	cat, err := catalogue.Parse(fstest.MapFS{
		"tracker-stats.yaml": {Data: []byte(entry("tracker-stats", "Tracker Stats", "analytics", "_t_*", "{outsideEEA: true, countries: [US], safeguards: [dpf, scc]}"))},
		"tracker-ads.yaml":   {Data: []byte(entry("tracker-ads", "Tracker Ads", "marketing", "_ta", "{outsideEEA: true, countries: [US, IN], safeguards: [scc]}"))},
		"own-stats.yaml": {Data: []byte(`name: own-stats
title: Own Stats
category: analytics
selfHosted: true
purpose: {fi: Tilastot., sv: Statistik., en: Statistics.}
cookies: []
sources: [https://own.example/docs]
checked: "2026-12-05"
`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// useSite is minimalSite with its analytics service replaced by svc.
func useSite(svc string) string {
	i := strings.Index(minimalSite, "      - name: Matomo")
	return minimalSite[:i] + svc
}

func parseWith(t *testing.T, cat *catalogue.Catalogue, src string) (*Site, error) {
	t.Helper()
	l := &Loader{Catalogue: cat}
	return l.Parse("sites/acme.yaml", []byte(src))
}

func TestUseFillsService(t *testing.T) {
	s, err := parseWith(t, testCatalogue(t), useSite("      - use: tracker-stats\n"))
	if err != nil {
		t.Fatal(err)
	}
	svc := s.Categories[1].Services[0]
	if svc.Name != "Tracker Stats" || svc.Provider != "Tracker Ltd" || svc.URL != "https://tracker.example/privacy" {
		t.Errorf("service = %+v", svc)
	}
	if len(svc.Purpose) != 2 || svc.Purpose["fi"] != "Tracker Stats FI." || svc.Purpose["en"] != "Tracker Stats EN." {
		t.Errorf("purpose = %v, want the site's languages only", svc.Purpose)
	}
	if len(svc.Cookies) != 2 || svc.Cookies[0].Name != "_t_*" || svc.Cookies[0].Duration != "2y" || svc.Cookies[1].Description["en"] != "Visit." {
		t.Errorf("cookies = %+v", svc.Cookies)
	}
	if s.Catalogue.Version == "" || !slices.Equal(s.Catalogue.Entries, []string{"tracker-stats"}) {
		t.Errorf("catalogue use = %+v", s.Catalogue)
	}
	pub, _ := s.Public()
	if pub.Categories[1].Services[0].Name != "Tracker Stats" {
		t.Error("the widget does not get the resolved service")
	}
}

func TestUseOverrides(t *testing.T) {
	s, err := parseWith(t, testCatalogue(t), useSite(`      - use: tracker-stats
        name: Stats
        purpose: {fi: Oma tarkoitus.}
        cookies:
          - name: _t_*
            duration: 13mo
          - name: own
            duration: session
            description: {fi: Oma., en: Own.}
`))
	if err != nil {
		t.Fatal(err)
	}
	svc := s.Categories[1].Services[0]
	if svc.Name != "Stats" || svc.Provider != "Tracker Ltd" {
		t.Errorf("name/provider = %q/%q", svc.Name, svc.Provider)
	}
	if svc.Purpose["fi"] != "Oma tarkoitus." || svc.Purpose["en"] != "Tracker Stats EN." {
		t.Errorf("purpose = %v: want the fi override and the catalogue's en", svc.Purpose)
	}
	if len(svc.Cookies) != 2 || svc.Cookies[0].Duration != "13mo" || svc.Cookies[0].Description["fi"] != "Tunniste." || svc.Cookies[1].Name != "own" {
		t.Errorf("cookies = %+v: want the site's list, the catalogue's description for _t_*", svc.Cookies)
	}
}

func TestUseErrors(t *testing.T) {
	cat := testCatalogue(t)
	tests := []struct{ name, svc, want string }{
		{"unknown name", "      - use: tracker-stat\n",
			`sites/acme.yaml: categories[1].services[0].use: unknown catalogue entry "tracker-stat": did you mean tracker-stats`},
		{"unknown, nothing close", "      - use: zzzzzzzz\n",
			`categories[1].services[0].use: unknown catalogue entry "zzzzzzzz" (consentd catalogue list shows every entry)`},
		{"self-hosted without operator", "      - use: own-stats\n",
			`categories[1].services[0].provider: required: catalogue entry "own-stats" is software the site runs itself`},
		{"override still checked", "      - use: tracker-stats\n        cookies: [{name: _t_*, duration: 2 years}]\n",
			`categories[1].services[0].cookies[0].duration: "2 years" is not a duration`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseWith(t, cat, useSite(tc.svc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("a language the catalogue lacks", func(t *testing.T) {
		src := strings.Replace(useSite("      - use: tracker-stats\n"), "languages: [fi, en]", "languages: [fi, en, de]", 1)
		_, err := parseWith(t, cat, src)
		if err == nil || !strings.Contains(err.Error(), `categories[1].services[0].purpose.de: catalogue entry "tracker-stats" has no text in "de" (it has fi, sv, en): write purpose.de`) {
			t.Fatalf("error %v", err)
		}
	})
}

func TestUseFillsNotice(t *testing.T) {
	cat := testCatalogue(t)
	two := useSite("      - use: tracker-stats\n      - use: tracker-ads\n      - use: own-stats\n        provider: Acme Oy\n")
	t.Run("recipients and transfers from the entries", func(t *testing.T) {
		s, err := parseWith(t, cat, two)
		if err != nil {
			t.Fatal(err)
		}
		items := s.Notice.Recipients.Items
		if len(items) != 1 {
			t.Fatalf("recipients = %+v, want one per provider (the self-hosted entry has none)", items)
		}
		r := items[0]
		if r.Name != "Tracker Ltd" || r.Country != "IE" || r.Address != "1 Road\nDublin" || r.URL != "https://tracker.example/privacy" ||
			!slices.Equal(r.LegalBasis, []string{notice.BasisConsent}) {
			t.Errorf("recipient = %+v", r)
		}
		if r.Purpose["en"] != "Tracker Stats: Tracker Stats EN. Tracker Ads: Tracker Ads EN." {
			t.Errorf("purpose = %q", r.Purpose["en"])
		}
		tr := s.Notice.Transfers
		if tr == nil || !*tr.OutsideEEA || !slices.Equal(tr.Countries, []string{"IN", "US"}) || len(tr.Safeguards) != 2 ||
			tr.Safeguards[0].Key != "dpf" || tr.Safeguards[1].Key != "scc" {
			t.Errorf("transfers = %+v", tr)
		}
		if !slices.Equal(s.Catalogue.Entries, []string{"own-stats", "tracker-ads", "tracker-stats"}) {
			t.Errorf("entries = %v", s.Catalogue.Entries)
		}
	})
	t.Run("a declared recipient and transfers are kept", func(t *testing.T) {
		s, err := parseWith(t, cat, two+`notice:
  recipients:
    items:
      - name: Tracker Ltd (statistics)
        purpose: {fi: Oma., en: Own.}
  transfers:
    outsideEEA: true
    countries: [US]
    safeguards: [dpf]
`)
		if err != nil {
			t.Fatal(err)
		}
		if items := s.Notice.Recipients.Items; len(items) != 1 || items[0].Name != "Tracker Ltd (statistics)" {
			t.Errorf("recipients = %+v, want only the declared one", items)
		}
		if tr := s.Notice.Transfers; !slices.Equal(tr.Countries, []string{"US"}) || len(tr.Safeguards) != 1 {
			t.Errorf("transfers = %+v, want the declared ones", tr)
		}
		ws := s.CheckCatalogue(cat)
		if len(ws) != 1 || ws[0].String() != "notice.transfers.countries: catalogue: lacks IN, where the catalogue entry tracker-ads transfers data" {
			t.Errorf("warnings = %v", ws)
		}
	})
	t.Run("none declared: nothing added", func(t *testing.T) {
		s, err := parseWith(t, cat, two+"notice:\n  recipients: {none: true}\n")
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Notice.Recipients.Items) != 0 {
			t.Errorf("recipients = %+v", s.Notice.Recipients.Items)
		}
		if ws := s.CheckCatalogue(cat); len(ws) != 2 || ws[0].Field != "notice.recipients.none" {
			t.Errorf("warnings = %v, want one per entry with a provider", ws)
		}
	})
}

func TestCheckCatalogueCookies(t *testing.T) {
	cat := testCatalogue(t)
	s, err := parseWith(t, cat, useSite(`      - name: Tracker Stats
        provider: Tracker Ltd
        purpose: {fi: Tilastot., en: Statistics.}
        cookies:
          - {name: _t_abc, duration: 24mo, description: {fi: Tunniste., en: Identifier.}}
          - {name: _t_ses, duration: 1d, description: {fi: Käynti., en: Visit.}}
          - {name: _t_other, duration: 1d, description: {fi: Muu., en: Other.}}
      - name: Something else
        provider: Acme Oy
        purpose: {fi: Muu., en: Other.}
        cookies: [{name: x, duration: 1d, description: {fi: X., en: X.}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range s.CheckCatalogue(cat) {
		got = append(got, w.String())
	}
	want := []string{
		"categories[1].services[0].cookies[1].duration: catalogue: _t_ses lasts 30min in the catalogue entry tracker-stats, not 1d",
		"categories[1].services[0].cookies[2].duration: catalogue: _t_other (_t_*) lasts 2y in the catalogue entry tracker-stats, not 1d",
	}
	// _t_abc is of the family _t_* and 24mo is 2y: no warning.
	if !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s2, err := parseWith(t, cat, useSite(`      - name: tracker-ads
        provider: Tracker Ltd
        purpose: {fi: Mainokset., en: Ads.}
        cookies: [{name: _tb, duration: 2y, description: {fi: X., en: X.}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, w := range s2.CheckCatalogue(cat) {
		got = append(got, w.String())
	}
	want = []string{
		`categories[1].services[0].cookies[0].name: catalogue: "_tb" is not a cookie of Tracker Ads in the catalogue entry tracker-ads (it lists _ta, _t_ses)`,
		"categories[1].services[0].cookies: catalogue: the catalogue entry tracker-ads also lists _ta, _t_ses; add them, or use: tracker-ads",
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
