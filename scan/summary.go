package scan

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteSummary writes the terminal summary of a report: the counts, then
// each finding on a line.
func (r *Report) WriteSummary(w io.Writer) error {
	f := r.Findings
	b := &strings.Builder{}
	fmt.Fprintf(b, "consentd scan: site %s at %s: %d pages, %d passes, %d visits in %s (%.0f pages/min)\n",
		r.Site, r.URL, len(r.Pages), len(r.Passes), r.Visits, time.Duration(r.Seconds*float64(time.Second)).Round(time.Second), r.PagesPerMinute)
	if !r.Complete {
		b.WriteString("INCOMPLETE: see the warnings\n")
	}
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	section := func(title string, n int) bool {
		tw.Flush()
		if n == 0 {
			fmt.Fprintf(b, "\n%s: none\n", title)
			return false
		}
		fmt.Fprintf(b, "\n%s: %d\n", title, n)
		return true
	}
	if section("VIOLATIONS (cookies and storage without consent)", len(f.Violations)) {
		for _, v := range f.Violations {
			what := "not declared"
			if v.Category != "" {
				what = v.Category + " (" + v.Service + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s %s\t%s\t%s\ton %s\t%s\n", v.When, v.Kind, v.Name, v.Domain, what, v.Page, setBy(v.SetBy))
		}
	}
	if section("Third-party hosts contacted without consent", len(f.ThirdParty)) {
		for _, h := range f.ThirdParty {
			fmt.Fprintf(tw, "  %s\t%s\ton %s\tby %s\n", h.When, h.Host, h.Page, orUnknown(h.Initiator))
		}
	}
	if section("Undeclared cookies and storage keys", len(f.Undeclared)) {
		for _, u := range f.Undeclared {
			sug := "no known pattern"
			if u.Suggestion != nil {
				sug = "looks like " + u.Suggestion.Service + " (" + u.Suggestion.Category + ")"
			}
			fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%s\t%s\n", u.Kind, u.Name, u.Domain, strings.Join(u.Passes, ", "), sug, setBy(u.SetBy))
		}
	}
	if section("Declared but never seen", len(f.NeverSeen)) {
		for _, d := range f.NeverSeen {
			fmt.Fprintf(tw, "  %s\t%s (%s)\n", d.Name, d.Category, d.Service)
		}
	}
	if section("Longer than declared", len(f.LongerThanDeclared)) {
		for _, l := range f.LongerThanDeclared {
			fmt.Fprintf(tw, "  %s\t%s\tlives %s, declared %s (%s)\n", l.Name, l.Domain, l.Observed, l.Duration, l.Declared)
		}
	}
	tw.Flush()
	if len(r.Skipped) > 0 {
		fmt.Fprintf(b, "\nNot visited: %d (robots.txt)\n", len(r.Skipped))
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(b, "\nWarnings: %d\n", len(r.Warnings))
		for _, w := range r.Warnings {
			fmt.Fprintf(b, "  %s\n", w)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// setBy lists setters for one line.
func setBy(ss []Setter) string {
	if len(ss) == 0 {
		return "set by: not seen (set before the page's scripts ran, or by a frame the scan cannot see)"
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	return "set by " + strings.Join(parts, "; ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
