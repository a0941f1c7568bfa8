package noticeimport

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/consentd/consentd/config/i18n"
	"github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/site"
)

// Options adjust an import.
type Options struct {
	// SiteID is the draft's site id; default: made from the file name.
	SiteID string
	// Lang is the notice's language (fi, sv or en); default: the one its
	// headings and words are in.
	Lang string
}

// Result is a draft site file and what the importer did to make it.
type Result struct {
	// YAML is the draft site file: it loads and renders as it is; its
	// placeholders are marked "# TODO".
	YAML []byte
	// Site is the draft as loaded by config/site.
	Site   *site.Site
	Format Format
	Lang   string
	// Placed says where the text of each heading went; Unplaced the
	// extra sections made of text no field fits (nothing is dropped).
	Placed, Unplaced []Placement
	// Notes are what the importer left out or could not read as a field
	// (lead-ins of lists, a Y-tunnus with a wrong check digit), and how
	// it chose the language.
	Notes []string
	// Warnings are the completeness check's warnings of the draft.
	Warnings []notice.Warning
}

// Import reads a notice file (name is its path, for the format and the
// default site id) and makes a draft site file of it.
func Import(ctx context.Context, name string, data []byte, o Options) (*Result, error) {
	format, err := DetectFormat(name, data)
	if err != nil {
		return nil, err
	}
	doc, err := read(ctx, format, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Blocks) == 0 {
		return nil, fmt.Errorf("%s: no text found", name)
	}
	secs, headingLangs := splitSections(doc)
	res := &Result{Format: format, Lang: o.Lang}
	if res.Lang == "" {
		res.Lang = detectLang(doc, headingLangs)
		res.Notes = append(res.Notes, fmt.Sprintf("language: %s (from the headings and words; set --lang to choose)", res.Lang))
	} else if !i18n.IsBuiltin(res.Lang) {
		return nil, fmt.Errorf("--lang %q: expected one of %s", res.Lang, strings.Join(i18n.BuiltinLanguages, ", "))
	}
	p := &placer{lang: res.Lang}
	p.place(secs)
	if p.country != "" {
		p.n.Country = p.country
	}
	p.n.NumberedHeadings = &p.numbered
	if p.n.Created != "" && p.n.Updated != "" && p.n.Updated < p.n.Created {
		res.Notes = append(res.Notes, fmt.Sprintf("the notice says updated %s, before created %s: kept created only", p.n.Updated, p.n.Created))
		p.n.Updated = ""
	}
	res.Placed, res.Unplaced = p.placed, p.unplaced
	res.Notes = append(res.Notes, p.notes...)

	id := o.SiteID
	if id == "" {
		id = siteID(name)
	}
	if !site.ValidID(id) {
		return nil, fmt.Errorf("site id %q: expected lowercase letters, digits and '-' (set --site)", id)
	}
	res.YAML, err = draft(id, name, res.Lang, &p.n)
	if err != nil {
		return nil, err
	}
	res.Site, err = site.Parse(id+".yaml", res.YAML)
	if err != nil {
		return nil, fmt.Errorf("the draft does not load (a bug in the importer; please report it with the notice): %w", err)
	}
	res.Warnings = res.Site.CheckNotice()
	if len(p.n.Purposes) > 0 && !slices.ContainsFunc(p.n.Purposes, func(pu notice.Purpose) bool { return len(pu.LegalBasis) > 0 }) {
		res.Notes = append(res.Notes, "no legal basis stated: notices made from the old henkilötietolaki template did not ask for it; add the Art. 6 bases (notice.purposes[].legalBasis)")
	}
	return res, nil
}

// detectLang picks the language of the recognised headings, or of the
// most common words when the headings do not tell.
func detectLang(d document, headings map[string]int) string {
	score := map[string]int{}
	for l, n := range headings {
		score[l] += 3 * n
	}
	words := map[string]*regexp.Regexp{
		"fi": regexp.MustCompile(`(?i)\b(ja|tai|tiedot|tietoja|henkilötiedot|rekisteri|käsitellään|on|ei)\b`),
		"sv": regexp.MustCompile(`(?i)\b(och|eller|uppgifter|personuppgifter|behandlas|är|inte|för)\b`),
		"en": regexp.MustCompile(`(?i)\b(and|or|the|data|personal|is|not|for|we)\b`),
	}
	for _, b := range d.Blocks {
		t := blockText(b)
		for l, re := range words {
			score[l] += len(re.FindAllStringIndex(t, -1))
		}
	}
	best := "fi"
	for _, l := range []string{"sv", "en"} {
		if score[l] > score[best] {
			best = l
		}
	}
	return best
}

// siteID makes a site id from a file name: "Tietosuojaseloste 2024.docx"
// → "tietosuojaseloste-2024".
func siteID(name string) string {
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(base) {
		switch r {
		case 'ä', 'å':
			r = 'a'
		case 'ö':
			r = 'o'
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	id := strings.Trim(b.String(), "-")
	if len(id) > 63 {
		id = strings.Trim(id[:63], "-")
	}
	if id == "" {
		id = "site"
	}
	return id
}
