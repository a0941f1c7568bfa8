package notice

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/consentd/consentd/config/field"
	"github.com/consentd/consentd/config/i18n"
	noticecfg "github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/site"
)

// labels are the notice's own fixed texts (headings, column names,
// standard sentences) per language. Every language of the widget (fi, sv,
// en) has every key; TestLabelsComplete checks it.
var labels = map[string]map[string]string{
	"fi": {
		"title":        "Tietosuojaseloste",
		"toc":          "Sisällys",
		"languages":    "Kieli",
		"controller":   "Rekisterinpitäjä",
		"processors":   "Henkilötietojen käsittelijät",
		"contact":      "Yhteyshenkilö ja tietosuojavastaava",
		"register":     "Rekisterin nimi",
		"purposes":     "Käsittelyn tarkoitus ja oikeusperuste",
		"data":         "Rekisterin tietosisältö",
		"sources":      "Säännönmukaiset tietolähteet",
		"requirement":  "Velvollisuus antaa tietoja",
		"recipients":   "Tietojen luovutukset ja vastaanottajat",
		"transfers":    "Tietojen siirto EU:n tai ETA:n ulkopuolelle",
		"cookies":      "Evästeet",
		"retention":    "Säilytysaika",
		"security":     "Rekisterin suojaus",
		"rights":       "Rekisteröidyn oikeudet",
		"complaint":    "Oikeus tehdä valitus valvontaviranomaiselle",
		"automated":    "Automaattinen päätöksenteko ja profilointi",
		"about":        "Selosteen tiedot",
		"businessId":   "Y-tunnus",
		"address":      "Osoite",
		"phone":        "Puhelin",
		"email":        "Sähköposti",
		"web":          "Verkkosivut",
		"dpo":          "Tietosuojavastaava",
		"purpose":      "Tarkoitus",
		"legalBasis":   "Oikeusperuste",
		"legitimate":   "Oikeutettu etu",
		"name":         "Nimi",
		"dataCol":      "Tiedot",
		"country":      "Maa",
		"kind":         "Rooli",
		"none":         "Tietoja ei luovuteta rekisterinpitäjän ulkopuolelle.",
		"noTransfer":   "Tietoja ei siirretä EU:n tai ETA:n ulkopuolelle.",
		"transferTo":   "Tietoja siirretään EU:n tai ETA:n ulkopuolelle seuraaviin maihin:",
		"safeguards":   "Suojatoimet",
		"cookiesIntro": "Sivusto käyttää alla lueteltuja evästeitä. Välttämättömät evästeet ovat aina käytössä; muita käytetään vain suostumuksellasi, jonka voit muuttaa tai peruuttaa milloin tahansa evästeasetuksista.",
		"cookie":       "Eväste",
		"service":      "Palvelu",
		"duration":     "Voimassa",
		"alwaysOn":     "aina käytössä",
		"noCookies":    "Tähän ryhmään ei ole lueteltu evästeitä.",
		"policy":       "Tietosuojakäytäntö",
		"retData":      "Tiedot",
		"retPeriod":    "Säilytysaika",
		"notApplies":   "Ei sovelleta tähän käsittelyyn.",
		"useRights":    "Voit käyttää oikeuksiasi ottamalla yhteyttä yllä mainittuun yhteyshenkilöön.",
		"noAutomated":  "Tietoja ei käytetä automaattiseen päätöksentekoon eikä profilointiin.",
		"created":      "Laadittu",
		"updated":      "Päivitetty",
		"validFrom":    "Voimassa alkaen",
		"version":      "Versio",
		"noticeHash":   "Selosteen tunniste",
		"catalogue":    "Palvelukuvausten lähde",
		"catalogueVer": "consentd-palveluluettelo, versio {version}: {entries}",
		"langName":     "suomi",

		"controllers":            "Rekisterinpitäjät",
		"contactPerson":          "Yhteyshenkilö",
		"contactPersons":         "Yhteyshenkilöt",
		"contactDpo":             "Tietosuojavastaava",
		"registrationId":         "Rekisteritunnus",
		"activity":               "Käsittely",
		"transferMay":            "Tietoja voidaan siirtää EU:n tai ETA:n ulkopuolelle.",
		"cookiesIntroNecessary":  "Sivusto käyttää vain alla lueteltuja välttämättömiä evästeitä, joita sen toiminta edellyttää.",
		"cookiesIntroChoice":     "Sivusto käyttää alla lueteltuja evästeitä. Välttämättömät evästeet ovat aina käytössä; muiden käytön voit valita ja muuttaa milloin tahansa evästeasetuksista.",
		"langMissing":            "Tätä selostetta ei ole saatavilla {requested}. Se näytetään {shown}.",
		"langMissingOther":       "Tätä selostetta ei ole saatavilla pyytämälläsi kielellä. Se näytetään {shown}.",
		"right.direct-marketing": "Oikeus kieltää suoramarkkinointi (suoramarkkinointikielto)",

		"basis.consent":             "Suostumus (tietosuoja-asetus 6\u00a0art.\u00a01\u00a0a)",
		"basis.contract":            "Sopimus (6\u00a0art.\u00a01\u00a0b)",
		"basis.legal-obligation":    "Lakisääteinen velvoite (6\u00a0art.\u00a01\u00a0c)",
		"basis.vital-interest":      "Elintärkeä etu (6\u00a0art.\u00a01\u00a0d)",
		"basis.public-task":         "Yleisen edun mukainen tehtävä tai julkisen vallan käyttö (6\u00a0art.\u00a01\u00a0e)",
		"basis.legitimate-interest": "Oikeutettu etu (6\u00a0art.\u00a01\u00a0f)",

		"safeguard.adequacy":   "Euroopan komission päätös tietosuojan riittävyydestä",
		"safeguard.dpf":        "EU:n ja Yhdysvaltojen välinen tietosuojakehys (Data Privacy Framework)",
		"safeguard.scc":        "Euroopan komission vakiosopimuslausekkeet",
		"safeguard.bcr":        "Yritystä koskevat sitovat säännöt",
		"safeguard.derogation": "Erityistilanteita koskeva poikkeus (tietosuoja-asetus 49 art.)",

		"kind.processor":  "Henkilötietojen käsittelijä",
		"kind.recipient":  "Vastaanottaja",
		"kind.controller": "Itsenäinen rekisterinpitäjä",

		"right.access":           "Oikeus saada pääsy tietoihin",
		"right.rectification":    "Oikeus tietojen oikaisemiseen",
		"right.erasure":          "Oikeus tietojen poistamiseen",
		"right.restriction":      "Oikeus käsittelyn rajoittamiseen",
		"right.portability":      "Oikeus siirtää tiedot järjestelmästä toiseen",
		"right.objection":        "Oikeus vastustaa käsittelyä",
		"right.withdraw-consent": "Oikeus peruuttaa suostumus",
		"right.automated":        "Automaattisiin päätöksiin liittyvät oikeudet",
		"right.complaint":        "Oikeus tehdä valitus",

		"unit.min": "minuutti|minuuttia",
		"unit.h":   "tunti|tuntia",
		"unit.d":   "päivä|päivää",
		"unit.mo":  "kuukausi|kuukautta",
		"unit.y":   "vuosi|vuotta",
		"session":  "istunto",
	},
	"sv": {
		"title":        "Dataskyddsbeskrivning",
		"toc":          "Innehåll",
		"languages":    "Språk",
		"controller":   "Personuppgiftsansvarig",
		"processors":   "Personuppgiftsbiträden",
		"contact":      "Kontaktperson och dataskyddsombud",
		"register":     "Registrets namn",
		"purposes":     "Ändamål och rättslig grund för behandlingen",
		"data":         "Uppgifter i registret",
		"sources":      "Regelbundna uppgiftskällor",
		"requirement":  "Skyldighet att lämna uppgifter",
		"recipients":   "Utlämnande av uppgifter och mottagare",
		"transfers":    "Överföring av uppgifter utanför EU eller EES",
		"cookies":      "Kakor",
		"retention":    "Lagringstid",
		"security":     "Skydd av registret",
		"rights":       "Den registrerades rättigheter",
		"complaint":    "Rätt att lämna klagomål till tillsynsmyndigheten",
		"automated":    "Automatiserat beslutsfattande och profilering",
		"about":        "Om beskrivningen",
		"businessId":   "FO-nummer",
		"address":      "Adress",
		"phone":        "Telefon",
		"email":        "E-post",
		"web":          "Webbplats",
		"dpo":          "Dataskyddsombud",
		"purpose":      "Ändamål",
		"legalBasis":   "Rättslig grund",
		"legitimate":   "Berättigat intresse",
		"name":         "Namn",
		"dataCol":      "Uppgifter",
		"country":      "Land",
		"kind":         "Roll",
		"none":         "Uppgifter lämnas inte ut utanför den personuppgiftsansvarige.",
		"noTransfer":   "Uppgifter överförs inte utanför EU eller EES.",
		"transferTo":   "Uppgifter överförs utanför EU eller EES till följande länder:",
		"safeguards":   "Skyddsåtgärder",
		"cookiesIntro": "Webbplatsen använder kakorna nedan. Nödvändiga kakor används alltid; andra används bara med ditt samtycke, som du när som helst kan ändra eller återkalla i kakinställningarna.",
		"cookie":       "Kaka",
		"service":      "Tjänst",
		"duration":     "Lagringstid",
		"alwaysOn":     "alltid på",
		"noCookies":    "Inga kakor har angetts för den här kategorin.",
		"policy":       "Integritetspolicy",
		"retData":      "Uppgifter",
		"retPeriod":    "Lagringstid",
		"notApplies":   "Gäller inte denna behandling.",
		"useRights":    "Du kan utöva dina rättigheter genom att kontakta kontaktpersonen ovan.",
		"noAutomated":  "Uppgifterna används inte för automatiserat beslutsfattande eller profilering.",
		"created":      "Upprättad",
		"updated":      "Uppdaterad",
		"validFrom":    "Gäller från",
		"version":      "Version",
		"noticeHash":   "Beskrivningens kod",
		"catalogue":    "Källa för tjänstebeskrivningarna",
		"catalogueVer": "consentd-tjänstekatalogen, version {version}: {entries}",
		"langName":     "svenska",

		"controllers":            "Personuppgiftsansvariga",
		"contactPerson":          "Kontaktperson",
		"contactPersons":         "Kontaktpersoner",
		"contactDpo":             "Dataskyddsombud",
		"registrationId":         "Registreringsnummer",
		"activity":               "Behandling",
		"transferMay":            "Uppgifter kan överföras utanför EU eller EES.",
		"cookiesIntroNecessary":  "Webbplatsen använder endast de nödvändiga kakor som anges nedan och som den behöver för att fungera.",
		"cookiesIntroChoice":     "Webbplatsen använder kakorna nedan. Nödvändiga kakor används alltid; för de andra kan du när som helst välja och ändra i kakinställningarna.",
		"langMissing":            "Beskrivningen finns inte på {requested}. Den visas på {shown}.",
		"langMissingOther":       "Beskrivningen finns inte på det språk du bad om. Den visas på {shown}.",
		"right.direct-marketing": "Rätt att förbjuda direktmarknadsföring",

		"basis.consent":             "Samtycke (dataskyddsförordningen art.\u00a06.1\u00a0a)",
		"basis.contract":            "Avtal (art.\u00a06.1\u00a0b)",
		"basis.legal-obligation":    "Rättslig förpliktelse (art.\u00a06.1\u00a0c)",
		"basis.vital-interest":      "Grundläggande intresse (art.\u00a06.1\u00a0d)",
		"basis.public-task":         "Uppgift av allmänt intresse eller myndighetsutövning (art.\u00a06.1\u00a0e)",
		"basis.legitimate-interest": "Berättigat intresse (art.\u00a06.1\u00a0f)",

		"safeguard.adequacy":   "Europeiska kommissionens beslut om adekvat skyddsnivå",
		"safeguard.dpf":        "Dataskyddsramen mellan EU och USA (Data Privacy Framework)",
		"safeguard.scc":        "Europeiska kommissionens standardavtalsklausuler",
		"safeguard.bcr":        "Bindande företagsbestämmelser",
		"safeguard.derogation": "Undantag för särskilda situationer (dataskyddsförordningen art. 49)",

		"kind.processor":  "Personuppgiftsbiträde",
		"kind.recipient":  "Mottagare",
		"kind.controller": "Självständig personuppgiftsansvarig",

		"right.access":           "Rätt till tillgång",
		"right.rectification":    "Rätt till rättelse",
		"right.erasure":          "Rätt till radering",
		"right.restriction":      "Rätt till begränsning av behandling",
		"right.portability":      "Rätt till dataportabilitet",
		"right.objection":        "Rätt att göra invändningar",
		"right.withdraw-consent": "Rätt att återkalla samtycke",
		"right.automated":        "Rättigheter vid automatiserat beslutsfattande",
		"right.complaint":        "Rätt att lämna klagomål",

		"unit.min": "minut|minuter",
		"unit.h":   "timme|timmar",
		"unit.d":   "dag|dagar",
		"unit.mo":  "månad|månader",
		"unit.y":   "år|år",
		"session":  "session",
	},
	"en": {
		"title":        "Privacy notice",
		"toc":          "Contents",
		"languages":    "Language",
		"controller":   "Controller",
		"processors":   "Processors",
		"contact":      "Contact person and data protection officer",
		"register":     "Name of the register",
		"purposes":     "Purposes and legal basis of processing",
		"data":         "Personal data processed",
		"sources":      "Sources of data",
		"requirement":  "Obligation to provide data",
		"recipients":   "Recipients and disclosures",
		"transfers":    "Transfers outside the EU/EEA",
		"cookies":      "Cookies",
		"retention":    "Retention",
		"security":     "Security",
		"rights":       "Your rights",
		"complaint":    "Right to lodge a complaint with a supervisory authority",
		"automated":    "Automated decision-making and profiling",
		"about":        "About this notice",
		"businessId":   "Business ID",
		"address":      "Address",
		"phone":        "Phone",
		"email":        "E-mail",
		"web":          "Website",
		"dpo":          "Data protection officer",
		"purpose":      "Purpose",
		"legalBasis":   "Legal basis",
		"legitimate":   "Legitimate interest",
		"name":         "Name",
		"dataCol":      "Data",
		"country":      "Country",
		"kind":         "Role",
		"none":         "Data is not disclosed outside the controller.",
		"noTransfer":   "Data is not transferred outside the EU/EEA.",
		"transferTo":   "Data is transferred outside the EU/EEA to the following countries:",
		"safeguards":   "Safeguards",
		"cookiesIntro": "The site uses the cookies listed below. Necessary cookies are always on; others are used only with your consent, which you can change or withdraw at any time in the cookie settings.",
		"cookie":       "Cookie",
		"service":      "Service",
		"duration":     "Duration",
		"alwaysOn":     "always on",
		"noCookies":    "No cookies are listed for this category.",
		"policy":       "Privacy policy",
		"retData":      "Data",
		"retPeriod":    "Retention period",
		"notApplies":   "Does not apply to this processing.",
		"useRights":    "To use your rights, contact the contact person above.",
		"noAutomated":  "The data is not used for automated decision-making or profiling.",
		"created":      "Created",
		"updated":      "Last updated",
		"validFrom":    "Valid from",
		"version":      "Version",
		"noticeHash":   "Notice fingerprint",
		"catalogue":    "Source of the service descriptions",
		"catalogueVer": "consentd service catalogue, version {version}: {entries}",
		"langName":     "English",

		"controllers":            "Controllers",
		"contactPerson":          "Contact person",
		"contactPersons":         "Contact persons",
		"contactDpo":             "Data protection officer",
		"registrationId":         "Registration number",
		"activity":               "Processing activity",
		"transferMay":            "Data may be transferred outside the EU/EEA.",
		"cookiesIntroNecessary":  "The site uses only the necessary cookies listed below, which it needs to work.",
		"cookiesIntroChoice":     "The site uses the cookies listed below. Necessary cookies are always on; for the others, you can make and change your choices at any time in the cookie settings.",
		"langMissing":            "This notice is not available in {requested}. It is shown in {shown}.",
		"langMissingOther":       "This notice is not available in the language asked for. It is shown in {shown}.",
		"right.direct-marketing": "Right to object to direct marketing",

		"basis.consent":             "Consent (GDPR Art.\u00a06(1)(a))",
		"basis.contract":            "Contract (Art.\u00a06(1)(b))",
		"basis.legal-obligation":    "Legal obligation (Art.\u00a06(1)(c))",
		"basis.vital-interest":      "Vital interests (Art.\u00a06(1)(d))",
		"basis.public-task":         "Task in the public interest or official authority (Art.\u00a06(1)(e))",
		"basis.legitimate-interest": "Legitimate interests (Art.\u00a06(1)(f))",

		"safeguard.adequacy":   "European Commission adequacy decision",
		"safeguard.dpf":        "EU-US Data Privacy Framework",
		"safeguard.scc":        "European Commission standard contractual clauses",
		"safeguard.bcr":        "Binding corporate rules",
		"safeguard.derogation": "Derogation for specific situations (GDPR Art. 49)",

		"kind.processor":  "Processor",
		"kind.recipient":  "Recipient",
		"kind.controller": "Independent controller",

		"right.access":           "Right of access",
		"right.rectification":    "Right to rectification",
		"right.erasure":          "Right to erasure",
		"right.restriction":      "Right to restriction of processing",
		"right.portability":      "Right to data portability",
		"right.objection":        "Right to object",
		"right.withdraw-consent": "Right to withdraw consent",
		"right.automated":        "Rights related to automated decisions",
		"right.complaint":        "Right to lodge a complaint",

		"unit.min": "minute|minutes",
		"unit.h":   "hour|hours",
		"unit.d":   "day|days",
		"unit.mo":  "month|months",
		"unit.y":   "year|years",
		"session":  "session",
	},
}

