package server

import (
	"unicode"
	"unicode/utf8"
)

// The names of the consent body's fields, and how decodeConsent matches
// a key to them: exactly, or (a key problem, but encoding/json matched it)
// in other letter case.

// consentFields are the JSON names of the consent body's fields, exactly
// as spelled; a field's index is its number (fieldSite…).
var consentFields = [...]string{"site", "consentId", "choices", "method", "noticeVersion", "language", "url"}

// The numbers of the fields, as indexes of consentFields.
const (
	fieldSite = iota
	fieldConsentID
	fieldChoices
	fieldMethod
	fieldNoticeVersion
	fieldLanguage
	fieldURL
)

// foldedFields are consentFields folded by foldKey: a key that folds to
// one of them is a field name in other letter case ("SITE", "ſite").
// TestFoldedFields keeps the two lists in step.
var foldedFields = [...]string{"SITE", "CONSENTID", "CHOICES", "METHOD", "NOTICEVERSION", "LANGUAGE", "URL"}

// exactField is the number of the field named key, or -1.
func exactField(key string) int {
	switch key {
	case "site":
		return fieldSite
	case "consentId":
		return fieldConsentID
	case "choices":
		return fieldChoices
	case "method":
		return fieldMethod
	case "noticeVersion":
		return fieldNoticeVersion
	case "language":
		return fieldLanguage
	case "url":
		return fieldURL
	}
	return -1
}

// foldedField is the number of the field that key names in other letter
// case, as encoding/json matches keys, or -1.
func foldedField(key string) int {
	// Folding never makes a rune longer, and a field name's bytes each
	// come from a rune of at most 3 bytes: a longer key is none of them.
	if len(key) > 3*len("noticeVersion") {
		return -1
	}
	var buf [3 * len("noticeVersion")]byte
	k := appendFolded(buf[:0], key)
	for f, name := range foldedFields {
		if string(k) == name {
			return f
		}
	}
	return -1
}

// foldKey folds s as encoding/json does to match a key to a field name
// (appendFolded).
func foldKey(s string) string { return string(appendFolded(nil, s)) }

// appendFolded appends s folded as encoding/json folds a key to match it
// to a field name: ASCII letters to upper case, any other rune to the
// smallest rune of its case-folding orbit ('ſ' to 'S', the Kelvin sign to
// 'K'). No rune becomes longer.
func appendFolded(b []byte, s string) []byte {
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b = append(b, byte(r))
			continue
		}
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}
