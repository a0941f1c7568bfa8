package scan

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
)

// reportHTML is the template of report.html: one file with its style
// inline and a CSP that forbids every request, so it can be filed and
// opened anywhere.
//
//go:embed report.html.tmpl
var reportHTML string

// htmlTemplate parses reportHTML; html/template escapes every value.
func htmlTemplate() (*template.Template, error) {
	return template.New("report").Funcs(template.FuncMap{
		"lifetime": durationOf,
		"inc":      func(i int) int { return i + 1 },
	}).Parse(reportHTML)
}

// HTML renders the report as a self-contained page.
func (r *Report) HTML() ([]byte, error) {
	t, err := htmlTemplate()
	if err != nil {
		return nil, fmt.Errorf("report.html template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, r); err != nil {
		return nil, fmt.Errorf("report.html: %w", err)
	}
	return b.Bytes(), nil
}

// WriteHTML writes the report as dir/report.html.
func (r *Report) WriteHTML(dir string) (string, error) {
	b, err := r.HTML()
	if err != nil {
		return "", err
	}
	return writeFile(dir, "report.html", b)
}
