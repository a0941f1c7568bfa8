package notice

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/consentd/consentd/config/field"
	"github.com/consentd/consentd/config/region"
)

// This file holds the hard errors of the privacy notice: fields that are
// present but malformed. What the notice lacks is not an error here; it
// is reported by Check (check.go) as warnings.

// Maximum lengths of the notice's texts, in characters per language.
const (
	// noticeShort bounds labels: titles, names of roles, the register
	// name, list items and table cells.
	noticeShort = 500
	// noticeLong bounds paragraphs: intro, purposes' details, the
	// requirement, security measures, rights texts and sections.
	noticeLong = 20000
)

var (
	// yTunnusPattern is the shape of a Finnish business ID (Y-tunnus).
	yTunnusPattern = regexp.MustCompile(`^\d{7}-\d$`)
	// phoneChars is what a phone number may contain.
	phoneChars = regexp.MustCompile(`^[0-9 +\-()/]+$`)
)

// IsYTunnus reports whether id has the shape of a Finnish business ID
// (Y-tunnus), 1234567-8. A loaded notice's Y-tunnus also has the right
// check digit.
func IsYTunnus(id string) bool { return yTunnusPattern.MatchString(id) }

// yTunnusCheckDigit returns the check digit of the seven digits of a
// Finnish business ID; ok is false when no valid ID starts with them
// (the remainder is 1).
func yTunnusCheckDigit(digits string) (check byte, ok bool) {
	weights := [7]int{7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(digits[i]-'0') * w
	}
	switch r := sum % 11; r {
	case 0:
		return '0', true
	case 1:
		return 0, false
	default:
		return byte('0' + 11 - r), true
	}
}

// isWebURL reports whether s is an absolute http or https URL with a host.
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// isEmail reports whether s is a bare e-mail address: one @, a non-empty
// local part, a domain with a dot, no spaces, at most 254 characters, and
// nothing around it (no "Name <...>").
func isEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " \t\r\n") || strings.Count(s, "@") != 1 {
		return false
	}
	local, domain, _ := strings.Cut(s, "@")
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// validator checks one notice; what it finds goes to the site file's
// Checker.
type validator struct{ *field.Checker }

