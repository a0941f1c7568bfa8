package server

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// consentRequest is the body of POST /v1/consent.
type consentRequest struct {
	Site          string  `json:"site"`
	ConsentID     string  `json:"consentId"`
	Choices       choices `json:"choices"`
	Method        string  `json:"method"`
	NoticeVersion string  `json:"noticeVersion"`
	Language      string  `json:"language"`
	URL           string  `json:"url"`
}

// choices are the entries of the body's choices object, in body order.
type choices []choice

// choice is one entry of choices.
type choice struct {
	ID    string
	Value choiceValue
}

// choiceValue is the JSON value of a choice: true, false or anything else
// (a number, a string, null, an object…), which checkChoices refuses.
type choiceValue uint8

// The values of a choice.
const (
	choiceOther choiceValue = iota
	choiceTrue
	choiceFalse
)

// errNotObject is the answer for a choices value that is not an object.
var errNotObject = errors.New("must be a JSON object")

// UnmarshalJSONFrom reads the choices object (null leaves it empty).
func (c *choices) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if k := dec.PeekKind(); k != '{' {
		err := dec.SkipValue()
		if err == nil && k != 'n' {
			err = errNotObject
		}
		return err
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		ch := choice{ID: name.String()}
		switch dec.PeekKind() {
		case 't':
			ch.Value = choiceTrue
		case 'f':
			ch.Value = choiceFalse
		}
		if err := dec.SkipValue(); err != nil {
			return err
		}
		*c = append(*c, ch)
	}
	_, err := dec.ReadToken()
	return err
}

// decodeConsent parses the body with json/v2: one JSON object and nothing
// after it, every field known and spelled exactly, each field and each
// choices key given once, valid UTF-8, no lone surrogate escape ("\ud800"
// without its low half). The JSON null is an empty request (refused later
// for lack of a site). Invalid UTF-8 anywhere answers first, then the
// first fault in reading order, naming its field.
func decodeConsent(body []byte) (consentRequest, error) {
	var req consentRequest
	if err := json.Unmarshal(body, &req, json.RejectUnknownMembers(true)); err != nil {
		return consentRequest{}, decodeError(body, err)
	}
	return req, nil
}

// msgLoneSurrogate refuses a string with a lone surrogate escape.
const msgLoneSurrogate = `must be valid Unicode: \uD800-\uDFFF escapes only in high-low pairs`

// decodeError turns an error of json.Unmarshal on body into the answer;
// the field comes from the error's JSON pointer.
func decodeError(body []byte, err error) *APIError {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case !utf8.Valid(body):
		return badRequest("body", "body is not valid UTF-8")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body", "body is empty or cut short: expected a JSON object")
	case errors.As(err, &syn):
		at := min(int(syn.ByteOffset), len(body))
		switch {
		case errors.Is(err, jsontext.ErrDuplicateName):
			return badRequest(fieldOf(syn.JSONPointer), "given more than once")
		case surrogateEscape(body[at:]): // json/v2 refuses a lone one at the escape
			return badRequest(fieldOf(syn.JSONPointer), msgLoneSurrogate)
		case jsontext.Value(body[:at]).IsValid():
			return badRequest("body", "unexpected data after the JSON object")
		}
		return badRequest("body", fmt.Sprintf("body is not valid JSON (at byte %d)", at+1))
	case !errors.As(err, &sem):
		return badRequest("body", "body is not a valid consent request")
	case errors.Is(err, json.ErrUnknownName):
		return unknownField(sem.JSONPointer.LastToken())
	case sem.JSONPointer == "":
		return badRequest("body", "body must be a JSON object")
	case errors.Is(err, errNotObject):
		return badRequest(fieldOf(sem.JSONPointer), errNotObject.Error())
	}
	return badRequest(fieldOf(sem.JSONPointer), "must be a string")
}

// fieldOf names the field a JSON pointer is in: "site", or "choices.ads"
// for a choice.
func fieldOf(p jsontext.Pointer) string {
	field := ""
	for tok := range p.Tokens() {
		if field != "" {
			return field + "." + truncate(tok, 64)
		}
		field = tok
	}
	if field == "" {
		return "body"
	}
	return field
}

// unknownField answers a key that is not a field, named Go-quoted
// (without the quotes).
func unknownField(key string) *APIError {
	if key == "" {
		return badRequest("body", `unknown field "" (an empty key)`)
	}
	name := strings.Trim(strconv.Quote(key), `"`)
	t := reflect.TypeFor[consentRequest]()
	for i := range t.NumField() {
		if field, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); strings.EqualFold(field, key) {
			return badRequest(name, "unknown field (names are case-sensitive)")
		}
	}
	return badRequest(name, "unknown field")
}

// surrogateEscape reports whether b starts with a \u escape of a UTF-16
// surrogate half.
func surrogateEscape(b []byte) bool {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return false
	}
	v, err := strconv.ParseUint(string(b[2:6]), 16, 16)
	return err == nil && utf16.IsSurrogate(rune(v))
}
