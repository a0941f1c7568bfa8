package noticeimport

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/consentd/consentd/config/i18n"
	"github.com/consentd/consentd/config/notice"
)

// The sections that hold lists or tables: parties and contacts,
// purposes, data groups, sources, recipients, transfers, retention.

// maxShort is the longest short text the notice takes (a list item, a
// table cell, a name of a role).
const maxShort = 500

// parties places a controller or contact section.
func (p *placer) parties(s section, blocks []block) {
	entries, rest := readEntriesMerged(blocks, s.Kind == kindContact)
	dpoHeading := dpoWord.MatchString(s.Heading) && !regexp.MustCompile(`(?i)yhteyshenkilö|kontaktperson|contact person`).MatchString(s.Heading)
	for _, e := range entries {
		p.notes = append(p.notes, e.Notes...)
		if s.Kind == kindContact || e.Contact {
			c := notice.Contact{Name: e.Name, Address: e.Address, Phone: e.Phone, Email: e.Email,
				Role: tx(p.lang, strings.Join(e.Role, " ")), DPO: e.DPO || dpoHeading}
			if c.Name == "" && len(c.Role) == 0 && c.Email == "" && c.Phone == "" && c.Address == "" {
				continue
			}
			if e.URL != "" {
				c.Role = p.appendText(c.Role, e.URL)
			}
			p.n.Contacts = append(p.n.Contacts, c)
			p.put(heading(s), fmt.Sprintf("notice.contacts[%d]", len(p.n.Contacts)-1), e.fields())
			continue
		}
		party := notice.Party{Name: e.Name, BusinessID: e.BusinessID, Address: e.Address, Phone: e.Phone,
			Email: e.Email, URL: e.URL, Role: tx(p.lang, strings.Join(e.Role, " "))}
		if e.RegLabel != "" {
			party.BusinessIDLabel = tx(p.lang, e.RegLabel)
		}
		if party.Name == "" && len(party.Role) == 0 {
			rest = append(rest, block{Kind: blockPara, Text: e.text()})
			continue
		}
		if notice.IsYTunnus(party.BusinessID) {
			p.country = "FI"
		}
		p.n.Controllers = append(p.n.Controllers, party)
		p.put(heading(s), fmt.Sprintf("notice.controllers[%d]", len(p.n.Controllers)-1), e.fields())
	}
	p.overflow(s, rest, sectionIDs[s.Kind])
}

// readEntriesMerged reads entries paragraph by paragraph: a paragraph
// that names no one adds its details to the entry before it.
func readEntriesMerged(blocks []block, contactSection bool) (entries []*entry, rest []block) {
	for _, b := range blocks {
		if b.Kind == blockPara && isSentence(b.Text) {
			rest = append(rest, b) // "This notice covers …": text, not a party
			continue
		}
		es, r := readEntries([]block{b}, contactSection)
		rest = append(rest, r...)
		for i, e := range es {
			if i == 0 && len(entries) > 0 && e.Name == "" && !e.Contact {
				entries[len(entries)-1].merge(e)
				continue
			}
			entries = append(entries, e)
		}
	}
	return entries, rest
}

// isSentence reports whether a paragraph is prose without contact
// details: eight words or more, and no e-mail address or number.
func isSentence(s string) bool {
	return len(strings.Fields(s)) >= 8 && !strings.ContainsAny(s, "@0123456789") && !strings.Contains(s, "\n")
}

// merge fills e's empty fields from o and adds o's role lines.
func (e *entry) merge(o *entry) {
	for _, f := range []struct{ dst, src *string }{{&e.BusinessID, &o.BusinessID}, {&e.Address, &o.Address},
		{&e.Phone, &o.Phone}, {&e.Email, &o.Email}, {&e.URL, &o.URL}, {&e.RegLabel, &o.RegLabel}} {
		if *f.dst == "" {
			*f.dst = *f.src
		} else if *f.src != "" && *f.src != *f.dst {
			e.Role = append(e.Role, *f.src)
		}
	}
	e.Role = append(e.Role, o.Role...)
	e.Notes = append(e.Notes, o.Notes...)
}

// fields lists the fields an entry has, for the summary.
func (e *entry) fields() string {
	var f []string
	for _, x := range []struct{ name, v string }{{"name", e.Name}, {"businessId", e.BusinessID}, {"address", e.Address},
		{"phone", e.Phone}, {"email", e.Email}, {"url", e.URL}, {"role", strings.Join(e.Role, " ")}} {
		if x.v != "" {
			f = append(f, x.name)
		}
	}
	if e.DPO {
		f = append(f, "dpo")
	}
	return strings.Join(f, ", ")
}

// text is everything an entry holds, as lines.
func (e *entry) text() string {
	var lines []string
	for _, v := range []string{e.Name, e.BusinessID, e.Address, e.Phone, e.Email, e.URL, strings.Join(e.Role, "\n")} {
		if v != "" {
			lines = append(lines, v)
		}
	}
	return strings.Join(lines, "\n")
}

