package noticeimport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Format is the kind of file a notice is read from.
type Format string

// Formats the importer reads.
const (
	FormatText     Format = "text"
	FormatMarkdown Format = "markdown"
	FormatHTML     Format = "html"
	FormatDocx     Format = "docx"
	FormatPDF      Format = "pdf"
)

// ErrNoPdftotext is returned for a PDF when pdftotext is not installed.
var ErrNoPdftotext = errors.New("reading a PDF needs pdftotext, which is not installed: on Debian or Ubuntu, apt-get install poppler-utils (or save the notice as .docx, HTML or text)")

// DetectFormat tells a file's format from its name and first bytes.
func DetectFormat(name string, data []byte) (Format, error) {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return FormatPDF, nil
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		if strings.EqualFold(filepath.Ext(name), ".odt") {
			return "", fmt.Errorf("%s: OpenDocument (.odt) is not read: save it as .docx", name)
		}
		return FormatDocx, nil
	case bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return "", fmt.Errorf("%s: an old Word file (.doc) is not read: save it as .docx", name)
	}
	if !utf8.Valid(data) {
		return "", fmt.Errorf("%s: not UTF-8 text, HTML, .docx or PDF: save the notice as UTF-8 text or .docx", name)
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".html", ".htm", ".xhtml":
		return FormatHTML, nil
	case ".md", ".markdown":
		return FormatMarkdown, nil
	}
	head := strings.ToLower(string(data[:min(len(data), 1024)]))
	if strings.Contains(head, "<html") || strings.Contains(head, "<!doctype html") || strings.Contains(head, "<body") {
		return FormatHTML, nil
	}
	return FormatText, nil
}

// read reads a notice file of the given format into blocks.
func read(ctx context.Context, format Format, data []byte) (document, error) {
	switch format {
	case FormatText, FormatMarkdown:
		return readText(strings.TrimPrefix(string(data), "\ufeff")), nil
	case FormatHTML:
		return readHTML(bytes.NewReader(data))
	case FormatDocx:
		return readDocx(data)
	case FormatPDF:
		text, err := pdfText(ctx, data)
		if err != nil {
			return document{}, err
		}
		return readText(text), nil
	}
	return document{}, fmt.Errorf("unknown format %q", format)
}

// pdfText extracts a PDF's text with Debian's pdftotext (poppler-utils),
// in reading order, UTF-8.
func pdfText(ctx context.Context, data []byte) (string, error) {
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		return "", ErrNoPdftotext
	}
	cmd := exec.CommandContext(ctx, bin, "-enc", "UTF-8", "-nopgbrk", "-", "-")
	cmd.Stdin = bytes.NewReader(data)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pdftotext: %w: %s", err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}
