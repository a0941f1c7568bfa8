package noticeimport

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/consentd/consentd/config/i18n"
	"github.com/consentd/consentd/config/notice"
)

// data places the data content: groups per role (a sub-heading or a
// short "Oppilaat:" line before a list), their items, and paragraphs as
// a group's intro.
func (p *placer) data(s section, blocks []block) {
	var groups []notice.DataGroup
	var rest []block
	cur := func() *notice.DataGroup {
		if len(groups) == 0 {
			groups = append(groups, notice.DataGroup{})
		}
		return &groups[len(groups)-1]
	}
	for i, b := range blocks {
		text := oneLine(b.Text)
		switch {
		case b.Kind == blockHeading || b.Strong || leadIn(blocks, i) && utf8.RuneCountInString(text) <= 40:
			groups = append(groups, notice.DataGroup{Role: tx(p.lang, strings.TrimSuffix(text, ":"))})
		case b.Kind == blockItem && utf8.RuneCountInString(text) <= maxShort:
			g := cur()
			g.Items = append(g.Items, tx(p.lang, strings.TrimRight(text, ";,")))
		case b.Kind == blockPara:
			g := cur()
			if len(g.Items) > 0 {
				groups = append(groups, notice.DataGroup{})
				g = cur()
			}
			g.Intro = p.appendText(g.Intro, b.Text)
		case b.Kind == blockTable && len(b.Rows[0]) >= 2:
			rows := b.Rows
			if headerColumns(rows[0], purposeColumns)["data"] == 1 && len(rows) > 1 {
				rows = rows[1:]
			}
			for _, r := range rows {
				if utf8.RuneCountInString(r[0]) > maxShort || utf8.RuneCountInString(oneLine(r[1])) > maxShort {
					rest = append(rest, block{Kind: blockTable, Rows: [][]string{r}})
					continue
				}
				groups = append(groups, notice.DataGroup{Role: tx(p.lang, oneLine(r[0])), Items: itemsOf(p.lang, r[1])})
			}
		default:
			rest = append(rest, b)
		}
	}
	n := 0
	for _, g := range groups {
		if len(g.Items) == 0 && len(g.Intro) == 0 {
			if len(g.Role) > 0 {
				rest = append(rest, block{Kind: blockPara, Text: g.Role[p.lang]})
			}
			continue
		}
		p.n.DataCategories = append(p.n.DataCategories, g)
		n += len(g.Items)
	}
	if len(groups) > 0 {
		p.put(heading(s), "notice.dataCategories", fmt.Sprintf("%s, %s", plural(len(p.n.DataCategories), "group"), plural(n, "item")))
	}
	p.overflow(s, rest, "data")
}

// itemsOf splits a table cell into list items: its lines, or its
// comma-separated parts when it is one line.
func itemsOf(lang, cell string) []i18n.Text {
	parts := strings.Split(cell, "\n")
	var out []i18n.Text
	for _, x := range parts {
		if x = strings.TrimSpace(strings.TrimLeft(x, "-•* ")); x != "" {
			out = append(out, tx(lang, x))
		}
	}
	return out
}

// sources places the sources: list items, and paragraphs as the note.
func (p *placer) sources(s section, blocks []block) {
	n := 0
	var note []block
	for i, b := range blocks {
		switch {
		case b.Kind == blockItem && utf8.RuneCountInString(b.Text) <= maxShort:
			p.n.Sources = append(p.n.Sources, tx(p.lang, strings.TrimRight(oneLine(b.Text), ";,.")))
			n++
		case leadIn(blocks, i):
			p.notes = append(p.notes, fmt.Sprintf("%q: left out the lead-in %q", heading(s), b.Text))
		default:
			note = append(note, b)
		}
	}
	if n > 0 {
		p.put(heading(s), "notice.sources", plural(n, "source"))
	}
	if text := longText(note); text != "" {
		p.n.SourcesNote = p.appendText(p.n.SourcesNote, text)
		p.put(heading(s), "notice.sourcesNote", "")
	}
}

// processorWord marks recipients that are processors.
var processorWord = regexp.MustCompile(`(?i)käsittelijä|alihankkija|personuppgiftsbiträde|biträde|processor`)

