package export

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
)

func TestAppendRecord(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cells []string
		sep   byte
		want  string
	}{
		{"plain", []string{"a", "b", ""}, Comma, "a,b,\r\n"},
		{"plain with ;", []string{"a", "b", ""}, Semicolon, "a;b;\r\n"},
		{"comma", []string{"a,b", "c"}, Comma, "\"a,b\",c\r\n"},
		{"comma in a ; file", []string{"a,b", "c"}, Semicolon, "\"a,b\";c\r\n"},
		{"semicolon in a , file", []string{"x;1", "c"}, Comma, "\"x;1\",c\r\n"},
		{"semicolon", []string{"a;b"}, Semicolon, "\"a;b\"\r\n"},
		{"tab", []string{"a\tb"}, Comma, "\"a\tb\"\r\n"},
		{"quotes doubled", []string{`say "hi"`}, Comma, "\"say \"\"hi\"\"\"\r\n"},
		{"only a quote", []string{`"`}, Comma, "\"\"\"\"\r\n"},
		{"LF kept", []string{"a\nb"}, Comma, "\"a\nb\"\r\n"},
		{"CR kept", []string{"a\rb"}, Comma, "\"a\rb\"\r\n"},
		{"CRLF kept", []string{"a\r\nb"}, Semicolon, "\"a\r\nb\"\r\n"},
		{"leading space", []string{" a"}, Comma, "\" a\"\r\n"},
		{"leading NBSP", []string{"\u00a0a"}, Comma, "\"\u00a0a\"\r\n"},
		{"inner space", []string{"a b"}, Comma, "a b\r\n"},
		{"apostrophe", []string{"'=1"}, Comma, "'=1\r\n"},
		{"formula guarded", []string{"=1+1", "-2"}, Comma, "'=1+1,'-2\r\n"},
		{"full-width guarded", []string{"＝1"}, Comma, "'＝1\r\n"},
		{"guarded and quoted", []string{";=cmd|' /C calc'!A0;"}, Comma, "\";'=cmd|' /C calc'!A0;\"\r\n"},
		{"guarded after NBSP, then unquoted", []string{"\u00a0=1"}, Semicolon, "'\u00a0=1\r\n"},
		{"guarded after a line break", []string{"a\n@b"}, Comma, "\"a\n'@b\"\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			appendRecord(&buf, tt.cells, tt.sep)
			if buf.String() != tt.want {
				t.Fatalf("got %q, want %q", buf.String(), tt.want)
			}
		})
	}
}

// TestAppendRecordRoundTrip: encoding/csv reads back every cell Cell
// leaves alone exactly, with either delimiter.
func TestAppendRecordRoundTrip(t *testing.T) {
	cells := []string{"", "a", "a,b", "a;b", "a\tb", `"`, `a""b`, "a\nb", " x", "x ", "\u00a0x", "'=1", "é", "a\rb"}
	for _, sep := range []byte{Comma, Semicolon} {
		var buf bytes.Buffer
		appendRecord(&buf, cells, sep)
		appendRecord(&buf, cells, sep)
		r := csv.NewReader(&buf)
		r.Comma = rune(sep)
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%c: %v", sep, err)
		}
		if len(rows) != 2 || !slices.Equal(rows[0], cells) || !slices.Equal(rows[1], cells) {
			t.Errorf("%c: read back %q, want twice %q", sep, rows, cells)
		}
	}
}

// TestPlain: the fast path of appendRecord never skips a cell that Cell
// would change or that needs quotes.
func TestPlain(t *testing.T) {
	for _, s := range []string{"", "a", "Mozilla/5.0 (X11)", "2026-11-01", "a=b", "'=1", "x-y", "é"} {
		if !plain(s) {
			t.Errorf("plain(%q) = false", s)
		}
	}
	for _, s := range []string{"=1", "+1", "-1", "@1", "＝1", "\ufeff=1", "\u00a0x", " x", "\tx", "a,b", "a;b", "a\nb", `a"b`} {
		if plain(s) {
			t.Errorf("plain(%q) = true", s)
		}
		if Cell(s) == s && !needsQuotes(s) {
			t.Errorf("%q is neither changed by Cell nor quoted: plain should hold", s)
		}
	}
}

// TestNeedsQuotes: a cell holding either delimiter is quoted whichever
// the file uses, so that it stays whole when read with the other.
func TestNeedsQuotes(t *testing.T) {
	for _, s := range []string{",", ";", "\t", "\r", "\n", `"`, " ", "\u3000a", "a,b;c"} {
		if !needsQuotes(s) {
			t.Errorf("needsQuotes(%q) = false", s)
		}
	}
	for _, s := range []string{"", "a", "a b", "a ", "'=1", "=1", "https://x.example/a?b=c", strings.Repeat("x", 100)} {
		if needsQuotes(s) {
			t.Errorf("needsQuotes(%q) = true", s)
		}
	}
}
