package notice

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// This file is the completeness check of the privacy notice: one warning
// per item of GDPR Art. 13 (and the Art. 14 items that apply when data is
// not collected from the person) that the notice lacks, plus a few good
// practice hints. Malformed fields are hard errors in validate.go.

// articlePractice is Warning.Article for good-practice hints that
// no article requires.
const articlePractice = "practice"

// Warning is one gap in a privacy notice: something GDPR requires
// the notice to say (or good practice recommends) that it does not.
type Warning struct {
	// Field is the path of the field to add or fix, e.g. notice.retention.
	Field string
	// Article is the GDPR article that requires it, e.g. "13(2)(a)", or
	// "practice" for a good-practice hint.
	Article string
	// Msg says what is missing and what to add.
	Msg string
}

// String formats the warning as "field: Art. 13(2)(a): message" (or
// "field: good practice: message").
func (w Warning) String() string {
	art := "Art. " + w.Article
	if w.Article == articlePractice {
		art = "good practice"
	}
	return w.Field + ": " + art + ": " + w.Msg
}

// Check reports what the notice lacks, one warning per missing item,
// ordered by article. country is the controller's, for the built-in
// complaint authority (see Authority). It expects a valid notice (one
// that passed Validate); an empty result means the notice is complete.
func (n *Notice) Check(country string) []Warning {
	var ws []Warning
	warn := func(field, article, format string, args ...any) {
		ws = append(ws, Warning{Field: field, Article: article, Msg: fmt.Sprintf(format, args...)})
	}

	// 13(1)(a): the identity and contact details of the controller.
	if len(n.Controllers) == 0 {
		warn("notice.controllers", "13(1)(a)", "no controller: add the controller's name and contact details (e-mail, phone or postal address)")
	}
	for i, c := range n.Controllers {
		if c.Email == "" && c.Phone == "" && c.Address == "" {
			warn(fmt.Sprintf("notice.controllers[%d]", i), "13(1)(a)", "no contact details: add the controller's e-mail, phone or postal address")
		}
	}
	// 13(1)(b): contact details of the data protection officer.
	if len(n.Contacts) == 0 {
		warn("notice.contacts", "13(1)(b)", "no contact person: add notice.contacts with a contact for the register, and the data protection officer's contact details (dpo: true) where one is appointed")
	}
	for i, c := range n.Contacts {
		if c.DPO && c.Email == "" && c.Phone == "" && c.Address == "" {
			warn(fmt.Sprintf("notice.contacts[%d]", i), "13(1)(b)", "the data protection officer has no contact details: add an e-mail, phone or postal address")
		}
	}
	// 13(1)(c), (d): purposes, legal bases and legitimate interests.
	if len(n.Purposes) == 0 {
		warn("notice.purposes", "13(1)(c)", "no purposes: add notice.purposes, each with what the data is used for and its legal basis")
	}
	for i, p := range n.Purposes {
		if len(p.LegalBasis) == 0 {
			warn(fmt.Sprintf("notice.purposes[%d].legalBasis", i), "13(1)(c)", "no legal basis: add one or more of %s (the page shows none until then)", strings.Join(LegalBases, ", "))
		}
	}
	for i, p := range n.Purposes {
		if slices.Contains(p.LegalBasis, BasisLegitimateInterest) && len(p.LegitimateInterest) == 0 {
			warn(fmt.Sprintf("notice.purposes[%d].legitimateInterest", i), "13(1)(d)", "the legal basis is legitimate-interest but the interest is not described: add legitimateInterest saying whose interest it is and what it is")
		}
	}
	// 13(1)(e): recipients.
	if !n.Recipients.hasItems() && !n.Recipients.None {
		warn("notice.recipients", "13(1)(e)", "no recipients: add notice.recipients.items or groups (processors and others who receive the data), or none: true if the data is not disclosed to anyone")
	}
	// 13(1)(f): transfers to third countries.
	switch t := n.Transfers; {
	case t == nil:
		warn("notice.transfers", "13(1)(f)", "not stated whether data is transferred outside the EU/EEA: add notice.transfers with outsideEEA: true or false")
	case t.OutsideEEA != nil && *t.OutsideEEA:
		if len(t.Countries) == 0 {
			warn("notice.transfers.countries", "13(1)(f)", "data is transferred outside the EU/EEA but not where: add the countries (ISO codes such as US)")
		}
		if len(t.Safeguards) == 0 {
			warn("notice.transfers.safeguards", "13(1)(f)", "data is transferred outside the EU/EEA without naming the safeguard: add one or more of %s", strings.Join(Safeguards, ", "))
		}
	}
	// 13(2)(a): retention.
	if len(n.Retention) == 0 && len(n.RetentionNote) == 0 && !slices.ContainsFunc(n.Purposes, func(p Purpose) bool { return len(p.Retention) > 0 }) {
		warn("notice.retention", "13(2)(a)", "no retention period: add notice.retention rows (data → period, or the criteria used to set it)")
	}
	for i, r := range n.Retention {
		if len(r.Period) == 0 {
			warn(fmt.Sprintf("notice.retention[%d].period", i), "13(2)(a)", "no period: add how long the data is kept, or the criteria used to set it (the table shows none until then)")
		}
	}
	// 13(2)(b): the rights of the data subject.
	for _, r := range []string{RightAccess, RightRectification, RightErasure, RightRestriction, RightPortability, RightObjection} {
		if o, has := n.Rights[r]; has && o.Applies != nil && !*o.Applies && len(o.Text) == 0 {
			warn("notice.rights."+r+".text", "13(2)(b)", "the right is marked applies: false without saying why: add a text explaining why it does not apply (e.g. the legal basis)")
		}
	}
	// 13(2)(c): withdrawing consent.
	if _, applies := n.RightText(RightWithdrawConsent); !applies {
		for i, p := range n.Purposes {
			if slices.Contains(p.LegalBasis, BasisConsent) {
				warn("notice.rights."+RightWithdrawConsent, "13(2)(c)", "notice.purposes[%d] is based on consent, which can always be withdrawn: remove applies: false", i)
				break
			}
		}
	}
	// 13(2)(d): the right to lodge a complaint.
	if _, ok := n.Authority(country); !ok {
		warn("notice.complaintAuthority", "13(2)(d)", "no supervisory authority: add notice.complaintAuthority, or set notice.country to a country with a built-in one (%s)", strings.Join(builtinAuthorityCountries(), ", "))
	}
	if _, applies := n.RightText(RightComplaint); !applies {
		warn("notice.rights."+RightComplaint, "13(2)(d)", "the right to lodge a complaint always applies: remove applies: false")
	}
	// 13(2)(e): statutory or contractual requirement.
	if len(n.Requirement) == 0 {
		warn("notice.requirement", "13(2)(e)", "not stated whether providing the data is a statutory or contractual requirement: add notice.requirement, including what happens if the data is not provided")
	}
	// 13(2)(f): automated decision-making.
	switch d := n.AutomatedDecisions; {
	case d == nil:
		warn("notice.automatedDecisions", "13(2)(f)", "not stated whether automated decisions or profiling take place: add notice.automatedDecisions with used: true or false")
	case d.Used != nil && *d.Used && len(d.Description) == 0:
		warn("notice.automatedDecisions.description", "13(2)(f)", "automated decisions are used but not described: add the logic involved, its significance and the envisaged consequences")
	}
	// Art. 14 items, required when data is not collected from the person.
	if len(n.DataCategories) == 0 && !slices.ContainsFunc(n.Purposes, func(p Purpose) bool { return len(p.Data) > 0 }) {
		warn("notice.dataCategories", "14(1)(d)", "no categories of personal data: add notice.dataCategories (the kinds of data processed, optionally per role)")
	}
	if len(n.Sources) == 0 && len(n.SourcesNote) == 0 {
		warn("notice.sources", "14(2)(f)", "no sources: add notice.sources saying where the data comes from; required when data is not collected from the person")
	}
	// Good practice.
	if len(n.RegisterName) == 0 {
		warn("notice.registerName", articlePractice, "no register name: add the name of the processing, e.g. \"Customer register\"")
	}
	if n.Updated == "" && n.ValidFrom == "" {
		warn("notice.updated", articlePractice, "no date: add the date of the last change (updated) or from when the notice applies (validFrom), YYYY-MM-DD")
	}
	if len(n.Security) == 0 {
		warn("notice.security", articlePractice, "no security measures: add notice.security describing how the data is protected")
	}

	sort.SliceStable(ws, func(i, j int) bool { return ws[i].Article < ws[j].Article })
	return ws
}

// builtinAuthorityCountries lists the countries with a built-in complaint
// authority, sorted.
func builtinAuthorityCountries() []string {
	cs := make([]string, 0, len(defaultAuthorities))
	for c := range defaultAuthorities {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	return cs
}

// hasItems reports whether the recipients are told: listed in Items or a
// group, or described in the intro or a group's intro ("categories of
// recipients" are enough for Art. 13(1)(e)).
func (r *Recipients) hasItems() bool {
	return len(r.Items) > 0 || len(r.Intro) > 0 || len(r.Groups) > 0
}