var recipientColumns = map[string]*regexp.Regexp{
	"name":    regexp.MustCompile(`(?i)vastaanottaja|käsittelijä|toimittaja|yritys|mottagare|biträde|leverantör|recipient|processor|name|nimi|namn|vendor`),
	"purpose": regexp.MustCompile(`(?i)tarkoitus|tehtävä|palvelu|ändamål|syfte|tjänst|purpose|service`),
	"data":    regexp.MustCompile(`(?i)tiedot|uppgifter|data`),
	"country": regexp.MustCompile(`(?i)maa|sijainti|land|country|location`),
	"basis":   regexp.MustCompile(`(?i)peruste|grund|basis`),
}

// recipients places the recipients: list items ("Name – what for"), a
// table, and paragraphs as the intro. A list whose items are sentences,
// not names, is kept in the intro as a list.
func (p *placer) recipients(s section, blocks []block) {
	r := &p.n.Recipients
	kind := ""
	if processorWord.MatchString(s.Heading) {
		kind = notice.RecipientProcessor
	}
	var items []notice.Recipient
	var intro []block
	for _, b := range blocks {
		switch b.Kind {
		case blockPara:
			if processorWord.MatchString(b.Text) && strings.HasSuffix(b.Text, ":") {
				kind = notice.RecipientProcessor // "We use sub-processors:" leads the list
			}
			intro = append(intro, b)
			continue
		}
		switch b.Kind {
		case blockItem:
			if it, ok := recipientItem(p.lang, b.Text, kind); ok {
				items = append(items, it)
				continue
			}
			intro = append(intro, b)
		case blockTable:
			rows, ok := p.recipientTable(b, kind)
			if !ok {
				intro = append(intro, b)
				continue
			}
			items = append(items, rows...)
			r.Layout = "table"
		default:
			intro = append(intro, b)
		}
	}
	if len(intro) > 0 && len(items) > 0 && hasItem(intro) {
		// Some items are sentences: keep the whole list as text.
		intro, items = blocks, nil
	}
	if text := longText(intro); text != "" {
		r.Intro = p.appendText(r.Intro, text)
		p.put(heading(s), "notice.recipients.intro", "")
	}
	if len(items) > 0 {
		r.Items = append(r.Items, items...)
		p.put(heading(s), "notice.recipients.items", plural(len(items), "recipient"))
	}
}

// hasItem reports whether blocks hold a list item (one not read as a
// recipient).
func hasItem(blocks []block) bool {
	for _, b := range blocks {
		if b.Kind == blockItem {
			return true
		}
	}
	return false
}

// recipientItem reads "Name – what for (https://…)"; ok is false when
// the item is a sentence rather than a name.
func recipientItem(lang, text, kind string) (notice.Recipient, bool) {
	it := notice.Recipient{Kind: kind}
	if u := urlPattern.FindString(text); u != "" {
		it.URL = u
		text = strings.TrimSpace(strings.Trim(strings.Replace(text, u, "", 1), " ,;"))
		text = strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(text, "()")), ",")
	}
	name, rest, ok := splitPair(text)
	if !ok {
		if i := strings.Index(text, " ("); i > 0 && strings.HasSuffix(text, ")") {
			name, rest = text[:i], text[i+2:len(text)-1]
		} else {
			name = text
		}
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 80 || len(strings.Fields(name)) > 8 ||
		strings.HasSuffix(name, ".") && len(strings.Fields(name)) > 4 ||
		utf8.RuneCountInString(rest) > maxShort {
		return it, false
	}
	it.Name = name
	it.Purpose = tx(lang, strings.TrimRight(rest, ";,"))
	return it, true
}

