// Package site is the per-site configuration: one YAML file per site in
// the sites directory (Site). Load, Parse and LoadDir read and validate
// site files, reporting every problem with the file, the field path and
// what is expected (field.Error); Public is what the widget gets; the
// banner's look and the regions' modes are checked here too. The privacy
// notice part of a site file is its own package, config/notice.
package site

import (
	"crypto/sha256"
	"sort"
	"strings"

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
	// Signals are the other consent signals the widget sends (Microsoft
	// UET and Clarity, asking.go).
	Signals Signals `yaml:"signals"`
	// ConsentVersion is the site's own label of what consent is asked for:
	// changing it asks every visitor again, also those who refused
	// recently (asking.go, ConsentVersionOf).
	ConsentVersion string `yaml:"consentVersion"`
	// ReaskAfterRejectDays: a refusal is respected this long although what
	// consent is asked for changed (default 180).
	ReaskAfterRejectDays int `yaml:"reaskAfterRejectDays"`
	// CookieDomain shares the decision cookie with every subdomain of
	// this domain (www., app., ...); empty: this host only.
	CookieDomain string `yaml:"cookieDomain"`
	// ServerCookie: the API is reached through the site's own origin (a
	// reverse-proxy path and data-api on the script tag), so the consent
	// response also sets the decision cookie (Set-Cookie), which Safari
	// does not cap at 7 days as it caps cookies written by script.
	ServerCookie bool `yaml:"serverCookie"`
	// GPCInOptIn is what the Global Privacy Control signal does in the
	// opt-in mode: "banner" (ask as usual) or "reject" (refuse without a
	// banner, recorded as method gpc).
	GPCInOptIn string `yaml:"gpcInOptIn"`
	// Regions maps visitor regions to consent modes, first match wins
	// (see regions.go, docs/geo.md). Unknown country or no match: opt-in.
	Regions []RegionRule `yaml:"regions"`
	// AdminTokens are the controllers' API tokens, stored as hashes
	// (`consentd token create --site ID` makes one).
	AdminTokens []AdminToken `yaml:"adminTokens"`

	// Catalogue records the service catalogue entries the services use
	// (not part of the YAML; set when the file is loaded).
	Catalogue CatalogueUse `yaml:"-"`

	// File is the path the site was loaded from (not part of the YAML).
	File string `yaml:"-"`
	// digest is the SHA-256 of the file's bytes (Parse): LoadDirReusing
	// keeps a site whose file has not changed.
	digest [sha256.Size]byte
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
	// Reopen is where the control that reopens the settings after a
	// decision floats: bottom-left (default), bottom-right, or off for a
	// site with data-consentd="open" links on every page.
	Reopen string `yaml:"reopen"`
	// CloseRejects adds a close button to the banner that refuses
	// (recorded as reject_all, method close).
	CloseRejects bool `yaml:"closeRejects"`
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
	// Note is an optional text shown under the category's cookies in the
	// privacy notice, e.g. that it uses local storage and no cookies.
	Note i18n.Text `yaml:"note"`
}

// Service is one third-party or first-party service in a category.
type Service struct {
	// Use names a service catalogue entry (catalogue/services/NAME.yaml):
	// every field left out here is taken from it (catalogue.go).
	Use      string    `yaml:"use"`
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
	s.applyAskingDefaults()
	if s.ConsentMode.WaitForUpdate == 0 {
		s.ConsentMode.WaitForUpdate = DefaultWaitForUpdate
	}
}

// Sites is a set of loaded sites, keyed by id.
type Sites map[string]*Site

// IDs returns the site ids in sorted order.
func (ss Sites) IDs() []string {
	ids := make([]string, 0, len(ss))
	for id := range ss {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
