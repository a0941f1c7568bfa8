package server

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestDecodeConsentAnswers: the answer for each kind of bad body, message
// included (docs/api.md quotes them), and what a good body decodes to.
// When a body has several faults, the first in reading order answers;
// invalid UTF-8 anywhere comes first.
func TestDecodeConsentAnswers(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		field string // "" = accepted
		msg   string // the error, or for an accepted body the site
	}{
		{"not JSON", `site=demo`, "body", "body is not valid JSON (at byte 1)"},
		{"empty body", ``, "body", "body is empty or cut short: expected a JSON object"},
		{"only white space", " \t\r\n", "body", "body is empty or cut short: expected a JSON object"},
		{"cut short", `{"site":"de`, "body", "body is empty or cut short: expected a JSON object"},
		{"JSON array", `[]`, "body", "body must be a JSON object"},
		{"JSON string", `"demo"`, "body", "body must be a JSON object"},
		{"number then junk", `1x`, "body", "body must be a JSON object"},
		{"null body", `null`, "", ""},
		{"null then junk", `null x`, "body", "unexpected data after the JSON object"},
		{"trailing data", `{"site":"demo"} {}`, "body", "unexpected data after the JSON object"},
		{"trailing white space", "{\"site\":\"demo\"} \n\t\r", "", "demo"},
		{"byte order mark", "\xef\xbb\xbf{}", "body", "body is not valid JSON (at byte 1)"},
		{"invalid UTF-8 in a string", "{\"url\":\"https://x.fi/\xff\"}", "body", "body is not valid UTF-8"},
		{"invalid UTF-8 after a syntax error", "x\xff", "body", "body is not valid UTF-8"},
		{"UTF-8 encoded surrogate", "{\"site\":\"\xed\xa0\x80\"}", "body", "body is not valid UTF-8"},
		{"raw control character", "{\"site\":\"de\x01mo\"}", "body", "body is not valid JSON (at byte 12)"},
		{"bad escape", `{"site":"\x"}`, "body", "body is not valid JSON (at byte 10)"},
		{"bad hex escape", `{"site":"\u12G4"}`, "body", "body is not valid JSON (at byte 10)"},
		{"comma before }", `{"site":"demo",}`, "body", "body is not valid JSON (at byte 15)"},
		{"leading zero", `{"choices":{"a":01}}`, "body", "body is not valid JSON (at byte 18)"},
		{"a string field given a number that is not JSON", `{"site":01}`, "site", "must be a string"},
		{"too deep, under an unknown field", `{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, "x", "unknown field"},
		{"too deep as a field", `{"site":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, "body", "body is not valid JSON (at byte 10008)"},
		{"too deep as the body", strings.Repeat("[", 10001) + strings.Repeat("]", 10001), "body", "body must be a JSON object"},
		{"too deep in a choice", `{"choices":{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}}`, "body", "body is not valid JSON (at byte 10015)"},
		{"just deep enough in a choice", `{"choices":{"a":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}}`, "", ""},
		{"unknown field", `{"extra":1}`, "extra", "unknown field"},
		{"unknown field, Go-quoted", `{"a\"b":1}`, `a\"b`, "unknown field"},
		{"empty key", `{"":1}`, "body", `unknown field "" (an empty key)`},
		{"site not a string", `{"site":7}`, "site", "must be a string"},
		{"site an object", `{"site":{"a":[1]}}`, "site", "must be a string"},
		{"site null", `{"site":null}`, "", ""},
		{"choices not an object", `{"choices":[true]}`, "choices", "must be a JSON object"},
		{"choices a string", `{"choices":"all"}`, "choices", "must be a JSON object"},
		{"choices null", `{"choices":null}`, "", ""},
		{"field in capitals", `{"SITE":"demo"}`, "SITE", "unknown field (names are case-sensitive)"},
		{"field in capitals, wrong type", `{"SITE":1}`, "SITE", "unknown field (names are case-sensitive)"},
		{"field in capitals, escaped", `{"\u0053ite":"demo"}`, "Site", "unknown field (names are case-sensitive)"},
		{"field with long s", `{"ſite":"demo"}`, "ſite", "unknown field (names are case-sensitive)"},
		{"field given twice", `{"site":"demo","site":"x"}`, "site", "given more than once"},
		{"field given twice by escape", `{"site":"demo","s\u0069te":"x"}`, "site", "given more than once"},
		{"choice given twice", `{"choices":{"a":true,"\u0061":false}}`, "choices.a", "given more than once"},
		{"name given twice inside a choice", `{"choices":{"a":{"x":1,"x":2}}}`, "choices.a", "given more than once"},
		{"choices given twice", `{"choices":{"a":true},"choices":{"b":true}}`, "choices", "given more than once"},
		{"first fault: key given twice, then a type error", `{"site":"a","site":"b","url":1}`, "site", "given more than once"},
		{"first fault: a type error, then a key given twice", `{"url":1,"site":"a","site":"b"}`, "url", "must be a string"},
		{"first fault: unknown field, then a type error", `{"x":1,"url":1}`, "x", "unknown field"},
		{"first fault: key given twice, then trailing data", `{"site":"a","site":"b"} x`, "site", "given more than once"},
		{"first fault: a syntax error, then a key given twice", `{"site":"a",,"site":"b"}`, "body", "body is not valid JSON (at byte 13)"},
		{"escapes", `{"site":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC"}`, "", "\"\\/\b\f\n\r\tAé€"},
		{"surrogate pair", `{"site":"\ud83d\ude00"}`, "", "😀"},
		{"surrogate pair in capitals", `{"site":"\uD83D\uDE00"}`, "", "😀"},
		{"replacement character escaped", `{"site":"\ufffd"}`, "", "\uFFFD"},
		{"escaped backslash, then text like an escape", `{"site":"\\ud800"}`, "", `\ud800`},
		{"lone high surrogate", `{"site":"\ud800"}`, "site", msgLoneSurrogate},
		{"lone low surrogate", `{"site":"x\udc00"}`, "site", msgLoneSurrogate},
		{"low then high", `{"site":"\udc00\ud800"}`, "site", msgLoneSurrogate},
		{"high then a letter", `{"site":"\ud800\u0041"}`, "site", msgLoneSurrogate},
		{"high then an escaped backslash", `{"site":"\ud800\\udc00"}`, "site", msgLoneSurrogate},
		{"two highs then a low", `{"site":"\ud800\ud800\udc00"}`, "site", msgLoneSurrogate},
		{"lone surrogate in consentId", `{"consentId":"\udfff"}`, "consentId", msgLoneSurrogate},
		{"lone surrogate in method", `{"method":"\ud800"}`, "method", msgLoneSurrogate},
		{"lone surrogate in noticeVersion", `{"noticeVersion":"\ud800"}`, "noticeVersion", msgLoneSurrogate},
		{"lone surrogate in language", `{"language":"\ud800"}`, "language", msgLoneSurrogate},
		{"lone surrogate in url", `{"url":"https://x.fi/\ud800"}`, "url", msgLoneSurrogate},
		{"the first field with a lone surrogate", `{"url":"\ud800","site":"\udc00"}`, "url", msgLoneSurrogate},
		{"first fault: lone surrogate, then a key given twice", `{"url":"\ud800","site":"a","site":"b"}`, "url", msgLoneSurrogate},
		{"first fault: a type error, then a lone surrogate", `{"site":1,"url":"\ud800"}`, "site", "must be a string"},
		{"lone surrogate in a choice id", `{"choices":{"\ud800":true}}`, "choices", msgLoneSurrogate},
		{"lone surrogate in a choice's value", `{"choices":{"a":true,"b":"\ud800"}}`, "choices.b", msgLoneSurrogate},
		{"lone surrogate in an unknown key", `{"\ud800":1}`, "body", msgLoneSurrogate},
		{"cut short after a high surrogate", `{"site":"\ud800`, "body", "body is empty or cut short: expected a JSON object"},
		{"escaped key of a field", `{"s\u0069te":"demo"}`, "", "demo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := decodeConsent([]byte(tt.body))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused: %#v", err)
				}
				if req.Site != tt.msg {
					t.Fatalf("site %q, want %q", req.Site, tt.msg)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != 400 || ae.Field != tt.field || ae.Msg != tt.msg {
				t.Fatalf("error %#v, want 400 %q %q", err, tt.field, tt.msg)
			}
		})
	}
}

