package server

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// consentRequest is the body of POST /v1/consent, as decodeConsent reads
// it. Its strings share one copy of the body.
type consentRequest struct {
	Site          string
	ConsentID     string
	Method        string
	NoticeVersion string
	Language      string
	URL           string

	// The entries of choices in body order: the first len(inline) in
	// inline (no allocation for a site's few categories), all of them in
	// more once there are more. Choices returns them.
	inline [8]choice
	n      int
	more   []choice
}

// choice is one entry of the choices object of a consent body.
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

// Choices returns the entries of choices, in body order.
func (r *consentRequest) Choices() []choice {
	if r.more != nil {
		return r.more
	}
	return r.inline[:r.n]
}

// addChoice appends c to the entries of choices.
func (r *consentRequest) addChoice(c choice) {
	switch {
	case r.more != nil:
		r.more = append(r.more, c)
	case r.n < len(r.inline):
		r.inline[r.n] = c
		r.n++
	default:
		r.more = make([]choice, r.n, 2*r.n)
		copy(r.more, r.inline[:])
		r.more = append(r.more, c)
	}
}

// setField sets the string field number f (an index of consentFields).
func (r *consentRequest) setField(f int, s string) {
	switch f {
	case fieldSite:
		r.Site = s
	case fieldConsentID:
		r.ConsentID = s
	case fieldMethod:
		r.Method = s
	case fieldNoticeVersion:
		r.NoticeVersion = s
	case fieldLanguage:
		r.Language = s
	case fieldURL:
		r.URL = s
	}
}

// maxNesting is how deeply arrays and objects may nest, as in
// encoding/json (whose scanner refuses the 10001st level).
const maxNesting = 10000

// decodeConsent parses the body strictly, in one pass and allocating only
// the copy of the body its strings share (plus a string per key or value
// with escapes): one JSON object, nothing after it but white space, every
// field known, spelled exactly and given once, each choices key once, the
// body valid UTF-8. The JSON null leaves a field empty; the null body is
// an empty request (refused later for lack of a site).
//
// It answers what encoding/json (DisallowUnknownFields) followed by a key
// check answered before, in the same order: invalid UTF-8, then a syntax
// error of the first JSON value (at the same byte) or its end missing,
// then the first value of the wrong type or unknown field, then data
// after the object, then the first key given twice or in other letter
// case; then the first string field with a lone surrogate escape (a
// "\ud800" without its low half after it, or a low half alone), which
// encoding/json decoded to U+FFFD. FuzzDecodeDifferential holds it to
// that; the one difference it allows is documented there (a body giving
// choices twice).
func decodeConsent(body []byte) (consentRequest, error) {
	d := decoder{data: string(body)}
	if err := d.decode(); err != nil {
		// Only bytes inside strings were checked for UTF-8 on the way:
		// outside them a byte ≥ 0x80 is a syntax error. Invalid UTF-8
		// anywhere in the body comes before any other error.
		if !utf8.Valid(body) {
			return consentRequest{}, badRequest("body", "body is not valid UTF-8")
		}
		return consentRequest{}, err
	}
	return d.req, nil
}

// decoder is the state of one decodeConsent. Its methods that scan return
// the index after what they read, or -1 after setting syntaxErr.
type decoder struct {
	data string // the body; the request's strings are substrings of it
	req  consentRequest
	seen uint8 // bit f: field f has been given (spelled exactly)
	// choiceIDs holds the choice IDs once there are too many to compare
	// one by one (a hostile body can have a thousand).
	choiceIDs map[string]struct{}

	syntaxErr *APIError // the body is not JSON or ends too early
	typeErr   *APIError // first value of the wrong type, or unknown field
	keyErr    *APIError // first key given twice or in other letter case
	// loneErr is the first string field with a lone surrogate escape;
	// lone is set by unescape when the string it decodes has one.
	loneErr *APIError
	lone    bool
}

// decode reads the body into d.req.
func (d *decoder) decode() *APIError {
	i := d.space(0)
	if i == len(d.data) {
		d.eof()
		return d.syntaxErr
	}
	switch d.data[i] {
	case '{':
		i = d.object(i)
	case 'n':
		i = d.literal(i, "null")
	default:
		if d.skip(i, 0) < 0 {
			return d.syntaxErr
		}
		return badRequest("body", "body must be a JSON object")
	}
	switch {
	case i < 0:
		return d.syntaxErr
	case d.typeErr != nil:
		return d.typeErr
	case d.space(i) < len(d.data):
		return badRequest("body", "unexpected data after the JSON object")
	case d.keyErr != nil:
		return d.keyErr
	}
	return d.loneErr
}

// object reads the top-level object at data[i] ('{').
func (d *decoder) object(i int) int {
	return d.members(i, d.field)
}

