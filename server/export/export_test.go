package export_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/proof/evidence/evidencetest"
	"github.com/consentd/consentd/server/export"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/ledger/ledgertest"
	"github.com/consentd/consentd/server/redisproc"
)

// testSite has the demo site's categories, in config order.
func testSite() *site.Site {
	return &site.Site{ID: "demo", Categories: []site.Category{
		{ID: "necessary", Required: true}, {ID: "analytics"}, {ID: "marketing"},
	}}
}

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestParseQuery(t *testing.T) {
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	tests := []struct {
		name  string
		query string
		param string // the *ParamError's Param; "" = valid
		check func(q export.Query) bool
	}{
		{"defaults", "", "", func(q export.Query) bool {
			return q.From.IsZero() && q.To.Equal(now) && q.Format == export.CSV && q.Method == "" && q.Category == "" && q.Country == ""
		}},
		{"empty values are defaults", "from=&to=&format=", "", func(q export.Query) bool { return q.From.IsZero() && q.To.Equal(now) }},
		{"date from is its midnight", "from=2026-11-01", "", func(q export.Query) bool { return q.From.Equal(day("2026-11-01")) }},
		{"date to is inclusive", "to=2026-11-02", "", func(q export.Query) bool {
			return q.To.Equal(day("2026-11-03").Add(-time.Millisecond))
		}},
		{"RFC 3339 with offset", "from=2026-11-01T02:00:00%2B02:00", "", func(q export.Query) bool { return q.From.Equal(day("2026-11-01")) }},
		{"RFC 3339 to is exact", "to=2026-11-01T12:00:00.5009Z", "", func(q export.Query) bool {
			return q.To.Equal(day("2026-11-01").Add(12*time.Hour + 500*time.Millisecond))
		}},
		{"ndjson", "format=ndjson", "", func(q export.Query) bool { return q.Format == export.NDJSON }},
		{"method", "method=withdraw", "", func(q export.Query) bool { return q.Method == "withdraw" }},
		{"category alone is granted", "category=analytics", "", func(q export.Query) bool { return q.Category == "analytics" && q.Granted }},
		{"category yes", "category=analytics:yes", "", func(q export.Query) bool { return q.Category == "analytics" && q.Granted }},
		{"category no", "category=marketing:no", "", func(q export.Query) bool { return q.Category == "marketing" && !q.Granted }},
		{"country", "country=FI", "", func(q export.Query) bool { return q.Country == "FI" }},
		{"country unknown", "country=unknown", "", func(q export.Query) bool { return q.Country == export.Unknown }},
		{"from equals to", "from=2026-11-01&to=2026-11-01", "", nil},
		{"delimiter defaults to comma", "", "", func(q export.Query) bool { return q.Delimiter == export.Comma }},
		{"delimiter comma", "delimiter=,", "", func(q export.Query) bool { return q.Delimiter == export.Comma }},
		{"delimiter semicolon", "delimiter=%3B", "", func(q export.Query) bool { return q.Delimiter == export.Semicolon }},
		{"delimiter with format csv", "format=csv&delimiter=%3B", "", func(q export.Query) bool { return q.Delimiter == export.Semicolon }},
		{"empty delimiter with ndjson", "format=ndjson&delimiter=", "", nil},

		{"bad date", "from=2026-13-01", "from", nil},
		{"not a time", "to=yesterday", "to", nil},
		{"unencoded plus", "from=2026-11-01T02:00:00+02:00", "from", nil},
		{"before 1970", "from=1969-12-31", "from", nil},
		{"from after to", "from=2026-11-02&to=2026-11-01", "from", nil},
		{"from after default to", "from=2027-01-01", "from", nil},
		{"unknown format", "format=xlsx", "format", nil},
		{"unknown method", "method=expired", "method", nil},
		{"unknown category", "category=ads", "category", nil},
		{"unknown category with suffix", "category=ads:yes", "category", nil},
		{"bad category suffix", "category=analytics:maybe", "category", nil},
		{"lower-case country", "country=fi", "country", nil},
		{"three-letter country", "country=FIN", "country", nil},
		{"unknown parameter", "granularity=day", "granularity", nil},
		{"repeated parameter", "method=gpc&method=custom", "method", nil},
		{"tab delimiter", "delimiter=%09", "delimiter", nil},
		{"named delimiter", "delimiter=semicolon", "delimiter", nil},
		{"two delimiters", "delimiter=%3B%3B", "delimiter", nil},
		{"delimiter with ndjson", "format=ndjson&delimiter=%3B", "delimiter", nil},
		{"delimiter with proof", "format=proof&delimiter=,", "delimiter", nil},
		{"repeated delimiter", "delimiter=,&delimiter=%3B", "delimiter", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := export.ParseQuery(testSite(), v, now)
			if tt.param == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if tt.check != nil && !tt.check(q) {
					t.Fatalf("query %+v", q)
				}
				return
			}
			var pe *export.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want a *ParamError", err, err)
			}
			if pe.Param != tt.param || pe.Msg == "" || !strings.Contains(pe.Error(), tt.param) {
				t.Fatalf("ParamError %+v, want Param %q", pe, tt.param)
			}
		})
	}
}

