package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeDifferential holds decodeConsent (json/v2) to a reference
// built on encoding/json, refDecode: for any body both accept with the
// same request, or both refuse, decodeConsent with a 400 naming a field.
// Which fault a refusal names, when a body has several, is not compared:
// encoding/json checks the syntax of the whole body before anything else.
func FuzzDecodeDifferential(f *testing.F) {
	if got := jsonNames(consentRequest{}); !reflect.DeepEqual(got, jsonNames(refRequest{})) {
		f.Fatalf("consentRequest has the fields %q: update refRequest", got)
	}
	for _, seed := range consentSeeds {
		f.Add([]byte(seed))
	}
	for _, seed := range differentialSeeds() {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeConsent(body)
		want, ok := refDecode(body)
		switch {
		case err != nil && !ok:
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != 400 || ae.Field == "" || ae.Msg == "" {
				t.Fatalf("refusal is not a 400 with a field: %#v", err)
			}
			return
		case err != nil:
			t.Fatalf("refused (%v), reference accepts: %+v", err, want)
		case !ok:
			t.Fatalf("accepted, reference refuses: %+v", got)
		}
		gotFields := [...]string{got.Site, got.ConsentID, got.Method, got.NoticeVersion, got.Language, got.URL}
		wantFields := [...]string{want.Site, want.ConsentID, want.Method, want.NoticeVersion, want.Language, want.URL}
		if gotFields != wantFields {
			t.Fatalf("fields %q, reference %q", gotFields, wantFields)
		}
		gotChoices := map[string]choiceValue{}
		for _, c := range got.Choices {
			if _, dup := gotChoices[c.ID]; dup {
				t.Fatalf("choice %q twice", c.ID)
			}
			gotChoices[c.ID] = c.Value
		}
		wantChoices := map[string]choiceValue{}
		for id, raw := range want.Choices {
			wantChoices[id] = map[string]choiceValue{"true": choiceTrue, "false": choiceFalse}[string(bytes.TrimSpace(raw))]
		}
		if !maps.Equal(gotChoices, wantChoices) {
			t.Fatalf("choices %v, reference %v", gotChoices, wantChoices)
		}
	})
}

// refRequest is the body as the reference decodes it.
type refRequest struct {
	Site          string                     `json:"site"`
	ConsentID     string                     `json:"consentId"`
	Choices       map[string]json.RawMessage `json:"choices"`
	Method        string                     `json:"method"`
	NoticeVersion string                     `json:"noticeVersion"`
	Language      string                     `json:"language"`
	URL           string                     `json:"url"`
}

// refDecode is the reference FuzzDecodeDifferential holds decodeConsent
// to. It accepts a body if: it is valid UTF-8; encoding/json
// (DisallowUnknownFields) decodes it as one object, or null, with nothing
// after it; no object in it has a name twice and every top-level name is
// a field spelled exactly (refKeyProblem; encoding/json keeps the last of
// a name given twice and matches names case-insensitively); and it has no
// lone surrogate escape (encoding/json decodes one to U+FFFD).
func refDecode(body []byte) (*refRequest, bool) {
	if !utf8.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req refRequest
	if err := dec.Decode(&req); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	if _, bad := refKeyProblem(body); bad || refLoneSurrogate(body) {
		return nil, false
	}
	return &req, true
}

// jsonNames lists the JSON names of a struct's fields.
func jsonNames(v any) []string {
	var names []string
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

// refKeyProblem is a slow reference for the key checks of decodeConsent
// (encoding/json tokens): the first name given twice in an object, at any
// depth, or a top-level name not spelled exactly like a field; false if
// none (or if body is not valid JSON).
func refKeyProblem(body []byte) (string, bool) {
	type level struct {
		names    map[string]bool // nil in an array
		wantName bool
	}
	var open []*level
	fields := jsonNames(refRequest{})
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if name, ok := tok.(string); ok && len(open) > 0 && open[len(open)-1].wantName {
			n := len(open)
			if open[n-1].names[name] || n == 1 && !slices.Contains(fields, name) {
				return name, true
			}
			open[n-1].names[name], open[n-1].wantName = true, false
			continue
		}
		switch tok {
		case json.Delim('{'):
			open = append(open, &level{names: map[string]bool{}, wantName: true})
			continue
		case json.Delim('['):
			open = append(open, &level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			open = open[:len(open)-1]
		}
		// A value has ended: in an object, a name comes next.
		if n := len(open); n > 0 && open[n-1].names != nil {
			open[n-1].wantName = true
		}
	}
}

// refLoneSurrogate reports whether a valid JSON text has a \u escape of a
// UTF-16 surrogate that is not a high half directly followed by an
// escaped low half. (Every backslash of valid JSON is in a string.)
func refLoneSurrogate(body []byte) bool {
	escaped := func(i int) rune { // the value of the \uXXXX at body[i], or -1
		if i+6 > len(body) || body[i] != '\\' || body[i+1] != 'u' {
			return -1
		}
		v, err := strconv.ParseUint(string(body[i+2:i+6]), 16, 32)
		if err != nil {
			return -1
		}
		return rune(v)
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		r := escaped(i)
		switch {
		case r < 0: // another escape: skip its letter
			i++
		case r >= 0xd800 && r < 0xdc00:
			if low := escaped(i + 6); low < 0xdc00 || low >= 0xe000 {
				return true
			}
			i += 11
		case r >= 0xdc00 && r < 0xe000:
			return true
		default:
			i += 5
		}
	}
	return false
}

// differentialSeeds are bodies that probe where json/v2 and encoding/json
// part, or where JSON parsers often go wrong: escapes, surrogates, keys
// given twice through escapes, letter case, nested junk, nesting depth,
// numbers, literals, trailing data, byte order marks, invalid UTF-8,
// white space.
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