// leadIn reports whether a paragraph only leads into the list after it
// ("Tietoja käsitellään seuraaviin tarkoituksiin:").
func leadIn(blocks []block, i int) bool {
	b := blocks[i]
	return b.Kind == blockPara && strings.HasSuffix(b.Text, ":") && i+1 < len(blocks) &&
		(blocks[i+1].Kind == blockItem || blocks[i+1].Kind == blockTable)
}

// purposes places the purposes: a table (activity | purpose | data |
// legal basis | retention), list items, or paragraphs.
func (p *placer) purposes(s section, blocks []block) {
	hasList := slices.ContainsFunc(blocks, func(b block) bool { return b.Kind == blockItem || b.Kind == blockTable })
	basisHeading := basesHeading.MatchString(s.Heading)
	var rest []block
	before := len(p.n.Purposes)
	for i, b := range blocks {
		switch {
		case b.Kind == blockTable:
			if !p.purposeTable(b) {
				rest = append(rest, b)
			}
		case b.Kind == blockItem && b.Level == 0 && utf8.RuneCountInString(b.Text) <= maxShort:
			p.purposeItem(b.Text)
		case b.Kind == blockItem && b.Level > 0 && len(p.n.Purposes) > before:
			last := &p.n.Purposes[len(p.n.Purposes)-1]
			last.Details = p.appendText(last.Details, "- "+b.Text)
		case leadIn(blocks, i):
			p.notes = append(p.notes, fmt.Sprintf("%q: left out the lead-in %q", heading(s), b.Text))
		case b.Kind == blockPara && len(basesIn(b.Text)) > 0 && (basisHeading || basisSentence.MatchString(b.Text)):
			// Sentences on the basis go to the note, the others (when
			// there is no list) are the purpose.
			var basis, other []string
			for _, sent := range sentences(b.Text) {
				if len(basesIn(sent)) > 0 || basisSentence.MatchString(sent) {
					basis = append(basis, sent)
				} else {
					other = append(other, sent)
				}
			}
			if len(other) > 0 && (hasList || utf8.RuneCountInString(strings.Join(other, " ")) > maxShort) {
				basis, other = []string{b.Text}, nil
			}
			if len(other) > 0 {
				p.purposeItem(strings.Join(other, " "))
			}
			text := strings.Join(basis, " ")
			p.basisText = append(p.basisText, text)
			p.n.LegalBasisNote = p.appendText(p.n.LegalBasisNote, text)
			p.put(heading(s), "notice.legalBasisNote", strings.Join(basesIn(text), ", "))
		case b.Kind == blockPara && !hasList && utf8.RuneCountInString(oneLine(b.Text)) <= maxShort:
			p.purposeItem(oneLine(b.Text))
		default:
			rest = append(rest, b)
		}
	}
	if n := len(p.n.Purposes) - before; n > 0 {
		p.put(heading(s), "notice.purposes", plural(n, "purpose"))
	}
	p.overflow(s, rest, "purposes")
}

var (
	// basesHeading is a heading that covers legal bases too.
	basesHeading = regexp.MustCompile(`(?i)peruste|grund|basis|bases`)
	// basisSentence is a sentence about the legal basis.
	basisSentence = regexp.MustCompile(`(?i)oikeusperust|käsittelyn peruste|perustuu|rättslig grund|grundar sig|legal basis|lawful basis|is based on`)
)

// purposeItem adds one purpose; a basis given with it ("(oikeusperuste:
// sopimus)") is read and taken off the text.
func (p *placer) purposeItem(text string) {
	pu := notice.Purpose{}
	if m := basisMarker.FindStringSubmatchIndex(text); m != nil {
		if bases := basesIn(text[m[4]:m[5]]); len(bases) > 0 {
			pu.LegalBasis = bases
			text = strings.TrimSpace(text[:m[0]])
		}
	}
	pu.Purpose = tx(p.lang, strings.TrimRight(text, ";,"))
	p.n.Purposes = append(p.n.Purposes, pu)
}

// columns finds a table's columns by the words of its header row.
type columns map[string]int

// headerColumns returns the column of each known header, or nil when the
// first row is not a header the rules know.
func headerColumns(row []string, known map[string]*regexp.Regexp) columns {
	cols := columns{}
	for i, cell := range row {
		for name, re := range known {
			if _, taken := cols[name]; !taken && re.MatchString(cell) {
				cols[name] = i
				break
			}
		}
	}
	return cols
}

// cell returns a row's cell of a column, or "".
func (c columns) cell(row []string, name string) string {
	if i, ok := c[name]; ok && i < len(row) {
		return row[i]
	}
	return ""
}

