package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"

	"github.com/consentd/consentd/catalogue"
	"github.com/consentd/consentd/config/site"
)

// catalogueUsage is the help text of `consentd catalogue`.
const catalogueUsage = `Usage: consentd catalogue list
       consentd catalogue show [--service] NAME

list prints every entry of the service catalogue built into consentd:
its name (what a site file's "use:" takes), title, suggested category
and provider.

show prints the entry NAME as YAML: the catalogue file with its sources
and the date its facts were checked. With --service it prints a service
ready to paste into a category's services in a site file instead: the
line "- use: NAME" and, as comments, what the catalogue fills in; remove
the "# " of a field to override it. docs/catalogue.md tells more.

Exit status: 0 done, 1 no such entry, 2 usage error.
`

// runCatalogue runs `consentd catalogue ARGS...` and returns the exit code.
func runCatalogue(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "consentd catalogue: missing command\n\n"+catalogueUsage)
		return 2
	}
	switch args[0] {
	case "list", "show":
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, catalogueUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "consentd catalogue: unknown command %q\n\n%s", args[0], catalogueUsage)
		return 2
	}
	var name string
	service := false
	if args[0] == "list" {
		fs := flag.NewFlagSet("consentd catalogue list", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		if code, done := parseSub(fs, args[1:], "catalogue list", catalogueUsage, stdout, stderr); done {
			return code
		}
	} else {
		var code int
		var done bool
		if name, service, code, done = parseShow(args[1:], stdout, stderr); done {
			return code
		}
	}
	cat, err := catalogue.Builtin()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if args[0] == "list" {
		return listCatalogue(cat, stdout)
	}
	e, ok := cat.Lookup(name)
	if !ok {
		msg := fmt.Sprintf("consentd catalogue show: no entry %q", name)
		if near := cat.Closest(name, 3); len(near) > 0 {
			msg += ": did you mean " + strings.Join(near, ", ") + "?"
		}
		fmt.Fprintln(stderr, msg+" (consentd catalogue list shows every entry)")
		return 1
	}
	if service {
		return printService(e, stdout, stderr)
	}
	_, _ = stdout.Write(e.Source())
	return 0
}

// parseShow reads show's arguments: one entry name and --service, in
// either order.
func parseShow(args []string, stdout, stderr io.Writer) (name string, service bool, code int, done bool) {
	var names []string
	for _, a := range args {
		switch {
		case a == "--service" || a == "-service":
			service = true
		case a == "-h" || a == "-help" || a == "--help":
			fmt.Fprint(stdout, catalogueUsage)
			return "", false, 0, true
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "consentd catalogue show: flag provided but not defined: %s\n\n%s", a, catalogueUsage)
			return "", false, 2, true
		default:
			names = append(names, a)
		}
	}
	if len(names) != 1 {
		fmt.Fprintf(stderr, "consentd catalogue show: expected one entry name, got %d\n\n%s", len(names), catalogueUsage)
		return "", false, 2, true
	}
	return names[0], service, 0, false
}

func listCatalogue(cat *catalogue.Catalogue, stdout io.Writer) int {
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTITLE\tCATEGORY\tPROVIDER")
	for _, e := range cat.Entries() {
		provider := "(self-hosted)"
		if e.Provider != nil {
			provider = e.Provider.Name
			if e.Provider.Country != "" {
				provider += " (" + e.Provider.Country + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Name, e.Title, e.Category, provider)
	}
	_ = tw.Flush()
	return 0
}

// printService writes e as a service for a site file: "- use: NAME" and
// what it fills in as comments, under a header of the facts that go to
// the notice.
func printService(e *catalogue.Entry, stdout, stderr io.Writer) int {
	// A service as the widget gets it has the fields of a site file's
	// service, named alike (yaml.v3 lowercases the field names).
	ps := site.PublicService{Name: e.Title, Purpose: e.Purpose, URL: e.PrivacyPolicy, Cookies: []site.PublicCookie{}}
	if e.Provider != nil {
		ps.Provider = e.Provider.Name
	}
	for _, c := range e.Cookies {
		ps.Cookies = append(ps.Cookies, site.PublicCookie{Name: c.Name, Duration: c.Duration, Description: c.Description})
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(ps); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "# %s (catalogue entry %s), suggested category: %s\n", e.Title, e.Name, e.Category)
	switch {
	case e.SelfHosted:
		fmt.Fprintln(stdout, "# Self-hosted: name who runs it in provider (required).")
	case e.Provider != nil:
		fmt.Fprintf(stdout, "# Provider: %s\n", strings.Join(nonEmpty(e.Provider.Name, strings.ReplaceAll(e.Provider.Address, "\n", ", "), e.Provider.Country), ", "))
	}
	if t := e.Transfers; t != nil && t.OutsideEEA != nil {
		if *t.OutsideEEA {
			fmt.Fprintf(stdout, "# Transfers outside the EU/EEA: %s (safeguards: %s)\n", orNone(t.Countries), orNone(t.Safeguards))
		} else {
			fmt.Fprintln(stdout, "# Transfers outside the EU/EEA: none")
		}
	}
	fmt.Fprintf(stdout, "# Checked %s against: %s\n", e.Checked, strings.Join(e.Sources, " "))
	for _, g := range e.Gaps {
		fmt.Fprintf(stdout, "# Gap: %s\n", g)
	}
	fmt.Fprintf(stdout, "- use: %s\n  # Filled in from the catalogue; uncomment a field to override it.\n", e.Name)
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		fmt.Fprintf(stdout, "  # %s\n", line)
	}
	return 0
}

func nonEmpty(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func orNone(vals []string) string {
	if len(vals) == 0 {
		return "not named"
	}
	return strings.Join(vals, ", ")
}
