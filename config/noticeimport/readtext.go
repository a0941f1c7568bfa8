package noticeimport

import (
	"regexp"
	"strings"
)

var (
	mdHeading   = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*$`)
	bulletItem  = regexp.MustCompile(`^(\s*)[-*+•–—▪◦·]\s+(.+)$`)
	orderedItem = regexp.MustCompile(`^(\s*)(\d{1,2}|[a-z])[.)]\s+(.+)$`)
	setextLine  = regexp.MustCompile(`^(=+|-+)\s*$`)
	tableSep    = regexp.MustCompile(`^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$`)
	mdLink      = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]*)\)`)
	mdEmphasis  = regexp.MustCompile(`(\*\*|__)(.+?)(\*\*|__)`)
)

// readText reads plain text or Markdown: ATX and setext headings, bullet
// and numbered items, pipe tables and paragraphs (lines up to a blank
// line). Numbered lines stay items here: whether "4. Rekisterin
// tietosisältö" is a heading is decided by the section finder, which
// knows the headings.
func readText(src string) document {
	var d document
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var para []string
	flush := func() {
		if len(para) > 0 {
			text := strings.Join(para, "\n")
			strong := false
			if m := mdEmphasis.FindStringSubmatch(strings.TrimSpace(text)); m != nil && m[0] == strings.TrimSpace(text) {
				strong, text = true, m[2]
			}
			d.add(block{Kind: blockPara, Text: mdInline(text), Strong: strong})
			para = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			flush()
		case mdHeading.MatchString(trimmed):
			flush()
			m := mdHeading.FindStringSubmatch(trimmed)
			d.add(block{Kind: blockHeading, Level: len(m[1]), Text: mdInline(m[2])})
		case len(para) == 1 && setextLine.MatchString(trimmed) && !strings.Contains(para[0], "|"):
			level := 1
			if trimmed[0] == '-' {
				level = 2
			}
			d.add(block{Kind: blockHeading, Level: level, Text: mdInline(para[0])})
			para = nil
		case strings.HasPrefix(trimmed, "|"):
			flush()
			var rows [][]string
			for ; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i++ {
				row := strings.TrimSpace(lines[i])
				if tableSep.MatchString(row) {
					continue
				}
				row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
				cells := strings.Split(row, "|")
				for j := range cells {
					cells[j] = mdInline(strings.ReplaceAll(cells[j], "<br>", "\n"))
				}
				rows = append(rows, cells)
			}
			i--
			d.add(block{Kind: blockTable, Rows: rows})
		case bulletItem.MatchString(line) && !setextLine.MatchString(trimmed):
			flush()
			m := bulletItem.FindStringSubmatch(line)
			d.add(block{Kind: blockItem, Level: len(m[1]) / 2, Text: mdInline(m[2])})
		case orderedItem.MatchString(line):
			flush()
			m := orderedItem.FindStringSubmatch(line)
			d.add(block{Kind: blockItem, Level: len(m[1]) / 2, Num: m[2], Text: mdInline(m[3])})
		default:
			// A line continuing a list item (indented) joins it.
			if len(para) == 0 && len(d.Blocks) > 0 && d.Blocks[len(d.Blocks)-1].Kind == blockItem &&
				strings.HasPrefix(line, "  ") && i > 0 && strings.TrimSpace(lines[i-1]) != "" {
				d.Blocks[len(d.Blocks)-1].Text += " " + mdInline(trimmed)
				continue
			}
			para = append(para, trimmed)
		}
	}
	flush()
	return d
}

// mdInline removes Markdown's inline marks: links become their text
// (and the address, when it differs), emphasis its text, a trailing
// hard-break backslash nothing.
func mdInline(s string) string {
	s = mdLink.ReplaceAllStringFunc(s, func(m string) string {
		sub := mdLink.FindStringSubmatch(m)
		text, href := sub[1], strings.TrimPrefix(sub[2], "mailto:")
		if href == "" || text == href || strings.Contains(text, href) {
			return text
		}
		return text + " (" + href + ")"
	})
	s = mdEmphasis.ReplaceAllString(s, "$2")
	s = strings.ReplaceAll(s, "\\\n", "\n")
	return strings.TrimSuffix(s, "\\")
}
