package notice

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/consentd/consentd/config/site"
)

// A service written as {use: NAME} reaches the cookie table, the
// recipients (with the provider's address) and the transfers, and the
// notice names the catalogue version it was filled from, in the
// fragment (so in the snapshot and the version) and in the JSON.
func TestCatalogueServiceInNotice(t *testing.T) {
	s, err := site.Parse("acme.yaml", []byte(`id: acme
name: Acme Oy
origins: [https://www.acme.fi]
languages: [fi, en]
policyVersion: "1"
categories:
  - id: necessary
    required: true
    label: {fi: Välttämättömät, en: Necessary}
    description: {fi: Tarvitaan., en: Needed.}
  - id: analytics
    label: {fi: Analytiikka, en: Analytics}
    description: {fi: Tilastot., en: Statistics.}
    services:
      - use: google-analytics-4
`))
	if err != nil {
		t.Fatal(err)
	}
	set := build(t, s)
	en := set.Docs["en"].Fragment
	for _, want := range []string{
		"<code>_ga_*</code>", "Google Ireland Limited", "Gordon House, Barrow Street, Dublin 4", "United States",
		"European Commission standard contractual clauses", "consentd service catalogue, version " + s.Catalogue.Version + ": google-analytics-4",
	} {
		if !strings.Contains(en, want) {
			t.Errorf("en notice lacks %q", want)
		}
	}
	if !strings.Contains(set.Docs["fi"].Fragment, "consentd-palveluluettelo, versio "+s.Catalogue.Version) {
		t.Error("fi notice lacks the catalogue version")
	}
	if !strings.Contains(string(set.Docs["en"].Snapshot), s.Catalogue.Version) {
		t.Error("the snapshot (and so the notice version) does not hold the catalogue version")
	}
	var js struct {
		Catalogue site.CatalogueUse `json:"catalogue"`
	}
	if err := json.Unmarshal(set.JSON, &js); err != nil {
		t.Fatal(err)
	}
	if js.Catalogue.Version != s.Catalogue.Version || len(js.Catalogue.Entries) != 1 {
		t.Errorf("JSON catalogue = %+v", js.Catalogue)
	}
}
