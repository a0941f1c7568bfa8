package noticeimport

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxDocxPart bounds one part of a .docx (document.xml, styles.xml):
// real notices are well under a megabyte, and a zip bomb is not read.
const maxDocxPart = 32 << 20

// Office Open XML, as far as a notice needs it: paragraphs with their
// style, numbering and runs (text, tabs, breaks), and tables.
type (
	docxBody struct {
		Items []docxItem `xml:",any"`
	}
	// docxItem is a w:p or a w:tbl of the body or of a table cell.
	docxItem struct {
		XMLName xml.Name
		PPr     *docxPPr    `xml:"pPr"`
		Runs    []docxRun   `xml:"r"`
		Links   []docxLink  `xml:"hyperlink"`
		Rows    []docxRow   `xml:"tr"`
		Inner   []docxInner `xml:",any"`
	}
	docxInner struct {
		XMLName xml.Name
		Runs    []docxRun `xml:"r"`
	}
	docxPPr struct {
		Style   docxVal  `xml:"pStyle"`
		NumPr   *docxNum `xml:"numPr"`
		Outline *docxVal `xml:"outlineLvl"`
	}
	docxNum struct {
		Level docxVal `xml:"ilvl"`
	}
	docxVal struct {
		Val string `xml:"val,attr"`
	}
	docxLink struct {
		Runs []docxRun `xml:"r"`
	}
	docxRun struct {
		RPr  *docxRPr    `xml:"rPr"`
		Text []docxToken `xml:",any"`
	}
	docxRPr struct {
		Bold *docxVal `xml:"b"`
	}
	docxToken struct {
		XMLName xml.Name
		Value   string `xml:",chardata"`
	}
	docxRow struct {
		Cells []docxCell `xml:"tc"`
	}
	docxCell struct {
		Items []docxItem `xml:",any"`
	}
	docxStyles struct {
		Styles []struct {
			ID   string  `xml:"styleId,attr"`
			Name docxVal `xml:"name"`
			PPr  *struct {
				Outline *docxVal `xml:"outlineLvl"`
			} `xml:"pPr"`
		} `xml:"style"`
	}
)

