package notice

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"github.com/consentd/consentd/config/i18n"
	noticecfg "github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/site"
)

// view is what the fragment template renders for one language: every
// string already picked for the language, texts as escaped HTML with
// their e-mail addresses and https URLs as links (text.go).
type view struct {
	Lang, Title string
	L           map[string]string
	Intro       template.HTML
	Sections    []section

	Controllers, Processors, Contacts []party
	RegisterName                      template.HTML
	Purposes                          []purposeRow
	PurposeActivity, PurposeData      bool // the purposes table's optional columns
	LegalBasisNote                    template.HTML
	DataGroups                        []dataGroup
	Sources                           []template.HTML
	SourcesNote, Requirement          template.HTML
	Recipients                        recipients
	Transfers                         *transfers
	CookiesIntro                      string
	Categories                        []category
	Retention                         []retentionRow
	PurposeRetention                  []retentionRow
	RetentionNote, Security           template.HTML
	Rights                            []right
	RightsNote                        template.HTML
	UseRights                         bool // the built-in "contact the contact person" sentence
	Authority                         *party
	Automated                         *automated
	Created, Updated, ValidFrom       string
	PolicyVersion                     string
	// Catalogue says which service catalogue entries (and which version
	// of them) filled services, recipients and transfers; "" when none.
	Catalogue string
}

// section is one h2 section of the notice.
type section struct {
	ID    string // anchor, without the "cdn-" prefix
	Num   string // "3." when headings are numbered
	Title string
	Body  template.HTML
}

type party struct {
	L                                 map[string]string
	DPO                               bool
	Name, BusinessID, BusinessIDLabel string
	Role                              template.HTML
	Address                           []string
	Phone, Email                      string
	Web                               template.HTML
}

type purposeRow struct {
	Activity, Purpose, Data        template.HTML
	Bases                          []string
	Details, Legitimate, Retention template.HTML
}

type dataGroup struct {
	Role  string
	Intro template.HTML
	Items []template.HTML
}

type recipients struct {
	Intro       template.HTML
	None, Table bool
	Items       []recipient
	Groups      []recipientGroup
}

type recipientGroup struct {
	Title string
	Intro template.HTML
	Items []recipient
}

type recipient struct {
	Name, Kind, Country, Link string
	Address                   []string
	Purpose, Data, Web        template.HTML
	Bases                     []string
}

type transfers struct {
	Sentence    string // the built-in sentence, "" when the description replaces it
	Countries   []string
	Safeguards  []template.HTML
	Description template.HTML
}

type category struct {
	Label       string
	Description template.HTML
	Required    bool
	Rows        []cookieRow
	Note        template.HTML
}

type cookieRow struct {
	Cookie, Service, Provider, Link, Duration string
	Purpose                                   template.HTML
}

type retentionRow struct{ What, Data, Period template.HTML }

type right struct {
	Title   string
	Applies bool
	Text    template.HTML
}

type automated struct {
	Used        bool
	Description template.HTML
}

// recipientList is the data of the fragment's recipientList template: one
// list (or table) of recipients.
type recipientList struct {
	L     map[string]string
	Table bool
	Items []recipient
}

var fragmentTmpl = template.Must(template.New("notice").Funcs(template.FuncMap{
	"recipientData": func(L map[string]string, table bool, items []recipient) recipientList {
		return recipientList{L: L, Table: table, Items: items}
	},
}).ParseFS(files, "fragment.tmpl"))

// renderFragment renders site's notice in lang to an HTML fragment (a
// <div class="cdn">). The output is deterministic: the same site file
// always gives the same bytes, which the notice version hashes.
func renderFragment(site *site.Site, lang string) (string, error) {
	v := buildView(site, lang)
	for i := range v.Sections {
		s := &v.Sections[i]
		var b bytes.Buffer
		name := s.ID
		var data any = v
		if strings.HasPrefix(name, "extra-") {
			name, data = "extra", s.Body
		}
		if err := fragmentTmpl.ExecuteTemplate(&b, name, data); err != nil {
			return "", fmt.Errorf("render notice section %s: %w", s.ID, err)
		}
		s.Body = template.HTML(b.String()) // #nosec G203 -- produced by html/template
	}
	var b bytes.Buffer
	if err := fragmentTmpl.ExecuteTemplate(&b, "fragment", v); err != nil {
		return "", fmt.Errorf("render notice: %w", err)
	}
	return b.String(), nil
}

