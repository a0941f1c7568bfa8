package notice_test

import (
	"strings"
	"testing"

	"github.com/consentd/consentd/config/site"
)

// completeNoticeSite is a valid site (fi, sv, en) whose notice sets every
// field and says everything Art. 13 asks for: it passes Validate and
// CheckNotice reports nothing. Tests break one thing at a time. Dates are
// unquoted on purpose: yaml.v3 keeps them as written for string fields.
const completeNoticeSite = `
id: demo
name: Oppimo
origins: [https://oppimo.example.fi]
languages: [fi, sv, en]
policyVersion: "1"
categories:
  - id: necessary
    required: true
    label: {fi: Välttämättömät, sv: Nödvändiga, en: Necessary}
    description: {fi: Tarvitaan., sv: Behövs., en: Needed.}
notice:
  title: {fi: Tietosuojaseloste, sv: Dataskyddsbeskrivning, en: Privacy notice}
  registerName: {fi: Oppimon käyttäjärekisteri, sv: Oppimos användarregister, en: Oppimo user register}
  intro: {fi: Tässä selosteessa kerrotaan., sv: Här berättar vi., en: This notice explains.}
  country: fi
  created: 2025-08-01
  updated: 2026-01-15
  validFrom: 2026-02-01
  controllers:
    - name: Esimerkkilän kaupunki
      businessId: 1572860-0
      address: |
        PL 1
        00100 Esimerkkilä
      phone: +358 9 123 4567
      email: kirjaamo@esimerkkila.fi
      url: https://www.esimerkkila.fi
      role: {fi: Koulun ylläpitäjä, sv: Skolans huvudman, en: Maintains the school}
  processors:
    - name: Oppimo Oy
      businessId: 1234567-1
      email: tuki@oppimo.example.fi
      url: https://oppimo.example.fi/yritys
      role: {fi: Palvelun toimittaja, sv: Tjänsteleverantör, en: Service provider}
  contacts:
    - name: Rehtori Riitta
      role: {fi: Rehtori, sv: Rektor, en: Principal}
      email: rehtori@esimerkkila.fi
      phone: (09) 123 4568
    - name: Tietosuojavastaava
      dpo: true
      address: PL 2, 00100 Esimerkkilä
      email: tietosuoja@esimerkkila.fi
  purposes:
    - purpose: {fi: Opetuksen järjestäminen, sv: Att ordna undervisning, en: Providing education}
      legalBasis: [public-task, legal-obligation]
      details: {fi: Perusopetuslaki 628/1998., sv: Lagen om grundläggande utbildning 628/1998., en: Basic Education Act 628/1998.}
    - purpose: {fi: Palvelun kehittäminen, sv: Utveckling av tjänsten, en: Improving the service}
      legalBasis: [legitimate-interest]
      legitimateInterest: {fi: Palvelun toimivuus., sv: Att tjänsten fungerar., en: A working service.}
    - purpose: {fi: Uutiskirje, sv: Nyhetsbrev, en: Newsletter}
      legalBasis: [consent]
  legalBasisNote: {fi: Käsittely perustuu lakiin., sv: Behandlingen grundar sig på lag., en: Processing is based on law.}
  dataCategories:
    - role: {fi: Oppilaat, sv: Elever, en: Pupils}
      items:
        - {fi: Nimi, sv: Namn, en: Name}
        - {fi: Luokka, sv: Klass, en: Class}
  sources:
    - {fi: Oppilashallintojärjestelmä, sv: Elevförvaltningssystemet, en: The student administration system}
  requirement: {fi: Tietojen antaminen on lakisääteistä., sv: Uppgifterna krävs enligt lag., en: Providing the data is required by law.}
  recipients:
    layout: table
    intro: {fi: Tietoja luovutetaan vain näille., sv: Uppgifter lämnas endast till dessa., en: Data is disclosed only to these.}
    items:
      - name: Oppimo Oy
        kind: processor
        purpose: {fi: Palvelun ylläpito, sv: Drift av tjänsten, en: Running the service}
        data: {fi: Kaikki tiedot, sv: Alla uppgifter, en: All data}
        legalBasis: [public-task]
        country: fi
        url: https://oppimo.example.fi
      - name: Opetushallitus
        kind: controller
        legalBasis: [legal-obligation]
  transfers:
    outsideEEA: true
    countries: [us]
    safeguards: [dpf, scc]
    description: {fi: Sähköpostipalvelu Yhdysvalloissa., sv: E-posttjänst i USA., en: E-mail service in the US.}
  retention:
    - data: {fi: Oppilastiedot, sv: Elevuppgifter, en: Pupil data}
      period: {fi: Kaksi vuotta koulun päättymisestä, sv: Två år efter skolans slut, en: Two years after leaving school}
  security: {fi: Tiedot salataan., sv: Uppgifterna krypteras., en: Data is encrypted.}
  rights:
    portability:
      applies: false
      text: {fi: Ei sovellu julkiseen tehtävään., sv: Gäller inte en offentlig uppgift., en: Does not apply to a public task.}
    erasure:
      text: {fi: Oma poistoteksti., sv: Egen raderingstext., en: Own erasure text.}
  complaintAuthority:
    name: {fi: Tietosuojavaltuutettu, sv: Dataombudsmannen, en: Data Protection Ombudsman}
    address: PL 800, 00531 Helsinki
    phone: 029 566 6700
    email: tietosuoja@om.fi
    url: https://tietosuoja.fi
  automatedDecisions:
    used: false
    description: {fi: Ei automaattisia päätöksiä., sv: Inga automatiserade beslut., en: No automated decisions.}
  sections:
    - title: {fi: Evästeet, sv: Kakor, en: Cookies}
      body: {fi: Katso evästeasetukset., sv: Se kakinställningarna., en: See the cookie settings.}
`

