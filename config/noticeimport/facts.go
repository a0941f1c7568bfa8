package noticeimport

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/consentd/consentd/config/notice"
)

// Facts read from free text: legal bases, transfer statements, dates,
// the complaint authority's country. Each is read only when the text
// says it in words the rules know.

// basisWords are how notices name the legal bases of Art. 6(1).
var basisWords = []struct {
	basis string
	re    *regexp.Regexp
}{
	{notice.BasisConsent, regexp.MustCompile(`(?i)suostumu|samtycke|\bconsent\b|6\s*(art\.?|artikla)?\s*\(?1\)?\s*(kohta\s*)?\(?a\)?\b`)},
	{notice.BasisContract, regexp.MustCompile(`(?i)sopimu|\bavtal|\bcontract|asiakassuhde|kundförhållande|6\s*(art\.?|artikla)?\s*\(?1\)?\s*(kohta\s*)?\(?b\)?\b`)},
	{notice.BasisLegalObligation, regexp.MustCompile(`(?i)lakisääteinen velvoite|lakisääteis|oikeudellinen velvoite|lain velvoite|rättslig förpliktelse|legal obligation|6\s*(art\.?|artikla)?\s*\(?1\)?\s*(kohta\s*)?\(?c\)?\b`)},
	{notice.BasisVitalInterest, regexp.MustCompile(`(?i)elintärke|grundläggande intresse|vital interest`)},
	{notice.BasisPublicTask, regexp.MustCompile(`(?i)yleisen edun|julkisen vallan|allmänt intresse|myndighetsutövning|public interest|public task|official authority|6\s*(art\.?|artikla)?\s*\(?1\)?\s*(kohta\s*)?\(?e\)?\b`)},
	{notice.BasisLegitimateInterest, regexp.MustCompile(`(?i)oikeutettu(n)? etu|oikeutetun edun|berättigat intresse|berättigade intresse|legitimate interest|6\s*(art\.?|artikla)?\s*\(?1\)?\s*(kohta\s*)?\(?f\)?\b`)},
}

// basesIn returns the legal bases a text names, in the order of Art. 6(1).
func basesIn(s string) []string {
	var out []string
	for _, b := range basisWords {
		if b.re.MatchString(s) && !slices.Contains(out, b.basis) {
			out = append(out, b.basis)
		}
	}
	return out
}

// basisMarker finds a legal basis given with a purpose: "(oikeusperuste:
// sopimus)", "– peruste: suostumus", "Legal basis: contract".
var basisMarker = regexp.MustCompile(`(?i)\s*[(\[–—-]?\s*(oikeusperuste|käsittelyperuste|peruste|rättslig grund|legal basis|lawful basis|basis)\s*:\s*([^)\]]+)[)\]]?\s*$`)

// transferNo says that data is not transferred outside the EU/EEA.
var transferNo = regexp.MustCompile(`(?i)\bei\b[^.]*\b(siirr|luovut)|\b(siirr|luovut)\w*[^.]*\bei\b|\binte\b[^.]*(överför|lämna)|(överför|lämna)\w*[^.]*\binte\b|\bnot\b[^.]*\btransfer|\bno\b[^.]*\btransfers?\b|\bnever\b[^.]*\btransfer|does not transfer|do not transfer`)

// transferOutside names the EU/EEA or third countries.
var transferOutside = regexp.MustCompile(`(?i)eu|eta|ees|eea|euroop|kolmans|tredjeland|third countr`)

// countryWords are the countries outside the EU/EEA that notices name
// most, in fi, sv and en.
var countryWords = []struct {
	code string
	re   *regexp.Regexp
}{
	{"US", regexp.MustCompile(`(?i)yhdysval|\busa\b|förenta staterna|united states|\bus\b`)},
	{"GB", regexp.MustCompile(`(?i)iso-?britanni|yhdistynee(seen|ssä) kuningaskun|storbritannien|förenade kungariket|united kingdom|\buk\b`)},
	{"CH", regexp.MustCompile(`(?i)sveitsi|schweiz|switzerland`)},
	{"CA", regexp.MustCompile(`(?i)kanada|canada`)},
	{"IN", regexp.MustCompile(`(?i)intia|indien|\bindia\b`)},
	{"JP", regexp.MustCompile(`(?i)japani|japan`)},
	{"AU", regexp.MustCompile(`(?i)australia|australien`)},
	{"SG", regexp.MustCompile(`(?i)singapore`)},
}