// noticeTitle is the notice's title in lang: notice.title, else the
// built-in (or strings-overridden) "Privacy notice".
func noticeTitle(site *site.Site, L map[string]string, lang string) string {
	if t := site.Notice.Title[lang]; t != "" {
		return t
	}
	return L["title"]
}

// buildView picks lang's strings out of the site and decides which
// sections the notice has. A section with nothing to say is left out
// (rights, cookies and about are always there), and nothing the site file
// does not say is added: a missing fact stays a gap, which Check reports.
func buildView(site *site.Site, lang string) *view {
	n := &site.Notice
	L := labelsFor(site, lang)
	tr := func(t i18n.Text) string { return t[lang] }
	lk := func(t i18n.Text) template.HTML { return linkify(tr(t)) }
	v := &view{
		Lang:          lang,
		L:             L,
		Title:         noticeTitle(site, L, lang),
		Intro:         rich(tr(n.Intro)),
		RegisterName:  lk(n.RegisterName),
		PolicyVersion: site.PolicyVersion,
		Created:       dateIf(lang, n.Created),
		Updated:       dateIf(lang, n.Updated),
		ValidFrom:     dateIf(lang, n.ValidFrom),
		Catalogue:     catalogueLine(site, L),
	}
	for _, p := range n.Controllers {
		v.Controllers = append(v.Controllers, makeParty(L, lang, p))
	}
	for _, p := range n.Processors {
		v.Processors = append(v.Processors, makeParty(L, lang, p))
	}
	for _, c := range n.Contacts {
		role := tr(c.Role)
		if c.DPO {
			role = joinNonEmpty(", ", L["dpo"], role)
		}
		v.Contacts = append(v.Contacts, party{L: L, DPO: c.DPO, Name: c.Name, Role: linkify(role),
			Address: lines(c.Address), Phone: c.Phone, Email: c.Email})
	}
	bases := func(ids []string) []string {
		out := make([]string, len(ids))
		for i, b := range ids {
			out[i] = L["basis."+b]
		}
		return out
	}
	for _, p := range n.Purposes {
		row := purposeRow{Activity: lk(p.Activity), Purpose: lk(p.Purpose), Data: lk(p.Data), Bases: bases(p.LegalBasis),
			Details: rich(tr(p.Details)), Legitimate: richLead(L["legitimate"]+":", tr(p.LegitimateInterest))}
		v.PurposeActivity = v.PurposeActivity || row.Activity != ""
		v.PurposeData = v.PurposeData || row.Data != ""
		v.Purposes = append(v.Purposes, row)
		if len(p.Retention) > 0 {
			what := row.Activity
			if what == "" {
				what = row.Purpose
			}
			v.PurposeRetention = append(v.PurposeRetention, retentionRow{What: what, Data: row.Data, Period: lk(p.Retention)})
		}
	}
	v.LegalBasisNote = rich(tr(n.LegalBasisNote))
	for _, g := range n.DataCategories {
		dg := dataGroup{Role: tr(g.Role), Intro: rich(tr(g.Intro))}
		for _, it := range g.Items {
			dg.Items = append(dg.Items, lk(it))
		}
		v.DataGroups = append(v.DataGroups, dg)
	}
	for _, s := range n.Sources {
		v.Sources = append(v.Sources, lk(s))
	}
	v.SourcesNote = rich(tr(n.SourcesNote))
	v.Requirement = rich(tr(n.Requirement))
	v.Recipients = recipients{Intro: rich(tr(n.Recipients.Intro)), None: n.Recipients.None,
		Table: n.Recipients.Layout == "table", Items: makeRecipients(L, lang, n.Recipients.Items)}
	for _, g := range n.Recipients.Groups {
		v.Recipients.Groups = append(v.Recipients.Groups, recipientGroup{Title: tr(g.Title), Intro: rich(tr(g.Intro)),
			Items: makeRecipients(L, lang, g.Items)})
	}
	v.Transfers = makeTransfers(L, lang, n.Transfers)
	v.CookiesIntro = cookiesIntro(site, L)
	for _, c := range site.Categories {
		v.Categories = append(v.Categories, makeCategory(L, lang, c))
	}
	for _, r := range n.Retention {
		v.Retention = append(v.Retention, retentionRow{Data: lk(r.Data), Period: lk(r.Period)})
	}
	v.RetentionNote = rich(tr(n.RetentionNote))
	v.Security = rich(tr(n.Security))
	for _, id := range noticecfg.RightKeys {
		if _, named := n.Rights[id]; id == noticecfg.RightDirectMarketing && !named {
			continue // shown only when the controller names it
		}
		text, applies := n.RightText(id)
		v.Rights = append(v.Rights, right{Title: L["right."+id], Applies: applies, Text: rich(text[lang])})
	}
	for _, r := range n.CustomRights {
		v.Rights = append(v.Rights, right{Title: tr(r.Title), Applies: true, Text: rich(tr(r.Text))})
	}
	v.RightsNote = rich(tr(n.RightsNote))
	v.UseRights = v.RightsNote == "" && len(v.Contacts) > 0
	if a, ok := site.ComplaintAuthority(); ok {
		name := tr(a.Name)
		if name == "" { // a built-in authority in a language it has no name in
			name = a.Name["en"]
		}
		v.Authority = &party{L: L, Name: name, Address: lines(a.Address), Phone: a.Phone, Email: a.Email, Web: linkify(a.URL)}
	}
	if a := n.AutomatedDecisions; a != nil && a.Used != nil {
		v.Automated = &automated{Used: *a.Used, Description: rich(tr(a.Description))}
	}
	v.Sections = sections(site, v, L, lang)
	return v
}

