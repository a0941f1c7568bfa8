package site

import (
	"fmt"
	"slices"
	"strings"

	"github.com/consentd/consentd/catalogue"
	"github.com/consentd/consentd/config/field"
	"github.com/consentd/consentd/config/i18n"
	"github.com/consentd/consentd/config/lifetime"
	"github.com/consentd/consentd/config/notice"
)

// The service catalogue in site files (docs/catalogue.md): a service
// written as {use: NAME} takes every field it leaves out from the
// catalogue entry NAME, and the notice's recipients and transfers are
// filled from the entries used, where the site does not declare them.

// CatalogueUse records which catalogue entries a site uses; the notice
// shows it (server/notice).
type CatalogueUse struct {
	// Version is catalogue.Version of the entries used: it changes when
	// a fact of one of them changes. "" when the site uses none.
	Version string `json:"version"`
	// Entries are the names of the entries used, sorted.
	Entries []string `json:"entries"`
}

// usedService is a resolved service that came from a catalogue entry.
type usedService struct {
	entry    *catalogue.Entry
	service  *Service
	required bool // its category is required
	field    string
}

// resolveServices fills every {use: NAME} service of s from the catalogue
// and records the entries used. Errors name the file and field: an
// unknown name (with the closest known ones), a text the entry lacks in
// a site language, a self-hosted entry without its operator.
func (s *Site) resolveServices(cat *catalogue.Catalogue) ([]usedService, error) {
	c := &field.Checker{File: s.File}
	var used []usedService
	for i := range s.Categories {
		cg := &s.Categories[i]
		for j := range cg.Services {
			svc := &cg.Services[j]
			if svc.Use == "" {
				continue
			}
			p := fmt.Sprintf("categories[%d].services[%d]", i, j)
			e, ok := cat.Lookup(svc.Use)
			if !ok {
				c.Add(p+".use", "%s", unknownEntry(cat, svc.Use))
				continue
			}
			fillService(c, p, svc, e, s.Languages)
			used = append(used, usedService{entry: e, service: svc, required: cg.Required, field: p})
		}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if len(used) > 0 {
		entries := make([]*catalogue.Entry, 0, len(used))
		for _, u := range used {
			if !slices.Contains(entries, u.entry) {
				entries = append(entries, u.entry)
			}
		}
		s.Catalogue.Version = catalogue.Version(entries)
		for _, e := range entries {
			s.Catalogue.Entries = append(s.Catalogue.Entries, e.Name)
		}
		slices.Sort(s.Catalogue.Entries)
	}
	return used, nil
}

// unknownEntry is the message for a use: that names no entry.
func unknownEntry(cat *catalogue.Catalogue, name string) string {
	msg := fmt.Sprintf("unknown catalogue entry %q", name)
	if near := cat.Closest(name, 3); len(near) > 0 {
		msg += ": did you mean " + strings.Join(near, ", ") + "?"
	}
	return msg + " (consentd catalogue list shows every entry)"
}

// fillService gives svc every field it leaves out from e: name, provider,
// privacy policy, the purpose per language and the cookies. A cookie the
// site lists with the name of one of e's takes what it leaves out from
// that one.
func fillService(c *field.Checker, p string, svc *Service, e *catalogue.Entry, langs []string) {
	if svc.Name == "" {
		svc.Name = e.Title
	}
	if svc.Provider == "" {
		if e.Provider != nil {
			svc.Provider = e.Provider.Name
		} else {
			c.Add(p+".provider", "required: catalogue entry %q is software the site runs itself: name who runs it, e.g. your organisation (self-hosted)", e.Name)
		}
	}
	if svc.URL == "" {
		svc.URL = e.PrivacyPolicy
	}
	svc.Purpose = mergeText(c, p+".purpose", svc.Purpose, e.Purpose, e.Name, langs)
	if svc.Cookies == nil {
		svc.Cookies = make([]Cookie, len(e.Cookies))
		for k, ck := range e.Cookies {
			svc.Cookies[k] = Cookie{Name: ck.Name, Duration: ck.Duration,
				Description: mergeText(c, fmt.Sprintf("%s.cookies[%d].description", p, k), nil, ck.Description, e.Name, langs)}
		}
		return
	}
	for k := range svc.Cookies {
		ck := &svc.Cookies[k]
		from, ok := exactCookie(e, ck.Name)
		if !ok {
			continue
		}
		if ck.Duration == "" {
			ck.Duration = from.Duration
		}
		ck.Description = mergeText(c, fmt.Sprintf("%s.cookies[%d].description", p, k), ck.Description, from.Description, e.Name, langs)
	}
}

// exactCookie is the entry's cookie written with exactly this name.
func exactCookie(e *catalogue.Entry, name string) (catalogue.Cookie, bool) {
	for _, ck := range e.Cookies {
		if ck.Name == name {
			return ck, true
		}
	}
	return catalogue.Cookie{}, false
}

// mergeText is the site's text per language, else the entry's; a
// language neither has is an error naming the field.
func mergeText(c *field.Checker, f string, own, from i18n.Text, entry string, langs []string) i18n.Text {
	out := make(i18n.Text, len(langs))
	for l, t := range own {
		out[l] = t // a language the site lacks is Validate's to report
	}
	for _, l := range langs {
		if out[l] != "" {
			continue
		}
		if t := from[l]; t != "" {
			out[l] = t
			continue
		}
		c.Add(f+"."+l, "catalogue entry %q has no text in %q (it has %s): write %s.%s", entry, l,
			strings.Join(catalogue.Languages, ", "), f[strings.LastIndex(f, ".")+1:], l)
	}
	return out
}

// fillNotice adds to the notice what the catalogue entries used say and
// the site does not: a recipient per provider that no declared recipient
// names, and, when the notice declares no transfers, the transfers of the
// entries used. It never changes what the site declares.
func (s *Site) fillNotice(used []usedService) {
	n := &s.Notice
	type provider struct {
		entry    *catalogue.Entry
		services []usedService
	}
	var providers []*provider
	for _, u := range used {
		if u.entry.Provider == nil {
			continue
		}
		var pr *provider
		for _, x := range providers {
			if x.entry.Provider.Name == u.entry.Provider.Name {
				pr = x
			}
		}
		if pr == nil {
			pr = &provider{entry: u.entry}
			providers = append(providers, pr)
		}
		pr.services = append(pr.services, u)
	}
	if !n.Recipients.None {
		for _, pr := range providers {
			pv := pr.entry.Provider
			if declaresRecipient(n, pv.Name, pr.entry.PrivacyPolicy) {
				continue
			}
			r := notice.Recipient{Name: pv.Name, Address: pv.Address, Country: pv.Country, URL: pr.entry.PrivacyPolicy,
				Purpose: recipientPurpose(pr.services, s.Languages)}
			if !slices.ContainsFunc(pr.services, func(u usedService) bool { return u.required }) {
				r.LegalBasis = []string{notice.BasisConsent}
			}
			n.Recipients.Items = append(n.Recipients.Items, r)
		}
	}
	if n.Transfers == nil {
		n.Transfers = usedTransfers(used)
	}
}

// declaresRecipient reports whether the notice names a recipient whose
// name contains the provider's (any case), or whose web address is the
// provider's privacy policy.
func declaresRecipient(n *notice.Notice, provider, policy string) bool {
	match := func(r notice.Recipient) bool {
		return strings.Contains(strings.ToLower(r.Name), strings.ToLower(provider)) || (policy != "" && r.URL == policy)
	}
	if slices.ContainsFunc(n.Recipients.Items, match) {
		return true
	}
	for _, g := range n.Recipients.Groups {
		if slices.ContainsFunc(g.Items, match) {
			return true
		}
	}
	return false
}

// recipientPurpose is what a provider receives data for: its one
// service's purpose, or "Title: purpose" for each of several.
func recipientPurpose(services []usedService, langs []string) i18n.Text {
	out := make(i18n.Text, len(langs))
	for _, l := range langs {
		if len(services) == 1 {
			out[l] = services[0].service.Purpose[l]
			continue
		}
		parts := make([]string, len(services))
		for i, u := range services {
			parts[i] = u.service.Name + ": " + strings.TrimSpace(u.service.Purpose[l])
		}
		out[l] = strings.Join(parts, " ")
	}
	return out
}

// usedTransfers are the transfers outside the EU/EEA of the entries used:
// the countries and safeguards of every entry that transfers, nil when
// none does (the site may still transfer for its own reasons, so nothing
// is said).
func usedTransfers(used []usedService) *notice.Transfers {
	var t *notice.Transfers
	for _, u := range used {
		et := u.entry.Transfers
		if et == nil || et.OutsideEEA == nil || !*et.OutsideEEA {
			continue
		}
		if t == nil {
			yes := true
			t = &notice.Transfers{OutsideEEA: &yes}
		}
		for _, c := range et.Countries {
			if !slices.Contains(t.Countries, c) {
				t.Countries = append(t.Countries, c)
			}
		}
		for _, k := range et.Safeguards {
			if !slices.ContainsFunc(t.Safeguards, func(s notice.Safeguard) bool { return s.Key == k }) {
				t.Safeguards = append(t.Safeguards, notice.Safeguard{Key: k})
			}
		}
	}
	if t != nil {
		slices.Sort(t.Countries)
		slices.SortFunc(t.Safeguards, func(a, b notice.Safeguard) int {
			return slices.Index(notice.Safeguards, a.Key) - slices.Index(notice.Safeguards, b.Key)
		})
	}
	return t
}

// CatalogueWarning is a difference between a site file and the service
// catalogue that `consentd notice check` reports: the file still loads.
type CatalogueWarning struct {
	Field string
	Msg   string
}

// String formats the warning as "field: catalogue: message".
func (w CatalogueWarning) String() string { return w.Field + ": catalogue: " + w.Msg }

// CheckCatalogue compares s with cat: a service declared by hand whose
// name is an entry's name or title but whose cookies differ from the
// entry's (other names, other lifetimes), and transfers the notice
// declares that leave out those of the entries used.
func (s *Site) CheckCatalogue(cat *catalogue.Catalogue) []CatalogueWarning {
	var ws []CatalogueWarning
	for i, cg := range s.Categories {
		for j, svc := range cg.Services {
			if svc.Use != "" {
				continue
			}
			if e, ok := entryNamed(cat, svc.Name); ok {
				ws = append(ws, cookieDifferences(fmt.Sprintf("categories[%d].services[%d]", i, j), svc, e)...)
			}
		}
	}
	if s.Notice.Recipients.None {
		for _, name := range s.Catalogue.Entries {
			if e, ok := cat.Lookup(name); ok && e.Provider != nil {
				ws = append(ws, CatalogueWarning{"notice.recipients.none", fmt.Sprintf(
					"true, but the catalogue entry %s sends data to %s: list the recipients", e.Name, e.Provider.Name)})
			}
		}
	}
	return append(ws, s.transferDifferences(cat)...)
}

// entryNamed is the entry whose name or title is name (any case).
func entryNamed(cat *catalogue.Catalogue, name string) (*catalogue.Entry, bool) {
	for _, e := range cat.Entries() {
		if strings.EqualFold(e.Name, name) || strings.EqualFold(e.Title, name) {
			return e, true
		}
	}
	return nil, false
}

// cookieDifferences lists how svc's cookies differ from e's.
func cookieDifferences(p string, svc Service, e *catalogue.Entry) []CatalogueWarning {
	var ws []CatalogueWarning
	matched := make([]bool, len(e.Cookies))
	for k, ck := range svc.Cookies {
		cp := fmt.Sprintf("%s.cookies[%d]", p, k)
		idx := slices.IndexFunc(e.Cookies, func(c catalogue.Cookie) bool { return c.Name == ck.Name })
		if idx < 0 {
			idx = slices.IndexFunc(e.Cookies, func(c catalogue.Cookie) bool {
				re, err := catalogue.CookiePattern(c.Name)
				return err == nil && re.MatchString(ck.Name)
			})
		}
		if idx < 0 {
			ws = append(ws, CatalogueWarning{cp + ".name", fmt.Sprintf("%q is not a cookie of %s in the catalogue entry %s (it lists %s)",
				ck.Name, e.Title, e.Name, cookieNames(e))})
			continue
		}
		matched[idx] = true
		if want := e.Cookies[idx]; !lifetime.Same(ck.Duration, want.Duration) {
			name := ck.Name
			if want.Name != ck.Name {
				name += " (" + want.Name + ")"
			}
			ws = append(ws, CatalogueWarning{cp + ".duration", fmt.Sprintf("%s lasts %s in the catalogue entry %s, not %s",
				name, want.Duration, e.Name, ck.Duration)})
		}
	}
	var missing []string
	for idx, ok := range matched {
		if !ok {
			missing = append(missing, e.Cookies[idx].Name)
		}
	}
	if len(missing) > 0 {
		ws = append(ws, CatalogueWarning{p + ".cookies", fmt.Sprintf("the catalogue entry %s also lists %s; add them, or use: %s",
			e.Name, strings.Join(missing, ", "), e.Name)})
	}
	return ws
}

func cookieNames(e *catalogue.Entry) string {
	if len(e.Cookies) == 0 {
		return "none"
	}
	names := make([]string, len(e.Cookies))
	for i, c := range e.Cookies {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// transferDifferences warns when the notice declares transfers that
// leave out a country of an entry the site uses.
func (s *Site) transferDifferences(cat *catalogue.Catalogue) []CatalogueWarning {
	t := s.Notice.Transfers
	if t == nil || t.OutsideEEA == nil {
		return nil
	}
	var ws []CatalogueWarning
	for _, name := range s.Catalogue.Entries {
		e, ok := cat.Lookup(name)
		if !ok || e.Transfers == nil || e.Transfers.OutsideEEA == nil || !*e.Transfers.OutsideEEA {
			continue
		}
		if !*t.OutsideEEA {
			ws = append(ws, CatalogueWarning{"notice.transfers.outsideEEA", fmt.Sprintf(
				"false, but the catalogue entry %s transfers data outside the EU/EEA (%s)", e.Name, strings.Join(e.Transfers.Countries, ", "))})
			continue
		}
		for _, c := range e.Transfers.Countries {
			if !slices.Contains(t.Countries, c) {
				ws = append(ws, CatalogueWarning{"notice.transfers.countries", fmt.Sprintf(
					"lacks %s, where the catalogue entry %s transfers data", c, e.Name)})
			}
		}
	}
	return ws
}
