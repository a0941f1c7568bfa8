package scan

import (
	"bytes"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/consentd/consentd/catalogue"
	"github.com/consentd/consentd/config/i18n"
	"github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/site"
)

// unknownCategory is the category of an undeclared cookie no pattern
// matches: not a real one, so the patch does not validate until a person
// has chosen.
const unknownCategory = "unknown"

// patchService is one service of the patch with the cookies to declare:
// written out (from the pattern table, or named after the host), or a
// catalogue entry (use), or cookies to add to a service the site has.
type patchService struct {
	category, name, provider, url string
	cookies                       []patchCookie
	// use is the catalogue entry: a service "- use: NAME", or with add,
	// the cookies to add to the site's service that uses it.
	use string
	// add: the site file has this service (named name, or using use):
	// the patch lists only the cookies to add to it.
	add bool
	// selfHosted: the entry names no provider; the patch leaves
	// provider empty for the site to fill in (the loader says so).
	selfHosted bool
	comments   []string
}

type patchCookie struct {
	name, duration string
	description    i18n.Text
	note           string
}

// Patch renders site-patch.yaml with the built-in service catalogue and
// host table (PatchWith).
func (r *Report) Patch(s *site.Site) ([]byte, error) {
	cat, err := catalogue.Builtin()
	if err != nil {
		return nil, err
	}
	hosts, err := BuiltinEntryHosts()
	if err != nil {
		return nil, err
	}
	return r.PatchWith(s, cat, hosts)
}

// PatchWith renders site-patch.yaml: the undeclared cookies as site-file
// declarations (categories → services). Cookies that entries of the
// service catalogue list become those entries (- use: NAME), chosen by
// proposeEntries, or cookies to add to the site's service of that entry;
// the others are written out under the category and service a pattern
// suggests, else under category "unknown" and a service named after the
// host that set them. Comments say what was observed and what to check.
func (r *Report) PatchWith(s *site.Site, cat *catalogue.Catalogue, hosts EntryHosts) ([]byte, error) {
	services := map[string]*patchService{}
	var storage, cookies []Undeclared
	for _, u := range r.Findings.Undeclared {
		if u.Kind != "cookie" {
			storage = append(storage, u)
			continue
		}
		cookies = append(cookies, u)
	}
	addrs := r.addresses()
	props, rest := proposeEntries(s, cat, hosts, addrs, cookies)
	for _, p := range props {
		ps := useService(s, p)
		key := ps.category + "\x00" + ps.name
		if !ps.add {
			key += "\x00use " + ps.use // a service of its own, beside a written-out one of the same name
		}
		services[key] = ps
	}
	for _, u := range rest {
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
		"of the site file (or its cookies into the service of the same name or use), check the",
		"suggested category, service and duration, and write each description in every",
		"language of the site (" + strings.Join(s.Languages, ", ") + "). A service \"- use: NAME\" comes whole from the",
		"service catalogue (docs/catalogue.md): check the lines marked CHECK and fill what is empty.",
		"Then: consentd notice check " + fileName(s) + ".",
		"A cookie needed only after consent must also be blocked until then (docs/widget.md, Blocking).",
	}, "\n")
	if len(cookies) == 0 {
		doc = mapping("categories", seq())
		doc.HeadComment = fmt.Sprintf("site-patch.yaml: every cookie consentd scan saw on %s is declared in %s: nothing to add.", r.URL, fileName(s))
	}
	var foot []string
	if hints := hostHints(s, cat, hosts, addrs, props); len(hints) > 0 {
		foot = append(foot, "The scan contacted hosts of catalogue entries that "+fileName(s)+" does not use and this patch",
			"does not propose. If the site has these services, declare them too (- use: NAME): a service",
			"receives data even without cookies, and its entry may list cookies this scan did not see.")
		foot = append(foot, hints...)
	}
	if len(storage) > 0 {
		if len(foot) > 0 {
			foot = append(foot, "")
		}
		foot = append(foot, "Storage keys not declared (declare them like cookies if they hold data about the visitor):")
		for _, u := range storage {
			foot = append(foot, u.Kind+" "+u.Name+" ("+u.Domain+")")
		}
	}
	doc.FootComment = strings.Join(foot, "\n")
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

// seenNote says what the scan saw of an undeclared cookie.
func seenNote(u Undeclared) string {
	note := fmt.Sprintf("seen: %s, %s, lives %s, in %s; %s", u.Name, u.Domain, FormatDuration(u.lifetime()),
		strings.Join(u.Passes, ", "), setBy(u.SetBy))
	if !u.FirstParty {
		note += "; third party: the widget cannot delete it on withdrawal"
	}
	return note
}

