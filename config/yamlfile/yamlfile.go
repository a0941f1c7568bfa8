// Package yamlfile reads consentd's YAML configuration files (the site
// files and the controllers file) the same way: a bounded size, the
// first document only, unknown keys refused, and yaml.v3's messages made
// one line that names the file's own types.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxSize bounds a configuration file; real ones are a few kilobytes.
const MaxSize = 1 << 20

// ErrEmpty is returned by Decode for a file without a YAML document.
var ErrEmpty = errors.New("file is empty")

// Read reads a file of at most MaxSize bytes. Errors name the file.
func Read(path string) ([]byte, error) { return ReadAppend(nil, path) }

// ReadAppend is Read into dst's free capacity (growing it as needed):
// dst[:0] reuses a buffer for file after file.
func ReadAppend(dst []byte, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	// Room for the file's size and a byte to see its end, at once:
	// io.ReadAll's doubling from 512 bytes copied a 44 KB file eight
	// times, which showed with a thousand files at start.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		dst = slices.Grow(dst, int(min(st.Size(), MaxSize))+1)
	}
	data, err := readAll(dst, io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: file is larger than %d bytes", path, MaxSize)
	}
	return data, nil
}

// readAll appends what r has to dst.
func readAll(dst []byte, r io.Reader) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, 512)
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// Decode decodes the first YAML document of data into v, refusing keys
// that v has no field for. Its errors are "path: message" (Message), or
// ErrEmpty (not wrapped with the path) when there is no document.
func Decode(path string, data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return ErrEmpty
		}
		return fmt.Errorf("%s: %s", path, Message(err))
	}
	return nil
}

// Message turns a yaml.v3 error into a one-line message without the
// package's prefixes ("yaml: unmarshal errors:").
func Message(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = fileTypes(m)
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// Go types named at the end of yaml.v3's messages ("field x not found in
// type notice.Party", "cannot unmarshal !!str `x` into []site.Category"),
// when they are types of a configuration file.
var (
	notFoundIn = regexp.MustCompile(` in type (?:config|site|notice|i18n|region|controllers)\.(\w+)$`)
	decodeInto = regexp.MustCompile(` into ((?:\*|\[\]|map\[string\])*)(?:config|site|notice|i18n|region|controllers)\.(\w+)$`)
)

// fileTypes names the file's types in a yaml.v3 message the same
// whichever Go package holds them: a struct by its bare name ("field x
// not found in Party"), a value's type as config.T ("into config.Text").
func fileTypes(msg string) string {
	msg = notFoundIn.ReplaceAllString(msg, " in $1")
	return decodeInto.ReplaceAllString(msg, " into ${1}config.$2")
}
