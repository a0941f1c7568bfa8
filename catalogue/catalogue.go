// Package catalogue is consentd's service catalogue: one YAML file per
// service commonly embedded in Nordic sites (services/*.yaml, embedded in
// the binary), each with its purpose, provider, privacy policy, cookies,
// transfers outside the EU/EEA, the consent signals it listens to, and
// the sources its facts were checked against. A site file uses an entry
// with `use: NAME` (config/site resolves it); `consentd catalogue
// list|show` prints entries. docs/catalogue.md is the reference.
package catalogue

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/consentd/consentd/config/i18n"
)

//go:embed services/*.yaml
var files embed.FS

// Languages are the languages every entry's texts are written in.
var Languages = []string{"fi", "sv", "en"}

// Categories are the consentd category ids an entry may suggest.
var Categories = []string{"necessary", "preferences", "analytics", "marketing"}

// Cookie parties.
const (
	FirstParty = "first" // set on the site's own domain
	ThirdParty = "third" // set on the provider's domain
)

// Entry is one service of the catalogue.
type Entry struct {
	// Name is the id a site file uses (use: google-analytics-4); the file
	// is services/<name>.yaml.
	Name string `yaml:"name" json:"name"`
	// Title is the service's name as visitors know it.
	Title string `yaml:"title" json:"title"`
	// Category is the consentd category the service usually belongs in.
	Category string `yaml:"category" json:"category"`
	// Purpose says what the service does on a site, in fi, sv and en.
	Purpose i18n.Text `yaml:"purpose" json:"purpose"`
	// SelfHosted marks software the site runs itself (Matomo on the
	// site's own server): no provider receives data.
	SelfHosted bool `yaml:"selfHosted,omitempty" json:"selfHosted,omitempty"`
	// Provider is the company that provides the service to EU visitors.
	Provider *Provider `yaml:"provider,omitempty" json:"provider,omitempty"`
	// PrivacyPolicy is the provider's privacy policy (https).
	PrivacyPolicy string `yaml:"privacyPolicy,omitempty" json:"privacyPolicy,omitempty"`
	// Cookies are the cookies and storage items the service sets.
	Cookies []Cookie `yaml:"cookies" json:"cookies"`
	// Transfers says whether data goes outside the EU/EEA; nil: not
	// confirmed (Gaps says so).
	Transfers *Transfers `yaml:"transfers,omitempty" json:"transfers,omitempty"`
	// Signals are the consent signals the service's own script reads.
	Signals Signals `yaml:"signals,omitempty" json:"signals,omitempty"`
	// Sources are the pages the facts were checked against.
	Sources []string `yaml:"sources" json:"sources"`
	// Checked is the date (YYYY-MM-DD) the sources were read.
	Checked string `yaml:"checked" json:"checked"`
	// Gaps name the facts that could not be confirmed and are left out
	// (in English, for reviewers).
	Gaps []string `yaml:"gaps,omitempty" json:"gaps,omitempty"`

	raw []byte // the file as written
}

// Provider is the legal entity behind a service.
type Provider struct {
	Name string `yaml:"name" json:"name"`
	// Address is the postal address, lines separated by newlines.
	Address string `yaml:"address,omitempty" json:"address,omitempty"`
	// Country is an ISO 3166-1 alpha-2 code.
	Country string `yaml:"country,omitempty" json:"country,omitempty"`
}

// Cookie is one cookie (or storage item) a service sets.
type Cookie struct {
	// Name is the cookie's name; * stands for any characters (_ga_*).
	Name string `yaml:"name" json:"name"`
	// Duration is a lifetime as in site files (config/lifetime).
	Duration string `yaml:"duration" json:"duration"`
	// Party is FirstParty or ThirdParty.
	Party       string    `yaml:"party" json:"party"`
	Description i18n.Text `yaml:"description" json:"description"`
}

// Transfers says whether and where a service's provider transfers data
// outside the EU/EEA, and under which safeguards (config/notice keys:
// adequacy, dpf, scc, bcr, derogation).
type Transfers struct {
	OutsideEEA *bool    `yaml:"outsideEEA" json:"outsideEEA"`
	Countries  []string `yaml:"countries,omitempty" json:"countries,omitempty"`
	Safeguards []string `yaml:"safeguards,omitempty" json:"safeguards,omitempty"`
}

