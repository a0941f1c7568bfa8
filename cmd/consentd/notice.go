package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/notice"
	"github.com/consentd/consentd/widget"
)

// noticeUsage is the help text of `consentd notice`.
const noticeUsage = `Usage: consentd notice check [--strict] [--against OLD] FILE...
       consentd notice import [--site ID] [--lang fi|sv|en] [--out FILE] FILE

check validates each site file and reports what its privacy notice
(the notice: part) lacks of what GDPR Art. 13 requires, one warning per
missing item, naming the field to add. It also warns where the file
differs from the service catalogue (consentd catalogue): a service named
like an entry whose cookies have other names or lifetimes, transfers
that leave out an entry's countries.

Errors (the file cannot be loaded) go to stderr, warnings and a summary
per file to stdout.

Flags:
  --strict       exit 1 when any file has warnings, not only on errors
  --against OLD  also say what the change from the site file OLD (the
                 version in force) means for stored decisions: whether
                 visitors are asked again (docs/widget.md, "When the
                 widget asks again")

import makes a draft site file of an existing privacy notice (text,
Markdown, HTML, .docx or PDF); consentd notice import --help tells more.

Exit status of check: 0 no errors (warnings allowed), 1 errors (or warnings with
--strict), 2 usage error.
`

// runNotice runs `consentd notice ARGS...` and returns the exit code.
func runNotice(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "consentd notice: missing command\n\n"+noticeUsage)
		return 2
	}
	switch args[0] {
	case "check":
		return runNoticeCheck(args[1:], stdout, stderr)
	case "import":
		return runNoticeImport(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, noticeUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "consentd notice: unknown command %q\n\n%s", args[0], noticeUsage)
		return 2
	}
}

// runNoticeCheck runs `consentd notice check [--strict] FILE...`. Flags
// may come before or after the files; "--" ends the flags.
func runNoticeCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("consentd notice check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // printed below, to stdout for --help
	strict := fs.Bool("strict", false, "exit 1 when any file has warnings")
	against := fs.String("against", "", "the site file in force, to compare with")
	var files []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, noticeUsage)
				return 0
			}
			fmt.Fprint(stderr, "\n"+noticeUsage) // the flag package printed the error
			return 2
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			files = append(files, rest...)
			break
		}
		if len(rest) > 0 {
			files = append(files, rest[0])
			rest = rest[1:]
		}
		args = rest
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, "consentd notice check: no files given\n\n"+noticeUsage)
		return 2
	}

	loader, err := site.NewLoader()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var old *site.Site
	if *against != "" {
		if old, err = loader.Load(*against); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	code := 0
	for _, path := range files {
		if old != nil {
			if s, err := loader.Load(path); err == nil {
				fmt.Fprintf(stdout, "%s: against %s: %s (consent version %s, was %s)\n", path, *against,
					site.CompareConsent(old, s), s.ConsentVersionOf(), old.ConsentVersionOf())
			}
		}
		switch ok, warnings := checkNoticeFile(loader, path, stdout, stderr); {
		case !ok:
			code = 1
		case warnings > 0 && *strict:
			code = 1
		}
	}
	return code
}

// checkNoticeFile loads one site file and prints its errors (to stderr)
// or its notice warnings, where its services differ from the service
// catalogue, and a summary (to stdout). ok is false when the file has
// errors.
func checkNoticeFile(loader *site.Loader, path string, stdout, stderr io.Writer) (ok bool, warnings int) {
	s, err := loader.Load(path)
	if err == nil {
		// Rendering checks what only the renderer knows: the strings keys.
		_, err = notice.Build(s, widget.Strings)
	}
	if err != nil {
		n := 1
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			n = len(joined.Unwrap())
		}
		fmt.Fprintln(stderr, err)
		fmt.Fprintf(stderr, "%s: invalid (%s)\n", path, plural(n, "error"))
		return false, 0
	}
	ws := s.CheckNotice()
	for _, w := range ws {
		fmt.Fprintf(stdout, "%s: %s\n", path, w)
	}
	cws := s.CheckCatalogue(loader.Catalogue)
	for _, w := range cws {
		fmt.Fprintf(stdout, "%s: %s\n", path, w)
	}
	summary := "notice complete (0 warnings)"
	if len(ws) > 0 {
		summary = "notice incomplete (" + plural(len(ws), "warning") + ")"
	}
	if len(cws) > 0 {
		summary += ", " + plural(len(cws), "catalogue warning")
	}
	fmt.Fprintf(stdout, "%s: %s\n", path, summary)
	return true, len(ws) + len(cws)
}

// plural formats a count with its noun: "1 warning", "3 warnings".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
