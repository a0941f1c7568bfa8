package noticeimport

import (
	"regexp"
	"strconv"
	"strings"
)

// kind is what a section of a notice is about, as its heading says.
type kind string

// Section kinds. Most are a section of the notice model (notice.SectionIDs);
// a few headings say two things at once (controllerContact,
// recipientsTransfers) or only part of one (legalBasis, right).
const (
	kindUnknown             kind = ""
	kindTitle               kind = "title"
	kindIntro               kind = "intro"
	kindController          kind = "controller"
	kindContact             kind = "contact"
	kindControllerContact   kind = "controller+contact"
	kindRegister            kind = "register"
	kindPurposes            kind = "purposes"
	kindLegalBasis          kind = "legalBasis"
	kindData                kind = "data"
	kindSources             kind = "sources"
	kindRequirement         kind = "requirement"
	kindRecipients          kind = "recipients"
	kindTransfers           kind = "transfers"
	kindRecipientsTransfers kind = "recipients+transfers"
	kindCookies             kind = "cookies"
	kindRetention           kind = "retention"
	kindSecurity            kind = "security"
	kindRights              kind = "rights"
	kindRight               kind = "right" // one right; section.Right says which
	kindComplaint           kind = "complaint"
	kindAutomated           kind = "automated"
	kindDates               kind = "dates"
)

// headingRule recognises one kind of heading in one language. Rules are
// tried in order, so the more specific come first ("rekisterin nimi"
// before "rekisterinpitäjä").
type headingRule struct {
	kind  kind
	right string // for kindRight: the key of notice.Rights
	lang  string
	re    *regexp.Regexp
}

// rule builds a headingRule; pattern is matched against the heading in
// lower case, without its number.
func rule(k kind, lang, pattern string) headingRule {
	return headingRule{kind: k, lang: lang, re: regexp.MustCompile(pattern)}
}

// rightRule builds a headingRule for one right.
func rightRule(key, lang, pattern string) headingRule {
	return headingRule{kind: kindRight, right: key, lang: lang, re: regexp.MustCompile(pattern)}
}

