package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/consentd/consentd/config/field"
	"github.com/consentd/consentd/config/i18n"
	"github.com/consentd/consentd/config/notice"
)

// Defaults applied when a site file leaves a field out.
const (
	DefaultConsentExpiryDays = 365
	DefaultLogRetentionDays  = 1095
)

// Site is one site's configuration, loaded from <sites-dir>/<id>.yaml.
type Site struct {
	ID                string     `yaml:"id"`
	Name              string     `yaml:"name"`
	Origins           []string   `yaml:"origins"`
	Languages         []string   `yaml:"languages"`
	DefaultLanguage   string     `yaml:"defaultLanguage"`
	PolicyVersion     string     `yaml:"policyVersion"`
	ConsentExpiryDays int        `yaml:"consentExpiryDays"`
	LogRetentionDays  int        `yaml:"logRetentionDays"`
	Categories        []Category `yaml:"categories"`
	// Notice is the site's privacy notice (see config/notice, docs/notice.md).
	Notice notice.Notice `yaml:"notice"`
	// Strings overrides built-in texts per language: keys "widget.<key>"
	// (the widget's UI texts) and "notice.<key>" (the notice's headings and
	// standard sentences). A language that is not built in (fi, sv, en)
	// must give every text. See docs/notice.md#more-languages.
	Strings map[string]map[string]string `yaml:"strings"`
	// Banner is the look of the widget (layout, position, theme).
	Banner Banner `yaml:"banner"`
	// ConsentMode maps Google Consent Mode v2 signals to the categories
	// that grant them; empty: the widget sends no Consent Mode calls.
	ConsentMode ConsentMode `yaml:"consentMode"`
	// Regions maps visitor regions to consent modes, first match wins
	// (see regions.go, docs/geo.md). Unknown country or no match: opt-in.
	Regions []RegionRule `yaml:"regions"`
	// AdminTokens are the controllers' API tokens, stored as hashes
	// (`consentd token create --site ID` makes one).
	AdminTokens []AdminToken `yaml:"adminTokens"`

	// File is the path the site was loaded from (not part of the YAML).
	File string `yaml:"-"`
}

// AdminToken is one admin API token of a site: only its hash is stored.
type AdminToken struct {
	// Name says whose or what the token is ("dpo", "nightly export"); it
	// appears in logs instead of the token.
	Name string `yaml:"name"`
	// Hash is "sha256:" + the hex SHA-256 of the token.
	Hash string `yaml:"hash"`
	// Created is the date the token was made (YYYY-MM-DD), for rotation.
	Created string `yaml:"created"`
}

// Banner is the widget's look, from the site file's banner section.
type Banner struct {
	// Layout is "bar" (full width, default) or "box" (a card).
	Layout string `yaml:"layout"`
	// Position: bar → bottom (default) or top; box → bottom-left,
	// bottom-right (default) or center.
	Position string `yaml:"position"`
	// Theme and Dark set the widget's colours and shapes for light and
	// dark colour schemes (keys: ThemeKeys).
	Theme map[string]string `yaml:"theme"`
	Dark  map[string]string `yaml:"dark"`
	// ServiceToggles adds a toggle per service in the preferences.
	ServiceToggles bool `yaml:"serviceToggles"`
}

// ConsentMode maps each Google Consent Mode v2 signal (ad_storage,
// analytics_storage, ad_user_data, ad_personalization, and optionally
// functionality_storage, personalization_storage, security_storage) to
// the categories that grant it: granted when all of them are granted.
type ConsentMode struct {
	Signals map[string][]string `yaml:",inline"`
	// WaitForUpdate is how long (ms) tags wait for the update after the
	// default; default 500.
	WaitForUpdate int `yaml:"waitForUpdate"`
}

// Category is a group of cookies and services the visitor accepts or
// rejects as one (e.g. "analytics").
type Category struct {
	ID       string `yaml:"id"`
	Required bool   `yaml:"required"`
	// SaleShare marks a category whose data use is a "sale or sharing"
	// under US state privacy laws: in opt-out regions it starts on, and a
	// Global Privacy Control signal turns it off.
	SaleShare   bool      `yaml:"saleShare"`
	Label       i18n.Text `yaml:"label"`
	Description i18n.Text `yaml:"description"`
	Services    []Service `yaml:"services"`
}

// Service is one third-party or first-party service in a category.
type Service struct {
	Name     string    `yaml:"name"`
	Provider string    `yaml:"provider"`
	Purpose  i18n.Text `yaml:"purpose"`
	URL      string    `yaml:"url"`
	Cookies  []Cookie  `yaml:"cookies"`
}

// Cookie is one cookie (or storage item) a service sets.
type Cookie struct {
	Name        string    `yaml:"name"`
	Duration    string    `yaml:"duration"` // "session" or a number with min, h, d, mo or y: "13mo"
	Description i18n.Text `yaml:"description"`
}