// members reads the members of the object at data[i] ('{'), calling
// value with each key and the index of its value; value returns the
// index after the value, or -1 after setting syntaxErr.
func (d *decoder) members(i int, value func(key string, i int) int) int {
	data := d.data
	i = d.space(i + 1)
	if i < len(data) && data[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(data) {
			return d.eof()
		}
		if data[i] != '"' {
			return d.syntax(i)
		}
		var key string
		if key, i = d.str(i); i < 0 {
			return i
		}
		if i = d.colon(i); i < 0 {
			return i
		}
		if i = value(key, i); i < 0 {
			return i
		}
		if i = d.space(i); i >= len(data) {
			return d.eof()
		}
		switch data[i] {
		case ',':
			i = d.space(i + 1)
		case '}':
			return i + 1
		default:
			return d.syntax(i)
		}
	}
}

// field reads the value at data[i] of the top-level key. A key that is a
// field name in other letter case is a key problem, but its value is read
// as that field's (encoding/json matched it): its type is checked.
func (d *decoder) field(key string, i int) int {
	first := false
	if f := exactField(key); f >= 0 {
		first = d.seen&(1<<f) == 0
		if !first {
			d.keyProblem(key, "given more than once")
		}
		d.seen |= 1 << f
		return d.value(f, i, first)
	}
	if f := foldedField(key); f >= 0 {
		d.keyProblem(truncate(key, 64), "unknown field (names are case-sensitive)")
		return d.value(f, i, false)
	}
	d.unknownField(key)
	return d.skip(i, 1)
}

// value reads the value at data[i] of field f; first: the field is
// spelled exactly and was not given before.
func (d *decoder) value(f, i int, first bool) int {
	if f == fieldChoices {
		return d.choices(i, first)
	}
	return d.stringField(f, i)
}

// stringField reads the value of string field f at data[i].
func (d *decoder) stringField(f, i int) int {
	if i >= len(d.data) {
		return d.eof()
	}
	switch d.data[i] {
	case '"':
		var s string
		d.lone = false
		if s, i = d.str(i); i >= 0 {
			d.req.setField(f, s)
			if d.lone && d.loneErr == nil {
				d.loneErr = badRequest(consentFields[f], msgLoneSurrogate)
			}
		}
		return i
	case 'n':
		return d.literal(i, "null")
	}
	d.typeError(consentFields[f], "must be a string")
	return d.skip(i, 1)
}

// choices reads the value of choices at data[i]. keep: this is the
// first "choices" (spelled exactly), whose entries are the request's; its
// keys are checked for duplicates.
func (d *decoder) choices(i int, keep bool) int {
	data := d.data
	if i >= len(data) {
		return d.eof()
	}
	switch data[i] {
	case '{':
	case 'n':
		return d.literal(i, "null")
	default:
		d.typeError("choices", "must be a JSON object")
		return d.skip(i, 1)
	}
	return d.members(i, func(id string, i int) int {
		var v choiceValue
		if i, v = d.choiceValue(i); i < 0 {
			return i
		}
		if keep {
			if d.keyErr == nil && d.hasChoice(id) {
				d.keyProblem("choices."+truncate(id, 64), "given more than once")
			}
			d.addChoice(choice{ID: id, Value: v})
		}
		return i
	})
}

// choiceValue reads the value of a choice at data[i].
func (d *decoder) choiceValue(i int) (int, choiceValue) {
	if i < len(d.data) {
		switch d.data[i] {
		case 't':
			return d.literal(i, "true"), choiceTrue
		case 'f':
			return d.literal(i, "false"), choiceFalse
		}
	}
	return d.skip(i, 2), choiceOther
}

// hasChoice reports whether the request has a choice with this id.
func (d *decoder) hasChoice(id string) bool {
	list := d.req.Choices()
	if len(list) < 16 {
		for _, c := range list {
			if c.ID == id {
				return true
			}
		}
		return false
	}
	if d.choiceIDs == nil {
		d.choiceIDs = make(map[string]struct{}, 2*len(list))
		for _, c := range list {
			d.choiceIDs[c.ID] = struct{}{}
		}
	}
	_, ok := d.choiceIDs[id]
	return ok
}

// addChoice adds c to the request (and to choiceIDs once that is in use).
func (d *decoder) addChoice(c choice) {
	d.req.addChoice(c)
	if d.choiceIDs != nil {
		d.choiceIDs[c.ID] = struct{}{}
	}
}

// typeError keeps the first value of the wrong type.
func (d *decoder) typeError(field, msg string) {
	if d.typeErr == nil {
		d.typeErr = badRequest(field, msg)
	}
}

// unknownField keeps an unknown key (unless a type error came first),
// named as encoding/json names it: Go-quoted, without the quotes.
func (d *decoder) unknownField(key string) {
	if d.typeErr != nil {
		return
	}
	if name := strings.Trim(strconv.Quote(key), `"`); name != "" {
		d.typeErr = badRequest(name, "unknown field")
	} else {
		d.typeErr = badRequest("body", `unknown field "" (an empty key)`)
	}
}