// sections lists the notice's sections in the order Finnish notices use,
// each extra section after the one its After names (or before "about"),
// numbered when the notice's headings are.
func sections(site *site.Site, v *view, L map[string]string, lang string) []section {
	n := &site.Notice
	present := map[string]bool{
		"controller":  len(v.Controllers)+len(v.Processors) > 0,
		"contact":     len(v.Contacts) > 0,
		"register":    v.RegisterName != "",
		"purposes":    len(v.Purposes) > 0 || v.LegalBasisNote != "",
		"data":        len(v.DataGroups) > 0,
		"sources":     len(v.Sources) > 0 || v.SourcesNote != "",
		"requirement": v.Requirement != "",
		"recipients":  len(v.Recipients.Items)+len(v.Recipients.Groups) > 0 || v.Recipients.None || v.Recipients.Intro != "",
		"transfers":   v.Transfers != nil,
		"cookies":     true,
		"retention":   len(v.Retention)+len(v.PurposeRetention) > 0 || v.RetentionNote != "",
		"security":    v.Security != "",
		"rights":      true,
		"complaint":   v.Authority != nil,
		"automated":   v.Automated != nil,
		"about":       true,
	}
	var out []section
	extras := func(after string) {
		for i, s := range n.Sections {
			if s.After == after {
				out = append(out, section{ID: fmt.Sprintf("extra-%d", i+1), Title: s.Title[lang], Body: rich(s.Body[lang])})
			}
		}
	}
	for _, id := range noticecfg.SectionIDs {
		if id == "about" {
			extras("")
		}
		if present[id] {
			out = append(out, section{ID: id, Title: sectionTitle(id, v, L)})
		}
		extras(id)
	}
	numbered := site.DefaultLanguage == "fi"
	if n.NumberedHeadings != nil {
		numbered = *n.NumberedHeadings
	}
	if numbered {
		for i := range out {
			out[i].Num = fmt.Sprintf("%d.", i+1)
		}
	}
	return out
}