// readDocx reads a Word file (Office Open XML) with archive/zip and
// encoding/xml: headings by paragraph style (Heading 1…, Otsikko 1…,
// Rubrik 1…, or an outline level), list items by numbering, tables, and
// bold paragraphs. No external converter is needed.
func readDocx(data []byte) (document, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return document{}, fmt.Errorf("reading .docx: not a zip archive: %w", err)
	}
	body, err := docxPart(zr, "word/document.xml")
	if err != nil {
		return document{}, err
	}
	headingLevels := map[string]int{}
	if styles, err := docxPart(zr, "word/styles.xml"); err == nil {
		var st docxStyles
		if err := xml.Unmarshal(styles, &st); err != nil {
			return document{}, fmt.Errorf("reading .docx: word/styles.xml: %w", err)
		}
		for _, s := range st.Styles {
			if lvl := styleHeadingLevel(s.ID, s.Name.Val); lvl > 0 {
				headingLevels[s.ID] = lvl
			} else if s.PPr != nil && s.PPr.Outline != nil {
				if n, err := strconv.Atoi(s.PPr.Outline.Val); err == nil && n < 6 {
					headingLevels[s.ID] = n + 1
				}
			}
		}
	} else if !errors.Is(err, errNoPart) {
		return document{}, err
	}
	var doc struct {
		Body docxBody `xml:"body"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		return document{}, fmt.Errorf("reading .docx: word/document.xml: %w", err)
	}
	var d document
	for _, it := range doc.Body.Items {
		switch it.XMLName.Local {
		case "p":
			d.add(docxParagraph(it, headingLevels))
		case "tbl":
			d.add(block{Kind: blockTable, Rows: docxTable(it)})
		}
	}
	return d, nil
}

// errNoPart is returned by docxPart for a part the archive lacks.
var errNoPart = errors.New("no such part")

// docxPart returns one part of the archive, at most maxDocxPart bytes.
func docxPart(zr *zip.Reader, name string) ([]byte, error) {
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("reading .docx: %s: %w", name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, maxDocxPart+1))
		if err != nil {
			return nil, fmt.Errorf("reading .docx: %s: %w", name, err)
		}
		if len(b) > maxDocxPart {
			return nil, fmt.Errorf("reading .docx: %s is larger than %d bytes", name, maxDocxPart)
		}
		return b, nil
	}
	return nil, fmt.Errorf("reading .docx: %s: %w (is this a Word document?)", name, errNoPart)
}

// styleHeadingLevel returns the heading level a style's id or name
// says (Heading1, "heading 2", Otsikko1, Rubrik1, Title), or 0.
func styleHeadingLevel(id, name string) int {
	for _, s := range []string{id, name} {
		s = strings.ToLower(strings.ReplaceAll(s, " ", ""))
		for _, p := range []string{"heading", "otsikko", "rubrik", "überschrift"} {
			if rest, ok := strings.CutPrefix(s, p); ok {
				if n, err := strconv.Atoi(rest); err == nil && n >= 1 && n <= 6 {
					return n
				}
			}
		}
		if s == "title" || s == "otsikko" || s == "rubrik" {
			return 1
		}
	}
	return 0
}

// docxParagraph turns a w:p into a block.
func docxParagraph(p docxItem, headingLevels map[string]int) block {
	var text strings.Builder
	bold, all := 0, 0
	runs := append([]docxRun(nil), p.Runs...)
	for _, l := range p.Links {
		runs = append(runs, l.Runs...)
	}
	for _, in := range p.Inner {
		if in.XMLName.Local == "ins" || in.XMLName.Local == "smartTag" {
			runs = append(runs, in.Runs...)
		}
	}
	for _, r := range runs {
		isBold := r.RPr != nil && r.RPr.Bold != nil && r.RPr.Bold.Val != "0" && r.RPr.Bold.Val != "false"
		for _, t := range r.Text {
			var s string
			switch t.XMLName.Local {
			case "t":
				s = t.Value
			case "tab":
				s = " "
			case "br", "cr":
				s = "\n"
			}
			text.WriteString(s)
			n := len([]rune(strings.TrimSpace(s)))
			all += n
			if isBold {
				bold += n
			}
		}
	}
	b := block{Kind: blockPara, Text: text.String()}
	if pp := p.PPr; pp != nil {
		lvl := headingLevels[pp.Style.Val]
		if lvl == 0 {
			lvl = styleHeadingLevel(pp.Style.Val, "")
		}
		if lvl == 0 && pp.Outline != nil {
			if n, err := strconv.Atoi(pp.Outline.Val); err == nil && n < 6 {
				lvl = n + 1
			}
		}
		switch {
		case lvl > 0:
			b.Kind, b.Level = blockHeading, lvl
		case pp.NumPr != nil || strings.Contains(strings.ToLower(pp.Style.Val), "list"):
			b.Kind = blockItem
			if pp.NumPr != nil {
				b.Level, _ = strconv.Atoi(pp.NumPr.Level.Val)
			}
		}
	}
	b.Strong = b.Kind == blockPara && all > 0 && bold == all && all < 150
	return b
}

// docxTable returns a table's rows, each cell's paragraphs as lines.
func docxTable(t docxItem) [][]string {
	var rows [][]string
	for _, r := range t.Rows {
		var row []string
		for _, c := range r.Cells {
			var lines []string
			for _, it := range c.Items {
				if it.XMLName.Local == "p" {
					lines = append(lines, docxParagraph(it, nil).Text)
				}
			}
			row = append(row, strings.Join(lines, "\n"))
		}
		rows = append(rows, row)
	}
	return rows
}
