package scan

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// Sitemap is a parsed sitemap.xml (sitemaps.org): the page addresses of
// a <urlset>, or the addresses of further sitemaps of a <sitemapindex>.
type Sitemap struct {
	Pages    []string
	Sitemaps []string
}

// ParseSitemap reads a sitemap or a sitemap index.
func ParseSitemap(data []byte) (Sitemap, error) {
	var doc struct {
		XMLName xml.Name
		URLs    []struct {
			Loc string `xml:"loc"`
		} `xml:"url"`
		Maps []struct {
			Loc string `xml:"loc"`
		} `xml:"sitemap"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return Sitemap{}, fmt.Errorf("sitemap: %w", err)
	}
	var sm Sitemap
	switch doc.XMLName.Local {
	case "urlset":
		for _, u := range doc.URLs {
			if loc := strings.TrimSpace(u.Loc); loc != "" {
				sm.Pages = append(sm.Pages, loc)
			}
		}
	case "sitemapindex":
		for _, m := range doc.Maps {
			if loc := strings.TrimSpace(m.Loc); loc != "" {
				sm.Sitemaps = append(sm.Sitemaps, loc)
			}
		}
	default:
		return Sitemap{}, fmt.Errorf("sitemap: root element <%s>: expected <urlset> or <sitemapindex>", doc.XMLName.Local)
	}
	return sm, nil
}