// sectionTitle is a standard section's heading, fitted to what it holds:
// "Contact person and data protection officer" only when a contact is
// the DPO, "Controllers" for several.
func sectionTitle(id string, v *view, L map[string]string) string {
	switch id {
	case "controller":
		if len(v.Controllers) > 1 {
			return L["controllers"]
		}
	case "contact":
		dpo, other := 0, 0
		for _, c := range v.Contacts {
			if c.DPO {
				dpo++
			} else {
				other++
			}
		}
		switch {
		case dpo > 0 && other > 0:
			return L["contact"]
		case dpo > 0:
			return L["contactDpo"]
		case other > 1:
			return L["contactPersons"]
		default:
			return L["contactPerson"]
		}
	}
	return L[id]
}

// makeParty is a controller or processor in lang. The business ID is
// labelled Y-tunnus only when it is one.
func makeParty(L map[string]string, lang string, p noticecfg.Party) party {
	label := p.BusinessIDLabel[lang]
	switch {
	case label != "":
	case noticecfg.IsYTunnus(p.BusinessID):
		label = L["businessId"]
	default:
		label = L["registrationId"]
	}
	return party{L: L, Name: p.Name, Role: linkify(p.Role[lang]), BusinessID: p.BusinessID, BusinessIDLabel: label,
		Address: lines(p.Address), Phone: p.Phone, Email: p.Email, Web: linkify(p.URL)}
}

func makeRecipients(L map[string]string, lang string, items []noticecfg.Recipient) []recipient {
	var out []recipient
	for _, r := range items {
		var bases []string
		for _, b := range r.LegalBasis {
			bases = append(bases, L["basis."+b])
		}
		kind := ""
		if r.Kind != "" {
			kind = L["kind."+r.Kind]
		}
		out = append(out, recipient{Name: r.Name, Kind: kind, Purpose: linkify(r.Purpose[lang]), Data: linkify(r.Data[lang]),
			Bases: bases, Country: countryName(lang, r.Country), Address: lines(r.Address), Link: webLink(r.URL), Web: linkify(r.URL)})
	}
	return out
}

// makeTransfers says what the notice says about transfers: "may be
// transferred" when no countries are named, and the description instead
// of "not transferred" when the controller wrote one.
func makeTransfers(L map[string]string, lang string, t *noticecfg.Transfers) *transfers {
	if t == nil || t.OutsideEEA == nil {
		return nil
	}
	tv := &transfers{Description: rich(t.Description[lang])}
	switch {
	case !*t.OutsideEEA && tv.Description == "":
		tv.Sentence = L["noTransfer"]
	case !*t.OutsideEEA:
	case len(t.Countries) == 0:
		tv.Sentence = L["transferMay"]
	default:
		tv.Sentence = L["transferTo"]
	}
	for _, c := range t.Countries {
		tv.Countries = append(tv.Countries, countryName(lang, c))
	}
	for _, s := range t.Safeguards {
		if s.Key != "" {
			tv.Safeguards = append(tv.Safeguards, template.HTML(template.HTMLEscapeString(L["safeguard."+s.Key]))) // #nosec G203 -- escaped
		} else {
			tv.Safeguards = append(tv.Safeguards, linkify(s.Text[lang]))
		}
	}
	return tv
}

// catalogueLine names the catalogue version and entries the site's
// services were filled from, "" when it uses none.
func catalogueLine(site *site.Site, L map[string]string) string {
	c := site.Catalogue
	if c.Version == "" {
		return ""
	}
	return strings.NewReplacer("{version}", c.Version, "{entries}", strings.Join(c.Entries, ", ")).Replace(L["catalogueVer"])
}
