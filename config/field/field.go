// Package field reports problems in site files. An Error names the file,
// the field path (e.g. categories[2].id) and what is wrong or expected; a
// Checker collects the Errors of one file and holds the checks the site
// and notice models share: single-language strings and translated texts.
package field

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/consentd/consentd/config/i18n"
)

// Error is one problem in a site file: the file, the field path (e.g.
// categories[2].id) and what is wrong or expected.
type Error struct {
	File  string
	Field string
	Msg   string
}

// Error formats the problem as "file: field: message".
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Msg)
}

// Checker collects the problems found in one file, in the order found.
// The zero value is ready to use once File is set.
type Checker struct {
	// File names the file in every Error.
	File string
	errs []error
}

// Add records a problem with a field; the message is formatted as by
// fmt.Sprintf.
func (c *Checker) Add(field, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.File, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Err returns every problem recorded, joined (nil when there is none).
func (c *Checker) Err() error {
	return errors.Join(c.errs...)
}

// Plain checks a single-language string: present (if required), valid
// UTF-8, no control characters but newline and tab, at most max
// characters.
func (c *Checker) Plain(field, val string, max int, required bool) {
	switch {
	case val == "" && required:
		c.Add(field, "required")
	case !utf8.ValidString(val):
		c.Add(field, "is not valid UTF-8")
	case utf8.RuneCountInString(val) > max:
		c.Add(field, "is too long: expected at most %d characters", max)
	case strings.IndexFunc(val, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		c.Add(field, "contains a control character")
	}
}

// Text checks a translated string: one non-empty entry per site language
// (langs), each a valid Plain string of at most max characters, and no
// entries for other languages.
func (c *Checker) Text(field string, t i18n.Text, langs []string, max int) {
	if len(t) == 0 {
		c.Add(field, "required: a text per language (%s)", strings.Join(langs, ", "))
		return
	}
	for _, l := range langs {
		if strings.TrimSpace(t[l]) == "" {
			c.Add(field+"."+l, "missing translation: every site language needs a text")
			continue
		}
		c.Plain(field+"."+l, t[l], max, true)
	}
	for l := range t {
		if !slices.Contains(langs, l) {
			c.Add(field+"."+l, "language %q is not one of the site's languages (%s)", l, strings.Join(langs, ", "))
		}
	}
}

// OptText checks an optional translated string: when given at all, it
// needs every site language (see Text).
func (c *Checker) OptText(field string, t i18n.Text, langs []string, max int) {
	if len(t) > 0 {
		c.Text(field, t, langs, max)
	}
}
