package noticeimport

import (
	"strings"
	"unicode/utf8"
)

// section is a part of the notice under one heading.
type section struct {
	Kind    kind
	Right   string // for kindRight: the key of notice.Rights
	Heading string // as written, with its number
	Num     string // the heading's number, "" when none
	Level   int    // heading level (1 for a title or a numbered heading)
	Blocks  []block
}

// splitter finds the sections of a document by their headings.
type splitter struct {
	sections []section
	// lastNum is the number of the last numbered heading, to tell a
	// numbered heading the rules do not know ("10. Muut tiedot") from an
	// item of a numbered list ("1. Asiakassuhteen hoito").
	lastNum int
	// langs counts the languages of the headings recognised.
	langs map[string]int
	// headings is set when the document has heading blocks (Markdown,
	// HTML, Word styles): then a plain unnumbered line is never one.
	headings bool
}

// splitSections groups a document's blocks into sections. A heading is
// a heading block (Markdown, HTML, a Word heading style), or a short
// line the rules recognise (numbered or not, alone or as "Label:" before
// its text), or a bold paragraph, or a numbered line continuing the
// numbering of the headings before it. Blocks before the first heading
// form an intro section; a table whose first column holds headings
// (the old template's two-column layout) is read as sections too.
func splitSections(d document) (secs []section, langs map[string]int) {
	s := &splitter{langs: map[string]int{}}
	for _, b := range d.Blocks {
		if b.Kind == blockHeading {
			s.headings = true
			break
		}
	}
	s.sections = []section{{Kind: kindIntro}}
	for _, b := range d.Blocks {
		s.block(b)
	}
	return s.sections, s.langs
}

// cur returns the current section.
func (s *splitter) cur() *section { return &s.sections[len(s.sections)-1] }

// open starts a section.
func (s *splitter) open(heading string, level int, k kind, right, lang string) {
	num, _ := splitNumber(heading)
	if n := numberValue(num); n > 0 && !strings.Contains(num, ".") {
		s.lastNum = n
	}
	if lang != "" {
		s.langs[lang]++
	}
	s.sections = append(s.sections, section{Kind: k, Right: right, Heading: oneLine(heading), Num: num, Level: level})
}

// add appends a block to the current section.
func (s *splitter) add(b block) { s.cur().Blocks = append(s.cur().Blocks, b) }

func (s *splitter) block(b block) {
	switch b.Kind {
	case blockHeading:
		k, right, lang := classify(b.Text)
		if c := s.cur(); k == kindUnknown && c.Kind != kindTitle && c.Kind != kindIntro && b.Level > c.Level && c.Level > 0 {
			s.add(b) // a sub-heading of the current section (e.g. a role in the data content)
			return
		}
		level := b.Level
		if num, _ := splitNumber(b.Text); num != "" && strings.Contains(num, ".") && k == kindUnknown {
			s.add(b)
			return
		}
		s.open(b.Text, level, k, right, lang)
		return
	case blockTable:
		if s.headingTable(b) {
			return
		}
	case blockItem:
		if b.Num != "" {
			text := b.Num + ". " + b.Text
			if s.headingLine(text, b) {
				return
			}
		}
	case blockPara:
		if s.headingLine(b.Text, b) {
			return
		}
	}
	s.add(b)
}

// headingLine opens a section when text (a paragraph or a numbered
// item) starts with a heading, and adds what follows it on the same
// line ("Rekisterin nimi: Asiakasrekisteri") or on the next lines as a
// paragraph of the section. It reports whether it did.
func (s *splitter) headingLine(text string, b block) bool {
	first, rest, _ := strings.Cut(text, "\n")
	label, after := first, ""
	if i := strings.Index(first, ": "); i > 0 && utf8.RuneCountInString(first[:i]) < 60 {
		label, after = first[:i], strings.TrimSpace(first[i+2:])
	}
	if utf8.RuneCountInString(first) > 120 {
		return false
	}
	k, right, lang := classify(label)
	num, _ := splitNumber(first)
	if b.Kind == blockItem {
		num = b.Num
	}
	known := k != kindUnknown
	switch {
	case s.headings && num == "" && !b.Strong && after == "" && k != kindDates:
		return false // the document marks its headings: this line is text
	case known && after == "" && (strings.HasSuffix(first, ".") && num == "" || utf8.RuneCountInString(first) > 90):
		return false // a sentence, not a heading
	case known && after != "" && (k == kindTitle || k == kindIntro):
		return false
	case known && num == "" && !b.Strong && k == s.cur().Kind && k != kindRight && k != kindDates:
		return false // the section's own subject named again in its text
	case known && after == "" && num == "" && strings.HasSuffix(first, ":") && len(strings.Fields(first)) > 3:
		return false // a lead-in of a list ("Rekisteriin tallennetaan seuraavat tiedot:")
	case known:
	case after == "" && num != "" && numberValue(num) == s.lastNum+1 && s.lastNum > 0 && !strings.HasSuffix(first, "."):
		// The next heading of a numbered sequence the rules do not know.
	case after == "" && b.Strong && len(s.sections) > 0 && s.cur().Level == 0:
		// A bold line before any real heading: a heading of its own.
	case after == "" && b.Strong:
		s.add(block{Kind: blockHeading, Level: s.cur().Level + 1, Text: first})
		if rest != "" {
			s.add(block{Kind: blockPara, Text: rest})
		}
		return true
	default:
		return false
	}
	if k == kindDates {
		// "Päivitetty 1.2.2024" is a date line, kept whole for the dates.
		s.open(label, 1, k, right, lang)
		s.add(block{Kind: blockPara, Text: text})
		return true
	}
	s.open(label, 1, k, right, lang)
	if after != "" {
		s.add(block{Kind: blockPara, Text: after})
	}
	if rest != "" {
		s.add(block{Kind: blockPara, Text: rest})
	}
	return true
}

// headingTable reads a two-column table whose first column holds
// headings ("1. Rekisterinpitäjä" | "Acme Oy, …") as sections. It
// reports whether the table was one.
func (s *splitter) headingTable(b block) bool {
	known := 0
	for _, r := range b.Rows {
		if len(r) >= 2 {
			if k, _, _ := classify(r[0]); k != kindUnknown && utf8.RuneCountInString(r[0]) < 120 {
				known++
			}
		}
	}
	if known < 2 || known*2 < len(b.Rows) {
		return false
	}
	for _, r := range b.Rows {
		if len(r) < 2 || r[0] == "" {
			s.add(block{Kind: blockTable, Rows: [][]string{r}})
			continue
		}
		k, right, lang := classify(r[0])
		s.open(r[0], 1, k, right, lang)
		for _, cell := range r[1:] {
			for _, p := range paragraphsOf(cell) {
				s.add(p)
			}
		}
	}
	return true
}

// paragraphsOf splits a table cell into blocks: lines starting with a
// bullet become items, runs of other lines a paragraph.
func paragraphsOf(cell string) []block {
	var out []block
	var para []string
	flush := func() {
		if len(para) > 0 {
			out = append(out, block{Kind: blockPara, Text: strings.Join(para, "\n")})
			para = nil
		}
	}
	for _, l := range strings.Split(cell, "\n") {
		if m := bulletItem.FindStringSubmatch(l); m != nil {
			flush()
			out = append(out, block{Kind: blockItem, Text: m[2]})
			continue
		}
		para = append(para, l)
	}
	flush()
	return out
}