// Validate adds the notice's problems to c, each naming its field
// (notice.…). langs are the site's languages: every text gives each of
// them. Only what is present is checked: an empty notice is valid, its
// gaps are Check's warnings.
func (n *Notice) Validate(c *field.Checker, langs []string) {
	v := &validator{c}
	v.OptText("notice.title", n.Title, langs, noticeShort)
	v.OptText("notice.registerName", n.RegisterName, langs, noticeShort)
	v.OptText("notice.intro", n.Intro, langs, noticeLong)
	if n.Country != "" {
		v.country("notice.country", n.Country)
	}
	v.noticeDates(n)
	for i, p := range n.Controllers {
		v.party(fmt.Sprintf("notice.controllers[%d]", i), p, langs)
	}
	for i, p := range n.Processors {
		v.party(fmt.Sprintf("notice.processors[%d]", i), p, langs)
	}
	for i, c := range n.Contacts {
		v.contact(fmt.Sprintf("notice.contacts[%d]", i), c, langs)
	}
	for i, p := range n.Purposes {
		f := fmt.Sprintf("notice.purposes[%d]", i)
		v.OptText(f+".activity", p.Activity, langs, noticeShort)
		v.Text(f+".purpose", p.Purpose, langs, noticeShort)
		v.OptText(f+".data", p.Data, langs, noticeShort)
		v.legalBases(f+".legalBasis", p.LegalBasis)
		v.OptText(f+".retention", p.Retention, langs, noticeShort)
		v.OptText(f+".legitimateInterest", p.LegitimateInterest, langs, noticeLong)
		v.OptText(f+".details", p.Details, langs, noticeLong)
	}
	v.OptText("notice.legalBasisNote", n.LegalBasisNote, langs, noticeLong)
	for i, g := range n.DataCategories {
		f := fmt.Sprintf("notice.dataCategories[%d]", i)
		v.OptText(f+".role", g.Role, langs, noticeShort)
		v.OptText(f+".intro", g.Intro, langs, noticeLong)
		if len(g.Items) == 0 && len(g.Intro) == 0 {
			v.Add(f+".items", "required: at least one kind of data, e.g. name and e-mail address (or an intro describing them)")
		}
		for j, item := range g.Items {
			v.Text(fmt.Sprintf("%s.items[%d]", f, j), item, langs, noticeShort)
		}
	}
	for i, src := range n.Sources {
		v.Text(fmt.Sprintf("notice.sources[%d]", i), src, langs, noticeShort)
	}
	v.OptText("notice.sourcesNote", n.SourcesNote, langs, noticeLong)
	v.OptText("notice.requirement", n.Requirement, langs, noticeLong)
	v.recipients(&n.Recipients, langs)
	if n.Transfers != nil {
		v.transfers(n.Transfers, langs)
	}
	for i, r := range n.Retention {
		f := fmt.Sprintf("notice.retention[%d]", i)
		v.Text(f+".data", r.Data, langs, noticeShort)
		v.OptText(f+".period", r.Period, langs, noticeShort)
	}
	v.OptText("notice.retentionNote", n.RetentionNote, langs, noticeLong)
	v.OptText("notice.security", n.Security, langs, noticeLong)
	keys := make([]string, 0, len(n.Rights))
	for k := range n.Rights {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := "notice.rights." + k
		if !slices.Contains(RightKeys, k) {
			v.Add(f, "unknown right %q: expected one of %s (or add it to notice.customRights with a title and text)", k, strings.Join(RightKeys, ", "))
			continue
		}
		v.OptText(f+".text", n.Rights[k].Text, langs, noticeLong)
	}
	for i, r := range n.CustomRights {
		f := fmt.Sprintf("notice.customRights[%d]", i)
		v.Text(f+".title", r.Title, langs, noticeShort)
		v.Text(f+".text", r.Text, langs, noticeLong)
	}
	v.OptText("notice.rightsNote", n.RightsNote, langs, noticeLong)
	if a := n.ComplaintAuthority; a != nil {
		f := "notice.complaintAuthority"
		v.Text(f+".name", a.Name, langs, noticeShort)
		v.address(f+".address", a.Address)
		v.phone(f+".phone", a.Phone)
		v.email(f+".email", a.Email)
		v.webURL(f+".url", a.URL)
	}
	if d := n.AutomatedDecisions; d != nil {
		if d.Used == nil {
			v.Add("notice.automatedDecisions.used", "required: true or false")
		}
		v.OptText("notice.automatedDecisions.description", d.Description, langs, noticeLong)
	}
	for i, sec := range n.Sections {
		f := fmt.Sprintf("notice.sections[%d]", i)
		v.Text(f+".title", sec.Title, langs, noticeShort)
		v.Text(f+".body", sec.Body, langs, noticeLong)
		if sec.After != "" && !slices.Contains(SectionIDs, sec.After) {
			v.Add(f+".after", "unknown section %q: expected one of %s", sec.After, strings.Join(SectionIDs, ", "))
		}
	}
}

// noticeDates checks created, updated and validFrom, and that the notice
// was not updated before it was created.
func (v *validator) noticeDates(n *Notice) {
	created, okC := v.date("notice.created", n.Created)
	updated, okU := v.date("notice.updated", n.Updated)
	v.date("notice.validFrom", n.ValidFrom)
	if okC && okU && updated.Before(created) {
		v.Add("notice.updated", "%s is before created (%s): expected the date of the last change, on or after the first", n.Updated, n.Created)
	}
}

// date checks an optional YYYY-MM-DD date; ok is true when it is given
// and valid.
func (v *validator) date(field, val string) (t time.Time, ok bool) {
	if val == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, val)
	if err != nil {
		v.Add(field, "%q is not a date: expected YYYY-MM-DD, e.g. 2026-01-31", val)
		return time.Time{}, false
	}
	return t, true
}

// country checks an ISO 3166-1 alpha-2 code (already upper-cased by
// applyDefaults) and reports whether it is one.
func (v *validator) country(field, c string) bool {
	if region.IsCountry(c) {
		return true
	}
	switch c {
	case "UK":
		v.Add(field, "%q is not an ISO 3166-1 alpha-2 code: the United Kingdom is GB", c)
	case "EL":
		v.Add(field, "%q is not an ISO 3166-1 alpha-2 code: Greece is GR", c)
	default:
		v.Add(field, "%q is not an ISO 3166-1 alpha-2 country code: expected two letters such as FI, SE or US", c)
	}
	return false
}

// legalBases checks a list of legal bases: each one of LegalBases, no
// duplicates.
func (v *validator) legalBases(field string, bases []string) {
	v.enumList(field, "legal basis", bases, LegalBases)
}