// catalogueKeys are the texts shown only when the site uses the service
// catalogue: a language without built-in texts needs them only then.
var catalogueKeys = map[string]bool{"catalogue": true, "catalogueVer": true}

// labelsFor returns the notice's fixed texts for lang: the built-in ones
// (English where lang has none), overridden by the site's
// strings.<lang>."notice.<key>" entries.
func labelsFor(site *site.Site, lang string) map[string]string {
	m := make(map[string]string, len(labels["en"]))
	for k, v := range labels["en"] {
		m[k] = v
	}
	for k, v := range labels[lang] {
		m[k] = v
	}
	for k, v := range site.Strings[lang] {
		if key, ok := strings.CutPrefix(k, "notice."); ok {
			m[key] = v
		}
	}
	return m
}

// duration turns a cookie duration from the site file ("session", "30min",
// "13mo", "2y") into words with the labels L: "13 kuukautta", "13 months".
func duration(L map[string]string, d string) string {
	if d == "session" {
		return L["session"]
	}
	i := strings.IndexFunc(d, func(r rune) bool { return r < '0' || r > '9' })
	if i <= 0 {
		return d
	}
	n, err := strconv.Atoi(d[:i])
	forms := strings.Split(L["unit."+d[i:]], "|")
	if err != nil || len(forms) != 2 {
		return d
	}
	if n == 1 {
		return "1 " + forms[0]
	}
	return strconv.Itoa(n) + " " + forms[1]
}

