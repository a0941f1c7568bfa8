package notice

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/consentd/consentd/config/i18n"
	noticecfg "github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/site"
)

// view is what the fragment template renders for one language: every
// string already picked for the language, rich texts as escaped HTML.
type view struct {
	Lang     string
	L        map[string]string
	Intro    template.HTML
	Sections []section

	Controllers, Processors, Contacts []party
	RegisterName                      string
	Purposes                          []purposeRow
	LegalBasisNote                    template.HTML
	DataGroups                        []dataGroup
	Sources                           []string
	Requirement                       template.HTML
	RecipientsIntro                   template.HTML
	RecipientsNone, RecipientsTable   bool
	Recipients                        []recipient
	Transfers                         *transfers
	Categories                        []category
	Retention                         []retentionRow
	Security                          template.HTML
	Rights                            []right
	Authority                         *party
	Automated                         *automated
	Created, Updated, ValidFrom       string
	PolicyVersion                     string
}

// section is one h2 section of the notice.
type section struct {
	ID    string // anchor, without the "cdn-" prefix
	Title string
	Body  template.HTML
}

type party struct {
	L                      map[string]string
	Name, Role, BusinessID string
	Address                []string
	Phone, Email, URL      string
}

type purposeRow struct {
	Purpose             string
	Bases               []string
	Details, Legitimate template.HTML
}

type dataGroup struct {
	Role  string
	Items []string
}

type recipient struct {
	Name, Kind, Purpose, Data, Country, URL string
	Bases                                   []string
}

type transfers struct {
	Outside     bool
	Countries   []string
	Safeguards  []string
	Description template.HTML
}

type category struct {
	Label, Description string
	Required           bool
	Rows               []cookieRow
}

type cookieRow struct {
	Cookie, Service, Provider, URL, Purpose, Duration string
}

type retentionRow struct{ Data, Period string }

type right struct {
	Title   string
	Applies bool
	Text    template.HTML
}

type automated struct {
	Used        bool
	Description template.HTML
}

var fragmentTmpl = template.Must(template.New("notice").ParseFS(files, "fragment.tmpl"))

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

