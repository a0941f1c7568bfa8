package server

// The consent body decoder as it was before decode.go: encoding/json
// (DisallowUnknownFields) and a second scan of the keys (checkKeys). It is
// the reference FuzzDecodeDifferential holds decodeConsent to, and the
// "encoding-json" side of BenchmarkDecodeConsent. Kept as it was, apart
// from the names (ref…) and one check added with decode.go's: a string
// field with a lone surrogate escape is refused (refLoneSurrogates).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/ledger"
)

// refRequest is the body of POST /v1/consent as the reference decoder
// reads it (the old consentRequest).
type refRequest struct {
	Site          string                     `json:"site"`
	ConsentID     string                     `json:"consentId"`
	Choices       map[string]json.RawMessage `json:"choices"`
	Method        string                     `json:"method"`
	NoticeVersion string                     `json:"noticeVersion"`
	Language      string                     `json:"language"`
	URL           string                     `json:"url"`
}

// refDecodeConsent is the old decodeConsent: it parses the body strictly
// (one JSON object, known fields only) with encoding/json, then checkKeys
// refuses keys given twice or in other letter case. Errors name the
// offending field.
func refDecodeConsent(body []byte) (*refRequest, error) {
	if !utf8.Valid(body) {
		return nil, badRequest("body", "body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req refRequest
	if err := dec.Decode(&req); err != nil {
		return nil, refJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("body", "unexpected data after the JSON object")
	}
	if err := checkKeys(body, len(req.Choices)); err != nil {
		return nil, err
	}
	if err := refLoneSurrogates(body); err != nil {
		return nil, err
	}
	return &req, nil
}

// refLoneSurrogates refuses the first string field (in body order) whose
// raw text has a \u escape of a UTF-16 surrogate that is not a high half
// directly followed by an escaped low half: encoding/json decodes it to
// U+FFFD, hiding it. body is one valid JSON object whose keys checkKeys
// has passed.
func refLoneSurrogates(body []byte) *APIError {
	var err *APIError
	eachKey(body, skipSpace(body, 0), func(key []byte, value int) bool {
		name := unescapeKey(key)
		if name == "choices" || body[value] != '"' {
			return true
		}
		if refHasLoneSurrogate(body[value+1 : skipString(body, value)-1]) {
			err = badRequest(name, msgLoneSurrogate)
			return false
		}
		return true
	})
	return err
}

// refHasLoneSurrogate reports whether the raw text of a valid JSON string
// (between the quotes, escapes kept) has a lone surrogate escape.
func refHasLoneSurrogate(raw []byte) bool {
	escaped := func(i int) rune { // the value of the \uXXXX at raw[i], or -1
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return -1
		}
		v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
		if err != nil {
			return -1
		}
		return rune(v)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
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

// refJSONError turns an error of encoding/json into the answer.
func refJSONError(err error) *APIError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return badRequest("body", "body must be a JSON object")
		}
		return badRequest(field, fmt.Sprintf("must be a %s", refJSONKind(te.Type.Kind().String())))
	case errors.As(err, &se):
		return badRequest("body", fmt.Sprintf("body is not valid JSON (at byte %d)", se.Offset))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body", "body is empty or cut short: expected a JSON object")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if name := strings.Trim(f, `"`); name != "" {
			return badRequest(name, "unknown field")
		}
		return badRequest("body", `unknown field "" (an empty key)`)
	}
	return badRequest("body", "body is not a valid consent request")
}

// refJSONKind names a reflect.Kind for a type error.
func refJSONKind(k string) string {
	switch k {
	case "map", "struct":
		return "JSON object"
	case "slice":
		return "JSON array"
	}
	return k
}

// refCheckChoices is the old checkChoices, on the decoded map: it requires
// a true/false for every category of the site and nothing else; required
// categories must be true, and accept_all, reject_all and withdraw must
// say what they mean. With several bad entries, which one it names
// depends on the map's order.
func refCheckChoices(site *config.Site, raw map[string]json.RawMessage, method string) (map[string]bool, error) {
	if len(raw) == 0 {
		return nil, badRequest("choices", "required: an object with true or false for every category")
	}
	out := make(map[string]bool, len(raw))
	for id, v := range raw {
		cat, ok := site.Category(id)
		if !ok {
			return nil, badRequest("choices."+truncate(id, 64), "unknown category")
		}
		switch string(bytes.TrimSpace(v)) {
		case "true":
			out[id] = true
		case "false":
			if cat.Required {
				return nil, badRequest("choices."+id, "a required category must be true")
			}
			out[id] = false
		default:
			return nil, badRequest("choices."+id, "must be true or false")
		}
	}
	for _, cat := range site.Categories {
		granted, ok := out[cat.ID]
		if !ok {
			return nil, badRequest("choices."+cat.ID, "missing: every category needs true or false")
		}
		switch {
		case method == ledger.MethodAcceptAll && !granted:
			return nil, badRequest("method", "accept_all needs every category true")
		case (method == ledger.MethodRejectAll || method == ledger.MethodWithdraw) && granted && !cat.Required:
			return nil, badRequest("method", method+" needs every optional category false")
		}
	}
	return out, nil
}

// checkKeys refuses what encoding/json lets through in a consent body that
// it decoded: a key given twice (encoding/json keeps the last, another
// parser might keep the first) and a field name in other letter case
// ("SITE", matched case-insensitively by encoding/json). Keys of choices
// are checked for duplicates too; nChoices is how many distinct keys the
// decoded choices map holds. body must be one valid JSON object (decodeConsent
// has checked it); the scan does not allocate unless a key has escapes or
// choices has a duplicate.
func checkKeys(body []byte, nChoices int) *APIError {
	var seen uint
	var err *APIError
	eachKey(body, skipSpace(body, 0), func(key []byte, value int) bool {
		name := unescapeKey(key)
		i := fieldIndex(name)
		switch {
		case i < 0:
			err = badRequest(truncate(name, 64), "unknown field (names are case-sensitive)")
			return false
		case seen&(1<<i) != 0:
			err = badRequest(name, "given more than once")
			return false
		case name == "choices" && value < len(body) && body[value] == '{':
			err = checkChoiceKeys(body, value, nChoices)
		}
		seen |= 1 << i
		return err == nil
	})
	return err
}

// fieldIndex is the index in consentFields of the field spelled name, or -1.
func fieldIndex(name string) int {
	for i, f := range consentFields {
		if f == name {
			return i
		}
	}
	return -1
}

// checkChoiceKeys finds a key given twice in the choices object at
// body[start]. Counting is enough to know (the decoded map dropped the
// duplicates); only then are the keys compared to name it.
func checkChoiceKeys(body []byte, start, distinct int) *APIError {
	n := 0
	eachKey(body, start, func([]byte, int) bool { n++; return true })
	if n == distinct {
		return nil
	}
	seen := make(map[string]bool, n)
	var err *APIError
	eachKey(body, start, func(key []byte, _ int) bool {
		name := unescapeKey(key)
		if seen[name] {
			err = badRequest("choices."+truncate(name, 64), "given more than once")
			return false
		}
		seen[name] = true
		return true
	})
	return err
}

// eachKey calls f for each key of the valid JSON object at body[i] ('{'),
// with the key's raw bytes (between the quotes, escapes kept) and the
// index of its value, until f returns false.
func eachKey(body []byte, i int, f func(key []byte, value int) bool) {
	i++ // '{'
	for {
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != '"' {
			return // '}'
		}
		end := skipString(body, i)
		key := body[i+1 : end-1]
		i = skipSpace(body, end)
		i = skipSpace(body, i+1) // ':'
		if !f(key, i) {
			return
		}
		i = skipSpace(body, skipValue(body, i))
		if i < len(body) && body[i] == ',' {
			i++
		}
	}
}

// unescapeKey returns the key's text, decoding escapes (rare) as
// encoding/json does.
func unescapeKey(raw []byte) string {
	for _, b := range raw {
		if b == '\\' {
			var s string
			q := make([]byte, 0, len(raw)+2)
			q = append(append(append(q, '"'), raw...), '"')
			if json.Unmarshal(q, &s) != nil {
				return string(raw)
			}
			return s
		}
	}
	return string(raw)
}

// skipSpace returns the index of the first byte from i that is not JSON
// white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}
