package site

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/consentd/consentd/config/field"
	"github.com/consentd/consentd/config/i18n"
	"github.com/consentd/consentd/config/lifetime"
)

var (
	siteIDPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	categoryIDPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	// cookieNamePattern is an RFC 6265 token, plus "*" for families such as _ga_*.
	cookieNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
	languagePattern   = regexp.MustCompile(`^[a-z]{2,3}$`)
	tokenHashPattern  = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	stringKeyPattern  = regexp.MustCompile(`^(widget|notice)\.[A-Za-z][A-Za-z0-9.-]{0,63}$`)
)

// ValidID reports whether id is a well-formed site id.
func ValidID(id string) bool { return siteIDPattern.MatchString(id) }

// validator checks one site file. The banner's and the regions' checks
// are its methods in banner.go and regions.go; the notice checks itself
// (notice.Notice.Validate) into the same field.Checker.
type validator struct{ field.Checker }

// Validate checks the site and returns every problem found, joined. The
// messages say what is expected, e.g.
// `config/sites/demo.yaml: categories[2].id: duplicate id "analytics"`.
func (s *Site) Validate() error {
	v := &validator{field.Checker{File: s.File}}
	if s.File == "" {
		v.File = "<site " + s.ID + ">"
	}
	switch {
	case s.ID == "":
		v.Add("id", "required: a short lowercase id such as \"demo\"")
	case !siteIDPattern.MatchString(s.ID):
		v.Add("id", "%q is not a valid id: expected lowercase letters, digits and '-', at most 63 characters", s.ID)
	case s.File != "" && strings.TrimSuffix(filepath.Base(s.File), filepath.Ext(s.File)) != s.ID:
		v.Add("id", "%q does not match the file name: expected the file to be named %s.yaml", s.ID, s.ID)
	}
	v.Plain("name", s.Name, 200, true)
	v.origins(s.Origins)
	v.languages(s)
	v.Plain("policyVersion", s.PolicyVersion, 64, true)
	if s.ConsentExpiryDays < 1 || s.ConsentExpiryDays > 730 {
		v.Add("consentExpiryDays", "%d is out of range: expected 1 to 730 days (default %d)", s.ConsentExpiryDays, DefaultConsentExpiryDays)
	}
	if s.LogRetentionDays < 1 || s.LogRetentionDays > 3650 {
		v.Add("logRetentionDays", "%d is out of range: expected 1 to 3650 days (default %d)", s.LogRetentionDays, DefaultLogRetentionDays)
	}
	v.categories(s)
	s.Notice.Validate(&v.Checker, s.Languages)
	v.strings(s)
	CheckTokens(&v.Checker, "adminTokens", s.AdminTokens)
	v.regions(s.Regions)
	v.banner(s.Banner)
	v.consentMode(s)
	v.asking(s)
	return v.Err()
}

func (v *validator) origins(origins []string) {
	if len(origins) == 0 {
		v.Add("origins", "required: at least one origin allowed to embed the widget, e.g. https://www.example.fi")
		return
	}
	seen := map[string]bool{}
	for i, o := range origins {
		field := fmt.Sprintf("origins[%d]", i)
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Host, "*") {
			v.Add(field, "%q is not an origin: expected scheme://host[:port] such as https://www.example.fi (no path, no wildcard)", o)
			continue
		}
		if (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80") {
			v.Add(field, "%q has the default port: browsers send the origin without it, so write %s://%s", o, u.Scheme, u.Hostname())
			continue
		}
		if seen[o] {
			v.Add(field, "duplicate origin %q", o)
		}
		seen[o] = true
	}
}

func (v *validator) languages(s *Site) {
	if len(s.Languages) == 0 {
		v.Add("languages", "required: at least one of %s", strings.Join(i18n.BuiltinLanguages, ", "))
		return
	}
	seen := map[string]bool{}
	for i, l := range s.Languages {
		field := fmt.Sprintf("languages[%d]", i)
		switch {
		case !languagePattern.MatchString(l):
			v.Add(field, "%q is not a language code: expected a lowercase ISO 639 code such as fi, sv, en, de", l)
		case !i18n.IsBuiltin(l) && len(s.Strings[l]) == 0:
			v.Add(field, "language %q has no built-in texts (built in: %s): add strings.%s with every text, see docs/notice.md#more-languages",
				l, strings.Join(i18n.BuiltinLanguages, ", "), l)
		}
		if seen[l] {
			v.Add(field, "duplicate language %q", l)
		}
		seen[l] = true
	}
	if !s.HasLanguage(s.DefaultLanguage) {
		v.Add("defaultLanguage", "%q is not one of the site's languages (%s)", s.DefaultLanguage, strings.Join(s.Languages, ", "))
	}
}

