package noticeimport

import (
	"fmt"
	"strings"
	"testing"
)

// TestImportFacts imports every fixture and checks that each fact it
// lists lands in the field named, then prints the fraction of facts
// placed over all fixtures.
func TestImportFacts(t *testing.T) {
	total, placed := 0, 0
	var perFixture []string
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			res := importFixture(t, fx)
			doc := noticeJSON(t, res)
			ok := 0
			for _, f := range fx.facts {
				good, got := f.check(doc)
				total++
				if good {
					placed++
					ok++
				}
				switch {
				case good && f.knownMiss:
					t.Errorf("%s.facts:%d: %s is placed now: remove the ? of the known gap", fx.name, f.line, f.path)
				case !good && !f.knownMiss:
					t.Errorf("%s.facts:%d: %s %s %q: got %q", fx.name, f.line, f.path, f.op, f.want, got)
				}
			}
			perFixture = append(perFixture, fmt.Sprintf("%-14s %-10s %s %3d/%-3d", fx.name, res.Format, res.Lang, ok, len(fx.facts)))
			if t.Failed() {
				t.Logf("draft:\n%s", res.YAML)
			}
		})
	}
	t.Logf("facts placed in the right field: %d/%d = %.1f %%\n%s", placed, total, 100*float64(placed)/float64(total),
		strings.Join(perFixture, "\n"))
}
