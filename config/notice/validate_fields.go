package notice

import (
	"fmt"
	"unicode/utf8"
)

// The checks of a notice's parties, contacts and recipients and of the
// single-value fields they share (IDs, addresses, phones, e-mail and web
// addresses); Validate (validate.go) calls them.

// party checks a controller or processor.
func (v *validator) party(field string, p Party, langs []string) {
	if p.Name == "" && len(p.Role) == 0 {
		v.Add(field+".name", "required: the name, or a role text saying who the party is (e.g. \"usually your school\")")
	}
	v.Plain(field+".name", p.Name, 200, false)
	v.businessID(field+".businessId", p.BusinessID)
	v.OptText(field+".businessIdLabel", p.BusinessIDLabel, langs, noticeShort)
	v.address(field+".address", p.Address)
	v.phone(field+".phone", p.Phone)
	v.email(field+".email", p.Email)
	v.webURL(field+".url", p.URL)
	v.OptText(field+".role", p.Role, langs, noticeShort)
}

// contact checks a contact person or data protection officer.
func (v *validator) contact(field string, c Contact, langs []string) {
	if c.Name == "" && c.Email == "" && c.Phone == "" && c.Address == "" && len(c.Role) == 0 {
		v.Add(field, "expected at least a name, role, e-mail, phone or address")
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
	if r.None && len(r.Groups) > 0 {
		v.Add("notice.recipients.none", "true together with groups: remove either none (data is not disclosed) or the groups")
	}
	v.recipientItems("notice.recipients.items", r.Items, langs)
	for i, g := range r.Groups {
		f := fmt.Sprintf("notice.recipients.groups[%d]", i)
		v.Text(f+".title", g.Title, langs, noticeShort)
		v.OptText(f+".intro", g.Intro, langs, noticeLong)
		v.recipientItems(f+".items", g.Items, langs)
	}
}

// recipientItems checks a list of recipients; field is the list's path.
func (v *validator) recipientItems(field string, items []Recipient, langs []string) {
	for i, it := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
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
		v.address(f+".address", it.Address)
		v.webURL(f+".url", it.URL)
	}
}