func (v *validator) categories(s *Site) {
	if len(s.Categories) == 0 {
		v.Add("categories", "required: at least one category, e.g. necessary")
		return
	}
	seen := map[string]bool{}
	for i, c := range s.Categories {
		p := fmt.Sprintf("categories[%d]", i)
		switch {
		case c.ID == "":
			v.Add(p+".id", "required")
		case !categoryIDPattern.MatchString(c.ID):
			v.Add(p+".id", "%q is not a valid id: expected a lowercase letter, then letters, digits, '_' or '-', at most 32 characters", c.ID)
		case seen[c.ID]:
			v.Add(p+".id", "duplicate id %q", c.ID)
		}
		seen[c.ID] = true
		v.Text(p+".label", c.Label, s.Languages, 80)
		v.Text(p+".description", c.Description, s.Languages, 2000)
		v.OptText(p+".note", c.Note, s.Languages, 2000)
		for j, svc := range c.Services {
			sp := fmt.Sprintf("%s.services[%d]", p, j)
			v.Plain(sp+".name", svc.Name, 200, true)
			v.Plain(sp+".provider", svc.Provider, 200, true)
			v.Text(sp+".purpose", svc.Purpose, s.Languages, 1000)
			if svc.URL != "" {
				if u, err := url.Parse(svc.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					v.Add(sp+".url", "%q is not a web address: expected https://...", svc.URL)
				}
			}
			for k, ck := range svc.Cookies {
				cp := fmt.Sprintf("%s.cookies[%d]", sp, k)
				if !cookieNamePattern.MatchString(ck.Name) {
					v.Add(cp+".name", "%q is not a cookie name: expected letters, digits and !#$%%&'*+.^_`|~- (use * for a family such as _ga_*)", ck.Name)
				}
				if !lifetime.Valid(ck.Duration) {
					v.Add(cp+".duration", "%q is not a duration: expected "+lifetime.Expected, ck.Duration)
				}
				v.Text(cp+".description", ck.Description, s.Languages, 1000)
			}
		}
	}
}

// strings checks the shape of the strings section: site languages only,
// keys "widget.<key>" or "notice.<key>", non-empty single texts. Whether a
// key exists is checked where the texts are known (server/notice).
func (v *validator) strings(s *Site) {
	for lang, m := range s.Strings {
		p := "strings." + lang
		if !s.HasLanguage(lang) {
			v.Add(p, "language %q is not one of the site's languages (%s)", lang, strings.Join(s.Languages, ", "))
			continue
		}
		for k, val := range m {
			if !stringKeyPattern.MatchString(k) {
				v.Add(p+"."+k, "is not a text key: expected widget.<key> or notice.<key>, e.g. notice.toc")
				continue
			}
			v.Plain(p+"."+k, val, 2000, true)
		}
	}
}

// CheckTokens checks a list of admin tokens, the field list of c's file
// (adminTokens in a site file, tokens in the controllers file): a name
// and a well-formed hash each, a date if created is given, no name or
// hash twice.
func CheckTokens(c *field.Checker, list string, tokens []AdminToken) {
	names, hashes := map[string]bool{}, map[string]bool{}
	for i, t := range tokens {
		p := fmt.Sprintf("%s[%d]", list, i)
		c.Plain(p+".name", t.Name, 64, true)
		switch {
		case strings.HasPrefix(t.Hash, "cdt_"):
			c.Add(p+".hash", "is a token, not its hash: never store the token itself; `consentd token create` prints the hash line to use")
		case !tokenHashPattern.MatchString(t.Hash):
			c.Add(p+".hash", "is not a token hash: expected sha256: and 64 lowercase hex digits, as printed by `consentd token create`")
		case hashes[t.Hash]:
			c.Add(p+".hash", "duplicate token hash")
		}
		if t.Name != "" && names[t.Name] {
			c.Add(p+".name", "duplicate token name %q", t.Name)
		}
		if t.Created != "" {
			if _, err := time.Parse("2006-01-02", t.Created); err != nil {
				c.Add(p+".created", "%q is not a date: expected YYYY-MM-DD", t.Created)
			}
		}
		names[t.Name], hashes[t.Hash] = true, true
	}
}