// noticelessSite is completeNoticeSite without its notice: a valid site
// whose notice lacks everything.
var noticelessSite, _, _ = strings.Cut(completeNoticeSite, "notice:\n")

// replaceOnce applies old → new to src and fails the test unless old
// occurs exactly once, so that a case cannot silently test nothing.
func replaceOnce(t *testing.T, src, old, new string) string {
	t.Helper()
	if n := strings.Count(src, old); n != 1 {
		t.Fatalf("test setup: %q occurs %d times in the site, want once", old, n)
	}
	return strings.Replace(src, old, new, 1)
}

func TestCompleteNoticeIsValid(t *testing.T) {
	s, err := site.Parse("x/demo.yaml", []byte(completeNoticeSite))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	n := s.Notice
	// Unquoted YAML dates stay strings as written; codes are upper-cased.
	if n.Created != "2025-08-01" || n.Updated != "2026-01-15" || n.ValidFrom != "2026-02-01" {
		t.Errorf("dates = %q, %q, %q", n.Created, n.Updated, n.ValidFrom)
	}
	if n.Country != "FI" || n.Recipients.Items[0].Country != "FI" || n.Transfers.Countries[0] != "US" {
		t.Errorf("country codes not upper-cased: %q, %q, %v", n.Country, n.Recipients.Items[0].Country, n.Transfers.Countries)
	}
	if n.Controllers[0].Address != "PL 1\n00100 Esimerkkilä" {
		t.Errorf("address not trimmed: %q", n.Controllers[0].Address)
	}
}

func TestEmptyNoticeIsValid(t *testing.T) {
	if _, err := site.Parse("x/demo.yaml", []byte(noticelessSite)); err != nil {
		t.Fatalf("a site without a notice must be valid: %v", err)
	}
}

