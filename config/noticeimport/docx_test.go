package noticeimport

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
)

// writeDocx builds a minimal Word file (Office Open XML) from a small
// markup, so the .docx fixtures are plain text in the repository and
// their contents are documented by what builds them:
//
//	%style Otsikko            heading styles are Otsikko1… (Finnish Word);
//	                          default Heading1… (English Word)
//	# Heading / ## Heading    a heading paragraph of level 1 / 2
//	- item                    a numbered-list paragraph (w:numPr)
//	**Bold line**             a paragraph in bold runs
//	| a | b |                 a table row (consecutive rows form a table);
//	                          "<br>" in a cell starts a new paragraph
//	text                      a paragraph; consecutive lines are joined
//	                          with line breaks (w:br)
func writeDocx(t testing.TB, src string) []byte {
	t.Helper()
	style := "Heading"
	var body strings.Builder
	var para []string
	var rows [][]string
	flushPara := func() {
		if len(para) > 0 {
			body.WriteString(docxP("", false, false, para...))
			para = nil
		}
	}
	flushTable := func() {
		if len(rows) == 0 {
			return
		}
		body.WriteString("<w:tbl><w:tblPr><w:tblStyle w:val=\"TableGrid\"/></w:tblPr>")
		for _, r := range rows {
			body.WriteString("<w:tr>")
			for _, c := range r {
				body.WriteString("<w:tc>")
				for _, p := range strings.Split(c, "<br>") {
					body.WriteString(docxP("", false, false, strings.TrimSpace(p)))
				}
				body.WriteString("</w:tc>")
			}
			body.WriteString("</w:tr>")
		}
		body.WriteString("</w:tbl>")
		rows = nil
	}
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "|") {
			flushTable()
		}
		switch {
		case strings.HasPrefix(trimmed, "%style "):
			style = strings.TrimSpace(strings.TrimPrefix(trimmed, "%style "))
		case trimmed == "":
			flushPara()
		case strings.HasPrefix(trimmed, "## "):
			flushPara()
			body.WriteString(docxP(style+"2", false, false, trimmed[3:]))
		case strings.HasPrefix(trimmed, "# "):
			flushPara()
			body.WriteString(docxP(style+"1", false, false, trimmed[2:]))
		case strings.HasPrefix(trimmed, "- "):
			flushPara()
			body.WriteString(docxP("ListParagraph", true, false, trimmed[2:]))
		case strings.HasPrefix(trimmed, "**") && strings.HasSuffix(trimmed, "**"):
			flushPara()
			body.WriteString(docxP("", false, true, strings.Trim(trimmed, "*")))
		case strings.HasPrefix(trimmed, "|"):
			flushPara()
			cells := strings.Split(strings.Trim(trimmed, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			rows = append(rows, cells)
		default:
			para = append(para, trimmed)
		}
	}
	flushPara()
	flushTable()

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/_rels/document.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`},
		{"word/styles.xml", docxStylesXML(style)},
		{"word/document.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + body.String() +
			`<w:sectPr/></w:body></w:document>`},
	}
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// docxP writes one w:p: its style, list numbering, bold runs, and lines
// separated by w:br.
func docxP(style string, list, bold bool, lines ...string) string {
	var b strings.Builder
	b.WriteString("<w:p>")
	if style != "" || list {
		b.WriteString("<w:pPr>")
		if style != "" {
			fmt.Fprintf(&b, `<w:pStyle w:val="%s"/>`, style)
		}
		if list {
			b.WriteString(`<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>`)
		}
		b.WriteString("</w:pPr>")
	}
	for i, l := range lines {
		b.WriteString("<w:r>")
		if bold {
			b.WriteString("<w:rPr><w:b/></w:rPr>")
		}
		if i > 0 {
			b.WriteString("<w:br/>")
		}
		b.WriteString(`<w:t xml:space="preserve">`)
		xml.EscapeText(&b, []byte(l))
		b.WriteString("</w:t></w:r>")
	}
	b.WriteString("</w:p>")
	return b.String()
}

// docxStylesXML declares the heading styles under their ids (Heading1 or
// Otsikko1) with Word's built-in names ("heading 1").
func docxStylesXML(prefix string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">`)
	for i := 1; i <= 2; i++ {
		fmt.Fprintf(&b, `<w:style w:type="paragraph" w:styleId="%s%d"><w:name w:val="heading %d"/><w:pPr><w:outlineLvl w:val="%d"/></w:pPr></w:style>`, prefix, i, i, i-1)
	}
	b.WriteString(`<w:style w:type="paragraph" w:styleId="ListParagraph"><w:name w:val="List Paragraph"/></w:style></w:styles>`)
	return b.String()
}
