package server

import (
	"bytes"
	"encoding/json"
	"maps"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/consentd/consentd/config"
)

// FuzzDecodeDifferential holds decodeConsent to the encoding/json decoder
// it replaced (refDecodeConsent): for any body both accept with the same
// request, or both refuse with the same 400 (field and message). Then
// checkChoices on the demo site accepts both choice lists alike.
//
// One difference is allowed, and only this one: when "choices" is given
// more than once (also in other letter case), a key given twice inside
// the first choices object is named by decodeConsent ("choices.a"), while
// the old key check may overlook it (it counted the keys against the
// decoded map, which merges every choices object) and name a later key
// problem. Both refuse, with 400 and "given more than once" or "unknown
// field (names are case-sensitive)".
func FuzzDecodeDifferential(f *testing.F) {
	site := demoSite(f)
	for _, seed := range consentSeeds {
		f.Add([]byte(seed))
	}
	for _, seed := range differentialSeeds() {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		compareDecoders(t, site, body)
	})
}

// demoSite loads config/sites/demo.yaml.
func demoSite(tb testing.TB) *config.Site {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	site, err := config.LoadSite(filepath.Join(filepath.Dir(file), "..", "config", "sites", "demo.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	return site
}

// compareDecoders fails t unless decodeConsent and refDecodeConsent agree
// on body (see FuzzDecodeDifferential).
func compareDecoders(t *testing.T, site *config.Site, body []byte) {
	t.Helper()
	got, err := decodeConsent(body)
	want, wantErr := refDecodeConsent(body)
	switch {
	case err != nil && wantErr != nil:
		g, w := err.(*APIError), wantErr.(*APIError)
		if g.Code != 400 || w.Code != 400 {
			t.Fatalf("status %d, reference %d", g.Code, w.Code)
		}
		if (g.Field != w.Field || g.Msg != w.Msg) && !choicesDuplicateOverlooked(body, g, w) {
			t.Fatalf("answer %q %q, reference %q %q", g.Field, g.Msg, w.Field, w.Msg)
		}
		return
	case err != nil:
		t.Fatalf("refused (%q %q), reference accepts", err.(*APIError).Field, err)
	case wantErr != nil:
		t.Fatalf("accepted, reference refuses (%q %q): %+v", wantErr.(*APIError).Field, wantErr, got)
	}
	gotFields := [...]string{got.Site, got.ConsentID, got.Method, got.NoticeVersion, got.Language, got.URL}
	wantFields := [...]string{want.Site, want.ConsentID, want.Method, want.NoticeVersion, want.Language, want.URL}
	if gotFields != wantFields {
		t.Fatalf("fields %q, reference %q", gotFields, wantFields)
	}
	gotChoices := map[string]choiceValue{}
	for _, c := range got.Choices() {
		if _, dup := gotChoices[c.ID]; dup {
			t.Fatalf("choice %q twice", c.ID)
		}
		gotChoices[c.ID] = c.Value
	}
	wantChoices := map[string]choiceValue{}
	for id, raw := range want.Choices {
		switch string(bytes.TrimSpace(raw)) {
		case "true":
			wantChoices[id] = choiceTrue
		case "false":
			wantChoices[id] = choiceFalse
		default:
			wantChoices[id] = choiceOther
		}
	}
	if !maps.Equal(gotChoices, wantChoices) {
		t.Fatalf("choices %v, reference %v", gotChoices, wantChoices)
	}
	// Which bad entry is named depends on the reference's map order:
	// compare the outcome only.
	gotOut, err := checkChoices(site, got.Choices(), got.Method)
	wantOut, wantErr := refCheckChoices(site, want.Choices, want.Method)
	if (err == nil) != (wantErr == nil) || !maps.Equal(gotOut, wantOut) {
		t.Fatalf("checkChoices %v %v, reference %v %v", gotOut, err, wantOut, wantErr)
	}
}

// choicesDuplicateOverlooked is the one allowed difference (see
// FuzzDecodeDifferential): got names a duplicate inside choices, want
// another key problem, and the body gives choices more than once.
func choicesDuplicateOverlooked(body []byte, got, want *APIError) bool {
	keyProblem := func(e *APIError) bool {
		return e.Msg == "given more than once" || e.Msg == "unknown field (names are case-sensitive)"
	}
	if !strings.HasPrefix(got.Field, "choices.") || got.Msg != "given more than once" || !keyProblem(want) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if foldedField(tok.(string)) == fieldChoices {
			n++
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return n > 1
}

// differentialSeeds are bodies that probe where a hand-written decoder
// and encoding/json could part: escapes, surrogates, keys given twice
// through escapes, letter case, nested junk, nesting depth, numbers,
// literals, trailing data, byte order marks, invalid UTF-8, white space.
func differentialSeeds() []string {
	nv := `"` + zeros64 + `"`
	seeds := []string{
		// Valid bodies, the load test's first.
		string(benchConsentBody()),
		" {\n\t\"site\" : \"demo\" ,\r\n \"choices\" : { \"necessary\" : true , \"analytics\" : false, \"marketing\":false } ,\"method\":\"custom\",\"noticeVersion\":" + nv + ",\"language\":\"en\"}\n",
		`{"site":"demo","choices":{"necessary":true,"analytics":true,"marketing":true},"method":"accept_all","noticeVersion":` + nv + `,"language":"fi","url":"https://x.fi/\u00e4?q=1"}`,
		`{"url":"}\"{,[","site":"a\\","choices":{"x\"y":true,"x":true}}`,
		// Escapes and surrogates.
		`{"site":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\uFFFF"}`,
		`{"site":"\ud83d\ude00"}`, `{"site":"\uD83D\uDE00"}`, `{"site":"\ud800"}`, `{"site":"\udc00"}`,
		`{"site":"\udc00\ud800"}`, `{"site":"\ud800\u0041"}`, `{"site":"\ud800\ud800\udc00"}`,
		`{"site":"\ud800\\"}`, `{"site":"\ud800\u12"}`, `{"site":"\ud800\uZZZZ"}`, `{"site":"\ud800`,
		`{"site":"\x"}`, `{"site":"\'"}`, `{"site":"\u12G4"}`, `{"site":"\u00"}`, `{"site":"\`,
		`{"choices":{"\ud800":true,"\udfff":false}}`, `{"choices":{"\ud800":true,"\ufffd":false}}`,
		`{"url":"\ud800"}`, `{"url":"\\ud800"}`, `{"url":"\ud800\\udc00"}`, `{"url":"\ufffd\udbff\udfff"}`,
		`{"language":"\udc00","url":"\ud800"}`, `{"url":"\ud800","URL":"x"}`, `{"url":"\ud800","x":1}`,
		`{"consentId":"\ud800","consentId":"x"}`, `{"method":"\uDBFF\uDC00\uD800"}`, `{"url":"\ud800"} x`,
		// Keys given twice, also through escapes; letter case.
		`{"site":"a","s\u0069te":"b"}`, `{"\u0073ite":"a"}`, `{"S\u0049TE":"a"}`, `{"site":"a","site":null}`,
		`{"choices":{"a":true,"\u0061":false}}`, `{"choices":{"a":true},"choices":{"b":true}}`,
		`{"choices":{"a":1,"a":2},"SITE":"x","choices":{"b":1}}`, `{"choices":{"a":1,"a":2},"choices":null}`,
		`{"choices":{"a":1,"a":2},"CHOICES":{"b":1}}`, `{"choices":null,"choices":{"a":1,"a":1}}`,
		`{"ſite":"a"}`, `{"\u017fite":1}`, `{"Choices":{"a":true}}`, `{"SITE":"x","site":2}`, `{"site":2,"SITE":"x"}`,
		`{"K":1}`, `{"consentıd":""}`, `{"CONSENTID":""}`, `{"noticeversion":null}`,
		// Unknown keys.
		`{"extra":1}`, `{"":1}`, `{"a\"b":1}`, `{"a\\b":1}`, `{"\u0000":1}`, `{"\t":1}`, `{"é\u2028":1}`,
		`{"` + strings.Repeat("k", 100) + `":1}`, `{"x":1,"site":2}`, `{"site":2,"x":1}`,
		// Nested junk and depth.
		`{"extra":[{"a":[1,2,{"b":null}]},"x",[],{}]}`, `{"site":{"a":[1,{"b":2}]}}`, `{"choices":{"a":[true]}}`,
		`{"site":[1,2,]}`, `{"site":{"a" 1}}`, `{"site":{"a":1,}}`, `{"site":[,]}`, `{"site":{,}}`,
		// One level too deep (refused at that byte) at the top, in a field
		// and in a choice; TestDecodeConsentAnswers has the deepest allowed.
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
		`{"choices":{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}}`,
		`{"choices":{"necessary":` + strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000) + `}}`,
		// Numbers and literals.
		`{"site":1e999999}`, `{"x":123456789012345678901234567890}`, `{"site":` + strings.Repeat("9", 4000) + `}`,
		`{"x":01}`, `{"x":-}`, `{"x":1.}`, `{"x":1e}`, `{"x":1e+}`, `{"x":.5}`, `{"x":+1}`, `{"x":-0.0E-0}`,
		`01`, `-01`, `1.5e3x`, `-`, `1.`, `0`, `-0`,
		`{"x":tru}`, `{"x":truex}`, `{"x":nul}`, `{"choices":{"a":True}}`, `{"choices":{"a":fals}}`, `{"site":nulL}`,
		`true`, `false`, `null`, `nul`, `nullx`, `"x"`, `"x`,
		// Bad structure.
		`{"a":1`, `{"a"`, `{"a":`, `{"a" 1}`, `{a:1}`, `{'a':1}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`, `{"a"::1}`, `{`, `}`, `[1,2`,
		// Trailing data.
		`{} x`, `{}{}`, "{} \n\t\r", `{}]`, `null null`, "{}\x00", `{} /* c */`, "{}\v", `[] x`, `1 2`,
		// Byte order marks and invalid UTF-8.
		"\xef\xbb\xbf{}", `{"site":"\ufeff"}`, "{\"site\":\"\xef\xbb\xbf\"}", "\xff{}", "{}\xff", "{\"a\xff\":1}",
		"{\"site\":\"\xc0\xaf\"}", "{\"site\":\"\xed\xa0\x80\"}", "x\xff", "{\"x\":\"\xf4\x90\x80\x80\"}", "{\"x\":\"\xe2\x82\"}",
		// Control characters and white space.
		"{\"site\":\"a\x01\"}", "{\"site\":\"a\x7f\"}", "{\"a\x1f\":1}", "{\"site\":\"\t\"}", "\v{}", "\u00a0{}", "",
		"   ", "\n",
	}
	// Many choices: past the inline ones, past the map threshold, a
	// duplicate at the end.
	var many strings.Builder
	many.WriteString(`{"choices":{`)
	for i := range 20 {
		many.WriteString(`"c` + strings.Repeat("x", i) + `":true,`)
	}
	seeds = append(seeds, many.String()+`"c":false}}`, many.String()+`"d":false}}`)
	return seeds
}
