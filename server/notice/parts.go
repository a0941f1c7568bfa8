package notice

import (
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/consentd/consentd/config/region"
	"github.com/consentd/consentd/config/site"
)

// Parts of the notice's view that come from outside the notice: the
// cookie section (from the site's categories), dates and country names.

// cookiesIntro is the cookie section's lead: what the site's modes make
// true. "Only with your consent" only when every region asks first.
func cookiesIntro(s *site.Site, L map[string]string) string {
	optional := false
	for _, c := range s.Categories {
		optional = optional || !c.Required
	}
	if !optional {
		return L["cookiesIntroNecessary"]
	}
	for _, r := range s.Regions {
		if r.Mode != region.ModeOptIn {
			return L["cookiesIntroChoice"]
		}
	}
	return L["cookiesIntro"]
}

func makeCategory(L map[string]string, lang string, c site.Category) category {
	cv := category{Label: c.Label[lang], Description: linkify(c.Description[lang]), Required: c.Required, Note: rich(c.Note[lang])}
	for _, s := range c.Services {
		row := cookieRow{Service: s.Name, Provider: s.Provider, Link: webLink(s.URL), Purpose: linkify(s.Purpose[lang])}
		if len(s.Cookies) == 0 {
			row.Cookie = "—"
			cv.Rows = append(cv.Rows, row)
		}
		for _, ck := range s.Cookies {
			r := row
			r.Cookie = ck.Name
			r.Purpose = linkify(joinNonEmpty(" ", s.Purpose[lang], ck.Description[lang]))
			r.Duration = duration(L, ck.Duration)
			cv.Rows = append(cv.Rows, r)
		}
	}
	return cv
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