func TestFilename(t *testing.T) {
	q, _ := export.ParseQuery(testSite(), url.Values{"from": {"2026-11-01"}}, now)
	if f := export.Filename(testSite(), q); f != "consents-demo-20261101-20261123.csv" {
		t.Errorf("Filename %q", f)
	}
	q, _ = export.ParseQuery(testSite(), url.Values{"format": {"ndjson"}, "to": {"2026-11-02"}}, now)
	if f := export.Filename(testSite(), q); f != "consents-demo-until-20261102.ndjson" {
		t.Errorf("Filename %q", f)
	}
}

// rec is a test record stored with the stream ID id.
type rec struct {
	id string // <unix ms>-<seq>
	r  ledger.Record
}

func record(n int, at time.Time) ledger.Record {
	return ledger.Record{
		Site:          "demo",
		RecordID:      fmt.Sprintf("0196a1b2-0000-7000-8000-%012d", n),
		ConsentID:     fmt.Sprintf("3f2b6c1e-8d4a-4b7e-9c0d-%012d", n%5000),
		Time:          at,
		NoticeVersion: "2d220c4e6f16c66a47c892c18ab49e32416e4703a072cf88a7feded2c1d9dcea",
		PolicyVersion: "2026-11-01",
		Method:        ledger.MethodCustom,
		Choices:       map[string]bool{"necessary": true, "analytics": n%2 == 0, "marketing": n%3 == 0},
		Language:      "fi",
		URL:           "https://www.oppimo.fi/kurssit/" + strconv.Itoa(n%100),
		UserAgent:     "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
		IP:            "198.51.100.0",
		Country:       "FI",
		Mode:          "opt-in",
	}
}

func streamID(at time.Time, seq int) string {
	return strconv.FormatInt(at.UnixMilli(), 10) + "-" + strconv.Itoa(seq)
}

// testKey signs the records the tests store (read-only once made).
var testKey = func() *proof.SigningKey {
	k, err := proof.NewSigningKey()
	if err != nil {
		panic(err)
	}
	return k
}()

// testKeys is the key set the exports are checked against.
func testKeys() proof.KeySet {
	return proof.KeySet{Keys: []proof.PublicKey{testKey.Public(proof.StatusCurrent)}}
}

// store writes the records at their explicit stream IDs as the ledger
// stores them: chained and signed with testKey.
func store(t testing.TB, rdb redis.UniversalClient, recs []rec) {
	t.Helper()
	entries := make([]ledgertest.Entry, len(recs))
	for i, x := range recs {
		entries[i] = ledgertest.Entry{ID: x.id, Record: x.r}
	}
	if err := ledgertest.Store(context.Background(), rdb, testKey, entries); err != nil {
		t.Fatal(err)
	}
}

// write exports with the test key set, counting the entries found
// outside the signed chain in *unverified when it is not nil.
func write(ctx context.Context, rdb redis.UniversalClient, site *site.Site, q export.Query, w io.Writer, unverified *[]*ledger.UnverifiedError) (int, error) {
	c, err := export.Write(ctx, rdb, site, q, testKeys(), w, func(u *ledger.UnverifiedError) {
		if unverified != nil {
			*unverified = append(*unverified, u)
		}
	})
	return c.Decisions, err
}

