package noticeimport

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/consentd/consentd/config/i18n"
	"github.com/consentd/consentd/config/notice"
)

// Placement says where the importer put the text under one heading.
type Placement struct {
	// From is the source heading ("4. Henkilötietojen käsittelyn
	// tarkoitus"), or "(before the first heading)".
	From string
	// To is the field of the draft ("notice.purposes", "notice.sections[0]").
	To string
	// What says what was placed ("3 purposes", "name, businessId, e-mail").
	What string
}

// String formats the placement for the summary.
func (p Placement) String() string {
	if p.What == "" {
		return fmt.Sprintf("%q → %s", p.From, p.To)
	}
	return fmt.Sprintf("%q → %s (%s)", p.From, p.To, p.What)
}

// placer builds the notice from the sections, one field at a time.
type placer struct {
	lang string
	n    notice.Notice
	// Placed and Unplaced are for the summary; Unplaced are the extra
	// sections made of text no field fits.
	placed, unplaced []Placement
	notes            []string
	// basisText collects what the notice says of legal bases, to apply
	// once the purposes are read.
	basisText []string
	basisRows [][2]string
	numbered  bool
	country   string
}

// sectionIDs map kinds to the notice's section ids (for sections[].after).
var sectionIDs = map[kind]string{
	kindController: "controller", kindContact: "contact", kindControllerContact: "contact", kindRegister: "register",
	kindPurposes: "purposes", kindLegalBasis: "purposes", kindData: "data", kindSources: "sources",
	kindRequirement: "requirement", kindRecipients: "recipients", kindRecipientsTransfers: "transfers",
	kindTransfers: "transfers", kindCookies: "cookies", kindRetention: "retention", kindSecurity: "security",
	kindRights: "rights", kindRight: "rights", kindComplaint: "complaint", kindAutomated: "automated", kindDates: "about",
}

// tx is a text in the draft's one language.
func tx(lang, s string) i18n.Text {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return i18n.Text{lang: s}
}

// place puts every section into the notice.
func (p *placer) place(secs []section) {
	after := ""
	for _, s := range secs {
		if s.Num != "" {
			p.numbered = true
		}
		if id, ok := sectionIDs[s.Kind]; ok {
			after = id
		}
		p.section(s, after)
	}
	p.applyBases()
}

// heading returns a section's heading for the summary.
func heading(s section) string {
	if s.Heading == "" {
		return "(before the first heading)"
	}
	return s.Heading
}

// section places one section; after is the id of the last standard
// section seen, where text that fits no field goes.
func (p *placer) section(s section, after string) {
	from := heading(s)
	blocks := p.dates(s)
	switch s.Kind {
	case kindTitle:
		_, title := splitNumber(s.Heading)
		if len(p.n.Title) == 0 && !isDefaultTitle(title) {
			p.n.Title = tx(p.lang, title)
			p.put(from, "notice.title", "")
		} else if len(p.n.Title) > 0 || len(p.n.Intro) > 0 {
			blocks = append([]block{{Kind: blockPara, Text: title}}, blocks...)
		} else {
			p.put(from, "notice.title", "the built-in title says the same")
		}
		p.intro(from, blocks)
	case kindIntro:
		p.intro(from, blocks)
	case kindDates:
		p.overflow(s, blocks, "about")
	case kindController, kindContact, kindControllerContact:
		p.parties(s, blocks)
	case kindRegister:
		if len(blocks) > 0 && blocks[0].Kind != blockTable && utf8.RuneCountInString(oneLine(blocks[0].Text)) <= 500 && len(p.n.RegisterName) == 0 {
			p.n.RegisterName = tx(p.lang, oneLine(blocks[0].Text))
			p.put(from, "notice.registerName", "")
			blocks = blocks[1:]
		}
		p.overflow(s, blocks, "register")
	case kindPurposes:
		p.purposes(s, blocks)
	case kindLegalBasis:
		p.legalBasis(s, blocks)
	case kindData:
		p.data(s, blocks)
	case kindSources:
		p.sources(s, blocks)
	case kindRequirement:
		p.n.Requirement = p.appendText(p.n.Requirement, longText(blocks))
		p.put(from, "notice.requirement", "")
	case kindRecipients:
		p.recipients(s, blocks)
	case kindRecipientsTransfers:
		var rec, tr []block
		for _, b := range blocks {
			_, isTransfer := transfersFrom(blockText(b), p.lang)
			if isTransfer && b.Kind != blockTable {
				tr = append(tr, b)
			}
			if !isTransfer || disclosureWord.MatchString(blockText(b)) {
				rec = append(rec, b) // a sentence on both goes to both
			}
		}
		p.recipients(s, rec)
		p.transfers(s, tr)
	case kindTransfers:
		p.transfers(s, blocks)
	case kindCookies:
		p.extra(s, blocks, "cookies")
	case kindRetention:
		p.retention(s, blocks)
	case kindSecurity:
		p.n.Security = p.appendText(p.n.Security, longText(blocks))
		p.put(from, "notice.security", "")
	case kindRights:
		p.n.RightsNote = p.appendText(p.n.RightsNote, longText(blocks))
		p.put(from, "notice.rightsNote", "")
	case kindRight, kindComplaint:
		key := s.Right
		if s.Kind == kindComplaint {
			key = notice.RightComplaint
		}
		p.right(s, key, blocks)
	case kindAutomated:
		text := longText(blocks)
		if text == "" {
			p.overflow(s, blocks, "automated")
			return
		}
		used := !notUsed.MatchString(text)
		p.n.AutomatedDecisions = &notice.AutomatedDecisions{Used: &used, Description: tx(p.lang, text)}
		p.put(from, "notice.automatedDecisions", fmt.Sprintf("used: %v, with the text", used))
	default:
		if _, t := splitNumber(s.Heading); rightTitle.MatchString(t) && len(blocks) > 0 {
			p.n.CustomRights = append(p.n.CustomRights, notice.CustomRight{Title: tx(p.lang, t), Text: tx(p.lang, longText(blocks))})
			p.put(from, fmt.Sprintf("notice.customRights[%d]", len(p.n.CustomRights)-1), "")
			return
		}
		p.extra(s, blocks, after)
	}
}

