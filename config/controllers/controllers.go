// Package controllers is the controllers file: admin tokens declared in
// one place, each granting the sites it lists. A token in a site file
// (adminTokens) grants that site only; a token for several sites is
// declared here once, and a token hash is declared in one place only.
//
//	tokens:
//	  - name: "anna (dpo)"
//	    hash: sha256:e52e84a45dd5b93e81b0e10ad7d745737e190bc8ecbf16f8d6ff1fb71453527c
//	    created: "2026-12-05"
//	    sites: [shop, blog]
package controllers

import (
	"errors"
	"fmt"

	"github.com/consentd/consentd/config/field"
	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/config/yamlfile"
)

// File is a loaded controllers file. It is never modified once loaded.
type File struct {
	// Tokens are the declared tokens, in file order.
	Tokens []Token `yaml:"tokens"`
	// Path is where the file was read from (not part of the YAML).
	Path string `yaml:"-"`
}

// Token is one admin token of the controllers file: its name, hash and
// creation date as in a site file, and the sites it grants.
type Token struct {
	site.AdminToken `yaml:",inline"`
	// Sites are the ids of the sites the token grants, in the order the
	// controller wants them listed.
	Sites []string `yaml:"sites"`
}

// Load reads the controllers file at path and checks it against the
// loaded sites (Parse).
func Load(path string, sites site.Sites) (*File, error) {
	data, err := yamlfile.Read(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, sites)
}

// Parse parses and checks a controllers file's contents against the
// loaded sites: every token is a valid admin token (site.CheckTokens),
// grants at least one site, and names only sites that exist, each once;
// no token hash is also in a site file. Every problem is reported, each
// naming the file, the field and what is expected (field.Error). A file
// without a document (only comments) declares no token.
func Parse(path string, data []byte, sites site.Sites) (*File, error) {
	f := &File{}
	if err := yamlfile.Decode(path, data, f); err != nil && !errors.Is(err, yamlfile.ErrEmpty) {
		return nil, err
	}
	f.Path = path
	c := &field.Checker{File: path}
	list := make([]site.AdminToken, len(f.Tokens))
	for i, t := range f.Tokens {
		list[i] = t.AdminToken
	}
	site.CheckTokens(c, "tokens", list)
	for i, t := range f.Tokens {
		checkSites(c, fmt.Sprintf("tokens[%d].sites", i), t.Sites, sites)
	}
	inSiteFiles(c, f.Tokens, sites)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

// checkSites checks the sites a token grants: at least one, each the id
// of a loaded site, none twice.
func checkSites(c *field.Checker, p string, ids []string, sites site.Sites) {
	if len(ids) == 0 {
		c.Add(p, "required: the ids of the sites the token grants, e.g. [shop, blog]")
		return
	}
	seen := map[string]bool{}
	for j, id := range ids {
		q := fmt.Sprintf("%s[%d]", p, j)
		switch {
		case id == "*":
			c.Add(q, `"*" is not supported: list each site (a wildcard would also grant every site added later)`)
		case sites[id] == nil:
			c.Add(q, "%q is not a site: expected the id of a site file in the sites directory (remove it here when its site file goes)", id)
		case seen[id]:
			c.Add(q, "duplicate site %q", id)
		}
		seen[id] = true
	}
}

// inSiteFiles refuses each token whose hash a site file declares too: a
// token is declared in one place, so what it grants is read in one place.
func inSiteFiles(c *field.Checker, tokens []Token, sites site.Sites) {
	type place struct{ file, field string }
	declared := map[string]place{}
	for _, id := range sites.IDs() { // sorted: the same place is named every time
		for i, t := range sites[id].AdminTokens {
			if _, ok := declared[t.Hash]; !ok {
				declared[t.Hash] = place{sites[id].File, fmt.Sprintf("adminTokens[%d].hash", i)}
			}
		}
	}
	for i, t := range tokens {
		if p, ok := declared[t.Hash]; ok {
			c.Add(fmt.Sprintf("tokens[%d].hash", i), "the same token hash is in %s (%s): declare a token in one place: "+
				"remove it from the site file and list that site under sites here", p.file, p.field)
		}
	}
}