// keyProblem keeps the first key given twice or in other letter case.
func (d *decoder) keyProblem(field, msg string) {
	if d.keyErr == nil {
		d.keyErr = badRequest(field, msg)
	}
}

// syntax fails on the byte at data[i]; the offset is counted from 1, as
// in encoding/json's SyntaxError.
func (d *decoder) syntax(i int) int {
	d.syntaxErr = badRequest("body", fmt.Sprintf("body is not valid JSON (at byte %d)", i+1))
	return -1
}

// eof fails because the body ends before the JSON value does.
func (d *decoder) eof() int {
	d.syntaxErr = badRequest("body", "body is empty or cut short: expected a JSON object")
	return -1
}

// space returns the index of the first byte from i that is not JSON white
// space.
func (d *decoder) space(i int) int {
	for i < len(d.data) {
		switch d.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// colon reads the ':' after a key (white space around it) and returns the
// index of the value.
func (d *decoder) colon(i int) int {
	if i = d.space(i); i >= len(d.data) {
		return d.eof()
	}
	if d.data[i] != ':' {
		return d.syntax(i)
	}
	return d.space(i + 1)
}

// literal reads lit (true, false or null), whose first byte is at data[i].
func (d *decoder) literal(i int, lit string) int {
	if strings.HasPrefix(d.data[i:], lit) {
		return i + len(lit)
	}
	for k := 1; k < len(lit); k++ {
		if i+k >= len(d.data) {
			return d.eof()
		}
		if d.data[i+k] != lit[k] {
			return d.syntax(i + k)
		}
	}
	return i + len(lit) // not reached: the prefix did not match
}

// plain marks the bytes a string holds as they are: not '"', '\\', a
// control character or the start of a multi-byte UTF-8 sequence.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads the string at data[i] ('"') and returns its text, decoded as
// encoding/json decodes it. Without escapes the text is a substring of
// the body, with escapes a new string.
func (d *decoder) str(i int) (string, int) {
	data := d.data
	j := i + 1
	for {
		for j < len(data) && plain[data[j]] {
			j++
		}
		if j >= len(data) {
			return "", d.eof()
		}
		switch c := data[j]; {
		case c == '"':
			return data[i+1 : j], j + 1
		case c == '\\':
			return d.unescape(i+1, j)
		case c < 0x20:
			return "", d.syntax(j)
		}
		if j = d.rune(j); j < 0 {
			return "", j
		}
	}
}

// rune skips the multi-byte UTF-8 sequence at data[j]. Invalid UTF-8 is
// refused (decodeConsent names it).
func (d *decoder) rune(j int) int {
	r, size := utf8.DecodeRuneInString(d.data[j:])
	if r == utf8.RuneError && size == 1 {
		return d.syntax(j)
	}
	return j + size
}

// msgLoneSurrogate refuses a string field with a lone surrogate escape.
const msgLoneSurrogate = `must be valid Unicode: \uD800-\uDFFF escapes only in high-low pairs`

// unescape decodes the string whose text starts at data[start] and has
// its first escape at data[j]. Each escape is decoded as encoding/json
// does: \uXXXX pairs of UTF-16 surrogates make one rune, a surrogate not
// in a valid pair becomes U+FFFD and sets d.lone.
func (d *decoder) unescape(start, j int) (string, int) {
	data := d.data
	var b strings.Builder
	b.Grow(j - start + 32)
	b.WriteString(data[start:j])
	for {
		k := j
		for k < len(data) && plain[data[k]] {
			k++
		}
		b.WriteString(data[j:k])
		if j = k; j >= len(data) {
			return "", d.eof()
		}
		switch c := data[j]; {
		case c == '"':
			return b.String(), j + 1
		case c < 0x20:
			return "", d.syntax(j)
		case c >= utf8.RuneSelf:
			if k = d.rune(j); k < 0 {
				return "", k
			}
			b.WriteString(data[j:k])
			j = k
			continue
		}
		// A backslash.
		if j+1 >= len(data) {
			return "", d.eof()
		}
		switch e := data[j+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, k := d.hex4(j + 2)
			if k < 0 {
				return "", k
			}
			j = k
			if utf16.IsSurrogate(r) {
				if r2, ok := d.peekHex4(j); ok {
					if pair := utf16.DecodeRune(r, r2); pair != unicode.ReplacementChar {
						b.WriteRune(pair)
						j += 6
						continue
					}
				}
				r = unicode.ReplacementChar
				d.lone = true
			}
			b.WriteRune(r)
			continue
		default:
			return "", d.syntax(j + 1)
		}
		j += 2
	}
}

// hex4 reads the four hex digits of a \u escape at data[i] and returns
// their value and the index after them.
func (d *decoder) hex4(i int) (rune, int) {
	var r rune
	for k := i; k < i+4; k++ {
		if k >= len(d.data) {
			return 0, d.eof()
		}
		v := unhex(d.data[k])
		if v < 0 {
			return 0, d.syntax(k)
		}
		r = r<<4 | v
	}
	return r, i + 4
}

// peekHex4 returns the value of the \uXXXX escape at data[i], if there is
// one (the second half of a surrogate pair).
func (d *decoder) peekHex4(i int) (rune, bool) {
	if i+6 > len(d.data) || d.data[i] != '\\' || d.data[i+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range []byte(d.data[i+2 : i+6]) {
		v := unhex(c)
		if v < 0 {
			return 0, false
		}
		r = r<<4 | v
	}
	return r, true
}

// unhex is the value of the hex digit c, or -1.
func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// skipString reads the string at data[i] ('"') without decoding it.
func (d *decoder) skipString(i int) int {
	data := d.data
	j := i + 1
	for {
		for j < len(data) && plain[data[j]] {
			j++
		}
		if j >= len(data) {
			return d.eof()
		}
		switch c := data[j]; {
		case c == '"':
			return j + 1
		case c < 0x20:
			return d.syntax(j)
		case c >= utf8.RuneSelf:
			j = d.rune(j)
		default: // a backslash
			if j+1 >= len(data) {
				return d.eof()
			}
			switch data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				_, j = d.hex4(j + 2)
			default:
				return d.syntax(j + 1)
			}
		}
		if j < 0 {
			return j
		}
	}
}

// number reads the number at data[i] ('-' or a digit).
func (d *decoder) number(i int) int {
	data := d.data
	if data[i] == '-' {
		if i++; i >= len(data) {
			return d.eof()
		}
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		i = d.digits(i + 1)
	default:
		return d.syntax(i)
	}
	if i < len(data) && data[i] == '.' {
		if i = d.digit(i + 1); i < 0 {
			return i
		}
		i = d.digits(i)
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i = d.digit(i); i < 0 {
			return i
		}
		i = d.digits(i)
	}
	return i
}

// digit reads the one digit a number needs at data[i].
func (d *decoder) digit(i int) int {
	switch {
	case i >= len(d.data):
		return d.eof()
	case d.data[i] < '0' || d.data[i] > '9':
		return d.syntax(i)
	}
	return i + 1
}

// digits returns the index of the first byte from i that is not a digit.
func (d *decoder) digits(i int) int {
	for i < len(d.data) && '0' <= d.data[i] && d.data[i] <= '9' {
		i++
	}
	return i
}

// key reads an object key at data[i] (expected there) and the colon
// after it, without decoding the key; it returns the index of the value.
func (d *decoder) key(i int) int {
	if i >= len(d.data) {
		return d.eof()
	}
	if d.data[i] != '"' {
		return d.syntax(i)
	}
	if i = d.skipString(i); i < 0 {
		return i
	}
	return d.colon(i)
}

// skip reads the value at data[i] whatever it is (checking it is valid
// JSON, nested at most maxNesting deep), for a field or choice whose
// value is not used; depth is how many arrays and objects it is in.
func (d *decoder) skip(i, depth int) int {
	data := d.data
	var stack [64]bool
	open := stack[:0] // for each array or object open in the value: is it an object
	for {
		// A value starts at data[i].
		if i >= len(data) {
			return d.eof()
		}
		switch c := data[i]; {
		case c == '{' || c == '[':
			if depth+len(open) >= maxNesting {
				return d.syntax(i)
			}
			open = append(open, c == '{')
			if i = d.space(i + 1); i >= len(data) {
				return d.eof()
			}
			if data[i] == c+2 { // '}' or ']': empty
				open = open[:len(open)-1]
				i++
				break
			}
			if c == '{' {
				if i = d.key(i); i < 0 {
					return i
				}
			}
			continue
		case c == '"':
			i = d.skipString(i)
		case c == 't':
			i = d.literal(i, "true")
		case c == 'f':
			i = d.literal(i, "false")
		case c == 'n':
			i = d.literal(i, "null")
		case c == '-' || '0' <= c && c <= '9':
			i = d.number(i)
		default:
			return d.syntax(i)
		}
		if i < 0 {
			return i
		}
		// After a value: close what ends here, up to the next value.
		for {
			if len(open) == 0 {
				return i
			}
			if i = d.space(i); i >= len(data) {
				return d.eof()
			}
			obj := open[len(open)-1]
			c := data[i]
			if c == ',' {
				i = d.space(i + 1)
				if obj {
					if i = d.key(i); i < 0 {
						return i
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				open = open[:len(open)-1]
				i++
				continue
			}
			return d.syntax(i)
		}
	}
}
