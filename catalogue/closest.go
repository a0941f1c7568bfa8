package catalogue

import (
	"sort"
	"strings"
)

// Closest returns up to n names of entries that name may have meant,
// nearest first: names within a few edits of it, names containing it or
// contained in it, and entries whose title, written as a name, is close.
func (c *Catalogue) Closest(name string, n int) []string {
	q := strings.ToLower(strings.TrimSpace(name))
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, nm := range c.names {
		title := strings.Join(strings.Fields(strings.ToLower(c.byName[nm].Title)), "-")
		d := min(editDistance(q, nm), editDistance(q, title))
		limit := max(2, len(q)/3)
		switch {
		case d <= limit:
		case len(q) >= 3 && (strings.Contains(nm, q) || strings.Contains(q, nm)):
			d = limit + 1 + abs(len(nm)-len(q))
		case len(q) >= 3 && strings.Contains(title, q):
			// After every name that contains it: "analytics" means
			// google-analytics-4 sooner than Snoobi Analytics.
			d = limit + 1 + titleOnly + abs(len(title)-len(q))
		default:
			continue
		}
		cs = append(cs, cand{nm, d})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	out := make([]string, 0, n)
	for _, x := range cs {
		if len(out) == n {
			break
		}
		out = append(out, x.name)
	}
	return out
}

// titleOnly ranks a match in the title only after the matches in the
// name, whose length differences are below it (names have at most 63
// characters).
const titleOnly = 64

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