func newRedis(t testing.TB) (*redisproc.Server, *redis.Client) {
	t.Helper()
	srv := redisproc.StartT(t, redisproc.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return srv, rdb
}

func query(t *testing.T, raw string) export.Query {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	q, err := export.ParseQuery(testSite(), v, now)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// ndjsonIDs exports with q (format ndjson) and returns the record IDs.
// wantRecords checks that the NDJSON export for the query holds exactly
// the records want names (their numbers, space-separated, in order).
func wantRecords(t *testing.T, rdb redis.UniversalClient, query, want string) {
	t.Helper()
	var got []string
	for _, id := range ndjsonIDs(t, rdb, query) {
		n, _ := strconv.Atoi(id)
		got = append(got, strconv.Itoa(n))
	}
	if strings.Join(got, " ") != want {
		t.Errorf("records %v, want %s", got, want)
	}
}

func ndjsonIDs(t *testing.T, rdb redis.UniversalClient, raw string) []string {
	t.Helper()
	var buf bytes.Buffer
	n, err := write(context.Background(), rdb, testSite(), query(t, raw+"&format=ndjson"), &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var s ledger.Stored
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		ids = append(ids, strings.TrimPrefix(s.RecordID, "0196a1b2-0000-7000-8000-"))
	}
	if n != len(ids) {
		t.Errorf("Write said %d records, wrote %d", n, len(ids))
	}
	return ids
}

func TestWriteFilters(t *testing.T) {
	_, rdb := newRedis(t)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// Seven records an hour apart; each differs in one way.
	var recs []rec
	mk := func(n int, f func(r *ledger.Record)) {
		at := t0.Add(time.Duration(n) * time.Hour)
		r := record(n, at)
		f(&r)
		recs = append(recs, rec{streamID(at, 0), r})
	}
	mk(1, func(r *ledger.Record) {
		r.Method, r.Choices = ledger.MethodAcceptAll, map[string]bool{"necessary": true, "analytics": true, "marketing": true}
	})
	mk(2, func(r *ledger.Record) {
		r.Method, r.Choices = ledger.MethodRejectAll, map[string]bool{"necessary": true, "analytics": false, "marketing": false}
	})
	mk(3, func(r *ledger.Record) {
		r.Method, r.Country = ledger.MethodGPC, "US"
		r.Choices = map[string]bool{"necessary": true, "analytics": true, "marketing": false}
	})
	mk(4, func(r *ledger.Record) {
		r.Country, r.Choices = "", map[string]bool{"necessary": true, "analytics": false}
	})
	mk(5, func(r *ledger.Record) {
		r.Method, r.Country = ledger.MethodWithdraw, "SE"
		r.Choices = map[string]bool{"necessary": true, "analytics": false, "marketing": false}
	})
	mk(6, func(r *ledger.Record) {
		r.Choices = map[string]bool{"necessary": true, "analytics": true, "marketing": true}
	})
	mk(7, func(r *ledger.Record) { r.Country = "" })
	store(t, rdb, recs)

	for _, tt := range []struct {
		query string
		want  string // record numbers
	}{
		{"", "1 2 3 4 5 6 7"},
		{"method=accept_all", "1"},
		{"method=custom", "4 6 7"},
		{"method=withdraw", "5"},
		{"category=analytics", "1 3 6"},
		{"category=analytics:yes", "1 3 6"},
		{"category=analytics:no", "2 4 5 7"},
		{"category=marketing:no", "2 3 5 7"}, // 4 has no marketing choice: neither yes nor no
		{"category=marketing:yes", "1 6"},
		{"country=FI", "1 2 6"},
		{"country=US", "3"},
		{"country=unknown", "4 7"},
		{"country=DE", ""},
		{"method=custom&country=unknown&category=analytics:no", "4 7"},
	} {
		t.Run(tt.query, func(t *testing.T) { wantRecords(t, rdb, tt.query, tt.want) })
	}
}

func TestWriteTimeRange(t *testing.T) {
	_, rdb := newRedis(t)
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	times := []string{
		"2026-10-31T23:59:59.999Z", // 1
		"2026-11-01T00:00:00.000Z", // 2
		"2026-11-01T12:00:00.000Z", // 3 (and 4, same millisecond, next seq)
		"2026-11-02T23:59:59.999Z", // 5
		"2026-11-03T00:00:00.000Z", // 6
	}
	var recs []rec
	for i, s := range times {
		recs = append(recs, rec{streamID(at(s), 0), record(len(recs)+1, at(s))})
		if i == 2 {
			recs = append(recs, rec{streamID(at(s), 1), record(len(recs)+1, at(s))})
		}
	}
	store(t, rdb, recs)
	for _, tt := range []struct {
		query string
		want  string
	}{
		{"", "1 2 3 4 5 6"},
		{"from=2026-11-01", "2 3 4 5 6"},                             // a date from is its midnight, included
		{"to=2026-11-02", "1 2 3 4 5"},                               // a date to includes its whole day
		{"from=2026-11-01&to=2026-11-01", "2 3 4"},                   // one day
		{"from=2026-11-01T12:00:00Z&to=2026-11-01T12:00:00Z", "3 4"}, // both ends included, every seq of the millisecond
		{"to=2026-11-01T11:59:59.999Z", "1 2"},
		{"from=2026-11-01T12:00:00.001Z", "5 6"},
		{"to=2026-11-03T00:00:00Z", "1 2 3 4 5 6"},
		{"from=2026-11-01T01:00:00%2B01:00&to=2026-11-01T13:00:00%2B01:00", "2 3 4"}, // offsets are converted to UTC
	} {
		t.Run(tt.query, func(t *testing.T) { wantRecords(t, rdb, tt.query, tt.want) })
	}
}

func TestWriteCSV(t *testing.T) {
	_, rdb := newRedis(t)
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	// 2 500 records: pages of 1 000 with seqs continuing across page ends.
	var recs []rec
	for i := 0; i < 2500; i++ {
		at := t0.Add(time.Duration(i/3) * time.Millisecond)
		recs = append(recs, rec{streamID(at, i%3), record(i, at)})
	}
	hostile := &recs[7].r
	hostile.UserAgent = `=HYPERLINK("http://x")`
	hostile.URL = "https://x.example/a,b\"c\nd"
	hostile.Language = "+1"
	hostile.NoticeVersion = "@SUM(A1)"
	hostile.PolicyVersion = "-2"
	hostile.IP = "\tx"
	hostile.Mode = "\rx"
	removed := &recs[8].r // a category since removed from the config, and one missing
	removed.Choices = map[string]bool{"necessary": true, "analytics": true, "ads": false, "video": true}
	store(t, rdb, recs)

	var buf bytes.Buffer
	n, err := write(context.Background(), rdb, testSite(), query(t, ""), &buf, nil)
	if err != nil || n != 2500 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if !strings.HasSuffix(buf.String(), "\r\n") || strings.Count(buf.String(), "\r\n") < 2501 {
		t.Error("lines do not end in CRLF")
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := "record_id,time,consent_id,method,notice_version,policy_version,language,country,mode,url,user_agent,ip,stream_id,gpc,cat_necessary,cat_analytics,cat_marketing,other_choices"
	if strings.Join(rows[0], ",") != header {
		t.Fatalf("header %v", rows[0])
	}
	if len(rows) != 2501 {
		t.Fatalf("%d rows, want header + 2500", len(rows))
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if seen[r[0]] {
			t.Fatalf("record %s twice (page boundary)", r[0])
		}
		seen[r[0]] = true
	}
	r := recs[6].r
	want := []string{r.RecordID, r.Time.Format(ledger.TimeFormat), r.ConsentID, "custom", r.NoticeVersion, "2026-11-01",
		"fi", "FI", "opt-in", r.URL, r.UserAgent, "198.51.100.0", recs[6].id, "no", "yes", "yes", "yes", ""}
	if !slices.Equal(rows[7], want) {
		t.Errorf("row 7\n got %q\nwant %q", rows[7], want)
	}
	if r := rows[1]; r[15] != "yes" || r[16] != "yes" || r[0] != recs[0].r.RecordID || r[12] != recs[0].id || r[13] != "no" {
		t.Errorf("row 1 %q", r)
	}
	if r := rows[2]; r[15] != "no" || r[16] != "no" {
		t.Errorf("row 2 choices %q", r[14:])
	}
	// Formula injection: every cell a spreadsheet would run gets a leading '.
	h := rows[8]
	for col, want := range map[int]string{
		10: `'=HYPERLINK("http://x")`, 9: "https://x.example/a,b\"c\nd", 6: "'+1", 4: "'@SUM(A1)", 5: "'-2", 11: "'\tx",
		8: "'\rx",
	} {
		if h[col] != want {
			t.Errorf("%s = %q, want %q", rows[0][col], h[col], want)
		}
	}
	if got := rows[9][14:]; !slices.Equal(got, []string{"yes", "yes", "", "ads=no;video=yes"}) {
		t.Errorf("removed category: %q", got)
	}
}

// TestWriteCSVSemicolon: delimiter=; writes the same cells with ; between
// them; a cell holding either delimiter is quoted in both files.
func TestWriteCSVSemicolon(t *testing.T) {
	_, rdb := newRedis(t)
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	recs := []rec{{streamID(t0, 0), record(0, t0)}, {streamID(t0, 1), record(1, t0)}}
	recs[1].r.UserAgent = ";=cmd|' /C calc'!A0;"
	recs[1].r.URL = "https://x.example/a,=1+1"
	store(t, rdb, recs)

	files := map[string]string{}
	for _, d := range []string{",", ";"} {
		var buf bytes.Buffer
		n, err := write(context.Background(), rdb, testSite(), query(t, "delimiter="+url.QueryEscape(d)), &buf, nil)
		if err != nil || n != 2 {
			t.Fatalf("%s: Write = %d, %v", d, n, err)
		}
		files[d] = buf.String()
		r := csv.NewReader(&buf)
		r.Comma = rune(d[0])
		rows, err := r.ReadAll()
		if err != nil || len(rows) != 3 {
			t.Fatalf("%s: %d rows, %v", d, len(rows), err)
		}
		if !slices.Equal(rows[0], export.Columns(testSite())) {
			t.Errorf("%s: header %q", d, rows[0])
		}
		if got := rows[2][9:11]; !slices.Equal(got, []string{"https://x.example/a,'=1+1", ";'=cmd|' /C calc'!A0;"}) {
			t.Errorf("%s: url, user_agent %q", d, got)
		}
	}
	header := strings.Join(export.Columns(testSite()), ";") + "\r\n"
	if !strings.HasPrefix(files[";"], header) {
		t.Errorf("; file does not start with %q:\n%s", header, files[";"])
	}
	if want := `;"https://x.example/a,'=1+1";";'=cmd|' /C calc'!A0;";`; !strings.Contains(files[";"], want) {
		t.Errorf("; file lacks %s:\n%s", want, files[";"])
	}
	if want := `,"https://x.example/a,'=1+1",";'=cmd|' /C calc'!A0;",`; !strings.Contains(files[","], want) {
		t.Errorf(", file lacks %s:\n%s", want, files[","])
	}
	if strings.ReplaceAll(files[";"], ";", ",") != strings.ReplaceAll(files[","], ";", ",") {
		t.Errorf("the files differ in more than the delimiter:\n%s\n%s", files[","], files[";"])
	}
}

func TestCell(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"empty", "", ""},
		{"plain", "Mozilla/5.0", "Mozilla/5.0"},
		{"= inside", "a=b", "a=b"},
		{"=", "=1+2", "'=1+2"},
		{"+", "+1", "'+1"},
		{"-", "-1", "'-1"},
		{"@", "@x", "'@x"},
		{"tab", "\tx", "'\tx"},
		{"CR", "\rx", "'\rx"},
		{"already guarded", "'=x", "'=x"},
		{"space then =", " =x", "' =x"},
		{"spaces then -", "   -2+3", "'   -2+3"},
		// A tab or line break also starts a cell for some readers: the ' goes
		// in front of the value and after each break.
		{"tab then =", "\t=x", "'\t'=x"},
		{"LF then =", "\n=x", "'\n'=x"},
		{"CR LF then @", "\r\n@x", "'\r'\n'@x"},
		{"NBSP then =", "\u00a0=1+1", "'\u00a0=1+1"},
		{"BOM then =", "\ufeff=1+1", "'\ufeff=1+1"},
		{"zero-width space then +", "\u200b+cmd", "'\u200b+cmd"},
		{"ideographic space then =", "\u3000=1", "'\u3000=1"},
		{"quote then =", `"=1+1"`, `'"=1+1"`},
		{"full-width =", "＝1+1", "'＝1+1"},
		{"full-width +", "＋cmd", "'＋cmd"},
		{"full-width -", "－2+3", "'－2+3"},
		{"full-width @", "＠SUM(1)", "'＠SUM(1)"},
		{"NBSP then full-width =", "\u00a0＝1", "'\u00a0＝1"},
		{"only white space", " \u00a0 ", " \u00a0 "},
		{"space then letter", " x", " x"},
		{"after ;", "https://x.example/;=1+1;", "https://x.example/;'=1+1;"},
		{"DDE after ;", ";=cmd|' /C calc'!A0;", ";'=cmd|' /C calc'!A0;"},
		{"after ,", "a,=1", "a,'=1"},
		{"after , and space", "a, -1", "a,' -1"},
		{"after tab", "a\t@x", "a\t'@x"},
		{"after LF", "a\n+x", "a\n'+x"},
		{"after ; and quote", `a;"=1"`, `a;'"=1"`},
		{"several", "=a;=b,=c", "'=a;'=b,'=c"},
		{"user agent", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0)", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0)"},
		{"bot user agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			"Mozilla/5.0 (compatible; Googlebot/2.1;' +http://www.google.com/bot.html)"},
		{"other choices", "ads=no;video=yes", "ads=no;video=yes"},
		{"trailing break", "a;", "a;"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := export.Cell(tt.in); got != tt.want {
				t.Errorf("Cell(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWriteNDJSON(t *testing.T) {
	_, rdb := newRedis(t)
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	var recs []rec
	for i := 0; i < 1500; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		recs = append(recs, rec{streamID(at, 0), record(i, at)})
	}
	recs[3].r.UserAgent = "ä \"quoted\" </script> \u2028"
	store(t, rdb, recs)
	var buf bytes.Buffer
	n, err := write(context.Background(), rdb, testSite(), query(t, "format=ndjson"), &buf, nil)
	if err != nil || n != 1500 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1500 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		if m["stream_id"] != recs[i].id {
			t.Fatalf("line %d stream_id %v, want %s", i, m["stream_id"], recs[i].id)
		}
		// The record is exactly as stored, with its receipt and stream_id
		// added at the end.
		ms, err := rdb.XRange(context.Background(), ledger.LogKey("demo"), recs[i].id, recs[i].id).Result()
		if err != nil || len(ms) != 1 {
			t.Fatal(ms, err)
		}
		stored := ms[0].Values["record"].(string)
		head, rest, ok := strings.Cut(line, `,"receipt":`)
		if !ok || head+"}" != stored || !strings.HasSuffix(rest, `,"stream_id":"`+recs[i].id+`"}`) {
			t.Fatalf("line %d\n got %s\nwant %s with receipt and stream_id", i, line, stored)
		}
		if i%500 == 0 {
			rc, err := proof.ParseReceipt([]byte(strings.TrimSuffix(rest, `,"stream_id":"`+recs[i].id+`"}`)))
			if err != nil || rc.Verify(testKeys()) != nil || rc.Seq != int64(i+1) {
				t.Fatalf("line %d: receipt %+v (%v)", i, rc, err)
			}
		}
	}
	var s ledger.Stored
	if err := json.Unmarshal([]byte(lines[3]), &s); err != nil || s.UserAgent != recs[3].r.UserAgent || s.V != 2 {
		t.Errorf("line 3: %+v %v", s, err)
	}
}

// TestWriteUnverifiedEntries exports a log into which entries were
// written that are not part of the signed chain, as an attacker with
// write access to Redis or a damaged store would leave them: the export
// completes; CSV leaves them out, NDJSON and the proof bundle write each
// as a line that says why (so consentd verify names it); every one is
// reported. The real records are exported as ever.
func TestWriteUnverifiedEntries(t *testing.T) {
	_, rdb := newRedis(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	var recs []rec
	for i := 0; i < 600; i++ { // several signed batches
		at := t0.Add(time.Duration(i) * time.Second)
		recs = append(recs, rec{streamID(at, 1), record(i, at)})
	}
	old := record(9000, t0)
	v1, _ := old.Encode() // no chain members
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: ledger.LogKey("demo"), ID: "1-0", Values: []any{"v", "1", "record", string(v1)}}).Err(); err != nil {
		t.Fatal(err)
	}
	store(t, rdb, recs)
	batches, err := rdb.XRange(ctx, ledger.BatchesKey("demo"), "-", "+").Result()
	if err != nil || len(batches) < 2 {
		t.Fatalf("batches %d %v", len(batches), err)
	}
	first, err := rdb.XRange(ctx, ledger.LogKey("demo"), recs[0].id, recs[0].id).Result()
	if err != nil {
		t.Fatal(err)
	}
	realRecord := first[0].Values["record"].(string)
	after := t0.Add(time.Hour)
	bad := []struct {
		id     string
		values []any
		reason string
	}{
		{"1-0", nil, `entry format "1"`}, // stored first, before the chain
		{streamID(after, 0), []any{"v", "2", "record", realRecord, "b", batches[1].ID}, "record seq 1 is not in its batch"},
		{streamID(after, 1), []any{"v", "2", "record", realRecord}, "names no signed batch"},
		{streamID(after, 2), []any{"v", "2", "record", strings.Replace(realRecord, `"method":"custom"`, `"method":"accept_all"`, 1), "b", batches[0].ID}, "does not hash"},
		{streamID(after, 3), []any{"v", "9", "record", "{}"}, `entry format "9"`},
	}
	for _, b := range bad[1:] {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: ledger.LogKey("demo"), ID: b.id, Values: b.values}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, format := range []string{"csv", "ndjson"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			var unverified []*ledger.UnverifiedError
			n, err := write(ctx, rdb, testSite(), query(t, "format="+format+"&to=2026-11-02"), &buf, &unverified)
			if err != nil || n != len(recs) {
				t.Fatalf("Write = %d, %v; want the %d records", n, err, len(recs))
			}
			if len(unverified) != len(bad) {
				t.Fatalf("reported %d unverified entries %v, want %d", len(unverified), unverified, len(bad))
			}
			for i, b := range bad {
				if !strings.Contains(unverified[i].Reason, b.reason) {
					t.Errorf("entry %s: reason %q, want %q", unverified[i].StreamID, unverified[i].Reason, b.reason)
				}
			}
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			marked := 0
			for _, line := range lines {
				if strings.Contains(line, `"`+export.UnverifiedMember+`":`) {
					marked++
					var m map[string]string
					if err := json.Unmarshal([]byte(line), &m); err != nil || m["stream_id"] == "" || m[export.UnverifiedMember] == "" {
						t.Errorf("marked line %s: %v", line, err)
					}
				}
			}
			want := len(bad)
			if format == "csv" {
				want = 0
			}
			if marked != want {
				t.Errorf("%d lines marked %s, want %d", marked, export.UnverifiedMember, want)
			}
		})
	}
}

func TestWriteEmpty(t *testing.T) {
	_, rdb := newRedis(t)
	var buf bytes.Buffer
	if n, err := write(context.Background(), rdb, testSite(), query(t, ""), &buf, nil); n != 0 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if buf.String() != strings.Join(export.Columns(testSite()), ",")+"\r\n" {
		t.Errorf("empty CSV %q", buf.String())
	}
	buf.Reset()
	if n, err := write(context.Background(), rdb, testSite(), query(t, "format=ndjson"), &buf, nil); n != 0 || err != nil || buf.Len() != 0 {
		t.Fatalf("Write = %d, %v, %q", n, err, buf.String())
	}
}

// killingWriter kills Redis when the first page arrives.
type killingWriter struct {
	srv   *redisproc.Server
	pages int
	bytes.Buffer
}

func (w *killingWriter) Write(p []byte) (int, error) {
	w.pages++
	if w.pages == 1 {
		_ = w.srv.Kill()
	}
	return w.Buffer.Write(p)
}

func TestWriteRedisFailsMidway(t *testing.T) {
	srv, rdb := newRedis(t)
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	var recs []rec
	for i := 0; i < 3000; i++ {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		recs = append(recs, rec{streamID(at, 0), record(i, at)})
	}
	store(t, rdb, recs)
	w := &killingWriter{srv: srv}
	n, err := write(context.Background(), rdb, testSite(), query(t, ""), w, nil)
	if err == nil || !errors.Is(err, ledger.ErrUnavailable) {
		t.Fatalf("err %v, want ErrUnavailable", err)
	}
	if n != export.PageSize || w.pages != 1 {
		t.Fatalf("wrote %d records in %d pages before failing", n, w.pages)
	}
	rows, err := csv.NewReader(&w.Buffer).ReadAll()
	if err != nil || len(rows) != 1+export.PageSize {
		t.Fatalf("%d rows, %v: the output must end at a row boundary", len(rows), err)
	}
}

// BenchmarkExport exports 1 000 000 records (generated once per run) to
// io.Discard and reports records/s and the process's peak RSS during the
// export (VmHWM, reset before the export through /proc/self/clear_refs).
func BenchmarkExport(b *testing.B) {
	const total = 1_000_000
	srv := redisproc.StartT(b, redisproc.Options{Args: []string{"--appendonly", "no"}})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	start := time.Now()
	generate(b, rdb, total)
	b.Logf("generated %d records in %v", total, time.Since(start).Round(time.Millisecond))
	site := testSite()
	// The baseline: the same records paged with go-redis's XRANGE and
	// thrown away, no decoding and no output.
	b.Run("xrange-baseline", func(b *testing.B) {
		var took time.Duration
		for b.Loop() {
			t0 := time.Now()
			n := xrangeAll(b, rdb)
			took += time.Since(t0)
			if n != total {
				b.Fatalf("read %d records, want %d", n, total)
			}
		}
		b.ReportMetric(float64(total)*float64(b.N)/took.Seconds(), "records/s")
	})
	for _, format := range []string{export.CSV, export.NDJSON} {
		b.Run(format, func(b *testing.B) {
			q, err := export.ParseQuery(site, url.Values{"format": {format}}, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			var took time.Duration
			var rss float64
			for b.Loop() {
				runtime.GC()
				debug.FreeOSMemory()
				resetPeakRSS(b)
				d, bytes := timedExport(b, rdb, site, q, total)
				took += d
				rss = max(rss, peakRSSMB(b))
				b.Logf("%s: %d records, %.1f MB in %v", format, total, float64(bytes)/1e6, d.Round(time.Millisecond))
			}
			b.ReportMetric(float64(total)*float64(b.N)/took.Seconds(), "records/s")
			b.ReportMetric(rss, "peak-RSS-MB")
		})
	}
}

// xrangeAll is the export benchmarks' baseline: it pages through the demo
// log with go-redis's XRANGE, throws the entries away and returns their
// number.
func xrangeAll(b *testing.B, rdb redis.UniversalClient) int {
	n, from := 0, "-"
	for {
		page, err := rdb.XRangeN(context.Background(), ledger.LogKey("demo"), from, "+", export.PageSize).Result()
		if err != nil {
			b.Fatal(err)
		}
		n += len(page)
		if len(page) < export.PageSize {
			return n
		}
		from = "(" + page[len(page)-1].ID
	}
}

// timedExport runs one export of q (total records) to a counting writer
// and returns how long it took and how many bytes it wrote.
func timedExport(b *testing.B, rdb redis.UniversalClient, site *site.Site, q export.Query, total int) (time.Duration, int64) {
	w := &countingWriter{}
	t0 := time.Now()
	n, err := write(context.Background(), rdb, site, q, w, nil)
	took := time.Since(t0)
	if err != nil || n != total {
		b.Fatalf("Write = %d, %v", n, err)
	}
	return took, w.n
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// generate stores total records, one a millisecond, chained and signed
// (ledgertest), 10 000 at a time.
func generate(b *testing.B, rdb redis.UniversalClient, total int) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 10_000
	for i := 0; i < total; i += batch {
		var recs []rec
		for j := i; j < min(i+batch, total); j++ {
			at := t0.Add(time.Duration(j) * time.Millisecond)
			r := record(j, at)
			if j%4 == 0 {
				r.Method = ledger.MethodAcceptAll
			}
			recs = append(recs, rec{streamID(at, 0), r})
		}
		store(b, rdb, recs)
	}
}

// resetPeakRSS resets the kernel's VmHWM of this process (Linux ≥ 4.0).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset peak RSS (%v): it includes the generation", err)
	}
}