// safeguardWords are the transfer safeguards of Art. 45–49.
var safeguardWords = []struct {
	key string
	re  *regexp.Regexp
}{
	{notice.SafeguardDPF, regexp.MustCompile(`(?i)data privacy framework|tietosuojakehy|dataskyddsramen|\bdpf\b`)},
	{notice.SafeguardAdequacy, regexp.MustCompile(`(?i)riittävä(n|stä)? tietosuoja|tietosuojan taso on riittävä|riittävyyspäätö|adekvat skyddsnivå|adekvat skydd|adequacy|adequate (level of )?protection`)},
	{notice.SafeguardSCC, regexp.MustCompile(`(?i)vakiosopimuslausek|mallisopimuslausek|mallilausek|standardsopimuslausek|sopimuslausekkei|standardavtalsklausul|standard contractual clauses|\bscc\b`)},
	{notice.SafeguardBCR, regexp.MustCompile(`(?i)sitovat yrityssäännöt|sitovi(a|en) yrityssääntö|bindande företagsbestämmelser|binding corporate rules|\bbcr\b`)},
	{notice.SafeguardDerogation, regexp.MustCompile(`(?i)49 art|artikla 49|artikel 49|article 49|art\. 49`)},
}

// transfersFrom reads a transfer statement; the controller's own words
// are always kept as the description. ok is false when the text does
// not say whether data goes outside the EU/EEA.
func transfersFrom(text, lang string) (t *notice.Transfers, ok bool) {
	if !transferOutside.MatchString(text) && !anyCountry(text) {
		return nil, false
	}
	no := transferNo.MatchString(text) && !anyCountry(text)
	out := !no
	t = &notice.Transfers{OutsideEEA: &out, Description: tx(lang, text)}
	if no {
		return t, true
	}
	for _, c := range countryWords {
		if c.re.MatchString(text) {
			t.Countries = append(t.Countries, c.code)
		}
	}
	for _, s := range safeguardWords {
		if s.re.MatchString(text) {
			t.Safeguards = append(t.Safeguards, notice.Safeguard{Key: s.key})
		}
	}
	return t, true
}

// anyCountry reports whether a text names a country outside the EU/EEA.
func anyCountry(text string) bool {
	for _, c := range countryWords {
		if c.re.MatchString(text) {
			return true
		}
	}
	return false
}

// Dates: "1.3.2019", "1.3.2019 alkaen", "2019-03-01", "1 March 2019".
var (
	dateDMY   = regexp.MustCompile(`\b(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})\b`)
	dateISO   = regexp.MustCompile(`\b(\d{4})-(\d{2})-(\d{2})\b`)
	dateWords = regexp.MustCompile(`(?i)\b(\d{1,2})(?:st|nd|rd|th)?\s+(january|february|march|april|may|june|july|august|september|october|november|december|januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december)\s+(\d{4})\b`)
	months    = map[string]int{"january": 1, "februari": 2, "february": 2, "march": 3, "mars": 3, "april": 4, "may": 5, "maj": 5,
		"june": 6, "juni": 6, "july": 7, "juli": 7, "august": 8, "augusti": 8, "september": 9, "october": 10, "oktober": 10,
		"november": 11, "december": 12, "januari": 1}
	// dateCreated, dateUpdated and dateValid are the words before a date.
	dateCreated = regexp.MustCompile(`(?i)laadittu|laatimispäivä|luotu|upprättad|skapad|created|drawn up|first published`)
	dateUpdated = regexp.MustCompile(`(?i)päivitetty|päivitys|muutettu|päiväys|uppdaterad|ändrad|datum|updated|modified|revised|^date`)
	dateValid   = regexp.MustCompile(`(?i)voimassa|alkaen|gäller från|i kraft|valid from|effective|in force`)
)

// dateIn returns the first date of a text as YYYY-MM-DD, or "".
func dateIn(s string) string {
	if m := dateISO.FindStringSubmatch(s); m != nil {
		return m[0]
	}
	if m := dateDMY.FindStringSubmatch(s); m != nil {
		return isoDate(m[3], m[2], m[1])
	}
	if m := dateWords.FindStringSubmatch(s); m != nil {
		return isoDate(m[3], fmt.Sprint(months[strings.ToLower(m[2])]), m[1])
	}
	return ""
}

// isoDate formats a date; "" when the month or day is out of range.
func isoDate(y, m, d string) string {
	var mi, di int
	fmt.Sscan(m, &mi)
	fmt.Sscan(d, &di)
	if mi < 1 || mi > 12 || di < 1 || di > 31 {
		return ""
	}
	return fmt.Sprintf("%s-%02d-%02d", y, mi, di)
}

// complaintCountry returns the country of the supervisory authority a
// text names (FI: the Data Protection Ombudsman, SE: IMY), or "".
func complaintCountry(s string) string {
	l := strings.ToLower(s)
	switch {
	case strings.Contains(l, "tietosuojavaltuutet") || strings.Contains(l, "dataombudsman") || strings.Contains(l, "data protection ombudsman") || strings.Contains(l, "tietosuoja.fi"):
		return "FI"
	case strings.Contains(l, "integritetsskyddsmyndighet") || strings.Contains(l, "imy.se") || strings.Contains(l, "swedish authority for privacy protection"):
		return "SE"
	}
	return ""
}
