package noticeimport

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// skippedHTML are elements whose content is never notice text: scripts,
// styles, the site's menus and forms.
var skippedHTML = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true, atom.Svg: true,
	atom.Nav: true, atom.Form: true, atom.Button: true, atom.Select: true, atom.Iframe: true,
	atom.Head: true, atom.Object: true, atom.Canvas: true,
}

// blockHTML are elements that end a paragraph.
var blockHTML = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true, atom.Main: true, atom.Header: true,
	atom.Footer: true, atom.Aside: true, atom.Address: true, atom.Blockquote: true, atom.Pre: true,
	atom.Ul: true, atom.Ol: true, atom.Li: true, atom.Dl: true, atom.Dt: true, atom.Dd: true,
	atom.Table: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Hr: true, atom.Figure: true, atom.Figcaption: true, atom.Body: true,
}

// readHTML reads a saved web page with golang.org/x/net/html: headings
// h1–h6, paragraphs, list items (nested lists by depth), tables (th and
// td cells; <br> is a new line in a cell) and definition lists. When the
// page has a <main> (or else a single <article>), only its content is
// read: the rest is the site's header, menus and footer.
func readHTML(r io.Reader) (document, error) {
	root, err := html.Parse(r)
	if err != nil {
		return document{}, fmt.Errorf("reading HTML: %w", err)
	}
	if m := findElement(root, atom.Main); m != nil {
		root = m
	} else if arts := findAll(root, atom.Article); len(arts) == 1 {
		root = arts[0]
	}
	h := &htmlReader{}
	h.walk(root, 0)
	h.flush()
	return h.doc, nil
}

// htmlReader collects the text of the current paragraph while walking
// the tree.
type htmlReader struct {
	doc    document
	text   strings.Builder
	strong int // characters of the current paragraph inside <b>/<strong>
	inBold int
}

// flush ends the current paragraph.
func (h *htmlReader) flush() {
	t := cleanText(h.text.String())
	if t != "" {
		strong := h.strong >= len([]rune(strings.ReplaceAll(t, "\n", "")))-1 && len([]rune(t)) < 150
		h.doc.add(block{Kind: blockPara, Text: t, Strong: strong})
	}
	h.text.Reset()
	h.strong = 0
}

// walk reads n's children; depth is the list nesting depth.
func (h *htmlReader) walk(n *html.Node, depth int) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		h.node(c, depth)
	}
}

// node reads one node.
func (h *htmlReader) node(n *html.Node, depth int) {
	switch n.Type {
	case html.TextNode:
		h.text.WriteString(n.Data)
		if h.inBold > 0 {
			h.strong += len([]rune(strings.Join(strings.Fields(n.Data), "")))
		}
		return
	case html.ElementNode:
	default:
		h.walk(n, depth)
		return
	}
	if skippedHTML[n.DataAtom] || hiddenHTML(n) {
		return
	}
	switch n.DataAtom {
	case atom.Br:
		h.text.WriteString("\n")
		return
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		h.flush()
		h.doc.add(block{Kind: blockHeading, Level: int(n.Data[1] - '0'), Text: textOf(n)})
		return
	case atom.Li:
		h.flush()
		var nested []*html.Node
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && (c.DataAtom == atom.Ul || c.DataAtom == atom.Ol) {
				nested = append(nested, c)
				continue
			}
			b.WriteString(textOf(c))
		}
		h.doc.add(block{Kind: blockItem, Level: depth, Text: b.String()})
		for _, l := range nested {
			h.walk(l, depth+1)
		}
		return
	case atom.Ul, atom.Ol:
		h.flush()
		h.walk(n, depth)
		return
	case atom.Table:
		h.flush()
		h.doc.add(block{Kind: blockTable, Rows: tableRows(n)})
		return
	case atom.B, atom.Strong:
		h.inBold++
		h.walk(n, depth)
		h.inBold--
		return
	case atom.A:
		// A link whose text is not its address keeps the address.
		href := strings.TrimPrefix(attr(n, "href"), "mailto:")
		text := textOf(n)
		h.walk(n, depth)
		if (strings.HasPrefix(href, "https://") || strings.Contains(href, "@")) && !strings.Contains(text, href) &&
			!strings.Contains(href, strings.TrimSpace(text)+"/") {
			h.text.WriteString(" (" + href + ")")
		}
		return
	}
	if blockHTML[n.DataAtom] {
		h.flush()
		h.walk(n, depth)
		h.flush()
		return
	}
	h.walk(n, depth)
}

// tableRows returns the cells of a table's rows (nested tables are read
// as text of their cell).
func tableRows(t *html.Node) [][]string {
	var rows [][]string
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			switch c.DataAtom {
			case atom.Tr:
				var row []string
				for td := c.FirstChild; td != nil; td = td.NextSibling {
					if td.Type == html.ElementNode && (td.DataAtom == atom.Td || td.DataAtom == atom.Th) {
						row = append(row, textOf(td))
					}
				}
				rows = append(rows, row)
			case atom.Thead, atom.Tbody, atom.Tfoot:
				visit(c)
			}
		}
	}
	visit(t)
	return rows
}

// textOf returns the text of n: <br> and block elements start new lines.
func textOf(n *html.Node) string {
	var b strings.Builder
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
			return
		case n.Type == html.ElementNode && (skippedHTML[n.DataAtom] || hiddenHTML(n)):
			return
		case n.Type == html.ElementNode && n.DataAtom == atom.Br:
			b.WriteString("\n")
			return
		}
		block := n.Type == html.ElementNode && blockHTML[n.DataAtom]
		if block {
			b.WriteString("\n")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
		if block {
			b.WriteString("\n")
		}
	}
	visit(n)
	return b.String()
}

// hiddenHTML reports elements hidden from readers (hidden, aria-hidden).
func hiddenHTML(n *html.Node) bool {
	for _, a := range n.Attr {
		if a.Key == "hidden" || (a.Key == "aria-hidden" && a.Val == "true") {
			return true
		}
	}
	return false
}

// attr returns n's attribute key, or "".
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// findElement returns the first element a under n, depth first.
func findElement(n *html.Node, a atom.Atom) *html.Node {
	if all := findAll(n, a); len(all) > 0 {
		return all[0]
	}
	return nil
}

// findAll returns the elements a under n, outermost only.
func findAll(n *html.Node, a atom.Atom) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.DataAtom == a {
			out = append(out, c)
			continue
		}
		out = append(out, findAll(c, a)...)
	}
	return out
}
