package notice

import (
	"strings"

	"github.com/consentd/consentd/config/i18n"
	noticecfg "github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/site"
)

// Facts lists every fact of site's notice as a visitor reads it in lang,
// each as a piece of text that appears whole on the page: names, address
// lines, phone numbers, e-mail and web addresses, each paragraph and list
// item of a text, the labels of legal bases, recipient kinds and
// safeguards, country names, dates, and the cookie section's categories,
// services, cookies and durations. Tests check that each appears on the
// page and in the widget's notice view; it follows the site file, not
// the templates, so a fact the templates drop is found missing.
func Facts(site *site.Site, lang string) []string {
	n := &site.Notice
	L := labelsFor(site, lang)
	f := &facts{lang: lang}
	f.text(n.Title, n.RegisterName, n.Intro)
	for _, p := range append(append([]noticecfg.Party{}, n.Controllers...), n.Processors...) {
		f.plain(p.Name, p.BusinessID, p.Phone, p.Email, p.URL)
		f.plain(lines(p.Address)...)
		f.text(p.Role, p.BusinessIDLabel)
	}
	for _, c := range n.Contacts {
		f.plain(c.Name, c.Phone, c.Email)
		f.plain(lines(c.Address)...)
		f.text(c.Role)
		if c.DPO {
			f.plain(L["dpo"])
		}
	}
	for _, p := range n.Purposes {
		f.text(p.Activity, p.Purpose, p.Data, p.LegitimateInterest, p.Details, p.Retention)
		f.labels(L, "basis.", p.LegalBasis...)
	}
	f.text(n.LegalBasisNote)
	for _, g := range n.DataCategories {
		f.text(g.Role, g.Intro)
		f.text(g.Items...)
	}
	f.text(n.Sources...)
	f.text(n.SourcesNote, n.Requirement, n.Recipients.Intro)
	if n.Recipients.None {
		f.plain(L["none"])
	}
	f.recipients(L, n.Recipients.Items)
	for _, g := range n.Recipients.Groups {
		f.text(g.Title, g.Intro)
		f.recipients(L, g.Items)
	}
	if t := n.Transfers; t != nil {
		for _, c := range t.Countries {
			f.plain(countryName(lang, c))
		}
		for _, s := range t.Safeguards {
			if s.Key != "" {
				f.labels(L, "safeguard.", s.Key)
			}
			f.text(s.Text)
		}
		f.text(t.Description)
	}
	for _, c := range site.Categories {
		f.text(c.Label, c.Description, c.Note)
		for _, s := range c.Services {
			f.plain(s.Name, s.Provider, s.URL)
			f.text(s.Purpose)
			for _, ck := range s.Cookies {
				f.plain(ck.Name, duration(L, ck.Duration))
				f.text(ck.Description)
			}
		}
	}
	for _, r := range n.Retention {
		f.text(r.Data, r.Period)
	}
	f.text(n.RetentionNote, n.Security)
	for _, id := range noticecfg.RightKeys {
		r, named := n.Rights[id]
		if !named {
			continue
		}
		if r.Applies != nil && !*r.Applies {
			f.plain(L["notApplies"])
		}
		f.plain(L["right."+id])
		f.text(r.Text)
	}
	for _, r := range n.CustomRights {
		f.text(r.Title, r.Text)
	}
	f.text(n.RightsNote)
	if a, ok := site.ComplaintAuthority(); ok {
		f.plain(a.Phone, a.Email, a.URL)
		f.plain(lines(a.Address)...)
		f.text(a.Name)
	}
	if d := n.AutomatedDecisions; d != nil {
		f.text(d.Description)
	}
	for _, s := range n.Sections {
		f.text(s.Title, s.Body)
	}
	f.plain(dateIf(lang, n.Created), dateIf(lang, n.Updated), dateIf(lang, n.ValidFrom), site.PolicyVersion)
	f.plain(site.Catalogue.Version)
	return f.out
}

// facts collects the facts of one language.
type facts struct {
	lang string
	out  []string
}

// plain adds single-language values, skipping empty ones.
func (f *facts) plain(vals ...string) {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			f.out = append(f.out, v)
		}
	}
}

// text adds the texts in f's language: each paragraph (its lines joined
// with spaces, as the page shows them) and each list item on its own.
func (f *facts) text(ts ...i18n.Text) {
	for _, t := range ts {
		var para []string
		flush := func() {
			f.plain(strings.Join(para, " "))
			para = nil
		}
		for _, line := range strings.Split(t[f.lang], "\n") {
			line = strings.TrimSpace(line)
			switch {
			case line == "":
				flush()
			case strings.HasPrefix(line, "- "):
				flush()
				f.plain(line[2:])
			default:
				para = append(para, line)
			}
		}
		flush()
	}
}

// labels adds the built-in labels of keys (legal bases, safeguards).
func (f *facts) labels(L map[string]string, prefix string, keys ...string) {
	for _, k := range keys {
		f.plain(L[prefix+k])
	}
}

func (f *facts) recipients(L map[string]string, items []noticecfg.Recipient) {
	for _, r := range items {
		f.plain(r.Name, r.URL, countryName(f.lang, r.Country))
		f.plain(lines(r.Address)...)
		if r.Kind != "" {
			f.plain(L["kind."+r.Kind])
		}
		f.text(r.Purpose, r.Data)
		f.labels(L, "basis.", r.LegalBasis...)
	}
}
