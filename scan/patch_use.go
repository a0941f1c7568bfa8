package scan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/consentd/consentd/catalogue"
	"github.com/consentd/consentd/config/site"
)

// The patch's use of the service catalogue (docs/scan.md,
// "site-patch.yaml"): undeclared cookies that a catalogue entry lists are
// proposed as that entry (- use: NAME), or, when the site file already
// has the entry's service, as cookies to add to it.

// useProposal is a catalogue entry the patch proposes for some of the
// undeclared cookies.
type useProposal struct {
	entry *catalogue.Entry
	// have is the site's own service for the entry, when it has one: the
	// cookies are to be added to it instead of a new service.
	have *siteService
	// cookies are the undeclared cookies the entry explains.
	cookies []Undeclared
	// tied are the other entries that explain exactly these cookies;
	// seen is the address that settled the tie, if one did, and
	// tiedSeen the tied entries whose hosts the scan also saw.
	tied     []*catalogue.Entry
	seen     address
	bySeen   bool
	tiedSeen []string
	// also maps a cookie's name to the other entries that list it.
	also map[string][]string
}

// siteService is a service of the site file and its category.
type siteService struct {
	category string
	svc      *site.Service
}

// explains reports whether entry e lists the undeclared cookie u: a
// cookie of that name or family, of the same party (a cookie the entry
// sets on the provider's domain is not one of the site's own).
func explains(e *catalogue.Entry, u Undeclared) bool {
	if u.Kind != "cookie" {
		return false
	}
	c, ok := e.Cookie(u.Name)
	return ok && (c.Party == catalogue.FirstParty) == u.FirstParty
}

// serviceOf is the site's service for entry e: one that uses it, else a
// written-out one with its name or title (as notice check compares),
// else a written-out one declaring one of its cookies.
func serviceOf(s *site.Site, e *catalogue.Entry) (*siteService, bool) {
	find := func(match func(*site.Service) bool) (*siteService, bool) {
		for i := range s.Categories {
			c := &s.Categories[i]
			for j := range c.Services {
				if match(&c.Services[j]) {
					return &siteService{category: c.ID, svc: &c.Services[j]}, true
				}
			}
		}
		return nil, false
	}
	if ss, ok := find(func(svc *site.Service) bool { return svc.Use == e.Name }); ok {
		return ss, true
	}
	if ss, ok := find(func(svc *site.Service) bool {
		return svc.Use == "" && (strings.EqualFold(svc.Name, e.Name) || strings.EqualFold(svc.Name, e.Title))
	}); ok {
		return ss, true
	}
	return find(func(svc *site.Service) bool {
		return svc.Use == "" && slices.ContainsFunc(svc.Cookies, func(c site.Cookie) bool {
			_, ok := e.Cookie(c.Name)
			return ok
		})
	})
}

// proposeEntries chooses catalogue entries for the undeclared cookies,
// greedily: the entry that explains the most of the cookies not yet
// explained (an entry the site already has first), again until none
// explains any. Among entries that explain the same cookies, the one
// whose host the scan saw wins when it is the only one; otherwise one
// without hosts (self-hosted), else the first by name, and the proposal
// names the others. rest are the cookies
// no entry explains.
func proposeEntries(s *site.Site, cat *catalogue.Catalogue, hosts EntryHosts, addrs []address, cookies []Undeclared) (props []*useProposal, rest []Undeclared) {
	entries := cat.Entries() // sorted by name
	explained := make([][]int, len(entries))
	have := make([]*siteService, len(entries))
	for i, e := range entries {
		for k, u := range cookies {
			if explains(e, u) {
				explained[i] = append(explained[i], k)
			}
		}
		if len(explained[i]) > 0 {
			have[i], _ = serviceOf(s, e)
		}
	}
	done := make([]bool, len(cookies))
	open := func(i int) []int {
		var ks []int
		for _, k := range explained[i] {
			if !done[k] {
				ks = append(ks, k)
			}
		}
		return ks
	}
	names := func(ks []int) string {
		var ns []string
		for _, k := range ks {
			if !slices.Contains(ns, cookies[k].Name) {
				ns = append(ns, cookies[k].Name)
			}
		}
		slices.Sort(ns)
		return strings.Join(ns, "\x00")
	}
	better := func(i, j int) bool { // entry i before entry j
		a, b := len(open(i)), len(open(j))
		if (have[i] != nil) != (have[j] != nil) {
			return have[i] != nil
		}
		return a > b
	}
	for {
		// The best entries: the site's own first, then the most cookies.
		var best []int
		for i := range entries {
			switch {
			case len(open(i)) == 0:
			case len(best) == 0 || better(i, best[0]):
				best = []int{i}
			case !better(best[0], i):
				best = append(best, i)
			}
		}
		if len(best) == 0 {
			break
		}
		// The leader: the first whose host the scan saw; else the first
		// that has no hosts (software the site runs itself: the scan
		// could not have seen a host of it, where it saw none of the
		// others'); else the first.
		lead, bySeen := best[0], false
		var seen address
		for _, i := range best {
			if a, ok := hosts.Seen(entries[i].Name, addrs); ok {
				lead, seen, bySeen = i, a, true
				break
			}
		}
		if !bySeen {
			for _, i := range best {
				if len(hosts[entries[i].Name]) == 0 {
					lead = i
					break
				}
			}
		}
		ks := open(lead)
		p := &useProposal{entry: entries[lead], have: have[lead], seen: seen, bySeen: bySeen}
		for _, i := range best {
			if i == lead || names(open(i)) != names(ks) {
				continue
			}
			p.tied = append(p.tied, entries[i])
			if _, ok := hosts.Seen(entries[i].Name, addrs); ok {
				p.tiedSeen = append(p.tiedSeen, entries[i].Name)
			}
		}
		for _, k := range ks {
			p.cookies = append(p.cookies, cookies[k])
			done[k] = true
		}
		props = append(props, p)
	}
	// What else lists each proposed cookie.
	for _, p := range props {
		for _, u := range p.cookies {
			for _, e := range entries {
				if e == p.entry || slices.Contains(p.tied, e) || !explains(e, u) {
					continue
				}
				if p.also == nil {
					p.also = map[string][]string{}
				}
				if !slices.Contains(p.also[u.Name], e.Name) {
					p.also[u.Name] = append(p.also[u.Name], e.Name)
				}
			}
		}
	}
	for k, u := range cookies {
		if !done[k] {
			rest = append(rest, u)
		}
	}
	return props, rest
}

