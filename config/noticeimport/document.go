// Package noticeimport turns a privacy notice a controller already has
// (plain text, Markdown, HTML, .docx, or PDF through pdftotext) into a
// draft site file: it reads the file into a flat list of blocks
// (document.go and one reader per format), recognises the sections by
// their headings in fi, sv and en (headings.go), places what each section
// says into the notice model (place.go, party.go, lists.go) and writes a
// site file that loads and renders as it is (draft.go). Nothing is
// invented: what the source does not say stays out of the draft, and
// what the importer cannot place goes into an extra section under its
// original heading. docs/notice.md#start-from-your-existing-notice is
// the user's guide.
package noticeimport

import (
	"strings"
	"unicode"
)

// blockKind is what a block of a document is.
type blockKind int

const (
	blockPara    blockKind = iota // a paragraph; lines separated by "\n"
	blockHeading                  // a heading (Level 1–6)
	blockItem                     // a list item (Level: nesting depth, 0 = top)
	blockTable                    // a table (Rows)
)

// block is one unit of a document as the readers see it: headings,
// paragraphs, list items and tables, in reading order.
type block struct {
	Kind  blockKind
	Level int
	// Strong marks a paragraph that is bold as a whole (a heading in
	// all but style, common in Word files and web pages).
	Strong bool
	// Num is the number or letter of a numbered item or heading ("4").
	Num  string
	Text string
	Rows [][]string
}

// document is a notice read from a file: its blocks in reading order.
type document struct {
	Blocks []block
}

// add appends a block, cleaning its text; empty blocks are left out.
func (d *document) add(b block) {
	if b.Kind == blockTable {
		var rows [][]string
		for _, r := range b.Rows {
			empty := true
			for i := range r {
				r[i] = cleanText(r[i])
				if r[i] != "" {
					empty = false
				}
			}
			if !empty {
				rows = append(rows, r)
			}
		}
		if len(rows) > 0 {
			b.Rows = rows
			d.Blocks = append(d.Blocks, b)
		}
		return
	}
	b.Text = cleanText(b.Text)
	if b.Text != "" {
		d.Blocks = append(d.Blocks, b)
	}
}

// cleanText normalises white space: non-breaking and other spaces become
// plain spaces, runs of spaces one, each line is trimmed and runs of
// empty lines are dropped. Newlines are kept (an address has lines).
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\u00ad' || r == '\u200b' || r == '\ufeff':
			return -1 // soft hyphen, zero-width space, BOM
		case r == '\r':
			return -1
		case r == '\t', r != '\n' && unicode.IsSpace(r):
			return ' '
		}
		return r
	}, s)
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// oneLine joins a text's lines with spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
