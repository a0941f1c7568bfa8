package site

import (
	"strings"

	"github.com/consentd/consentd/config/i18n"
)

// PublicSite is the part of a site's configuration that is inlined into
// the widget bundle and shown to visitors. It never holds secrets.
type PublicSite struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Languages       []string `json:"languages"`
	DefaultLanguage string   `json:"defaultLanguage"`
	// NoticeVersions are the notice versions per language (set by the
	// server from the rendered notice, see server/notice).
	NoticeVersions    map[string]string `json:"noticeVersions"`
	PolicyVersion     string            `json:"policyVersion"`
	ConsentExpiryDays int               `json:"consentExpiryDays"`
	Categories        []PublicCategory  `json:"categories"`
	// Strings are the site's overrides of the widget's texts, per
	// language (the strings section's "widget.<key>" entries).
	Strings map[string]map[string]string `json:"strings,omitempty"`
	// Banner is the widget's look.
	Banner PublicBanner `json:"banner"`
	// ConsentMode is the Google Consent Mode v2 mapping; nil: none.
	ConsentMode *PublicConsentMode `json:"consentMode,omitempty"`
	// Signals are the Microsoft UET and Clarity mappings.
	Signals *Signals `json:"signals,omitempty"`
	// ConsentVersion is ConsentVersionOf: a stored decision for another
	// one asks again (after a refusal, only ReaskAfterRejectDays later).
	ConsentVersion string `json:"consentVersion"`
	// Forced is the site's own consentVersion label: a change asks again
	// at once, whatever the decision was.
	Forced               string `json:"forced,omitempty"`
	ReaskAfterRejectDays int    `json:"reaskAfterRejectDays"`
	CookieDomain         string `json:"cookieDomain,omitempty"`
	GPCInOptIn           string `json:"gpcInOptIn"`
	ServerCookie         bool   `json:"serverCookie,omitempty"`
}

// PublicBanner is the widget's look as the widget sees it.
type PublicBanner struct {
	Layout         string            `json:"layout"`
	Position       string            `json:"position"`
	Theme          map[string]string `json:"theme,omitempty"`
	Dark           map[string]string `json:"dark,omitempty"`
	ServiceToggles bool              `json:"serviceToggles,omitempty"`
	Reopen         string            `json:"reopen"`
	CloseRejects   bool              `json:"closeRejects,omitempty"`
}

// PublicConsentMode is the Consent Mode mapping: signal → categories that
// must all be granted for the signal to be granted.
type PublicConsentMode struct {
	Signals       map[string][]string `json:"signals"`
	WaitForUpdate int                 `json:"waitForUpdate"`
}

// PublicCategory is a category as the widget sees it.
type PublicCategory struct {
	ID          string          `json:"id"`
	Required    bool            `json:"required"`
	SaleShare   bool            `json:"saleShare,omitempty"`
	Label       i18n.Text       `json:"label"`
	Description i18n.Text       `json:"description"`
	Services    []PublicService `json:"services"`
}

// PublicService is a service as the widget sees it.
type PublicService struct {
	Name     string         `json:"name"`
	Provider string         `json:"provider"`
	Purpose  i18n.Text      `json:"purpose"`
	URL      string         `json:"url,omitempty"`
	Cookies  []PublicCookie `json:"cookies"`
}

// PublicCookie is a cookie as the widget sees it.
type PublicCookie struct {
	Name        string    `json:"name"`
	Duration    string    `json:"duration"`
	Description i18n.Text `json:"description"`
}

// Public returns the visitor-facing projection of the site. NoticeVersions
// is left for the caller: the versions hash the rendered notice
// (server/notice), which this package does not render.
func (s *Site) Public() (PublicSite, error) {
	p := PublicSite{
		ID:                s.ID,
		Name:              s.Name,
		Languages:         s.Languages,
		DefaultLanguage:   s.DefaultLanguage,
		PolicyVersion:     s.PolicyVersion,
		ConsentExpiryDays: s.ConsentExpiryDays,
		Categories:        make([]PublicCategory, len(s.Categories)),
		Banner: PublicBanner{Layout: s.Banner.Layout, Position: s.Banner.Position, Theme: s.Banner.Theme,
			Dark: s.Banner.Dark, ServiceToggles: s.Banner.ServiceToggles, Reopen: s.Banner.Reopen, CloseRejects: s.Banner.CloseRejects},
		ConsentVersion:       s.ConsentVersionOf(),
		Forced:               s.ConsentVersion,
		ReaskAfterRejectDays: s.ReaskAfterRejectDays,
		CookieDomain:         s.CookieDomain,
		GPCInOptIn:           s.GPCInOptIn,
		ServerCookie:         s.ServerCookie,
	}
	if len(s.Signals.UET)+len(s.Signals.Clarity) > 0 {
		sig := s.Signals
		p.Signals = &sig
	}
	if len(s.ConsentMode.Signals) > 0 {
		p.ConsentMode = &PublicConsentMode{Signals: s.ConsentMode.Signals, WaitForUpdate: s.ConsentMode.WaitForUpdate}
	}
	for i, c := range s.Categories {
		pc := PublicCategory{ID: c.ID, Required: c.Required, SaleShare: c.SaleShare, Label: c.Label, Description: c.Description,
			Services: make([]PublicService, len(c.Services))}
		for j, svc := range c.Services {
			ps := PublicService{Name: svc.Name, Provider: svc.Provider, Purpose: svc.Purpose, URL: svc.URL,
				Cookies: make([]PublicCookie, len(svc.Cookies))}
			for k, ck := range svc.Cookies {
				ps.Cookies[k] = PublicCookie(ck)
			}
			pc.Services[j] = ps
		}
		p.Categories[i] = pc
	}
	for lang, m := range s.Strings {
		for k, v := range m {
			if key, ok := strings.CutPrefix(k, "widget."); ok {
				if p.Strings == nil {
					p.Strings = map[string]map[string]string{}
				}
				if p.Strings[lang] == nil {
					p.Strings[lang] = map[string]string{}
				}
				p.Strings[lang][key] = v
			}
		}
	}
	return p, nil
}
