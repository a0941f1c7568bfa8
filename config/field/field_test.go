package field

import (
	"strings"
	"testing"

	"github.com/consentd/consentd/config/i18n"
)

func TestChecker(t *testing.T) {
	langs := []string{"fi", "en"}
	tests := []struct {
		name  string
		check func(c *Checker)
		want  string // "" = no problem
	}{
		{"plain", func(c *Checker) { c.Plain("name", "Acme Oy", 10, true) }, ""},
		{"plain required", func(c *Checker) { c.Plain("name", "", 10, true) }, "f.yaml: name: required"},
		{"plain optional", func(c *Checker) { c.Plain("name", "", 10, false) }, ""},
		{"plain too long", func(c *Checker) { c.Plain("name", "ääääää", 5, true) }, "f.yaml: name: is too long: expected at most 5 characters"},
		{"plain not UTF-8", func(c *Checker) { c.Plain("name", "\xff", 5, true) }, "f.yaml: name: is not valid UTF-8"},
		{"plain control character", func(c *Checker) { c.Plain("name", "a\u0007", 5, true) }, "f.yaml: name: contains a control character"},
		{"plain newline and tab", func(c *Checker) { c.Plain("name", "a\n\tb", 5, true) }, ""},
		{"text", func(c *Checker) { c.Text("label", i18n.Text{"fi": "A", "en": "B"}, langs, 10) }, ""},
		{"text missing", func(c *Checker) { c.Text("label", nil, langs, 10) }, "f.yaml: label: required: a text per language (fi, en)"},
		{"text missing translation", func(c *Checker) { c.Text("label", i18n.Text{"fi": "A", "en": " "}, langs, 10) },
			"f.yaml: label.en: missing translation: every site language needs a text"},
		{"text other language", func(c *Checker) { c.Text("label", i18n.Text{"fi": "A", "en": "B", "sv": "C"}, langs, 10) },
			`f.yaml: label.sv: language "sv" is not one of the site's languages (fi, en)`},
		{"optional text absent", func(c *Checker) { c.OptText("intro", nil, langs, 10) }, ""},
		{"optional text given", func(c *Checker) { c.OptText("intro", i18n.Text{"fi": "A"}, langs, 10) }, "f.yaml: intro.en: missing translation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Checker{File: "f.yaml"}
			tt.check(c)
			err := c.Err()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got %v, want no problem", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
