package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

// hostileValue is a user agent or page URL an attacker could get into the
// consent log, and the text its cell must show in a spreadsheet.
type hostileValue struct {
	name   string
	column string // user_agent or url
	value  string
	want   string // the cell's text: the value with a ' at every formula start
	// direct: stored straight into the stream, as HTTP cannot carry it (a
	// header has no line breaks and loses leading white space).
	direct bool
}

// hostileValues are the values TestExportInLibreOffice stores, decision
// i with value i.
func hostileValues() []hostileValue {
	return []hostileValue{
		{"DDE", "user_agent", ";=cmd|' /C calc'!A0;", ";'=cmd|' /C calc'!A0;", false},
		{"formula", "user_agent", "=1+1", "'=1+1", false},
		{"at", "user_agent", "@SUM(1)", "'@SUM(1)", false},
		{"minus", "user_agent", "-2+3", "'-2+3", false},
		{"plus", "user_agent", "+cmd", "'+cmd", false},
		{"NBSP", "user_agent", "\u00a0=1+1", "'\u00a0=1+1", false},
		{"BOM", "user_agent", "\ufeff=1+1", "'\ufeff=1+1", false},
		{"full-width =", "user_agent", "＝1+1", "'＝1+1", false},
		{"full-width +", "user_agent", "＋cmd", "'＋cmd", false},
		{"full-width -", "user_agent", "－2+3", "'－2+3", false},
		{"full-width @", "user_agent", "＠SUM(1)", "'＠SUM(1)", false},
		{"after ,", "user_agent", "Mozilla/5.0,=1+1", "Mozilla/5.0,'=1+1", false},
		{"URL with ;", "url", "https://www.oppimo.fi/;=1+1;", "https://www.oppimo.fi/;'=1+1;", false},
		{"URL with ,", "url", "https://www.oppimo.fi/a,=1+1", "https://www.oppimo.fi/a,'=1+1", false},
		{"space", "user_agent", " =1+1", "' =1+1", true},
		{"tab", "user_agent", "\t=1+1", "'\t'=1+1", true},
		{"NBSP and full-width", "user_agent", "\u00a0＝1+1", "'\u00a0＝1+1", true},
		{"quote and line break", "user_agent", "say \"hi\"\n=1+1", "say \"hi\"\n'=1+1", true},
		{"line break in URL", "url", "https://www.oppimo.fi/a\n@SUM(1)", "https://www.oppimo.fi/a\n'@SUM(1)", true},
	}
}