// recipientTable reads a recipients table by its header row.
func (p *placer) recipientTable(b block, kind string) ([]notice.Recipient, bool) {
	if len(b.Rows) < 2 {
		return nil, false
	}
	cols := headerColumns(b.Rows[0], recipientColumns)
	if _, ok := cols["name"]; !ok {
		return nil, false
	}
	var out []notice.Recipient
	for _, r := range b.Rows[1:] {
		it := notice.Recipient{Kind: kind, Name: oneLine(cols.cell(r, "name")), Purpose: tx(p.lang, oneLine(cols.cell(r, "purpose"))),
			Data: tx(p.lang, oneLine(cols.cell(r, "data")))}
		if u := urlPattern.FindString(it.Name); u != "" {
			it.URL, it.Name = u, strings.TrimSpace(strings.Replace(it.Name, u, "", 1))
		}
		if basis := cols.cell(r, "basis"); basis != "" {
			it.LegalBasis = basesIn(basis)
		}
		if c := cols.cell(r, "country"); c != "" {
			for _, cw := range countryWords {
				if cw.re.MatchString(c) {
					it.Country = cw.code
				}
			}
			if it.Country == "" {
				if code := eeaCountry(c); code != "" {
					it.Country = code
				}
			}
			if it.Country == "" {
				it.Data = p.appendText(it.Data, c)
			}
		}
		if it.Name == "" || utf8.RuneCountInString(it.Name) > 200 || tooLong(it.Purpose, it.Data) {
			return nil, false
		}
		out = append(out, it)
	}
	return out, true
}

// eeaCountry returns the code of a few EU/EEA countries by name.
func eeaCountry(s string) string {
	l := strings.ToLower(strings.TrimSpace(s))
	for code, names := range map[string][]string{"FI": {"suomi", "finland"}, "SE": {"ruotsi", "sverige", "sweden"},
		"EE": {"viro", "estland", "estonia"}, "DE": {"saksa", "tyskland", "germany"}, "IE": {"irlanti", "irland", "ireland"},
		"NL": {"alankomaat", "nederländerna", "netherlands"}, "DK": {"tanska", "danmark", "denmark"}} {
		for _, n := range names {
			if l == n || strings.HasPrefix(l, n) {
				return code
			}
		}
	}
	return ""
}

// transfers places a transfer statement, keeping the controller's words.
func (p *placer) transfers(s section, blocks []block) {
	text := longText(blocks)
	if text == "" {
		return
	}
	t, ok := transfersFrom(text, p.lang)
	if !ok {
		p.overflow(s, blocks, "transfers")
		return
	}
	if p.n.Transfers != nil {
		p.n.Transfers.Description = p.appendText(p.n.Transfers.Description, text)
		p.put(heading(s), "notice.transfers.description", "")
		return
	}
	p.n.Transfers = t
	what := fmt.Sprintf("outsideEEA: %v", *t.OutsideEEA)
	if len(t.Countries) > 0 {
		what += ", countries " + strings.Join(t.Countries, " ")
	}
	for _, sg := range t.Safeguards {
		what += ", " + sg.Key
	}
	p.put(heading(s), "notice.transfers", what+", with the text")
}

// retention places retention: table rows and "data: period" items as
// rows, other text as the note.
func (p *placer) retention(s section, blocks []block) {
	n := 0
	var note []block
	add := func(data, period string) bool {
		data, period = oneLine(data), oneLine(period)
		if data == "" || utf8.RuneCountInString(data) > maxShort || utf8.RuneCountInString(period) > maxShort {
			return false
		}
		p.n.Retention = append(p.n.Retention, notice.RetentionRule{Data: tx(p.lang, data), Period: tx(p.lang, strings.TrimRight(period, ";,."))})
		n++
		return true
	}
	for _, b := range blocks {
		switch b.Kind {
		case blockTable:
			rows := b.Rows
			if cols := headerColumns(rows[0], purposeColumns); len(cols) > 0 && len(rows) > 1 {
				if _, ok := cols["retention"]; ok {
					rows = rows[1:]
				}
			}
			for _, r := range rows {
				if len(r) < 2 || !add(r[0], r[len(r)-1]) {
					note = append(note, block{Kind: blockTable, Rows: [][]string{r}})
				}
			}
		case blockItem:
			if d, per, ok := splitPair(b.Text); ok && add(d, per) {
				continue
			}
			note = append(note, b)
		default:
			note = append(note, b)
		}
	}
	if n > 0 {
		p.put(heading(s), "notice.retention", plural(n, "row"))
	}
	if text := longText(note); text != "" {
		p.n.RetentionNote = p.appendText(p.n.RetentionNote, text)
		p.put(heading(s), "notice.retentionNote", "")
	}
}