var months = [...]string{"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

// date formats a YYYY-MM-DD date the way the language writes it:
// 1.11.2026 in Finnish and Finland-Swedish, 1 November 2026 in English,
// unchanged (ISO 8601) in other languages.
func date(lang, ymd string) string {
	t, err := time.Parse("2006-01-02", ymd)
	switch {
	case err != nil:
		return ymd
	case lang == "en":
		return fmt.Sprintf("%d %s %d", t.Day(), months[t.Month()-1], t.Year())
	case lang == "fi" || lang == "sv":
		return fmt.Sprintf("%d.%d.%d", t.Day(), int(t.Month()), t.Year())
	}
	return ymd
}

// checkStrings checks the site's strings section against the texts that
// exist: every key must be a known one, and a language without built-in
// texts must give all of them (and its own rights texts), so a page never
// mixes languages. widgetKeys are the widget's UI text keys.
func checkStrings(site *site.Site, widgetKeys map[string]bool) error {
	c := field.Checker{File: site.File}
	for _, lang := range site.Languages {
		m := site.Strings[lang]
		for k := range m {
			ns, key, _ := strings.Cut(k, ".")
			if (ns == "notice" && labels["en"][key] == "") || (ns == "widget" && !widgetKeys[key]) {
				c.Add("strings."+lang+"."+k, "unknown text key (see docs/notice.md#more-languages for the list)")
			}
		}
		if i18n.IsBuiltin(lang) {
			continue
		}
		var missing []string
		for key := range labels["en"] {
			if catalogueKeys[key] && site.Catalogue.Version == "" {
				continue // shown only for a site that uses the catalogue
			}
			if m["notice."+key] == "" {
				missing = append(missing, "notice."+key)
			}
		}
		for key := range widgetKeys {
			if m["widget."+key] == "" {
				missing = append(missing, "widget."+key)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			c.Add("strings."+lang, "%d texts missing for a language without built-in texts: %s", len(missing), strings.Join(missing, ", "))
		}
		for _, id := range noticecfg.RightKeys {
			if _, named := site.Notice.Rights[id]; id == noticecfg.RightDirectMarketing && !named {
				continue
			}
			if t, _ := site.Notice.RightText(id); t[lang] == "" {
				c.Add("notice.rights."+id+".text."+lang, "no built-in text in %q: write the text of this right", lang)
			}
		}
	}
	return c.Err()
}