// TestExportInLibreOffice stores decisions with hostile user agents and
// URLs, downloads the CSV export with each delimiter and opens both files
// in LibreOffice Calc (headless, converted to flat ODS) with formulas
// evaluated on import, each with its own list separator, with the other
// one, and with , ; and tab at once and spaces trimmed. No cell may be a
// formula or look like one; read with its own separator, every row has
// the export's cells and each hostile value is one text cell. The
// hostile values as encoding/csv writes them, with no guard, are
// converted too: they must give formulas, or the test could not see one.
func TestExportInLibreOffice(t *testing.T) {
	soffice := sofficePath(t)
	env, token, _ := adminEnv(t, servertest.Options{})
	nv := noticeVersion(t, env)
	for i, h := range hostileValues() {
		storeHostile(t, env, nv, i, h)
	}
	dir := t.TempDir()
	files := map[string]string{} // delimiter → the export
	for _, d := range []string{",", ";"} {
		res := exportGet(t, env.URL+"/v1/sites/demo/consents?delimiter="+url.QueryEscape(d), token)
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("export delimiter=%s: %d %v", d, res.StatusCode, err)
		}
		files[d] = string(b)
	}
	in := map[string]string{
		"comma":     files[","],
		"semicolon": files[";"],
		"unguarded": unguardedCSV(t),
	}
	for name, body := range in {
		if err := os.WriteFile(filepath.Join(dir, name+".csv"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// Filter options: separators, text delimiter ", UTF-8, from line 1,
	// no column formats, system language, quoted fields not forced to
	// text, no special numbers, (3 export options), trim spaces,
	// (export option), evaluate formulas.
	opts := func(seps string, trim bool) string {
		return seps + ",34,76,1,,0,false,false,false,false," + strconv.FormatBool(trim) + ",-1,true"
	}
	profile := filepath.Join(dir, "lo")
	sheets := map[string][][]sheetCell{} // "<file> read with <separators>"
	var names []string                   // sheets' keys in the order made
	for i, conv := range []struct {
		name, filter string
		files        []string
	}{
		{",", opts("44", false), []string{"comma", "semicolon", "unguarded"}},
		{";", opts("59", false), []string{"comma", "semicolon", "unguarded"}},
		{", ; tab trimmed", opts("44/59/9", true), []string{"comma", "semicolon"}},
	} {
		out := filepath.Join(dir, "out"+strconv.Itoa(i))
		var paths []string
		for _, f := range conv.files {
			paths = append(paths, filepath.Join(dir, f+".csv"))
		}
		convertToFODS(t, soffice, profile, conv.filter, out, paths)
		for _, f := range conv.files {
			name := f + " read with " + conv.name
			sheets[name] = readFODS(t, filepath.Join(out, f+".fods"))
			names = append(names, name)
		}
	}

	for _, name := range names {
		sheet := sheets[name]
		t.Run(name, func(t *testing.T) {
			if strings.HasPrefix(name, "unguarded") {
				if n := len(formulas(sheet)); n == 0 {
					t.Fatal("no formula in the unguarded file: LibreOffice did not evaluate formulas, so this test proves nothing")
				}
				t.Logf("unguarded file: formulas %q", formulas(sheet))
				return
			}
			checkInert(t, sheet)
			for _, h := range hostileValues() {
				if strings.ContainsAny(h.want, ",;\t\r\n\"") {
					continue // split by some separator; checked where it is not
				}
				if !containsText(sheet, h.want) {
					t.Errorf("%s: no cell holds %q", h.name, h.want)
				}
			}
			logDDE(t, sheet)
		})
	}
	t.Run("comma read with , is the file's table", func(t *testing.T) {
		checkSameTable(t, sheets["comma read with ,"], files[","], ',')
	})
	t.Run("semicolon read with ; is the file's table", func(t *testing.T) {
		checkSameTable(t, sheets["semicolon read with ;"], files[";"], ';')
	})
}

// sofficePath finds LibreOffice. Without it the test is skipped, unless
// CI is set: there it must run.
func sofficePath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("soffice")
	if err == nil {
		return p
	}
	msg := "soffice (LibreOffice) not found: install libreoffice-calc-nogui (make deps-test) to open the CSV export in a spreadsheet"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI is set, and CI must run this test")
	}
	t.Skip(msg)
	return ""
}

// storeHostile stores decision i with h: posted like any decision, or
// (h.direct: a value no HTTP header or body can carry) appended to the
// ledger directly.
func storeHostile(t *testing.T, env *servertest.Env, nv string, i int, h hostileValue) {
	t.Helper()
	consentID := fmt.Sprintf("3f2b6c1e-8d4a-4b7e-9c0d-%012d", i)
	if h.direct {
		r := ledger.Record{Site: "demo", RecordID: fmt.Sprintf("0196a1b2-0000-7000-8000-%012d", i), ConsentID: consentID,
			Time: time.Now(), NoticeVersion: nv, PolicyVersion: "2026-11-01", Method: ledger.MethodCustom,
			Choices:  map[string]bool{"necessary": true, "analytics": true, "marketing": false},
			Language: "fi", URL: "https://www.oppimo.fi/kurssit", UserAgent: "Mozilla/5.0", IP: "127.0.0.0", Mode: "opt-in"}
		if h.column == "url" {
			r.URL = h.value
		} else {
			r.UserAgent = h.value
		}
		if _, err := env.Ledger.Append(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		return
	}
	header := map[string]string{"User-Agent": "Mozilla/5.0"}
	body := edit(nv, func(b map[string]any) {
		b["consentId"] = consentID
		if h.column == "url" {
			b["url"] = h.value
		} else {
			header["User-Agent"] = h.value
		}
	})()
	if r := post(t, env, body, header); r.Status != 201 {
		t.Fatalf("%s: post: %d %s", h.name, r.Status, r.Raw)
	}
}

// unguardedCSV is the hostile values as encoding/csv writes them, with no
// formula guard: what a spreadsheet must show as formulas.
func unguardedCSV(t *testing.T) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	for _, h := range hostileValues() {
		_ = w.Write([]string{h.name, h.value})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// convertToFODS converts files to flat ODS in out with one soffice run
// (it takes seconds to start) and the CSV filter options filter. The
// LibreOffice profile is kept in profile, which the runs share.
func convertToFODS(t *testing.T, soffice, profile, filter, out string, files []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append([]string{"--headless", "--norestore", "-env:UserInstallation=" + (&url.URL{Scheme: "file", Path: profile}).String(),
		"--infilter=CSV:" + filter, "--convert-to", "fods", "--outdir", out}, files...)
	cmd := exec.CommandContext(ctx, soffice, args...)
	// soffice starts soffice.bin: on a timeout, stop them both.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soffice %s: %v\n%s", strings.Join(args, " "), err, output)
	}
	t.Logf("soffice converted %d files with CSV:%s in %v", len(files), filter, time.Since(start).Round(time.Millisecond))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".csv") + ".fods"
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Fatalf("soffice wrote no %s: %v\n%s", name, err, output)
		}
	}
}

