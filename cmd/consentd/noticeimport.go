package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/consentd/consentd/config/noticeimport"
	"github.com/consentd/consentd/server/notice"
	"github.com/consentd/consentd/widget"
)

// noticeImportUsage is the help text of `consentd notice import`.
const noticeImportUsage = `Usage: consentd notice import [--site ID] [--lang fi|sv|en] [--out FILE] FILE

import reads the privacy notice a controller already has (plain text,
Markdown, a saved web page (.html), a Word file (.docx), or a PDF when
pdftotext from poppler-utils is installed) and writes a draft site file:
the notice's sections recognised by their headings, contact details,
lists and tables in their fields, and a placeholder origin and cookie
category marked # TODO. The draft loads and renders as it is.

The draft goes to stdout, or to --out. A summary goes to stderr: where
each heading's text went, what could not be placed (kept as extra
sections under their own headings), and the notice check's warnings.

Flags:
  --site ID    the site id (default: from the file name)
  --lang L     the notice's language (default: detected)
  --out FILE   write the draft to FILE (not overwritten if it exists)

Exit status: 0 draft written, 1 the file could not be read, 2 usage error.
`

// runNoticeImport runs `consentd notice import`.
func runNoticeImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("consentd notice import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	siteID := fs.String("site", "", "site id")
	lang := fs.String("lang", "", "language of the notice")
	out := fs.String("out", "", "output file")
	var files []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, noticeImportUsage)
				return 0
			}
			fmt.Fprint(stderr, "\n"+noticeImportUsage)
			return 2
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
	if len(files) != 1 {
		fmt.Fprint(stderr, "consentd notice import: expected one file\n\n"+noticeImportUsage)
		return 2
	}
	path := files[0]
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "consentd notice import: %v\n", err)
		return 1
	}
	res, err := noticeimport.Import(context.Background(), path, data, noticeimport.Options{SiteID: *siteID, Lang: *lang})
	if err != nil {
		fmt.Fprintf(stderr, "consentd notice import: %v\n", err)
		return 1
	}
	// The draft must render too: the renderer checks what only it knows.
	if _, err := notice.Build(res.Site, widget.Strings); err != nil {
		fmt.Fprintf(stderr, "consentd notice import: the draft does not render (a bug; please report it with the notice): %v\n", err)
		return 1
	}
	dest := "stdout"
	if *out != "" {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			fmt.Fprintf(stderr, "consentd notice import: %v\n", err)
			return 1
		}
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "consentd notice import: %v\n", err)
			return 1
		}
		if _, err := f.Write(res.YAML); err != nil {
			f.Close()
			fmt.Fprintf(stderr, "consentd notice import: %v\n", err)
			return 1
		}
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "consentd notice import: %v\n", err)
			return 1
		}
		dest = *out
		if base := filepath.Base(*out); base != res.Site.ID+".yaml" {
			fmt.Fprintf(stderr, "note: the server loads a site file only under its id: rename %s to %s.yaml or run again with --site\n", base, res.Site.ID)
		}
	} else if _, err := stdout.Write(res.YAML); err != nil {
		fmt.Fprintf(stderr, "consentd notice import: %v\n", err)
		return 1
	}
	printImportSummary(stderr, path, dest, res)
	return 0
}

// printImportSummary writes what the import placed where, what it could
// not place, its notes and the draft's check warnings.
func printImportSummary(w io.Writer, path, dest string, res *noticeimport.Result) {
	fmt.Fprintf(w, "%s (%s, %s) → %s, site %q\n", path, res.Format, res.Lang, dest, res.Site.ID)
	fmt.Fprintf(w, "placed (%d):\n", len(res.Placed))
	for _, p := range res.Placed {
		fmt.Fprintf(w, "  %s\n", p)
	}
	if len(res.Unplaced) > 0 {
		fmt.Fprintf(w, "not placed in a field, kept as extra sections under their own headings (%d):\n", len(res.Unplaced))
		for _, p := range res.Unplaced {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	if len(res.Notes) > 0 {
		fmt.Fprintln(w, "notes:")
		for _, n := range res.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if len(res.Warnings) == 0 {
		fmt.Fprintln(w, "notice check: complete (0 warnings)")
		return
	}
	fmt.Fprintf(w, "notice check: %s; add what the notice did not say:\n", plural(len(res.Warnings), "warning"))
	for _, warn := range res.Warnings {
		fmt.Fprintf(w, "  %s\n", warn)
	}
}
