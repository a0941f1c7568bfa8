package notice

import (
	"html/template"
	"net/url"
	"regexp"
	"strings"
)

// The notice's texts as HTML: long texts (paragraphs and bulleted lists)
// and short ones, with e-mail addresses and https URLs made links. Every
// piece of a config string is escaped; nothing in it is read as markup.

// linkPattern finds what linkify makes a link: an https URL (up to white
// space or a character that cannot be in one) or an e-mail address.
var linkPattern = regexp.MustCompile(`https://[^\s<>"]+|[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

// linkify escapes s and makes every https URL and e-mail address in it a
// link (https: and mailto: only; an http URL stays text). Punctuation
// that ends a sentence is not part of a URL; a closing parenthesis is
// only when the URL opened one.
func linkify(s string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range linkPattern.FindAllStringIndex(s, -1) {
		start, end := m[0], m[1]
		if start < last {
			continue
		}
		tok := s[start:end]
		if strings.HasPrefix(tok, "https://") {
			tok = trimURL(tok)
			end = start + len(tok)
			if u, err := url.Parse(tok); err != nil || u.Host == "" {
				continue
			}
		} else if start > 0 && isEmailChar(s[start-1]) {
			continue
		}
		b.WriteString(template.HTMLEscapeString(s[last:start]))
		href := tok
		if !strings.HasPrefix(tok, "https://") {
			href = "mailto:" + tok
		}
		b.WriteString(`<a href="` + template.HTMLEscapeString(href) + `">` + template.HTMLEscapeString(tok) + `</a>`)
		last = end
	}
	b.WriteString(template.HTMLEscapeString(s[last:]))
	return template.HTML(b.String()) // #nosec G203 -- every part escaped above
}

func isEmailChar(c byte) bool {
	return c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '@' ||
		(c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// trimURL drops the punctuation that ends a sentence from the end of a
// URL found in text, and a closing parenthesis or bracket without its
// opening one in the URL.
func trimURL(u string) string {
	for len(u) > len("https://") {
		last := u[len(u)-1]
		switch {
		case strings.IndexByte(".,;:!?'", last) >= 0:
			u = u[:len(u)-1]
		case last == ')' && strings.Count(u, "(") < strings.Count(u, ")"):
			u = u[:len(u)-1]
		case last == ']' && strings.Count(u, "[") < strings.Count(u, "]"):
			u = u[:len(u)-1]
		default:
			return u
		}
	}
	return u
}

// rich renders a long text: a blank line starts a new paragraph, lines
// starting with "- " form a bulleted list, other line breaks are spaces.
func rich(s string) template.HTML { return richLead("", s) }

// richLead renders a long text like rich, with lead (e.g. "Legitimate
// interest:") in bold at the start of its first paragraph, so the label
// runs on with the text. A text that starts with a list gets the lead as
// a paragraph of its own.
func richLead(lead, s string) template.HTML {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	var b strings.Builder
	var para []string
	inList := false
	flushPara := func() {
		if len(para) == 0 && lead == "" {
			return
		}
		b.WriteString("<p>")
		if lead != "" {
			b.WriteString("<strong>" + template.HTMLEscapeString(lead) + "</strong>")
			if len(para) > 0 {
				b.WriteString(" ")
			}
			lead = ""
		}
		b.WriteString(string(linkify(strings.Join(para, " "))) + "</p>")
		para = nil
	}
	endList := func() {
		if inList {
			b.WriteString("</ul>")
			inList = false
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			if len(para) > 0 {
				flushPara()
			}
			endList()
		case strings.HasPrefix(line, "- "):
			if len(para) > 0 || lead != "" {
				flushPara()
			}
			if !inList {
				b.WriteString("<ul>")
				inList = true
			}
			b.WriteString("<li>" + string(linkify(strings.TrimSpace(line[2:]))) + "</li>")
		default:
			endList()
			para = append(para, line)
		}
	}
	if len(para) > 0 {
		flushPara()
	}
	endList()
	return template.HTML(b.String()) // #nosec G203 -- every part escaped by linkify
}

// lines splits a multi-line address into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

// webLink returns u if it is an absolute https URL, else "" (no link; the
// address is shown as text).
func webLink(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || p.Host == "" {
		return ""
	}
	return u
}
