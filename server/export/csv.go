package export

import (
	"bytes"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/ledger"
)

// Delimiters a CSV export can put between cells: the comma of RFC 4180,
// and the semicolon that spreadsheets expect where the decimal mark is a
// comma (the list separator of Finnish, Swedish or German settings).
const (
	Comma     = ','
	Semicolon = ';'
)

// breaks are the bytes after which some reader of a CSV file starts a
// new cell or line: either delimiter, tab (TSV) and line breaks, as a
// bit set (all are below 64). A cell holding one is quoted, and Cell
// guards what follows each of them.
const breaks uint64 = 1<<',' | 1<<';' | 1<<'\t' | 1<<'\r' | 1<<'\n'

// quoteBytes are the bytes that make a cell quoted: breaks and '"'.
const quoteBytes = breaks | 1<<'"'

// isBreak reports whether c is one of breaks.
func isBreak(c byte) bool { return c < 64 && breaks&(1<<c) != 0 }

// hasQuoteByte reports whether s holds one of quoteBytes.
func hasQuoteByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 64 && quoteBytes&(1<<c) != 0 {
			return true
		}
	}
	return false
}

// startsWithSpace reports whether s starts with Unicode white space.
func startsWithSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && unicode.IsSpace(r)
}

// appendRecord writes cells as one CSV record (RFC 4180) with sep
// between them and CRLF at the end. Every cell goes through Cell.
func appendRecord(buf *bytes.Buffer, cells []string, sep byte) {
	for i, c := range cells {
		if i > 0 {
			buf.WriteByte(sep)
		}
		if plain(c) {
			buf.WriteString(c)
		} else {
			appendField(buf, Cell(c))
		}
	}
	buf.WriteString("\r\n")
}

// plain reports whether s can be written as it is, neither guarded by
// Cell nor quoted: it holds no break or quote, and does not start with
// white space or a formula character. It is the usual case, told by one
// pass over s.
func plain(s string) bool {
	return !hasQuoteByte(s) && !startsWithSpace(s) && !formulaStart(s)
}

// appendField writes s as one CSV field: quoted, with its quotes
// doubled, when needsQuotes says so; as it is otherwise. Line breaks in
// a quoted field are written as they are.
func appendField(buf *bytes.Buffer, s string) {
	if !needsQuotes(s) {
		buf.WriteString(s)
		return
	}
	buf.WriteByte('"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		buf.WriteString(s[:i+1])
		buf.WriteByte('"')
		s = s[i+1:]
	}
	buf.WriteString(s)
	buf.WriteByte('"')
}

// needsQuotes reports whether s must be quoted: it holds a quote or one
// of breaks, whichever delimiter the file uses (so a cell stays whole in
// a spreadsheet that reads the file with the other one), or it starts
// with white space, which readers may trim from an unquoted field.
func needsQuotes(s string) bool {
	return hasQuoteByte(s) || startsWithSpace(s)
}

// Cell makes a CSV cell safe to open in a spreadsheet (OWASP: CSV
// injection). A spreadsheet may run a cell as a formula when it starts
// with =, +, - or @, or with their full-width forms ＝ ＋ － ＠, also
// behind characters a reader may trim or not show: any Unicode space
// (tab, CR, LF, NBSP…), a byte-order mark or another invisible format
// character, a quote. Cell puts a ' in front of every such start: at the
// beginning of s, and after each comma, semicolon, tab, CR or LF in s,
// where a spreadsheet that reads the file with another delimiter (or
// does not see the quotes) starts a new cell or line. A value that
// starts with a tab or CR gets a leading ' in any case. appendRecord
// runs every cell through Cell, then quotes it where needed.
func Cell(s string) string {
	var b strings.Builder
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); i++ {
		if i > 0 && !isBreak(s[i-1]) {
			continue
		}
		if formulaStart(s[i:]) || (i == 0 && (s[0] == '\t' || s[0] == '\r')) {
			if b.Len() == 0 {
				b.Grow(len(s) + 2)
			}
			b.WriteString(s[done:i])
			b.WriteByte('\'')
			done = i
		}
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// formulaStart reports whether s starts with a formula character, after
// any white space, invisible format characters (BOM, zero-width space,
// direction marks) and quotes.
func formulaStart(s string) bool {
	if s == "" {
		return false
	}
	if c := s[0]; c > ' ' && c < utf8.RuneSelf && c != '"' && c != '=' && c != '+' && c != '-' && c != '@' {
		return false // the usual case: a visible ASCII character
	}
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == '=' || r == '+' || r == '-' || r == '@',
			r == '＝' || r == '＋' || r == '－' || r == '＠':
			return true
		case r == '"' || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r):
			s = s[size:]
		default:
			return false
		}
	}
	return false
}

// Columns returns the CSV header of site: the record's fields, the stream
// ID, one cat_<id> column per category in config order, other_choices.
func Columns(site *site.Site) []string {
	cols := append([]string(nil), baseColumns...)
	for _, id := range categoryIDs(site) {
		cols = append(cols, "cat_"+id)
	}
	return append(cols, "other_choices")
}

var baseColumns = []string{"record_id", "time", "consent_id", "method", "notice_version", "policy_version",
	"language", "country", "mode", "url", "user_agent", "ip", "stream_id", "gpc"}

// csvRow is one record as CSV cells, as stored (appendRecord guards
// and quotes them).
func (e *Exporter) csvRow(s *ledger.Stored, streamID string) []string {
	gpc := "" // not recorded (records stored before the signal was)
	if s.GPC != nil {
		gpc = yesNo(*s.GPC)
	}
	row := append(e.row[:0], s.RecordID, s.Time, s.ConsentID, s.Method, s.NoticeVersion, s.PolicyVersion,
		s.Language, s.Country, s.Mode, s.URL, s.UserAgent, s.IP, streamID, gpc)
	for _, c := range e.cats {
		switch granted, ok := s.Choices[c]; {
		case !ok:
			row = append(row, "")
		case granted:
			row = append(row, "yes")
		default:
			row = append(row, "no")
		}
	}
	var other []string
	for c, granted := range s.Choices {
		if !e.known[c] {
			other = append(other, c+"="+yesNo(granted))
		}
	}
	sort.Strings(other)
	row = append(row, strings.Join(other, ";"))
	e.row = row
	return row
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func categoryIDs(site *site.Site) []string {
	ids := make([]string, len(site.Categories))
	for i, c := range site.Categories {
		ids[i] = c.ID
	}
	return ids
}
