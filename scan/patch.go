package scan

import (
	"bytes"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/consentd/consentd/config/site"
)

// unknownCategory is the category of an undeclared cookie no pattern
// matches: not a real one, so the patch does not validate until a person
// has chosen.
const unknownCategory = "unknown"

// patchService is one service of the patch with the cookies to declare.
type patchService struct {
	category, name, provider, url string
	cookies                       []patchCookie
}

type patchCookie struct {
	name, duration, description, note string
}

// Patch renders site-patch.yaml: the undeclared cookies as site-file
// declarations (categories → services → cookies), under the category
// and service a pattern suggests, else under category "unknown" and a
// service named after the host that set them. Comments say what was
// observed and what to check.
func (r *Report) Patch(s *site.Site) ([]byte, error) {
	services := map[string]*patchService{}
	var storage []string
	for _, u := range r.Findings.Undeclared {
		if u.Kind != "cookie" {
			storage = append(storage, u.Kind+" "+u.Name+" ("+u.Domain+")")
			continue
		}
		ps, c := patchEntry(u)
		key := ps.category + "\x00" + ps.name
		have, ok := services[key]
		if !ok {
			services[key] = &ps
			have = &ps
		} else if i := cookieIndex(have.cookies, c.name); i >= 0 {
			have.cookies[i].note += "; also " + u.Name + " (" + u.Domain + ")"
			continue
		}
		have.cookies = append(have.cookies, c)
	}
	keys := make([]string, 0, len(services))
	for k := range services {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	byCategory := map[string][]*patchService{}
	var categories []string
	for _, k := range keys {
		ps := services[k]
		if _, ok := byCategory[ps.category]; !ok {
			categories = append(categories, ps.category)
		}
		byCategory[ps.category] = append(byCategory[ps.category], ps)
	}
	cats := seq()
	for _, id := range categories {
		svcs := seq()
		for _, ps := range byCategory[id] {
			svcs.Content = append(svcs.Content, serviceNode(s, ps))
		}
		cat := mapping("id", str(id), "services", svcs)
		switch c, ok := s.Category(id); {
		case id == unknownCategory:
			cat.HeadComment = "No known pattern: choose the category (one of " + categoryIDs(s) + "), name the service and its provider."
		case !ok:
			cat.HeadComment = fmt.Sprintf("%s has no category %q: add it (label, description) or use one of %s.", fileName(s), id, categoryIDs(s))
		case c.Required:
			cat.HeadComment = fmt.Sprintf("Category %q of %s (required).", id, fileName(s))
		default:
			cat.HeadComment = fmt.Sprintf("Category %q of %s.", id, fileName(s))
		}
		cats.Content = append(cats.Content, cat)
	}
	doc := mapping("categories", cats)
	doc.HeadComment = strings.Join([]string{
		fmt.Sprintf("site-patch.yaml: cookies that consentd scan saw on %s (%s)", r.URL, r.Started.Format(time.RFC3339)),
		fmt.Sprintf("and that %s does not declare. Merge each service into categories[].services[]", fileName(s)),
		"of the site file (or its cookies into the service of the same name), check the",
		"suggested category, service and duration, and write each description in every",
		"language of the site (" + strings.Join(s.Languages, ", ") + "). Then: consentd notice check " + fileName(s) + ".",
		"A cookie needed only after consent must also be blocked until then (docs/widget.md, Blocking).",
	}, "\n")
	if len(storage) > 0 {
		doc.FootComment = "Storage keys not declared (declare them like cookies if they hold data about the visitor):\n" +
			strings.Join(storage, "\n")
	}
	if len(r.Findings.Undeclared) == 0 {
		doc = mapping("categories", seq())
		doc.HeadComment = fmt.Sprintf("site-patch.yaml: every cookie consentd scan saw on %s is declared in %s: nothing to add.", r.URL, fileName(s))
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("site-patch.yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("site-patch.yaml: %w", err)
	}
	return b.Bytes(), nil
}

// WritePatch writes the patch as dir/site-patch.yaml.
func (r *Report) WritePatch(dir string, s *site.Site) (string, error) {
	b, err := r.Patch(s)
	if err != nil {
		return "", err
	}
	return writeFile(dir, "site-patch.yaml", b)
}

// patchEntry is the service and declaration an undeclared cookie gets.
func patchEntry(u Undeclared) (patchService, patchCookie) {
	lifetime := time.Duration(u.LifetimeSeconds) * time.Second
	note := fmt.Sprintf("seen: %s, %s, lives %s, in %s; %s", u.Name, u.Domain, FormatDuration(lifetime),
		strings.Join(u.Passes, ", "), setBy(u.SetBy))
	if !u.FirstParty {
		note += "; third party: the widget cannot delete it on withdrawal"
	}
	if p := u.Suggestion; p != nil {
		d := p.Duration
		if over, err := LongerThanDeclared(lifetime, d); err == nil && over {
			d = FormatDuration(lifetime)
		}
		return patchService{category: p.Category, name: p.Service, provider: p.Provider, url: p.URL},
			patchCookie{name: p.Name, duration: d, description: p.Description, note: note}
	}
	host := strings.TrimPrefix(u.Domain, ".")
	if len(u.SetBy) > 0 {
		if su, err := url.Parse(firstNonEmpty(u.SetBy[0].URL, u.SetBy[0].Via)); err == nil && su.Hostname() != "" {
			host = su.Hostname()
		}
	}
	return patchService{category: unknownCategory, name: host, provider: "TODO"},
		patchCookie{name: u.Name, duration: FormatDuration(lifetime), description: "TODO: what the cookie is for", note: note}
}

// serviceNode renders one service; a service s already has (by name, in
// that category) gets a comment saying to merge the cookies into it.
func serviceNode(s *site.Site, ps *patchService) *yaml.Node {
	cookies := seq()
	for _, c := range ps.cookies {
		n := mapping("name", str(c.name), "duration", str(c.duration), "description", mapping("en", str(c.description)))
		n.HeadComment = c.note
		cookies.Content = append(cookies.Content, n)
	}
	pairs := []any{"name", str(ps.name), "provider", str(ps.provider)}
	if ps.url != "" {
		pairs = append(pairs, "url", str(ps.url))
	}
	pairs = append(pairs, "purpose", mapping("en", str("TODO: what the service does on this site")), "cookies", cookies)
	n := mapping(pairs...)
	if c, ok := s.Category(ps.category); ok {
		for _, svc := range c.Services {
			if strings.EqualFold(svc.Name, ps.name) {
				n.HeadComment = fmt.Sprintf("%s already has this service: add these cookies to its cookies.", fileName(s))
			}
		}
	}
	return n
}

func cookieIndex(cs []patchCookie, name string) int {
	for i, c := range cs {
		if c.name == name {
			return i
		}
	}
	return -1
}

func categoryIDs(s *site.Site) string {
	ids := make([]string, len(s.Categories))
	for i, c := range s.Categories {
		ids[i] = c.ID
	}
	return strings.Join(ids, ", ")
}

func fileName(s *site.Site) string {
	if s.File == "" {
		return s.ID + ".yaml"
	}
	return filepath.Base(s.File)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// YAML node helpers.

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func seq() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode} }

// mapping builds a mapping from key, value pairs; a key is a string, a
// value a *yaml.Node.
func mapping(pairs ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(pairs); i += 2 {
		n.Content = append(n.Content, str(pairs[i].(string)), pairs[i+1].(*yaml.Node))
	}
	return n
}
