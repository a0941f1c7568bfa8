package export

import (
	"maps"
	"reflect"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/consentd/consentd/server/ledger"
)

// FuzzDecodeEntry: the scanner reads every input as ledger.DecodeEntry
// (encoding/json) does, or hands it over to it.
func FuzzDecodeEntry(f *testing.F) {
	r := ledger.Record{Site: "demo", RecordID: "0196a1b2-0000-7000-8000-000000000001", ConsentID: "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f",
		Time: time.Date(2026, 11, 23, 12, 20, 58, 41e6, time.UTC), NoticeVersion: "2d22", PolicyVersion: "2026-11-01",
		Method: "custom", Choices: map[string]bool{"necessary": true, "analytics": false}, Language: "fi",
		URL: "https://www.oppimo.fi/kurssit", UserAgent: "curl/8.0", IP: "198.51.100.0", Country: "FI", Mode: "opt-in"}
	for _, ua := range []string{"curl/8.0", `=HYPERLINK("x")`, "ä ö \u2028 </script>", "tab\there", "\\", "\x00\xff"} {
		r.UserAgent = ua
		b, _ := r.Encode()
		f.Add(string(b))
	}
	r.Choices = nil
	b, _ := r.Encode()
	f.Add(string(b))
	for _, s := range []string{`{}`, `{"v":1}`, `{"v":01}`, `{"v":-1}`, `{"v":1.0}`, `{"Method":"gpc"}`, `{"method":"a","method":"b"}`,
		`{"choices":{"a":true},"choices":{"b":false}}`, `{"choices":null}`, `{"url":"a\"b"}`, `{"url":"\ud800"}`, `{"url":"a"} `,
		`{"url":"a",}`, `{"ip":"` + "\xff" + `"}`, `{"c\u0068oices":{}}`, `{"choices":{"a":tru}}`, `[]`, ``, `{"time":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		values := map[string]any{"v": ledger.FormatVersion, "record": raw}
		want, wantErr := ledger.DecodeEntry(values)
		var got ledger.Stored
		_, err := decodeEntry(values, &got, map[string]bool{"stale": true})
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: err %v, encoding/json %v", raw, err, wantErr)
		}
		if err != nil {
			return
		}
		if len(got.Choices) == 0 && len(want.Choices) == 0 {
			got.Choices, want.Choices = nil, nil
		}
		if !maps.Equal(got.Choices, want.Choices) {
			t.Fatalf("%q: choices %v, encoding/json %v", raw, got.Choices, want.Choices)
		}
		got.Choices, want.Choices = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", raw, got, want)
		}
	})
}

func TestDecodeEntryFormat(t *testing.T) {
	var s ledger.Stored
	for _, values := range []map[string]any{
		{"v": "9", "record": "{}"},
		{"v": "1"},
		{"record": "{}"},
	} {
		if _, err := decodeEntry(values, &s, map[string]bool{}); err == nil {
			t.Errorf("%v: no error", values)
		}
	}
}

// BenchmarkDecodeEntry reads one stored record (the shape ledger.Record
// stores, a browser's User-Agent) with the scanner, and for comparison
// with ledger.DecodeEntry (encoding/json) and with json/v2.
func BenchmarkDecodeEntry(b *testing.B) {
	r := ledger.Record{Site: "demo", RecordID: "0196a1b2-0000-7000-8000-000000000001", ConsentID: "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f",
		Time: time.Date(2026, 11, 23, 12, 20, 58, 41e6, time.UTC), NoticeVersion: "2d220c4e6f16c66a47c892c18ab49e32416e4703a072cf88a7feded2c1d9dcea",
		PolicyVersion: "2026-11-01", Method: "custom", Choices: map[string]bool{"necessary": true, "analytics": false, "marketing": true},
		Language: "fi", URL: "https://www.oppimo.fi/kurssit", IP: "198.51.100.0", Country: "FI", Mode: "opt-in",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"}
	raw, err := r.Encode()
	if err != nil {
		b.Fatal(err)
	}
	values := map[string]any{"v": ledger.FormatVersion, "record": string(raw)}
	b.Run("scanner", func(b *testing.B) {
		var s ledger.Stored
		choices := map[string]bool{}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeEntry(values, &s, choices); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ledger.DecodeEntry(values); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-v2", func(b *testing.B) {
		s := ledger.Stored{Choices: map[string]bool{}}
		b.ReportAllocs()
		for b.Loop() {
			clear(s.Choices)
			if err := jsonv2.Unmarshal([]byte(values["record"].(string)), &s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
