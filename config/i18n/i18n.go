// Package i18n holds Text, a string given in several languages, and the
// languages consentd has built-in texts for. The site and notice models
// use it; the built-in texts themselves are in widget (the banner's) and
// server/notice (the notice page's).
package i18n

import "slices"

// Text is a string translated into several languages, keyed by language
// code ("fi", "sv", "en").
type Text map[string]string

// BuiltinLanguages are the languages whose texts consentd has built in.
// A site may use others by giving the texts in its strings section.
var BuiltinLanguages = []string{"fi", "sv", "en"}

// IsBuiltin reports whether consentd has built-in texts for lang.
func IsBuiltin(lang string) bool { return slices.Contains(BuiltinLanguages, lang) }