// buildView picks lang's strings out of the site and decides which
// sections the notice has (a section with nothing to say is left out;
// rights, complaint and cookies are always there).
func buildView(site *site.Site, lang string) *view {
	n := &site.Notice
	L := labelsFor(site, lang)
	tr := func(t i18n.Text) string { return t[lang] }
	v := &view{
		Lang:          lang,
		L:             L,
		Intro:         rich(tr(n.Intro)),
		RegisterName:  tr(n.RegisterName),
		PolicyVersion: site.PolicyVersion,
		Created:       dateIf(lang, n.Created),
		Updated:       dateIf(lang, n.Updated),
		ValidFrom:     dateIf(lang, n.ValidFrom),
	}
	mkParty := func(p noticecfg.Party) party {
		return party{L: L, Name: p.Name, Role: tr(p.Role), BusinessID: p.BusinessID,
			Address: lines(p.Address), Phone: p.Phone, Email: p.Email, URL: webURL(p.URL)}
	}
	for _, p := range n.Controllers {
		v.Controllers = append(v.Controllers, mkParty(p))
	}
	for _, p := range n.Processors {
		v.Processors = append(v.Processors, mkParty(p))
	}
	for _, c := range n.Contacts {
		role := tr(c.Role)
		if c.DPO {
			role = joinNonEmpty(", ", L["dpo"], role)
		}
		v.Contacts = append(v.Contacts, party{L: L, Name: c.Name, Role: role,
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
		v.Purposes = append(v.Purposes, purposeRow{Purpose: tr(p.Purpose), Bases: bases(p.LegalBasis),
			Details: rich(tr(p.Details)), Legitimate: rich(tr(p.LegitimateInterest))})
	}
	v.LegalBasisNote = rich(tr(n.LegalBasisNote))
	for _, g := range n.DataCategories {
		dg := dataGroup{Role: tr(g.Role)}
		for _, it := range g.Items {
			dg.Items = append(dg.Items, tr(it))
		}
		v.DataGroups = append(v.DataGroups, dg)
	}
	for _, s := range n.Sources {
		v.Sources = append(v.Sources, tr(s))
	}
	v.Requirement = rich(tr(n.Requirement))
	v.RecipientsIntro = rich(tr(n.Recipients.Intro))
	v.RecipientsNone = n.Recipients.None
	v.RecipientsTable = n.Recipients.Layout == "table"
	for _, r := range n.Recipients.Items {
		kind := r.Kind
		if kind == "" {
			kind = noticecfg.RecipientProcessor
		}
		v.Recipients = append(v.Recipients, recipient{Name: r.Name, Kind: L["kind."+kind],
			Purpose: tr(r.Purpose), Data: tr(r.Data), Bases: bases(r.LegalBasis),
			Country: countryName(lang, r.Country), URL: webURL(r.URL)})
	}
	if t := n.Transfers; t != nil && t.OutsideEEA != nil {
		tv := &transfers{Outside: *t.OutsideEEA, Description: rich(tr(t.Description))}
		for _, c := range t.Countries {
			tv.Countries = append(tv.Countries, countryName(lang, c))
		}
		for _, s := range t.Safeguards {
			tv.Safeguards = append(tv.Safeguards, L["safeguard."+s])
		}
		v.Transfers = tv
	}
	for _, c := range site.Categories {
		cv := category{Label: tr(c.Label), Description: tr(c.Description), Required: c.Required}
		for _, s := range c.Services {
			row := cookieRow{Service: s.Name, Provider: s.Provider, URL: webURL(s.URL), Purpose: tr(s.Purpose)}
			if len(s.Cookies) == 0 {
				row.Cookie = "—"
				cv.Rows = append(cv.Rows, row)
			}
			for _, ck := range s.Cookies {
				r := row
				r.Cookie = ck.Name
				r.Purpose = joinNonEmpty(" ", tr(s.Purpose), tr(ck.Description))
				r.Duration = duration(L, ck.Duration)
				cv.Rows = append(cv.Rows, r)
			}
		}
		v.Categories = append(v.Categories, cv)
	}
	for _, r := range n.Retention {
		v.Retention = append(v.Retention, retentionRow{Data: tr(r.Data), Period: tr(r.Period)})
	}
	v.Security = rich(tr(n.Security))
	for _, id := range noticecfg.Rights {
		text, applies := site.Notice.RightText(id)
		v.Rights = append(v.Rights, right{Title: L["right."+id], Applies: applies, Text: rich(text[lang])})
	}
	if a, ok := site.ComplaintAuthority(); ok {
		name := tr(a.Name)
		if name == "" { // a built-in authority in a language it has no name in
			name = a.Name["en"]
		}
		v.Authority = &party{L: L, Name: name, Address: lines(a.Address), Phone: a.Phone, Email: a.Email, URL: webURL(a.URL)}
	}
	if a := n.AutomatedDecisions; a != nil && a.Used != nil {
		v.Automated = &automated{Used: *a.Used, Description: rich(tr(a.Description))}
	}

	// The sections, in the order Finnish notices use.
	add := func(id string, present bool) {
		if present {
			v.Sections = append(v.Sections, section{ID: id, Title: L[id]})
		}
	}
	add("controller", len(v.Controllers)+len(v.Processors) > 0)
	add("contact", len(v.Contacts) > 0)
	add("register", v.RegisterName != "")
	add("purposes", len(v.Purposes) > 0 || v.LegalBasisNote != "")
	add("data", len(v.DataGroups) > 0)
	add("sources", len(v.Sources) > 0)
	add("requirement", v.Requirement != "")
	add("recipients", len(v.Recipients) > 0 || v.RecipientsNone || v.RecipientsIntro != "")
	add("transfers", v.Transfers != nil)
	add("cookies", true)
	add("retention", len(v.Retention) > 0)
	add("security", v.Security != "")
	add("rights", true)
	add("complaint", v.Authority != nil)
	add("automated", v.Automated != nil)
	for i, s := range n.Sections {
		v.Sections = append(v.Sections, section{ID: fmt.Sprintf("extra-%d", i+1), Title: tr(s.Title), Body: rich(tr(s.Body))})
	}
	add("about", true)
	return v
}

// rich renders a long text: a blank line starts a new paragraph, lines
// starting with "- " form a bulleted list, other line breaks are spaces.
// Every piece is escaped; nothing in the text is interpreted as markup.
func rich(s string) template.HTML {
	var b strings.Builder
	var para []string
	inList := false
	flushPara := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + template.HTMLEscapeString(strings.Join(para, " ")) + "</p>")
			para = nil
		}
	}
	endList := func() {
		if inList {
			b.WriteString("</ul>")
			inList = false
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			flushPara()
			endList()
		case strings.HasPrefix(line, "- "):
			flushPara()
			if !inList {
				b.WriteString("<ul>")
				inList = true
			}
			b.WriteString("<li>" + template.HTMLEscapeString(strings.TrimSpace(line[2:])) + "</li>")
		default:
			endList()
			para = append(para, line)
		}
	}
	flushPara()
	endList()
	return template.HTML(b.String()) // #nosec G203 -- every part escaped above
}

// webURL returns u if it is an absolute http(s) URL, else "" (no link).
// The validator already requires this; the renderer does not rely on it.
func webURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return u
}

// lines splits a multi-line address into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

func dateIf(lang, ymd string) string {
	if ymd == "" {
		return ""
	}
	return date(lang, ymd)
}

// countryName is the name of an ISO 3166-1 alpha-2 code in lang, e.g.
// US → "Yhdysvallat" in Finnish; the code itself if unknown.
func countryName(lang, code string) string {
	if code == "" {
		return ""
	}
	r, err := language.ParseRegion(code)
	if err != nil {
		return code
	}
	tag, err := language.Parse(lang)
	if err != nil {
		return code
	}
	if name := display.Regions(tag).Name(r); name != "" {
		return name
	}
	return code
}