// TestDecodeConsentKeys: keys given twice or misspelled are refused,
// naming the key; what is accepted passes the reference key check.
func TestDecodeConsentKeys(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		field string // "" = accepted
	}{
		{"distinct keys", `{"site":"demo","choices":{"a":true,"b":false},"url":""}`, ""},
		{"escaped key", `{"s\u0069te":"demo"}`, ""},
		{"white space everywhere", " {\n\t\"site\" : \"demo\" ,\r\n \"choices\" : { \"a\" : true , \"b\" : [ 1 , { \"c\" : 2 } ] } } ", ""},
		{"strings with braces and quotes", `{"url":"}\"{,[","site":"a\\","choices":{"x\"y":true,"x":true}}`, ""},
		{"duplicate field", `{"site":"demo","site":"other"}`, "site"},
		{"duplicate after escapes", `{"site":"demo","s\u0069te":"other"}`, "site"},
		{"duplicate choices key", `{"choices":{"analytics":true,"marketing":false,"analytics":false}}`, "choices.analytics"},
		{"duplicate escaped choices key", `{"choices":{"ads":true,"\u0061ds":false}}`, "choices.ads"},
		{"field in other case", `{"SITE":"demo"}`, "SITE"},
		{"mixed case", `{"consentID":""}`, "consentID"},
		{"duplicate choices objects", `{"choices":{"a":true},"choices":{"b":true}}`, "choices"},
		{"duplicate inside a choice", `{"choices":{"a":[{"b":1,"b":2}]}}`, "choices.a"},
		{"null body", `null`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeConsent([]byte(tt.body))
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.field != "" && (err == nil || err.(*APIError).Field != tt.field || err.(*APIError).Code != 400):
				t.Fatalf("error %#v, want 400 naming %q", err, tt.field)
			}
			if key, bad := refKeyProblem([]byte(tt.body)); tt.field == "" && bad {
				t.Fatalf("reference finds %q", key)
			}
		})
	}
}