// peakRSSMB is this process's peak resident set size (VmHWM), in MB.
func peakRSSMB(b *testing.B) float64 {
	p, err := procfs.Self()
	if err != nil {
		b.Fatal(err)
	}
	st, err := p.NewStatus()
	if err != nil {
		b.Fatal(err)
	}
	return float64(st.VmHWM) / (1 << 20) // procfs gives bytes
}

// BenchmarkExportChained exports records stored the way production stores
// them (through the ledger: hash chain, signed batches), so each NDJSON
// line's receipt is rebuilt from its batch. Baseline in the same run: the
// same log paged with XRANGE and thrown away.
func BenchmarkExportChained(b *testing.B) {
	const total, writers = 200_000, 256
	srv := redisproc.StartT(b, redisproc.Options{Args: []string{"--appendonly", "no"}})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 16})
	defer rdb.Close()
	l := ledger.New(rdb, ledger.Options{Signer: testKey})
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1); n <= total; n = next.Add(1) {
				r := record(int(n), time.Now())
				if _, err := l.Append(context.Background(), &r); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	_ = l.Close(context.Background())
	b.Logf("stored %d chained records in %v", total, time.Since(start).Round(time.Millisecond))
	site := testSite()
	var base float64
	b.Run("xrange-baseline", func(b *testing.B) {
		var took time.Duration
		for b.Loop() {
			t0 := time.Now()
			if n := xrangeAll(b, rdb); n != total {
				b.Fatalf("read %d records, want %d", n, total)
			}
			took += time.Since(t0)
		}
		base = float64(total) * float64(b.N) / took.Seconds()
		b.ReportMetric(base, "records/s")
	})
	b.Run("ndjson-receipts", func(b *testing.B) {
		q, err := export.ParseQuery(site, url.Values{"format": {export.NDJSON}}, time.Now().Add(time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		var took time.Duration
		for b.Loop() {
			d, _ := timedExport(b, rdb, site, q, total)
			took += d
		}
		rate := float64(total) * float64(b.N) / took.Seconds()
		b.ReportMetric(rate, "records/s")
		if base > 0 {
			b.ReportMetric(rate/base, "x-baseline")
		}
	})
}

// TestScanRecordsAreNotDecisions: a scan record in the log is part of
// the chain, so an NDJSON export of the whole log holds it (with its
// receipt, as a line of kind "scan"), but it is no decision: not a CSV
// row, not counted, and never matched by a decision filter (not even
// country=unknown, though it has no country).
func TestScanRecordsAreNotDecisions(t *testing.T) {
	_, rdb := newRedis(t)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	r2 := record(2, t0.Add(2*time.Hour))
	r2.Country = ""
	recs := []rec{
		{streamID(t0.Add(time.Hour), 0), record(1, t0.Add(time.Hour))},
		{streamID(t0.Add(90*time.Minute), 0), *ledger.ScanRecord("demo", "0196a1b2-0000-7000-8000-000000000099", t0.Add(90*time.Minute), evidencetest.Scan(t, "demo", 1))},
		{streamID(t0.Add(2*time.Hour), 0), r2},
	}
	store(t, rdb, recs)

	for _, tt := range []struct {
		query string
		want  string // record numbers; 99 is the scan record
		scans int
	}{
		{"", "1 99 2", 1},
		{"from=2026-11-01T01:30:00Z", "99 2", 1},
		{"method=custom", "1 2", 0},
		{"country=unknown", "2", 0},
		{"category=analytics:no", "1", 0},
	} {
		t.Run(tt.query, func(t *testing.T) {
			var buf bytes.Buffer
			e := export.New(rdb, testSite(), query(t, tt.query+"&format=ndjson"), testKeys(), &buf)
			for {
				more, err := e.Next(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if !more {
					break
				}
			}
			var got []string
			sc := bufio.NewScanner(&buf)
			for sc.Scan() {
				var s ledger.Stored
				if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				if s.IsScan() != (s.Kind == "scan") || (s.IsScan() && !strings.Contains(sc.Text(), `"receipt":{`)) {
					t.Errorf("line %s", sc.Text())
				}
				n, _ := strconv.Atoi(strings.TrimPrefix(s.RecordID, "0196a1b2-0000-7000-8000-"))
				got = append(got, strconv.Itoa(n))
			}
			if strings.Join(got, " ") != tt.want || e.Scans() != tt.scans || e.Count() != len(got)-tt.scans {
				t.Errorf("records %v (%d decisions, %d scans), want %s and %d scans", got, e.Count(), e.Scans(), tt.want, tt.scans)
			}
		})
	}

	var buf bytes.Buffer
	n, err := write(context.Background(), rdb, testSite(), query(t, "format=csv"), &buf, nil)
	rows, _ := csv.NewReader(&buf).ReadAll()
	if err != nil || n != 2 || len(rows) != 3 || strings.Contains(fmt.Sprint(rows), "000000000099") {
		t.Errorf("CSV: %d decisions, %v, rows %v; want the 2 decisions only", n, err, rows)
	}
	// What Write and WriteBundle report (the summary line of consentd
	// export): the decisions and the scan records apart.
	c, err := export.Write(context.Background(), rdb, testSite(), query(t, "format=ndjson"), testKeys(), io.Discard, nil)
	if err != nil || c != (export.Counts{Decisions: 2, Scans: 1}) {
		t.Errorf("NDJSON: %+v, %v; want 2 decisions and 1 scan record", c, err)
	}
	c, err = export.WriteBundle(context.Background(), rdb, testSite(), testKeys(), t0.Add(3*time.Hour), io.Discard, nil)
	if err != nil || c != (export.Counts{Decisions: 2, Scans: 1}) {
		t.Errorf("proof bundle: %+v, %v; want 2 decisions and 1 scan record", c, err)
	}
}