// comments are the lines the proposal's service gets above it: what
// the entry is, how it was chosen, the alternatives, and what the scan
// saw of each cookie.
func (p *useProposal) comments(s *site.Site) []string {
	e := p.entry
	var lines []string
	if p.have != nil {
		how := "written out as " + p.have.svc.Name
		if p.have.svc.Use != "" {
			how = "use: " + p.have.svc.Use
		}
		lines = append(lines, fmt.Sprintf("%s already has %s (%s) in category %q, without these cookies of the catalogue entry: add them to its cookies.",
			fileName(s), e.Title, how, p.have.category))
	} else {
		lines = append(lines, fmt.Sprintf("%s from the service catalogue: cookies, purpose, provider and transfers come from the entry (consentd catalogue show %s).", e.Title, e.Name))
	}
	if len(p.tied) > 0 {
		var alts []string
		for _, t := range p.tied {
			alts = append(alts, "use: "+t.Name+" ("+t.Title+")")
		}
		lists := "lists"
		if len(alts) > 1 {
			lists = "list"
		}
		switch {
		case p.bySeen && len(p.tiedSeen) == 0:
			lines = append(lines, fmt.Sprintf("Chosen over %s, which %s the same cookies: the scan saw %s, a host of %s, and none of %s.",
				strings.Join(alts, ", "), lists, p.seen, e.Name, strings.Join(names(p.tied), ", ")))
		case p.bySeen:
			lines = append(lines, fmt.Sprintf("CHECK: %s %s the same cookies, and the scan saw hosts of %s and %s: keep the service the site really has (or both).",
				strings.Join(alts, ", "), lists, e.Name, strings.Join(p.tiedSeen, ", ")))
		default:
			lines = append(lines, fmt.Sprintf("CHECK: %s %s the same cookies, and the scan saw no host of %s or %s: keep the service the site really has.",
				strings.Join(alts, ", "), lists, e.Name, strings.Join(names(p.tied), ", ")))
		}
	}
	var cookies []string
	for n := range p.also {
		cookies = append(cookies, n)
	}
	slices.Sort(cookies)
	for _, n := range cookies {
		lines = append(lines, fmt.Sprintf("%s is also a cookie of %s: if the site has that service too, add it (- use: NAME).", n, strings.Join(p.also[n], ", ")))
	}
	for _, u := range p.cookies {
		lines = append(lines, seenNote(u))
		c, _ := p.entry.Cookie(u.Name)
		if over, err := LongerThanDeclared(u.lifetime(), c.Duration); err == nil && over {
			lines = append(lines, fmt.Sprintf("CHECK: %s lives %s here, longer than the catalogue's %s (%s): declare its cookies with that duration (docs/catalogue.md).",
				u.Name, FormatDuration(u.lifetime()), c.Duration, c.Name))
		}
	}
	return lines
}

// hostHints names the catalogue entries whose hosts the scan saw but
// that the site file does not have and the patch does not propose: a
// service without cookies (Google Tag Manager) still receives data.
func hostHints(s *site.Site, cat *catalogue.Catalogue, hosts EntryHosts, addrs []address, props []*useProposal) []string {
	var lines []string
	for _, e := range cat.Entries() {
		if slices.ContainsFunc(props, func(p *useProposal) bool { return p.entry == e }) {
			continue
		}
		if _, ok := serviceOf(s, e); ok {
			continue
		}
		if a, ok := hosts.Seen(e.Name, addrs); ok {
			lines = append(lines, fmt.Sprintf("%s: %s (use: %s)", a, e.Title, e.Name))
		}
	}
	return lines
}

// names are the entries' names.
func names(es []*catalogue.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}

func (u Undeclared) lifetime() time.Duration { return time.Duration(u.LifetimeSeconds) * time.Second }