// headingRules are the headings real notices use, in fi, sv and en: the
// old henkilötietolaki template ("1. Rekisterinpitäjä" … "9. Rekisterin
// suojauksen periaatteet", "Tarkastusoikeus"), GDPR-era notices and their
// Swedish (dataskyddsbeskrivning, registerbeskrivning) and English
// versions.
var headingRules = []headingRule{
	rule(kindTitle, "fi", `^(.*\s)?(tietosuojaseloste|rekisteriseloste|tietosuojailmoitus|tietosuojakäytäntö|tietosuojaselvitys)(\s.*)?$`),
	rule(kindTitle, "sv", `^(.*\s)?(dataskyddsbeskrivning|registerbeskrivning|dataskyddsmeddelande|integritetspolicy|dataskyddspolicy|integritetsmeddelande)(\s.*)?$`),
	rule(kindTitle, "en", `^(.*\s)?(privacy (notice|policy|statement)|data protection (notice|policy|statement)|description of (the )?(data )?file)(\s.*)?$`),

	rule(kindDates, "fi", `^(päivitetty|laadittu|päiväys|laatimispäivä|muutettu|voimassa)`),
	rule(kindDates, "sv", `^(uppdaterad|upprättad|datum|gäller från)`),
	rule(kindDates, "en", `^(last )?(updated|date|modified|effective)`),

	rule(kindControllerContact, "fi", `^rekisterinpitäjä(t)?( ja|,) (sen )?(yhteyshenkilö|yhteystiedot ja yhteyshenkilö|tietosuojavastaava)`),
	rule(kindControllerContact, "sv", `^(personuppgiftsansvarig|registeransvarig)( och|,) (kontaktperson|dataskyddsombud)`),
	rule(kindControllerContact, "en", `^(data )?controller( and|,) (the )?(contact person|data protection officer)`),
	rule(kindContact, "fi", `yhteyshenkilö|rekisteri\S* (asioi\S* |koskevissa asioissa )?(vastaava|hoitava)|vastuuhenkilö|tietosuojavastaava|^yhteydenotot`),
	rule(kindContact, "sv", `kontaktperson|dataskyddsombud|ansvarsperson|kontaktuppgifter i registerärenden|person som sköter`),
	rule(kindContact, "en", `contact person|data protection officer|^dpo\b|^contact us|person in charge|^contact( details)? for`),
	rule(kindRegister, "fi", `^(rekisterin|käsittelyn|käsittelytoimen|rekisterin ja käsittelyn) nimi`),
	rule(kindRegister, "sv", `^registrets (namn|benämning)|^namn på registret|^behandlingens namn`),
	rule(kindRegister, "en", `^(the )?name of (the )?(register|processing|data file|file)|^register name`),
	rule(kindController, "fi", `^rekisterinpitäj|^(henkilö)?rekisterin pitäjä|^yhteisrekisterinpitäj`),
	rule(kindController, "sv", `^(den )?(personuppgiftsansvarig|registeransvarig|registerförare|gemensamt personuppgiftsansvariga)`),
	rule(kindController, "en", `^(the )?(data )?controllers?\b|^(joint )?controllers?\b|^who (we are|is responsible)`),

	rule(kindAutomated, "fi", `automaattinen päätöksenteko|automatisoitu päätöksenteko|^profilointi`),
	rule(kindAutomated, "sv", `automatiserat beslutsfattande|automatiska beslut|^profilering`),
	rule(kindAutomated, "en", `automated decision|automatic decision|^profiling`),

	rule(kindRecipientsTransfers, "fi", `luovut.*(siir|ulkopuolelle)`),
	rule(kindRecipientsTransfers, "sv", `utlämnande.*(överför|utanför)`),
	rule(kindRecipientsTransfers, "en", `disclos.*(transfer|outside)`),
	rule(kindTransfers, "fi", `(eu:n|eta:n|euroopan).*ulkopuolelle|kolmansiin maihin|eu-?/eta-?alueen ulkopuolelle|^tietojen siirto`),
	rule(kindTransfers, "sv", `utanför (eu|ees|europeiska)|tredjeland|^överföring`),
	rule(kindTransfers, "en", `outside (the )?(eu|eea|european)|third countr|international transfer|^transfers? of (personal )?data`),

	rule(kindCookies, "fi", `eväste`),
	rule(kindCookies, "sv", `\bkakor|\bcookies`),
	rule(kindCookies, "en", `cookie`),
	rule(kindPurposes, "fi", `tarkoitus.*peruste|peruste.*tarkoitus`),
	rule(kindPurposes, "sv", `ändamål.*grund|grund.*ändamål`),
	rule(kindPurposes, "en", `purposes?.*(basis|bases)|(basis|bases).*purpose`),

	rightRule("complaint", "fi", `valitu|valitta|kantelu|valvontaviranomai`),
	rightRule("complaint", "sv", `klagomål|klaga|besvär hos|tillsynsmyndighet`),
	rightRule("complaint", "en", `complain|supervisory authority`),
	rightRule("direct-marketing", "fi", `suoramarkkinoin`),
	rightRule("direct-marketing", "sv", `direktmarknadsföring`),
	rightRule("direct-marketing", "en", `direct marketing`),
	rightRule("access", "fi", `^tarkastusoikeus|oikeus tarkastaa|oikeus saada pääsy|pääsy tietoihin`),
	rightRule("access", "sv", `rätt (till|att få) (insyn|tillgång|granska)|^granskningsrätt|rätt att granska`),
	rightRule("access", "en", `right (of|to) access|access to (your )?(personal )?data`),
	rightRule("rectification", "fi", `korja|oikaisu`),
	rightRule("rectification", "sv", `\brättelse|\brätta`),
	rightRule("rectification", "en", `rectif|correct`),
	rightRule("erasure", "fi", `poista|unohdetuksi`),
	rightRule("erasure", "sv", `radering|radera|bli bortglömd`),
	rightRule("erasure", "en", `erasure|delet|forgotten`),
	rightRule("restriction", "fi", `rajoitta`),
	rightRule("restriction", "sv", `begräns`),
	rightRule("restriction", "en", `restrict`),
	rightRule("portability", "fi", `siirtää tiedot|siirtää (henkilö)?tietonsa|siirrettävyy|siirtää tietoja järjestelmästä`),
	rightRule("portability", "sv", `dataportabilitet|flytta (dina )?uppgifter|överföra (dina )?uppgifter`),
	rightRule("portability", "en", `portab`),
	rightRule("withdraw-consent", "fi", `peru(uttaa|a) suostumu|suostumuksen peruu`),
	rightRule("withdraw-consent", "sv", `återkalla`),
	rightRule("withdraw-consent", "en", `withdraw`),
	rightRule("objection", "fi", `vastust`),
	rightRule("objection", "sv", `invändning|invända|motsätta`),
	rightRule("objection", "en", `object`),
	rightRule("automated", "fi", `automaattisen päätöksenteon kohteeksi`),
	rule(kindRights, "fi", `oikeude(t|et)\b|^oikeutesi`),
	rule(kindRights, "sv", `rättigheter`),
	rule(kindRights, "en", `rights\b`),

	rule(kindRegister, "fi", `^rekisteri$`),
	rule(kindData, "fi", `tietosisältö|käsiteltävät (henkilö)?tiedot|henkilötietoryhmät|henkilötietojen ryhmät|rekisterin sisältämät|rekisteriin tallennet|tallennettavat tiedot|kerättävät (henkilö)?tiedot|mitä (henkilö)?tietoja|käsittelemämme (henkilö)?tiedot|rekisterin sisältö|tietoryhmät`),
	rule(kindData, "sv", `datainnehåll|registrets innehåll|uppgifter som (behandlas|registreras|samlas)|kategorier av personuppgifter|vilka (person)?uppgifter|personuppgifter som (vi )?behandla`),
	rule(kindData, "en", `data content|content of the register|contents of the register|categories of (personal )?data|(personal )?(data|information) (we|that we) (collect|process)|what (personal )?(data|information)|data we process|data processed`),
	rule(kindSources, "fi", `tietolähte|mistä (keräämme )?tiedot|tietojen lähteet|mistä tietoja`),
	rule(kindSources, "sv", `uppgiftskäll|varifrån|källor`),
	rule(kindSources, "en", `\bsources?\b|where (we get|the data comes|does the data come)`),
	rule(kindRequirement, "fi", `antamisen (pakollisuus|vapaaehtoisuus|edellytys)|velvollisuus antaa|onko tietojen antaminen|tietojen antaminen`),
	rule(kindRequirement, "sv", `skyldighet att lämna|krav på att lämna|måste du lämna`),
	rule(kindRequirement, "en", `requirement to provide|obliged to provide|obligation to provide|must you provide|statutory or contractual requirement`),
	rule(kindRecipients, "fi", `luovut|vastaanottaj|käsittelijä|alihankkija`),
	rule(kindRecipients, "sv", `utlämna|mottagare|lämnas ut|biträde`),
	rule(kindRecipients, "en", `recipient|disclos|who we share|sharing|processors?\b|sub-?processors?`),
	rule(kindRetention, "fi", `säilytys|säilyttäminen|säilytetään|kuinka kauan|säilyttämisen`),
	rule(kindRetention, "sv", `lagring|bevarande|hur länge|förvaring|bevaringstid|sparas`),
	rule(kindRetention, "en", `retention|how long|storage period|retain`),
	rule(kindSecurity, "fi", `suoja(uk|am|us)|tietoturva`),
	rule(kindSecurity, "sv", `skydd(et)?\b|säkerhet`),
	rule(kindSecurity, "en", `security|protect|safeguard`),
	rule(kindLegalBasis, "fi", `oikeusperust|käsittelyn peruste|käsittelyperust|oikeudellinen peruste`),
	rule(kindLegalBasis, "sv", `rättslig grund|laglig grund|grund för behandling`),
	rule(kindLegalBasis, "en", `legal basis|lawful basis|legal ground|grounds for processing`),
	rule(kindPurposes, "fi", `tarkoitus|käyttötarko`),
	rule(kindPurposes, "sv", `ändamål|syfte|användningsändamål`),
	rule(kindPurposes, "en", `purpose|why we (process|collect|use)|how we use`),
}