func TestNoticeValidation(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replaced once in completeNoticeSite
		field    string // the field path the error must name
		msg      string // a substring of the message
	}{
		// Parties.
		{"processor without name or role", "- name: Oppimo Oy\n      businessId: 1234567-1\n      email: tuki@oppimo.example.fi\n      url: https://oppimo.example.fi/yritys\n      role: {fi: Palvelun toimittaja, sv: Tjänsteleverantör, en: Service provider}",
			"- businessId: 1234567-1", "notice.processors[0].name", "required: the name, or a role text"},
		{"bad email", "email: kirjaamo@esimerkkila.fi", "email: kirjaamo(at)esimerkkila.fi", "notice.controllers[0].email", `"kirjaamo(at)esimerkkila.fi" is not an e-mail address`},
		{"email with display name", "email: tuki@oppimo.example.fi", "email: Tuki <tuki@oppimo.example.fi>", "notice.processors[0].email", "is not an e-mail address"},
		{"email without dot in domain", "email: tuki@oppimo.example.fi", "email: tuki@localhost", "notice.processors[0].email", "is not an e-mail address"},
		{"email with two @", "email: tuki@oppimo.example.fi", "email: tuki@x@oppimo.example.fi", "notice.processors[0].email", "is not an e-mail address"},
		{"bad phone", "phone: +358 9 123 4567", "phone: call us", "notice.controllers[0].phone", `"call us" is not a phone number`},
		{"phone too few digits", "phone: +358 9 123 4567", "phone: 112", "notice.controllers[0].phone", "is not a phone number"},
		{"url not http", "url: https://www.esimerkkila.fi", "url: www.esimerkkila.fi", "notice.controllers[0].url", `"www.esimerkkila.fi" is not a web address: expected https://...`},
		{"y-tunnus check digit", "businessId: 1234567-1", "businessId: 1234567-8", "notice.processors[0].businessId", `"1234567-8" has a wrong check digit: expected 1234567-1`},
		{"y-tunnus without check digit", "businessId: 1234567-1", "businessId: 1000008-1", "notice.processors[0].businessId", `"1000008-1" is not a valid Y-tunnus`},
		{"business id too long", "businessId: 1234567-1", "businessId: " + strings.Repeat("9", 41), "notice.processors[0].businessId", "at most 40 characters"},
		{"party role missing translation", "role: {fi: Palvelun toimittaja, sv: Tjänsteleverantör, en: Service provider}", "role: {fi: Palvelun toimittaja, en: Service provider}", "notice.processors[0].role.sv", "missing translation"},
		// Contacts.
		{"empty contact", "- name: Tietosuojavastaava\n      dpo: true\n      address: PL 2, 00100 Esimerkkilä\n      email: tietosuoja@esimerkkila.fi", "- dpo: true", "notice.contacts[1]", "expected at least a name, role, e-mail, phone or address"},
		{"contact bad phone", "phone: (09) 123 4568", "phone: 09 123 4568 ext. 2", "notice.contacts[0].phone", "is not a phone number"},
		{"contact address control character", "address: PL 2, 00100 Esimerkkilä", "address: \"PL 2\\u0007\"", "notice.contacts[1].address", "contains a control character"},
		// Purposes.
		{"purpose text missing", "- purpose: {fi: Uutiskirje, sv: Nyhetsbrev, en: Newsletter}\n", "- ", "notice.purposes[2].purpose", "required: a text per language (fi, sv, en)"},
		{"unknown legal basis", "legalBasis: [consent]", "legalBasis: [agreement]", "notice.purposes[2].legalBasis[0]", `unknown legal basis "agreement": expected one of consent, contract, legal-obligation, vital-interest, public-task, legitimate-interest`},
		{"duplicate legal basis", "legalBasis: [public-task, legal-obligation]", "legalBasis: [public-task, public-task]", "notice.purposes[0].legalBasis[1]", `duplicate legal basis "public-task"`},
		{"missing translation", "legitimateInterest: {fi: Palvelun toimivuus., sv: Att tjänsten fungerar., en: A working service.}", "legitimateInterest: {fi: Palvelun toimivuus., en: A working service.}", "notice.purposes[1].legitimateInterest.sv", "missing translation: every site language needs a text"},
		{"extra language", "details: {fi: Perusopetuslaki 628/1998., sv: Lagen om grundläggande utbildning 628/1998., en: Basic Education Act 628/1998.}", "details: {fi: Perusopetuslaki 628/1998., sv: Lagen om grundläggande utbildning 628/1998., en: Basic Education Act 628/1998., de: Schulgesetz.}", "notice.purposes[0].details.de", `language "de" is not one of the site's languages (fi, sv, en)`},
		{"long text too long", "security: {fi: Tiedot salataan.,", "security: {fi: " + strings.Repeat("x", 20001) + ",", "notice.security.fi", "at most 20000 characters"},
		{"short label too long", "registerName: {fi: Oppimon käyttäjärekisteri,", "registerName: {fi: " + strings.Repeat("x", 501) + ",", "notice.registerName.fi", "at most 500 characters"},
		// Data categories and sources.
		{"data group without items", "      items:\n        - {fi: Nimi, sv: Namn, en: Name}\n        - {fi: Luokka, sv: Klass, en: Class}\n", "      items: []\n", "notice.dataCategories[0].items", "required: at least one kind of data"},
		{"data item missing translation", "- {fi: Luokka, sv: Klass, en: Class}", "- {fi: Luokka, sv: Klass}", "notice.dataCategories[0].items[1].en", "missing translation"},
		{"source missing translation", "- {fi: Oppilashallintojärjestelmä, sv: Elevförvaltningssystemet, en: The student administration system}", "- {fi: Oppilashallintojärjestelmä}", "notice.sources[0].sv", "missing translation"},
		// Recipients.
		{"bad layout", "layout: table", "layout: grid", "notice.recipients.layout", `"grid" is not a layout: expected list or table`},
		{"bad kind", "kind: controller", "kind: partner", "notice.recipients.items[1].kind", `"partner" is not a recipient kind: expected processor, recipient or controller`},
		{"recipient without name", "- name: Opetushallitus", "- name: \"\"", "notice.recipients.items[1].name", "required"},
		{"recipient unknown legal basis", "legalBasis: [legal-obligation]\n  transfers", "legalBasis: [law]\n  transfers", "notice.recipients.items[1].legalBasis[0]", `unknown legal basis "law"`},
		{"recipient bad country", "country: fi\n        url", "country: Finland\n        url", "notice.recipients.items[0].country", `"FINLAND" is not an ISO 3166-1 alpha-2 country code`},
		{"recipient bad url", "url: https://oppimo.example.fi\n", "url: ftp://oppimo.example.fi\n", "notice.recipients.items[0].url", "is not a web address"},
		{"none with items", "layout: table", "layout: table\n    none: true", "notice.recipients.none", "true together with items"},
		// Transfers.
		{"transfers without outsideEEA", "outsideEEA: true\n    countries: [us]\n    safeguards: [dpf, scc]\n", "", "notice.transfers.outsideEEA", "required: true or false"},
		{"EEA country in transfers", "countries: [us]", "countries: [us, se]", "notice.transfers.countries[1]", `"SE" is in the EU/EEA: list only countries outside it`},
		{"Norway is in the EEA", "countries: [us]", "countries: [NO]", "notice.transfers.countries[0]", `"NO" is in the EU/EEA`},
		{"unknown country", "countries: [us]", "countries: [XK]", "notice.transfers.countries[0]", `"XK" is not an ISO 3166-1 alpha-2 country code`},
		{"UK is GB", "countries: [us]", "countries: [uk]", "notice.transfers.countries[0]", "the United Kingdom is GB"},
		{"duplicate country", "countries: [us]", "countries: [us, US]", "notice.transfers.countries[1]", `duplicate country "US"`},
		{"unknown safeguard", "safeguards: [dpf, scc]", "safeguards: [dpf, privacy-shield]", "notice.transfers.safeguards[1]", `unknown safeguard "privacy-shield": expected one of adequacy, dpf, scc, bcr, derogation`},
		{"countries when not outside EEA", "outsideEEA: true\n    countries: [us]\n    safeguards: [dpf, scc]\n", "outsideEEA: false\n    countries: [us]\n", "notice.transfers.countries", "must be empty when outsideEEA is false"},
		{"safeguards when not outside EEA", "outsideEEA: true\n    countries: [us]\n    safeguards: [dpf, scc]\n", "outsideEEA: false\n    safeguards: [scc]\n", "notice.transfers.safeguards", "must be empty when outsideEEA is false"},
		{"misspelt key", "outsideEEA: true", "outsideEea: true", "", "field outsideEea not found in Transfers"},
		// Retention, rights, authority, automated decisions, sections.
		{"unknown safeguard", "safeguards: [dpf, scc]", "safeguards: [dpf, shield]", "notice.transfers.safeguards[1]", `unknown safeguard "shield": expected one of adequacy, dpf, scc, bcr, derogation, or your own text`},
		{"duplicate safeguard", "safeguards: [dpf, scc]", "safeguards: [scc, scc]", "notice.transfers.safeguards[1]", `duplicate safeguard "scc"`},
		{"own safeguard text without a translation", "safeguards: [dpf, scc]", "safeguards: [dpf, {fi: Privacy Shield, en: Privacy Shield}]", "notice.transfers.safeguards[1].sv", "missing translation"},
		{"section after an unknown section", "en: See the cookie settings.}\n", "en: See the cookie settings.}\n      after: cookie\n", "notice.sections[0].after", `unknown section "cookie": expected one of controller, contact`},
		{"custom right without text", "  complaintAuthority:\n", "  customRights:\n    - title: {fi: A, sv: B, en: C}\n  complaintAuthority:\n", "notice.customRights[0].text", "required"},
		{"business id label without a translation", "businessId: 1234567-1", "businessId: 1234567-1\n      businessIdLabel: {fi: Y-tunnus}", "notice.processors[0].businessIdLabel.sv", "missing translation"},
		{"unknown right key", "    erasure:\n", "    deletion:\n", "notice.rights.deletion", `unknown right "deletion": expected one of access, rectification, erasure, restriction, portability, objection, direct-marketing, withdraw-consent, automated, complaint (or add it to notice.customRights`},
		{"right text missing translation", "text: {fi: Oma poistoteksti., sv: Egen raderingstext., en: Own erasure text.}", "text: {fi: Oma poistoteksti., en: Own erasure text.}", "notice.rights.erasure.text.sv", "missing translation"},
		{"authority without name", "    name: {fi: Tietosuojavaltuutettu, sv: Dataombudsmannen, en: Data Protection Ombudsman}\n", "", "notice.complaintAuthority.name", "required"},
		{"authority bad email", "email: tietosuoja@om.fi", "email: tietosuoja at om.fi", "notice.complaintAuthority.email", "is not an e-mail address"},
		{"automatedDecisions without used", "    used: false\n", "", "notice.automatedDecisions.used", "required: true or false"},
		{"section without body", "      body: {fi: Katso evästeasetukset., sv: Se kakinställningarna., en: See the cookie settings.}\n", "", "notice.sections[0].body", "required"},
		{"section without title", "- title: {fi: Evästeet, sv: Kakor, en: Cookies}\n      body", "- body", "notice.sections[0].title", "required"},
		// Dates and country.
		{"bad date", "validFrom: 2026-02-01", "validFrom: 2026-02-30", "notice.validFrom", `"2026-02-30" is not a date: expected YYYY-MM-DD`},
		{"date in another format", "created: 2025-08-01", "created: 1.8.2025", "notice.created", `"1.8.2025" is not a date`},
		{"updated before created", "updated: 2026-01-15", "updated: 2025-07-31", "notice.updated", "2025-07-31 is before created (2025-08-01)"},
		{"unknown notice country", "country: fi\n  created", "country: XX\n  created", "notice.country", `"XX" is not an ISO 3166-1 alpha-2 country code`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := replaceOnce(t, completeNoticeSite, tt.old, tt.new)
			_, err := site.Parse("x/demo.yaml", []byte(src))
			if err == nil {
				t.Fatalf("want an error on %s containing %q, got nil", tt.field, tt.msg)
			}
			prefix := "x/demo.yaml: "
			if tt.field != "" {
				prefix += tt.field + ": "
			}
			found := false
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(line, prefix) && strings.Contains(line, tt.msg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("error\n%v\nhas no line starting %q and containing %q", err, prefix, tt.msg)
			}
		})
	}
}

func TestNoticeValidationReportsEveryProblem(t *testing.T) {
	src := replaceOnce(t, completeNoticeSite, "email: kirjaamo@esimerkkila.fi", "email: nope")
	src = replaceOnce(t, src, "countries: [us]", "countries: [se]")
	src = replaceOnce(t, src, "updated: 2026-01-15", "updated: 2026-13-01")
	_, err := site.Parse("x/demo.yaml", []byte(src))
	if err == nil {
		t.Fatal("want errors, got nil")
	}
	for _, field := range []string{"notice.controllers[0].email", "notice.transfers.countries[0]", "notice.updated"} {
		if !strings.Contains(err.Error(), ": "+field+": ") {
			t.Errorf("error does not name %s:\n%v", field, err)
		}
	}
}