var (
	// notUsed says that automated decisions are not made.
	notUsed = regexp.MustCompile(`(?i)\bei\b|\beikä\b|\bemme\b|\bemmekä\b|\binga\b|\bdo not\b|\binte\b|\bnot\b|\bno\b|\bnever\b|\bgörs inga\b`)
	// disclosureWord is in a sentence about disclosing data.
	disclosureWord = regexp.MustCompile(`(?i)luovut|lämna(s)? ut|utlämn|disclos`)
	// rightTitle is a heading naming a right of the notice's own.
	rightTitle = regexp.MustCompile(`(?i)^(oikeus|rätt(en)? (att|till)|right (to|of))\b`)
	// notApplying says that a right does not apply to this processing.
	notApplying = regexp.MustCompile(`(?i)ei sovelleta|ei koske|ei ole oikeutta|gäller inte|tillämpas inte|does not apply|do not apply|not applicable`)
)

// isDefaultTitle reports whether a title only says "privacy notice".
func isDefaultTitle(t string) bool {
	switch strings.ToLower(headingTrail.ReplaceAllString(t, "")) {
	case "tietosuojaseloste", "dataskyddsbeskrivning", "privacy notice":
		return true
	}
	return false
}

// put records a placement.
func (p *placer) put(from, to, what string) {
	p.placed = append(p.placed, Placement{From: from, To: to, What: what})
}

// appendText adds a paragraph to a long text.
func (p *placer) appendText(t i18n.Text, s string) i18n.Text {
	if s == "" {
		return t
	}
	if old := t[p.lang]; old != "" {
		s = old + "\n\n" + s
	}
	return tx(p.lang, s)
}

// intro places the text before the first section.
func (p *placer) intro(from string, blocks []block) {
	if text := longText(blocks); text != "" {
		p.n.Intro = p.appendText(p.n.Intro, text)
		p.put(from, "notice.intro", "")
	}
}

// overflow keeps blocks of a known section that no field took: an extra
// section under the section's own heading, shown after it.
func (p *placer) overflow(s section, blocks []block, after string) {
	if len(blocks) == 0 {
		return
	}
	p.extra(s, blocks, after)
}

// extra adds an extra section with the original heading (without its
// number: the page numbers its sections itself).
func (p *placer) extra(s section, blocks []block, after string) {
	body := longText(blocks)
	if body == "" {
		return
	}
	_, title := splitNumber(s.Heading)
	if title == "" {
		title = "?"
	}
	p.n.Sections = append(p.n.Sections, notice.Section{Title: tx(p.lang, title), Body: tx(p.lang, body), After: after})
	pl := Placement{From: heading(s), To: fmt.Sprintf("notice.sections[%d]", len(p.n.Sections)-1), What: "after " + after}
	if after == "" {
		pl.What = ""
	}
	if s.Kind == kindCookies {
		pl.What = "after the cookie tables: describe the cookies in categories[]"
		p.placed = append(p.placed, pl)
		return
	}
	p.unplaced = append(p.unplaced, pl)
}