// Category returns the category with the given id.
func (s *Site) Category(id string) (*Category, bool) {
	for i := range s.Categories {
		if s.Categories[i].ID == id {
			return &s.Categories[i], true
		}
	}
	return nil, false
}

// AllowsOrigin reports whether origin (as sent in the Origin header) is in
// the site's allowlist.
func (s *Site) AllowsOrigin(origin string) bool {
	for _, o := range s.Origins {
		if o == origin {
			return true
		}
	}
	return false
}

// HasLanguage reports whether lang is one of the site's languages.
func (s *Site) HasLanguage(lang string) bool {
	for _, l := range s.Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// maxSiteFileSize bounds a site file; real ones are a few kilobytes.
const maxSiteFileSize = 1 << 20

// LoadSite reads, parses and validates one site file. Errors name the
// file, the field path and what is expected; all problems found are
// reported at once (joined with errors.Join).
func LoadSite(path string) (*Site, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSiteFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxSiteFileSize {
		return nil, fmt.Errorf("%s: file is larger than %d bytes", path, maxSiteFileSize)
	}
	return ParseSite(path, data)
}

// ParseSite parses and validates a site file's contents; path is used in
// error messages and to check that the id matches the file name.
func ParseSite(path string, data []byte) (*Site, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Site
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: file is empty: expected a site definition (id, name, origins, languages, categories)", path)
		}
		return nil, fmt.Errorf("%s: %s", path, yamlMessage(err))
	}
	s.File = path
	s.applyDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// yamlMessage turns a yaml.v3 error into a one-line message without the
// package's prefixes ("yaml: unmarshal errors:").
func yamlMessage(err error) string {
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
// when they are types of the site file.
var (
	notFoundIn = regexp.MustCompile(` in type (?:config|site|notice|i18n|region)\.(\w+)$`)
	decodeInto = regexp.MustCompile(` into ((?:\*|\[\]|map\[string\])*)(?:config|site|notice|i18n|region)\.(\w+)$`)
)

// fileTypes names the site file's types in a yaml.v3 message the same
// whichever Go package holds them: a struct by its bare name ("field x
// not found in Party"), a value's type as config.T ("into config.Text").
func fileTypes(msg string) string {
	msg = notFoundIn.ReplaceAllString(msg, " in $1")
	return decodeInto.ReplaceAllString(msg, " into ${1}config.$2")
}

func (s *Site) applyDefaults() {
	if s.DefaultLanguage == "" && len(s.Languages) > 0 {
		s.DefaultLanguage = s.Languages[0]
	}
	if s.ConsentExpiryDays == 0 {
		s.ConsentExpiryDays = DefaultConsentExpiryDays
	}
	if s.LogRetentionDays == 0 {
		s.LogRetentionDays = DefaultLogRetentionDays
	}
	for i, o := range s.Origins {
		s.Origins[i] = strings.ToLower(strings.TrimSuffix(o, "/"))
	}
	s.Notice.ApplyDefaults()
	s.Banner.applyDefaults()
	if s.ConsentMode.WaitForUpdate == 0 {
		s.ConsentMode.WaitForUpdate = DefaultWaitForUpdate
	}
}

// Sites is a set of loaded sites, keyed by id.
type Sites map[string]*Site

// LoadSites loads every *.yaml and *.yml file in dir. It fails if any file
// is invalid (reporting every bad file), if two files share an id or an
// admin token hash, or if there is no site at all.
func LoadSites(dir string) (Sites, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("sites directory: %w", err)
	}
	sites := Sites{}
	var errs []error
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	tokens := map[string]tokenPlace{}
	for _, name := range names {
		s, err := LoadSite(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := sites[s.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: id: duplicate site id %q (also in %s)", s.File, s.ID, prev.File))
			continue
		}
		sites[s.ID] = s
		errs = append(errs, sharedTokens(s, tokens)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(sites) == 0 {
		return nil, fmt.Errorf("sites directory %s: no site files (*.yaml): expected at least one, e.g. config/sites/demo.yaml", dir)
	}
	return sites, nil
}

// tokenPlace is where an admin token hash is declared: file and field.
type tokenPlace struct{ file, field string }

// sharedTokens refuses each admin token hash of s that an earlier site
// file declares: the token would grant both sites. seen maps each hash to
// where it was first declared; sharedTokens adds those of s.
func sharedTokens(s *Site, seen map[string]tokenPlace) []error {
	var errs []error
	for i, t := range s.AdminTokens {
		p := fmt.Sprintf("adminTokens[%d].hash", i)
		if prev, dup := seen[t.Hash]; dup {
			errs = append(errs, &field.Error{File: s.File, Field: p, Msg: fmt.Sprintf(
				"the same token hash is in %s (%s): a token grants one site; create another token for this site (consentd token create --site %s)",
				prev.file, prev.field, s.ID)})
			continue
		}
		seen[t.Hash] = tokenPlace{file: s.File, field: p}
	}
	return errs
}

// IDs returns the site ids in sorted order.
func (ss Sites) IDs() []string {
	ids := make([]string, 0, len(ss))
	for id := range ss {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
