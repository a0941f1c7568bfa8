package scan

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// patternsYAML is the built-in table of known cookies (patterns.yaml).
//
//go:embed patterns.yaml
var patternsYAML []byte

// Pattern is one known cookie of the pattern table: what the scan
// suggests for an undeclared cookie whose name matches.
type Pattern struct {
	// Name is a cookie name; a * matches any text.
	Name     string `yaml:"name" json:"name"`
	Service  string `yaml:"service" json:"service"`
	Provider string `yaml:"provider" json:"provider"`
	// Category is the usual category id: necessary, functional,
	// analytics or marketing.
	Category string `yaml:"category" json:"category"`
	// Duration is the usual lifetime, as site files write it.
	Duration    string `yaml:"duration" json:"duration"`
	URL         string `yaml:"url" json:"url,omitempty"`
	Description string `yaml:"description" json:"description"`
}

// Patterns is a table of known cookies; the first match wins.
type Patterns []Pattern

// patternCategories are the categories the table may suggest.
var patternCategories = map[string]bool{"necessary": true, "functional": true, "analytics": true, "marketing": true}

// BuiltinPatterns returns the embedded table (patterns.yaml).
func BuiltinPatterns() (Patterns, error) {
	return ParsePatterns(patternsYAML)
}

// ParsePatterns reads a pattern table and checks every entry: a name,
// a service, a known category and a valid duration.
func ParsePatterns(data []byte) (Patterns, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var ps Patterns
	if err := dec.Decode(&ps); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("pattern table: %w", err)
	}
	var errs []error
	for i, p := range ps {
		switch {
		case p.Name == "" || p.Service == "" || p.Provider == "":
			errs = append(errs, fmt.Errorf("pattern %d (%q): name, service and provider are required", i, p.Name))
		case !patternCategories[p.Category]:
			errs = append(errs, fmt.Errorf("pattern %d (%q): category %q: expected necessary, functional, analytics or marketing", i, p.Name, p.Category))
		}
		if _, _, err := ParseDuration(p.Duration); err != nil {
			errs = append(errs, fmt.Errorf("pattern %d (%q): duration: %w", i, p.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pattern table: %w", err)
	}
	return ps, nil
}

// Lookup returns the first pattern whose name matches the cookie name.
func (ps Patterns) Lookup(name string) (Pattern, bool) {
	for _, p := range ps {
		if MatchName(p.Name, name) {
			return p, true
		}
	}
	return Pattern{}, false
}
