package site_test

import (
	"os"
	"strings"
	"testing"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/notice"
	"github.com/consentd/consentd/widget"
)

// FuzzParseSite feeds arbitrary site files to the loader: it must never
// panic; an accepted file must validate again, project to the public
// config and render its notice; a refused one must say which file.
func FuzzParseSite(f *testing.F) {
	demo, err := os.ReadFile("../sites/demo.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	f.Add([]byte("id: demo\nname: x\n"))
	f.Add([]byte("id: demo\nname: A\norigins: [https://a.fi]\nlanguages: [en]\npolicyVersion: '1'\ncategories:\n  - {id: necessary, required: true, label: {en: N}, description: {en: D}}\n"))
	f.Add([]byte("&a [*a, *a]"))
	f.Add([]byte("id: demo\nnotice: {transfers: {outsideEEA: true, countries: [SE]}}\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := site.Parse("x/demo.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "x/demo.yaml: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted, then invalid: %v", err)
		}
		if _, err := s.Public(); err != nil {
			t.Fatal(err)
		}
		if _, err := notice.Build(s, widget.Strings); err != nil && !strings.Contains(err.Error(), "strings.") {
			t.Fatalf("accepted site does not render: %v", err)
		}
	})
}