// Signals are the consent signals a service listens to: Google Consent
// Mode types, Microsoft UET's consent mode and Clarity's consent API.
type Signals struct {
	ConsentMode []string `yaml:"consentMode,omitempty" json:"consentMode,omitempty"`
	UET         []string `yaml:"uet,omitempty" json:"uet,omitempty"`
	Clarity     []string `yaml:"clarity,omitempty" json:"clarity,omitempty"`
}

// File returns the entry's path in the repository.
func (e *Entry) File() string { return "catalogue/services/" + e.Name + ".yaml" }

// Source returns the entry's file as written.
func (e *Entry) Source() []byte { return bytes.Clone(e.raw) }

// Cookie returns the entry's cookie that a cookie named name is: the one
// of that exact name, else the first whose pattern matches it.
func (e *Entry) Cookie(name string) (Cookie, bool) {
	for _, c := range e.Cookies {
		if c.Name == name {
			return c, true
		}
	}
	for _, c := range e.Cookies {
		if re, err := CookiePattern(c.Name); err == nil && re.MatchString(name) {
			return c, true
		}
	}
	return Cookie{}, false
}

// CookiePattern turns a cookie name with * wildcards into a regular
// expression matching the whole name.
func CookiePattern(name string) (*regexp.Regexp, error) {
	parts := strings.Split(name, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.Compile("^" + strings.Join(parts, ".*") + "$")
}

// Catalogue is a parsed set of entries. It is never changed after Parse:
// the entries it returns are shared and must not be modified.
type Catalogue struct {
	byName map[string]*Entry
	names  []string // sorted
}

// Builtin parses the catalogue embedded in the binary. Its entries are
// checked by the package's tests, so an error is a defect of the build.
func Builtin() (*Catalogue, error) {
	sub, err := fs.Sub(files, "services")
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	return Parse(sub)
}

// Parse reads every *.yaml file at the top of fsys as one entry and
// checks it; errors name the file and field.
func Parse(fsys fs.FS) (*Catalogue, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	c := &Catalogue{byName: make(map[string]*Entry, len(names))}
	var errs []error
	for _, file := range names {
		raw, err := fs.ReadFile(fsys, file)
		if err != nil {
			errs = append(errs, fmt.Errorf("catalogue: %w", err))
			continue
		}
		e, err := parseEntry("catalogue/services/"+file, raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.byName[e.Name] = e
		c.names = append(c.names, e.Name)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Strings(c.names)
	return c, nil
}

// parseEntry decodes and checks one entry file.
func parseEntry(file string, raw []byte) (*Entry, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var e Entry
	if err := dec.Decode(&e); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: file is empty: expected a catalogue entry", file)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	e.raw = raw
	if want := strings.TrimSuffix(path.Base(file), ".yaml"); e.Name != want {
		return nil, fmt.Errorf("%s: name: %q does not match the file name: expected %q", file, e.Name, want)
	}
	if err := e.Check(file); err != nil {
		return nil, err
	}
	return &e, nil
}

// Names returns the entries' names, sorted.
func (c *Catalogue) Names() []string { return append([]string(nil), c.names...) }

// Entries returns the entries sorted by name.
func (c *Catalogue) Entries() []*Entry {
	out := make([]*Entry, len(c.names))
	for i, n := range c.names {
		out[i] = c.byName[n]
	}
	return out
}

// Lookup returns the entry named name.
func (c *Catalogue) Lookup(name string) (*Entry, bool) {
	e, ok := c.byName[name]
	return e, ok
}

// Version identifies the content of a set of entries: the first 12 hex
// digits of the SHA-256 of their JSON form, in name order, so a change of
// any fact of an entry used (not of its file's comments or layout) gives
// a new version. An empty set has the version "".
func Version(entries []*Entry) string {
	if len(entries) == 0 {
		return ""
	}
	sorted := append([]*Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	h := sha256.New()
	for _, e := range sorted {
		b, err := json.Marshal(e)
		if err != nil {
			panic(err) // strings, maps of strings and slices: cannot fail
		}
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