// patchEntry is the service and declaration an undeclared cookie that
// no catalogue entry lists gets.
func patchEntry(u Undeclared) (patchService, patchCookie) {
	lifetime := u.lifetime()
	note := seenNote(u)
	if p := u.Suggestion; p != nil {
		d := p.Duration
		if over, err := LongerThanDeclared(lifetime, d); err == nil && over {
			d = FormatDuration(lifetime)
		}
		return patchService{category: p.Category, name: p.Service, provider: p.Provider, url: p.URL},
			patchCookie{name: p.Name, duration: d, description: i18n.Text{"en": p.Description}, note: note}
	}
	host := strings.TrimPrefix(u.Domain, ".")
	if len(u.SetBy) > 0 {
		if su, err := url.Parse(firstNonEmpty(u.SetBy[0].URL, u.SetBy[0].Via)); err == nil && su.Hostname() != "" {
			host = su.Hostname()
		}
	}
	return patchService{category: unknownCategory, name: host, provider: "TODO"},
		patchCookie{name: u.Name, duration: FormatDuration(lifetime), description: i18n.Text{"en": "TODO: what the cookie is for"}, note: note}
}

// useService is the patch's service for a catalogue proposal: a new
// "- use: NAME" in the entry's category (the site's category of that id),
// or, when the site has the entry's service, the entry's cookies to add
// to it, with their lifetimes and descriptions from the entry.
func useService(s *site.Site, p *useProposal) *patchService {
	e := p.entry
	ps := &patchService{category: e.Category, name: e.Title, use: e.Name, comments: p.comments(s)}
	if p.have == nil {
		ps.selfHosted = e.Provider == nil
		return ps
	}
	ps.category, ps.name, ps.use, ps.add = p.have.category, p.have.svc.Name, p.have.svc.Use, true
	for _, u := range p.cookies {
		c, _ := e.Cookie(u.Name)
		if cookieIndex(ps.cookies, c.Name) >= 0 {
			continue
		}
		desc := i18n.Text{}
		for _, l := range s.Languages {
			if t := c.Description[l]; t != "" {
				desc[l] = t
			}
		}
		ps.cookies = append(ps.cookies, patchCookie{name: c.Name, duration: c.Duration, description: desc})
	}
	return ps
}

// serviceNode renders one service; a written-out service s already has
// (by name, in that category) gets a comment saying to merge the cookies
// into it.
func serviceNode(s *site.Site, ps *patchService) *yaml.Node {
	cookies := seq()
	for _, c := range ps.cookies {
		n := mapping("name", str(c.name), "duration", str(c.duration), "description", textNode(s, c.description))
		n.HeadComment = c.note
		cookies.Content = append(cookies.Content, n)
	}
	switch {
	case ps.add && ps.use != "":
		n := mapping("use", str(ps.use), "cookies", cookies)
		n.HeadComment = strings.Join(ps.comments, "\n")
		return n
	case ps.add:
		n := mapping("name", str(ps.name), "cookies", cookies)
		n.HeadComment = strings.Join(ps.comments, "\n")
		return n
	case ps.use != "":
		n := mapping("use", str(ps.use))
		if ps.selfHosted {
			provider := &yaml.Node{Kind: yaml.ScalarNode, Value: "", Style: yaml.DoubleQuotedStyle,
				LineComment: "TODO: who runs it" + operators(s) + "; until then the site file does not load"}
			n = mapping("use", str(ps.use), "provider", provider)
		}
		n.HeadComment = strings.Join(ps.comments, "\n")
		return n
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

// operators names the notice's controllers and processors, the usual
// candidates for who runs self-hosted software: ", e.g. A or B".
func operators(s *site.Site) string {
	var names []string
	for _, p := range append(append([]notice.Party(nil), s.Notice.Controllers...), s.Notice.Processors...) {
		if p.Name != "" && !slices.Contains(names, p.Name) {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return " (your organisation, or the company that hosts it for you)"
	}
	return " (the notice names " + strings.Join(names, "; ") + ")"
}

// textNode renders a text with the site's languages first, in order.
func textNode(s *site.Site, t i18n.Text) *yaml.Node {
	n := mapping()
	for _, l := range s.Languages {
		if v, ok := t[l]; ok {
			n.Content = append(n.Content, str(l), str(v))
		}
	}
	var rest []string
	for l := range t {
		if !slices.Contains(s.Languages, l) {
			rest = append(rest, l)
		}
	}
	sort.Strings(rest)
	for _, l := range rest {
		n.Content = append(n.Content, str(l), str(t[l]))
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
