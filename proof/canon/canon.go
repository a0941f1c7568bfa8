// Package canon implements the JSON Canonicalization Scheme (JCS,
// RFC 8785) for the subset of JSON that consentd's records use: objects,
// arrays, strings, booleans, null and integers. Object members are sorted
// by the UTF-16 code units of their names, there is no white space,
// strings are escaped as RFC 8785 (ECMAScript) prescribes, and numbers are
// written as plain decimal integers. Numbers with a fraction and integers
// beyond ±(2^53−1) (which ECMAScript cannot hold exactly) are refused, so
// every accepted document has exactly one canonical form.
package canon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxInt is the largest integer magnitude accepted (2^53−1).
const MaxInt = 1<<53 - 1

// ErrNumber is returned for a number that is not an integer in ±MaxInt.
var ErrNumber = errors.New("canon: only integers from -(2^53-1) to 2^53-1 are supported")

// Parse reads one JSON value into the types Marshal takes:
// map[string]any, []any, string, bool, nil and int64. Duplicate object
// member names, invalid UTF-8 and numbers other than integers are errors.
func Parse(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("canon: invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("canon: data after the JSON value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("canon: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("canon: %w", err)
				}
				k, _ := kt.(string)
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("canon: duplicate member %q", k)
				}
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("canon: %w", err)
			}
			return m, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("canon: %w", err)
			}
			return a, nil
		}
		return nil, fmt.Errorf("canon: unexpected %v", t)
	case json.Number:
		return parseInt(string(t))
	case string, bool, nil:
		return t, nil
	}
	return nil, fmt.Errorf("canon: unexpected token %v", tok)
}

// parseInt accepts any JSON number whose value is an integer in ±MaxInt
// (1, -0, 1.0 and 1e2 are the integers 1, 0, 1 and 100).
func parseInt(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > MaxInt || n < -MaxInt {
			return 0, ErrNumber
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > MaxInt {
		return 0, ErrNumber
	}
	return int64(f), nil
}

// Marshal returns the canonical form of v, which may hold
// map[string]any, []any, string, bool, nil, int, int64 and json.Number.
func Marshal(v any) ([]byte, error) {
	return Append(nil, v)
}

// Append appends the canonical form of v to dst (see Marshal).
func Append(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if t {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case string:
		if !utf8.ValidString(t) {
			return nil, errors.New("canon: invalid UTF-8 in a string")
		}
		return AppendString(dst, t), nil
	case int:
		return AppendInt(dst, int64(t))
	case int64:
		return AppendInt(dst, t)
	case json.Number:
		n, err := parseInt(string(t))
		if err != nil {
			return nil, err
		}
		return AppendInt(dst, n)
	case []any:
		dst = append(dst, '[')
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = Append(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			if !utf8.ValidString(k) {
				return nil, errors.New("canon: invalid UTF-8 in a member name")
			}
			keys = append(keys, k)
		}
		SortKeys(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = Append(dst, t[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	return nil, fmt.Errorf("canon: unsupported type %T", v)
}

// AppendInt appends n in plain decimal; it refuses |n| > MaxInt.
func AppendInt(dst []byte, n int64) ([]byte, error) {
	if n > MaxInt || n < -MaxInt {
		return nil, ErrNumber
	}
	return strconv.AppendInt(dst, n, 10), nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s (valid UTF-8) as a JSON string escaped as in
// RFC 8785 section 3.2.2.2: \" and \\, the short forms \b \f \n \r \t,
// \u00xx (lower-case hex) for the other controls below U+0020, and every
// other character as it is (no escaping of '/', '<', U+2028 or non-ASCII).
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// SortKeys sorts member names by their UTF-16 code units (RFC 8785
// section 3.2.3).
func SortKeys(keys []string) {
	sort.Slice(keys, func(i, j int) bool { return Less(keys[i], keys[j]) })
}

// Less reports whether a sorts before b by UTF-16 code units. For
// strings of ASCII (and any without characters above U+FFFF next to
// characters from U+E000) this is the same as a < b.
func Less(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return unit(ra) < unit(rb) || unit(ra) == unit(rb) && low(ra) < low(rb)
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b != ""
}

// unit is the first UTF-16 code unit of r.
func unit(r rune) rune {
	if r >= 0x10000 {
		hi, _ := utf16.EncodeRune(r)
		return hi
	}
	return r
}

// low is the second UTF-16 code unit of r (0 for r in the BMP).
func low(r rune) rune {
	if r >= 0x10000 {
		_, lo := utf16.EncodeRune(r)
		return lo
	}
	return 0
}

// Canonicalize parses a JSON document and returns its canonical form.
func Canonicalize(data []byte) ([]byte, error) {
	v, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return Marshal(v)
}