// TestDecodeConsentChoices: the entries of choices in body order with
// their values; past the inline ones and past the count where duplicates
// are found with a map.
func TestDecodeConsentChoices(t *testing.T) {
	var body strings.Builder
	body.WriteString(`{"choices":{`)
	var want []choice
	values := []string{"true", "false", "1", `"yes"`, "null", "{}", "[true]", " true "}
	kinds := []choiceValue{choiceTrue, choiceFalse, choiceOther, choiceOther, choiceOther, choiceOther, choiceOther, choiceTrue}
	for i := range 40 {
		id := string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`"` + id + `":` + values[i%len(values)])
		want = append(want, choice{ID: id, Value: kinds[i%len(kinds)]})
	}
	for n := range len(want) + 1 {
		t.Run(string(rune('0'+n/10))+string(rune('0'+n%10)), func(t *testing.T) {
			b := body.String()
			if n < len(want) {
				b = strings.Join(strings.SplitN(b, ",", n+1)[:max(n, 1)], ",")
				if n == 0 {
					b = `{"choices":{`
				}
			}
			b += "}}"
			req, err := decodeConsent([]byte(b))
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if got := req.Choices; !equalChoices(got, want[:min(max(n, 0), len(want))]) && !(n == 0 && len(got) == 0) {
				t.Fatalf("%s: choices %v", b, got)
			}
			// The same body with its last entry again: refused, named.
			if n > 0 {
				last := want[min(n, len(want))-1]
				dup := b[:len(b)-2] + `,"` + last.ID + `":true}}`
				_, err := decodeConsent([]byte(dup))
				var ae *APIError
				if !errors.As(err, &ae) || ae.Field != "choices."+last.ID || ae.Msg != "given more than once" {
					t.Fatalf("%s: %#v, want %s given more than once", dup, err, last.ID)
				}
			}
		})
	}
}

// equalChoices reports whether a and b hold the same entries in order.
func equalChoices(a, b []choice) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// benchConsentBody is the body cmd/consentd-bench posts (its notice
// version aside).
func benchConsentBody() []byte {
	body, _ := json.Marshal(map[string]any{
		"site":          "demo",
		"choices":       map[string]bool{"necessary": true, "analytics": true, "marketing": false},
		"method":        "custom",
		"noticeVersion": "4f0a8d6c2b9e1f3a5c7d9e0b2a4c6e8f1a3b5c7d9e0f2a4b6c8d0e1f3a5b7c9d",
		"language":      "fi",
		"url":           "https://bench.example/page",
	})
	return body
}

// BenchmarkDecodeConsent decodes the body of the load test.
func BenchmarkDecodeConsent(b *testing.B) {
	body := benchConsentBody()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodeConsent(body); err != nil {
			b.Fatal(err)
		}
	}
}
