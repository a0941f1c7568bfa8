package server

import (
	"encoding/json"
)

// consentFields are the JSON names of consentRequest, exactly as spelled.
var consentFields = [...]string{"site", "consentId", "choices", "method", "noticeVersion", "language", "url"}

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