// sheetCell is a cell of a converted sheet.
type sheetCell struct {
	Type    string // office:value-type: string, float, date…; "" for an empty cell
	Text    string // the cell's paragraphs, joined by "\n"
	Formula string // table:formula; "" when the cell is not a formula
}

const (
	nsOffice = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
	nsTable  = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
	nsText   = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
)

// readFODS reads the first sheet of a flat ODS file as rows of cells,
// repeated cells and rows written out, trailing empty rows left off.
func readFODS(t *testing.T, path string) [][]sheetCell {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		rows      [][]sheetCell
		row       []sheetCell
		cell      sheetCell
		text      strings.Builder
		paras     int
		inPara    bool
		repeatRow int
		repeatCol int
		tables    int
	)
	d := xml.NewDecoder(f)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch {
			case el.Name.Space == nsTable && el.Name.Local == "table":
				tables++
			case tables != 1:
			case el.Name.Space == nsTable && el.Name.Local == "table-row":
				row, repeatRow = nil, repeat(t, el, "number-rows-repeated")
			case el.Name.Space == nsTable && (el.Name.Local == "table-cell" || el.Name.Local == "covered-table-cell"):
				cell, paras, repeatCol = sheetCell{Type: attr(el, nsOffice, "value-type"), Formula: attr(el, nsTable, "formula")}, 0, repeat(t, el, "number-columns-repeated")
				text.Reset()
			case el.Name.Space == nsText && el.Name.Local == "p":
				if paras > 0 {
					text.WriteByte('\n')
				}
				paras++
				inPara = true
			case el.Name.Space == nsText && el.Name.Local == "s":
				n := 1
				if c := attr(el, nsText, "c"); c != "" {
					n, _ = strconv.Atoi(c)
				}
				text.WriteString(strings.Repeat(" ", n))
			case el.Name.Space == nsText && el.Name.Local == "tab":
				text.WriteByte('\t')
			case el.Name.Space == nsText && el.Name.Local == "line-break":
				text.WriteByte('\n')
			}
		case xml.CharData:
			if inPara {
				text.Write(el)
			}
		case xml.EndElement:
			switch {
			case tables != 1:
			case el.Name.Space == nsText && el.Name.Local == "p":
				inPara = false
			case el.Name.Space == nsTable && (el.Name.Local == "table-cell" || el.Name.Local == "covered-table-cell"):
				cell.Text = text.String()
				for range repeatCol {
					row = append(row, cell)
				}
			case el.Name.Space == nsTable && el.Name.Local == "table-row":
				row = trimCells(row)
				for range repeatRow {
					rows = append(rows, row)
				}
			}
		}
	}
	for len(rows) > 0 && len(rows[len(rows)-1]) == 0 {
		rows = rows[:len(rows)-1]
	}
	return rows
}

