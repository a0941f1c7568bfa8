package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

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
			if tt.field == "" && refKeyProblem([]byte(tt.body)) != "" {
				t.Fatalf("reference finds %q", refKeyProblem([]byte(tt.body)))
			}
		})
	}
}

// refKeyProblem is a slow reference for the key checks of decodeConsent
// (encoding/json tokens): the first key given twice in the top-level
// object or in its choices object, or a top-level key not spelled like a
// field; "" if none.
func refKeyProblem(body []byte) string { return refKeys(body, true) }

func refKeys(body []byte, top bool) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key := tok.(string)
		if seen[key] || top && fieldIndex(key) < 0 {
			return key
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return ""
		}
		if top && key == "choices" && strings.HasPrefix(string(raw), "{") {
			if p := refKeys(raw, false); p != "" {
				return "choices." + p
			}
		}
	}
	return ""
}

// TestFoldedFields: foldedFields is consentFields folded by foldKey, and
// foldKey folds as encoding/json matches keys to fields.
func TestFoldedFields(t *testing.T) {
	for i, f := range consentFields {
		if got := foldKey(f); got != foldedFields[i] {
			t.Errorf("foldKey(%q) = %q, foldedFields has %q", f, got, foldedFields[i])
		}
	}
	tests := []struct {
		key  string
		want int
	}{
		{"site", fieldSite}, {"SITE", fieldSite}, {"sItE", fieldSite}, {"ſite", fieldSite},
		{"CONSENTID", fieldConsentID}, {"Choices", fieldChoices}, {"noticeversion", fieldNoticeVersion},
		{"URL", fieldURL}, {"noticeVerſion", fieldNoticeVersion}, {"NOTICEVERſION", fieldNoticeVersion},
		{"\u212Aey", -1}, {strings.Repeat("ſ", 20), -1}, {"sites", -1}, {"sıte", -1}, {"", -1},
	}
	for _, tt := range tests {
		if got := foldedField(tt.key); got != tt.want {
			t.Errorf("foldedField(%q) = %d, want %d", tt.key, got, tt.want)
		}
		// encoding/json agrees: a value of the wrong type is reported
		// under the field's name exactly when the key matches it.
		var v struct {
			Site          string `json:"site"`
			ConsentID     string `json:"consentId"`
			Choices       string `json:"choices"`
			Method        string `json:"method"`
			NoticeVersion string `json:"noticeVersion"`
			Language      string `json:"language"`
			URL           string `json:"url"`
		}
		key, _ := json.Marshal(tt.key)
		err := json.Unmarshal([]byte(`{`+string(key)+`:1}`), &v)
		var te *json.UnmarshalTypeError
		matched := errors.As(err, &te)
		if matched != (tt.want >= 0) || matched && te.Field != consentFields[tt.want] {
			t.Errorf("encoding/json on %q: %v, want field %d", tt.key, err, tt.want)
		}
	}
}