// enumList checks that every value of a list is one of allowed, once.
func (v *validator) enumList(field, what string, vals, allowed []string) {
	seen := map[string]bool{}
	for i, x := range vals {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !slices.Contains(allowed, x):
			v.Add(f, "unknown %s %q: expected one of %s", what, x, strings.Join(allowed, ", "))
		case seen[x]:
			v.Add(f, "duplicate %s %q", what, x)
		}
		seen[x] = true
	}
}

// transfers checks the transfers outside the EU/EEA.
func (v *validator) transfers(t *Transfers, langs []string) {
	const f = "notice.transfers"
	if t.OutsideEEA == nil {
		v.Add(f+".outsideEEA", "required: true or false")
	}
	if t.OutsideEEA != nil && !*t.OutsideEEA {
		if len(t.Countries) > 0 {
			v.Add(f+".countries", "must be empty when outsideEEA is false")
		}
		if len(t.Safeguards) > 0 {
			v.Add(f+".safeguards", "must be empty when outsideEEA is false")
		}
	}
	seen := map[string]bool{}
	for i, c := range t.Countries {
		cf := fmt.Sprintf("%s.countries[%d]", f, i)
		if !v.country(cf, c) {
			continue
		}
		switch {
		case region.InEEA(c):
			v.Add(cf, "%q is in the EU/EEA: list only countries outside it", c)
		case seen[c]:
			v.Add(cf, "duplicate country %q", c)
		}
		seen[c] = true
	}
	keys := map[string]bool{}
	for i, sg := range t.Safeguards {
		sf := fmt.Sprintf("%s.safeguards[%d]", f, i)
		switch {
		case len(sg.Text) > 0:
			v.Text(sf, sg.Text, langs, noticeShort)
		case !slices.Contains(Safeguards, sg.Key):
			v.Add(sf, "unknown safeguard %q: expected one of %s, or your own text per language ({fi: ..., en: ...})", sg.Key, strings.Join(Safeguards, ", "))
		case keys[sg.Key]:
			v.Add(sf, "duplicate safeguard %q", sg.Key)
		}
		keys[sg.Key] = true
	}
	v.OptText(f+".description", t.Description, langs, noticeLong)
}

// ApplyDefaults normalises the notice after parsing: surrounding white
// space is trimmed from single-line values and country codes are
// upper-cased, so that "fi" and " FI" are read as FI.
func (n *Notice) ApplyDefaults() {
	trim := strings.TrimSpace
	n.Country = strings.ToUpper(trim(n.Country))
	n.Created, n.Updated, n.ValidFrom = trim(n.Created), trim(n.Updated), trim(n.ValidFrom)
	for _, ps := range [][]Party{n.Controllers, n.Processors} {
		for i := range ps {
			p := &ps[i]
			p.Name, p.BusinessID, p.Address = trim(p.Name), trim(p.BusinessID), trim(p.Address)
			p.Phone, p.Email, p.URL = trim(p.Phone), trim(p.Email), trim(p.URL)
		}
	}
	for i := range n.Contacts {
		c := &n.Contacts[i]
		c.Name, c.Address, c.Phone, c.Email = trim(c.Name), trim(c.Address), trim(c.Phone), trim(c.Email)
	}
	for i := range n.Purposes {
		for j, b := range n.Purposes[i].LegalBasis {
			n.Purposes[i].LegalBasis[j] = trim(b)
		}
	}
	n.Recipients.Layout = trim(n.Recipients.Layout)
	trimRecipients(n.Recipients.Items)
	for _, g := range n.Recipients.Groups {
		trimRecipients(g.Items)
	}
	for i := range n.Sections {
		n.Sections[i].After = trim(n.Sections[i].After)
	}
	if t := n.Transfers; t != nil {
		for i, c := range t.Countries {
			t.Countries[i] = strings.ToUpper(trim(c))
		}
		for i := range t.Safeguards {
			t.Safeguards[i].Key = trim(t.Safeguards[i].Key)
		}
	}
	if a := n.ComplaintAuthority; a != nil {
		a.Address, a.Phone, a.Email, a.URL = trim(a.Address), trim(a.Phone), trim(a.Email), trim(a.URL)
	}
}

// trimRecipients trims the single-line values of recipients and
// upper-cases their country codes.
func trimRecipients(items []Recipient) {
	trim := strings.TrimSpace
	for i := range items {
		it := &items[i]
		it.Name, it.Kind, it.URL, it.Address = trim(it.Name), trim(it.Kind), trim(it.URL), trim(it.Address)
		it.Country = strings.ToUpper(trim(it.Country))
		for j, b := range it.LegalBasis {
			it.LegalBasis[j] = trim(b)
		}
	}
}