// dates takes the date lines of a section ("Päivitetty 1.2.2024",
// "Voimassa 1.3.2024 alkaen") into created, updated and validFrom, and
// returns the other blocks.
func (p *placer) dates(s section) []block {
	var out []block
	blocks := s.Blocks
	if s.Kind == kindDates && dateIn(s.Heading) != "" && (len(blocks) == 0 || !strings.HasPrefix(blocks[0].Text, s.Heading)) {
		blocks = append([]block{{Kind: blockPara, Text: s.Heading}}, blocks...)
	}
	for _, b := range blocks {
		if b.Kind != blockPara || utf8.RuneCountInString(b.Text) > 120 {
			out = append(out, b)
			continue
		}
		var keep []string
		for _, line := range strings.Split(b.Text, "\n") {
			if !p.dateLine(s, line) {
				keep = append(keep, line)
			}
		}
		if len(keep) > 0 {
			b.Text = strings.Join(keep, "\n")
			out = append(out, b)
		}
	}
	return out
}

// dateLine reads one line that dates the notice; it reports whether it did.
func (p *placer) dateLine(s section, line string) bool {
	d := dateIn(line)
	if d == "" {
		return false
	}
	if utf8.RuneCountInString(line) > 80 {
		p.dateMentions(s, line)
		return false
	}
	label := line
	if s.Kind == kindDates && !dateCreated.MatchString(line) && !dateUpdated.MatchString(line) && !dateValid.MatchString(line) {
		label = s.Heading + " " + line
	}
	var field *string
	var name string
	switch {
	case dateValid.MatchString(label):
		field, name = &p.n.ValidFrom, "validFrom"
	case dateCreated.MatchString(label):
		field, name = &p.n.Created, "created"
	case dateUpdated.MatchString(label):
		field, name = &p.n.Updated, "updated"
	default:
		return false
	}
	if *field != "" {
		return false
	}
	*field = d
	p.put(oneLine(line), "notice."+name, d)
	return true
}

// dateMention is a date after the word that says what it dates.
var dateMention = regexp.MustCompile(`(?i)(laadittu|päivitetty|voimassa|upprättad|uppdaterad|gäller från|created|updated|effective|valid from)[^0-9]{0,20}(\d{1,2}\.\s?\d{1,2}\.\s?\d{4}|\d{4}-\d{2}-\d{2}|\d{1,2}\s+\p{L}+\s+\d{4})`)

// dateMentions reads the dates a sentence names ("Laadittu 1.2.2019,
// päivitetty 10.3.2024.") and leaves the sentence where it is.
func (p *placer) dateMentions(s section, line string) {
	for _, m := range dateMention.FindAllStringSubmatch(line, -1) {
		p.dateLine(s, m[0])
	}
}

// right places the text of one right.
func (p *placer) right(s section, key string, blocks []block) {
	text := longText(blocks)
	if text == "" {
		p.put(heading(s), "notice.rights."+key, "the heading only: the built-in text is shown")
		if p.n.Rights == nil {
			p.n.Rights = map[string]notice.Right{}
		}
		if _, ok := p.n.Rights[key]; !ok && key == notice.RightDirectMarketing {
			p.n.Rights[key] = notice.Right{}
		}
		return
	}
	if p.n.Rights == nil {
		p.n.Rights = map[string]notice.Right{}
	}
	r := p.n.Rights[key]
	r.Text = p.appendText(r.Text, text)
	if key != notice.RightComplaint && notApplying.MatchString(text) {
		f := false
		r.Applies = &f
	}
	p.n.Rights[key] = r
	if key == notice.RightComplaint {
		if c := complaintCountry(text); c != "" {
			p.country = c
		}
	}
	p.put(heading(s), "notice.rights."+key+".text", "")
}

// longText writes blocks as a long text: paragraphs separated by blank
// lines, list items and table rows as "- " lines.
func longText(blocks []block) string {
	var parts []string
	var list []string
	flush := func() {
		if len(list) > 0 {
			parts = append(parts, strings.Join(list, "\n"))
			list = nil
		}
	}
	for _, b := range blocks {
		switch b.Kind {
		case blockItem:
			list = append(list, "- "+oneLine(b.Text))
		case blockTable:
			for _, r := range b.Rows {
				cells := make([]string, 0, len(r))
				for _, c := range r {
					if c != "" {
						cells = append(cells, oneLine(c))
					}
				}
				list = append(list, "- "+strings.Join(cells, " – "))
			}
		default:
			flush()
			parts = append(parts, b.Text)
		}
	}
	flush()
	return strings.TrimSpace(strings.Join(parts, "\n\n"))
}

// blockText is a block's text, a table's cells joined.
func blockText(b block) string {
	if b.Kind != blockTable {
		return b.Text
	}
	return longText([]block{b})
}