var purposeColumns = map[string]*regexp.Regexp{
	"activity":  regexp.MustCompile(`(?i)toiminto|käsittelytoimi|käsittely$|verksamhet|behandling$|activity|processing activity`),
	"purpose":   regexp.MustCompile(`(?i)tarkoitus|ändamål|syfte|purpose`),
	"data":      regexp.MustCompile(`(?i)tiedot|henkilötiedot|uppgifter|data`),
	"basis":     regexp.MustCompile(`(?i)peruste|grund|basis`),
	"retention": regexp.MustCompile(`(?i)säilytys|lagring|bevar|retention|kept`),
}

// purposeTable reads a purposes table; it reports whether it could.
func (p *placer) purposeTable(b block) bool {
	cols := headerColumns(b.Rows[0], purposeColumns)
	if _, ok := cols["purpose"]; !ok || len(b.Rows) < 2 {
		return false
	}
	for _, r := range b.Rows[1:] {
		pu := notice.Purpose{Activity: tx(p.lang, oneLine(cols.cell(r, "activity"))), Purpose: tx(p.lang, oneLine(cols.cell(r, "purpose"))),
			Data: tx(p.lang, oneLine(cols.cell(r, "data"))), Retention: tx(p.lang, oneLine(cols.cell(r, "retention")))}
		if len(pu.Purpose) == 0 {
			pu.Purpose, pu.Activity = pu.Activity, nil
		}
		if len(pu.Purpose) == 0 || tooLong(pu.Activity, pu.Purpose, pu.Data, pu.Retention) {
			return false
		}
		if basis := cols.cell(r, "basis"); basis != "" {
			pu.LegalBasis = basesIn(basis)
			if len(pu.LegalBasis) == 0 {
				pu.Details = tx(p.lang, basis)
			}
		}
		p.n.Purposes = append(p.n.Purposes, pu)
	}
	return true
}

// tooLong reports whether a text is longer than a short text may be.
func tooLong(ts ...i18n.Text) bool {
	for _, t := range ts {
		for _, s := range t {
			if utf8.RuneCountInString(s) > maxShort {
				return true
			}
		}
	}
	return false
}

// legalBasis places a legal basis section: its text is kept as the
// legalBasisNote, and "purpose: basis" lines are read for the purposes.
func (p *placer) legalBasis(s section, blocks []block) {
	for _, b := range blocks {
		if b.Kind == blockItem {
			if name, basis, ok := splitPair(b.Text); ok && len(basesIn(basis)) > 0 {
				p.basisRows = append(p.basisRows, [2]string{name, basis})
			}
		}
		if b.Kind == blockTable {
			for _, r := range b.Rows {
				if len(r) >= 2 && len(basesIn(r[1])) > 0 {
					p.basisRows = append(p.basisRows, [2]string{r[0], r[1]})
				}
			}
		}
		p.basisText = append(p.basisText, blockText(b))
	}
	text := longText(blocks)
	p.n.LegalBasisNote = p.appendText(p.n.LegalBasisNote, text)
	p.put(heading(s), "notice.legalBasisNote", strings.Join(basesIn(text), ", "))
}

// applyBases gives the purposes without a basis the basis the notice
// states: the basis a "purpose: basis" line names for it, or the one
// basis the notice names for all.
func (p *placer) applyBases() {
	all := basesIn(strings.Join(p.basisText, "\n"))
	for i := range p.n.Purposes {
		pu := &p.n.Purposes[i]
		if len(pu.LegalBasis) > 0 {
			continue
		}
		text := strings.ToLower(pu.Purpose[p.lang] + " " + pu.Activity[p.lang])
		for _, r := range p.basisRows {
			name := strings.ToLower(strings.TrimSpace(r[0]))
			if name != "" && (strings.Contains(text, name) || strings.Contains(name, strings.ToLower(pu.Purpose[p.lang]))) {
				pu.LegalBasis = basesIn(r[1])
				break
			}
		}
		if len(pu.LegalBasis) == 0 && len(all) == 1 && len(p.basisRows) == 0 {
			pu.LegalBasis = all
		}
	}
}

// sentence ends at ". ", "! " or "? " before an upper-case letter.
var sentenceEnd = regexp.MustCompile(`([.!?])\s+(\p{Lu})`)

// sentences splits a paragraph into sentences.
func sentences(s string) []string {
	marked := sentenceEnd.ReplaceAllString(oneLine(s), "$1\x00$2")
	return strings.Split(marked, "\x00")
}

// splitPair splits "name: value", "name – value" or "name - value".
func splitPair(s string) (name, value string, ok bool) {
	for _, sep := range []string{": ", " – ", " — ", " - "} {
		if a, b, found := strings.Cut(s, sep); found && a != "" && b != "" {
			return strings.TrimSpace(a), strings.TrimSpace(b), true
		}
	}
	return "", "", false
}

// plural formats a count with its noun.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
