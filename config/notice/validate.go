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
	"unicode/utf8"

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
		v.Text(f+".purpose", p.Purpose, langs, noticeShort)
		if len(p.LegalBasis) == 0 {
			v.Add(f+".legalBasis", "required: one or more of %s", strings.Join(LegalBases, ", "))
		}
		v.legalBases(f+".legalBasis", p.LegalBasis)
		v.OptText(f+".legitimateInterest", p.LegitimateInterest, langs, noticeLong)
		v.OptText(f+".details", p.Details, langs, noticeLong)
	}
	v.OptText("notice.legalBasisNote", n.LegalBasisNote, langs, noticeLong)
	for i, g := range n.DataCategories {
		f := fmt.Sprintf("notice.dataCategories[%d]", i)
		v.OptText(f+".role", g.Role, langs, noticeShort)
		if len(g.Items) == 0 {
			v.Add(f+".items", "required: at least one kind of data, e.g. name and e-mail address")
		}
		for j, item := range g.Items {
			v.Text(fmt.Sprintf("%s.items[%d]", f, j), item, langs, noticeShort)
		}
	}
	for i, src := range n.Sources {
		v.Text(fmt.Sprintf("notice.sources[%d]", i), src, langs, noticeShort)
	}
	v.OptText("notice.requirement", n.Requirement, langs, noticeLong)
	v.recipients(&n.Recipients, langs)
	if n.Transfers != nil {
		v.transfers(n.Transfers, langs)
	}
	for i, r := range n.Retention {
		f := fmt.Sprintf("notice.retention[%d]", i)
		v.Text(f+".data", r.Data, langs, noticeShort)
		v.Text(f+".period", r.Period, langs, noticeShort)
	}
	v.OptText("notice.security", n.Security, langs, noticeLong)
	keys := make([]string, 0, len(n.Rights))
	for k := range n.Rights {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := "notice.rights." + k
		if !slices.Contains(Rights, k) {
			v.Add(f, "unknown right %q: expected one of %s", k, strings.Join(Rights, ", "))
			continue
		}
		v.OptText(f+".text", n.Rights[k].Text, langs, noticeLong)
	}
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

// party checks a controller or processor.
func (v *validator) party(field string, p Party, langs []string) {
	v.Plain(field+".name", p.Name, 200, true)
	v.businessID(field+".businessId", p.BusinessID)
	v.address(field+".address", p.Address)
	v.phone(field+".phone", p.Phone)
	v.email(field+".email", p.Email)
	v.webURL(field+".url", p.URL)
	v.OptText(field+".role", p.Role, langs, noticeShort)
}

// contact checks a contact person or data protection officer.
func (v *validator) contact(field string, c Contact, langs []string) {
	if c.Name == "" && c.Email == "" && c.Phone == "" {
		v.Add(field, "expected at least a name, e-mail or phone")
	}
	v.Plain(field+".name", c.Name, 200, false)
	v.OptText(field+".role", c.Role, langs, noticeShort)
	v.address(field+".address", c.Address)
	v.phone(field+".phone", c.Phone)
	v.email(field+".email", c.Email)
}

// businessID checks an optional organisation ID; one in the shape of a
// Finnish Y-tunnus must have the right check digit.
func (v *validator) businessID(field, id string) {
	if id == "" {
		return
	}
	v.Plain(field, id, 40, false)
	if !yTunnusPattern.MatchString(id) {
		return
	}
	check, ok := yTunnusCheckDigit(id[:7])
	switch {
	case !ok:
		v.Add(field, "%q is not a valid Y-tunnus: no check digit fits %s", id, id[:7])
	case id[8] != check:
		v.Add(field, "%q has a wrong check digit: expected %s-%c", id, id[:7], check)
	}
}

// address checks an optional postal address (lines separated by
// newlines).
func (v *validator) address(field, a string) {
	v.Plain(field, a, 500, false)
}

// phone checks an optional phone number: digits, spaces, +, -, (, ) and
// /, with at least 5 digits.
func (v *validator) phone(field, p string) {
	if p == "" {
		return
	}
	digits := 0
	for _, r := range p {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	switch {
	case utf8.RuneCountInString(p) > 40:
		v.Add(field, "is too long: expected at most 40 characters")
	case !phoneChars.MatchString(p) || digits < 5:
		v.Add(field, "%q is not a phone number: expected digits with optional +, spaces, -, (, ) or /, e.g. +358 29 566 6700", p)
	}
}

// email checks an optional e-mail address.
func (v *validator) email(field, e string) {
	if e != "" && !isEmail(e) {
		v.Add(field, "%q is not an e-mail address: expected the bare address, e.g. tietosuoja@example.fi", e)
	}
}

// webURL checks an optional web address.
func (v *validator) webURL(field, u string) {
	if u == "" {
		return
	}
	if utf8.RuneCountInString(u) > 2000 {
		v.Add(field, "is too long: expected at most 2000 characters")
		return
	}
	if !isWebURL(u) {
		v.Add(field, "%q is not a web address: expected https://...", u)
	}
}

// recipients checks the recipients list or table.
func (v *validator) recipients(r *Recipients, langs []string) {
	switch r.Layout {
	case "", "list", "table":
	default:
		v.Add("notice.recipients.layout", "%q is not a layout: expected list or table", r.Layout)
	}
	v.OptText("notice.recipients.intro", r.Intro, langs, noticeLong)
	if r.None && len(r.Items) > 0 {
		v.Add("notice.recipients.none", "true together with items: remove either none (data is not disclosed) or the items")
	}
	for i, it := range r.Items {
		f := fmt.Sprintf("notice.recipients.items[%d]", i)
		v.Plain(f+".name", it.Name, 200, true)
		switch it.Kind {
		case "", RecipientProcessor, RecipientRecipient, RecipientControl:
		default:
			v.Add(f+".kind", "%q is not a recipient kind: expected %s, %s or %s", it.Kind, RecipientProcessor, RecipientRecipient, RecipientControl)
		}
		v.OptText(f+".purpose", it.Purpose, langs, noticeShort)
		v.OptText(f+".data", it.Data, langs, noticeShort)
		v.legalBases(f+".legalBasis", it.LegalBasis)
		if it.Country != "" {
			v.country(f+".country", it.Country)
		}
		v.webURL(f+".url", it.URL)
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
	v.enumList(f+".safeguards", "safeguard", t.Safeguards, Safeguards)
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
	for i := range n.Recipients.Items {
		it := &n.Recipients.Items[i]
		it.Name, it.Kind, it.URL = trim(it.Name), trim(it.Kind), trim(it.URL)
		it.Country = strings.ToUpper(trim(it.Country))
		for j, b := range it.LegalBasis {
			it.LegalBasis[j] = trim(b)
		}
	}
	if t := n.Transfers; t != nil {
		for i, c := range t.Countries {
			t.Countries[i] = strings.ToUpper(trim(c))
		}
		for i, sg := range t.Safeguards {
			t.Safeguards[i] = trim(sg)
		}
	}
	if a := n.ComplaintAuthority; a != nil {
		a.Address, a.Phone, a.Email, a.URL = trim(a.Address), trim(a.Phone), trim(a.Email), trim(a.URL)
	}
}