var (
	// headingNumber is a heading's leading number: "4.", "4)", "4.2", "§ 4", "IV.".
	headingNumber = regexp.MustCompile(`^(?:§\s*)?(\d{1,2}(?:\.\d{1,2})*)[.)]?\s+|^([IVX]{1,4})[.)]\s+`)
	// rightsWord is in every heading of one right: "Oikeus …",
	// "Tarkastusoikeus", "Suoramarkkinointikielto", "Rätt till …".
	rightsWord = regexp.MustCompile(`oikeu|\brätt|right|kielto|valitu|valitta|kantelu|klagomål|complain|invändning|vastust|objection|valvontaviranomai|tillsynsmyndighet|supervisory`)
	// headingTrail is punctuation after a heading.
	headingTrail = regexp.MustCompile(`[\s:.;–—-]+$`)
)

// splitNumber returns a heading's number ("4", "" when none) and text.
func splitNumber(h string) (num, text string) {
	h = strings.TrimSpace(h)
	if m := headingNumber.FindStringSubmatch(h); m != nil {
		num = m[1]
		if num == "" {
			num = m[2]
		}
		return num, strings.TrimSpace(h[len(m[0]):])
	}
	return "", h
}

// classify returns the kind of a heading text (with or without its
// number), the right it names (for kindRight) and the language whose
// rule matched. A text of more than 12 words is never a heading.
func classify(h string) (k kind, right, lang string) {
	_, text := splitNumber(h)
	text = strings.ToLower(headingTrail.ReplaceAllString(text, ""))
	text = strings.Join(strings.Fields(text), " ")
	if text == "" || len(strings.Fields(text)) > 12 {
		return kindUnknown, "", ""
	}
	for _, r := range headingRules {
		if r.kind == kindRight && !rightsWord.MatchString(text) {
			continue
		}
		if r.re.MatchString(text) {
			return r.kind, r.right, r.lang
		}
	}
	return kindUnknown, "", ""
}

// numberValue returns the first component of a heading number as an
// int ("4.2" → 4, "IV" → 4), or 0.
func numberValue(num string) int {
	first, _, _ := strings.Cut(num, ".")
	if n, err := strconv.Atoi(first); err == nil {
		return n
	}
	roman := map[string]int{"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10,
		"XI": 11, "XII": 12, "XIII": 13, "XIV": 14, "XV": 15}
	return roman[first]
}