func attr(el xml.StartElement, space, local string) string {
	for _, a := range el.Attr {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// repeat reads a table:number-…-repeated attribute (1 when absent). A
// large count is only allowed for the empty rows and columns that pad a
// sheet; those are cut to one.
func repeat(t *testing.T, el xml.StartElement, name string) int {
	v := attr(el, nsTable, name)
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q", name, v)
	}
	return min(n, 1000)
}

// trimCells leaves off a row's trailing empty cells.
func trimCells(row []sheetCell) []sheetCell {
	for len(row) > 0 && row[len(row)-1] == (sheetCell{}) {
		row = row[:len(row)-1]
	}
	return row
}

// formulas lists the formula cells of sheet.
func formulas(sheet [][]sheetCell) []string {
	var out []string
	for _, row := range sheet {
		for _, c := range row {
			if c.Formula != "" {
				out = append(out, c.Formula)
			}
		}
	}
	return out
}

// checkInert fails for any cell that is a formula, or whose text starts
// like one (a spreadsheet other than LibreOffice might run it).
func checkInert(t *testing.T, sheet [][]sheetCell) {
	t.Helper()
	for i, row := range sheet {
		for j, c := range row {
			if c.Formula != "" {
				t.Errorf("row %d cell %d is the formula %q (shown as %q)", i+1, j+1, c.Formula, c.Text)
			}
			if formulaLike(c.Text) {
				t.Errorf("row %d cell %d starts like a formula: %q", i+1, j+1, c.Text)
			}
		}
	}
}

// formulaLike reports whether text starts with = + - @ or their
// full-width forms, after any white space, invisible characters or
// quotes.
func formulaLike(text string) bool {
	text = strings.TrimLeftFunc(text, func(r rune) bool { return r == '"' || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) })
	r, _ := utf8.DecodeRuneInString(text)
	return text != "" && strings.ContainsRune("=+-@＝＋－＠", r)
}

func containsText(sheet [][]sheetCell, s string) bool {
	for _, row := range sheet {
		for _, c := range row {
			if c.Type == "string" && strings.Contains(c.Text, s) {
				return true
			}
		}
	}
	return false
}

// checkSameTable: read with its own delimiter, the sheet is the table an
// RFC 4180 reader (encoding/csv) finds in file: as many rows, as many
// cells in each, every text cell the same (LibreOffice may take a cell as
// a date or number), and each hostile value one text cell with its
// guarded text.
func checkSameTable(t *testing.T, sheet [][]sheetCell, file string, sep rune) {
	t.Helper()
	r := csv.NewReader(strings.NewReader(file))
	r.Comma = sep
	want, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(sheet) != len(want) {
		t.Fatalf("%d rows, the file has %d", len(sheet), len(want))
	}
	col := map[string]int{}
	for j, name := range want[0] {
		col[name] = j
	}
	byConsent := map[string][]sheetCell{}
	for i, row := range sheet {
		cells := want[i]
		for len(cells) > 0 && cells[len(cells)-1] == "" {
			cells = cells[:len(cells)-1]
		}
		if len(row) != len(cells) {
			t.Errorf("row %d has %d cells, the file %d:\n%q\n%q", i+1, len(row), len(cells), row, cells)
			continue
		}
		for j, c := range row {
			if (c.Type == "string" || c.Type == "") && c.Text != cells[j] {
				t.Errorf("row %d %s: %q, the file has %q", i+1, want[0][j], c.Text, cells[j])
			}
		}
		byConsent[row[col["consent_id"]].Text] = row
	}
	for i, h := range hostileValues() {
		row, ok := byConsent[fmt.Sprintf("3f2b6c1e-8d4a-4b7e-9c0d-%012d", i)]
		if !ok {
			t.Errorf("%s: no row", h.name)
			continue
		}
		if c := row[col[h.column]]; c.Type != "string" || c.Text != h.want {
			t.Errorf("%s: %s cell %+v, want the text %q", h.name, h.column, c, h.want)
		}
	}
}

// logDDE shows the cells the DDE user agent ended up in.
func logDDE(t *testing.T, sheet [][]sheetCell) {
	var cells []string
	for _, row := range sheet {
		for _, c := range row {
			if strings.Contains(c.Text, "cmd|") {
				start := max(0, strings.Index(c.Text, "cmd|")-16)
				for start > 0 && !utf8.RuneStart(c.Text[start]) {
					start--
				}
				if start > 0 {
					c.Text = "…" + c.Text[start:]
				}
				cells = append(cells, c.Text)
			}
		}
	}
	t.Logf("the DDE user agent is in %q", cells)
}
