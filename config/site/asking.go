package site

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"github.com/consentd/consentd/config/notice"
)

// Asking: when the widget asks again, how a visitor refuses and
// withdraws, and where the decision is kept (docs/widget.md, "What
// regulators ask"). The fields are in the site file (Site); their checks
// and the consent version are here.

// DefaultReaskAfterRejectDays is how long a refusal is respected by
// default although what consent is asked for changed (CNIL's practice: six
// months).
const DefaultReaskAfterRejectDays = 180

// The reopen control's places, and "off".
var reopenPlaces = []string{"bottom-left", "bottom-right", "off"}

// GPC in the opt-in mode: show the banner (default) or refuse without one.
const (
	GPCBanner = "banner"
	GPCReject = "reject"
)

// Signals are the consent signals other than Google Consent Mode the
// widget sends; a signal is granted when all its categories are.
type Signals struct {
	// UET is Microsoft Advertising's UET consent mode: the categories that
	// grant ad_storage (uetq.push("consent", "default"|"update", …)).
	UET []string `yaml:"uet" json:"uet,omitempty"`
	// Clarity is Microsoft Clarity's consent API v2 (clarity("consentv2",
	// …)): ad_Storage and analytics_Storage, each to its categories.
	Clarity map[string][]string `yaml:"clarity" json:"clarity,omitempty"`
}

// claritySignals are the consent types of Clarity's consent API v2.
var claritySignals = []string{"ad_Storage", "analytics_Storage"}

func (s *Site) applyAskingDefaults() {
	if s.ReaskAfterRejectDays == 0 {
		s.ReaskAfterRejectDays = DefaultReaskAfterRejectDays
	}
	if s.GPCInOptIn == "" {
		s.GPCInOptIn = GPCBanner
	}
	if s.Banner.Reopen == "" {
		s.Banner.Reopen = reopenPlaces[0]
	}
	s.CookieDomain = strings.TrimPrefix(strings.ToLower(s.CookieDomain), ".")
}

// asking checks the fields of this file.
func (v *validator) asking(s *Site) {
	v.Plain("consentVersion", s.ConsentVersion, 64, false)
	if s.ReaskAfterRejectDays < 1 || s.ReaskAfterRejectDays > 730 {
		v.Add("reaskAfterRejectDays", "%d is out of range: expected 1 to 730 days (default %d)", s.ReaskAfterRejectDays, DefaultReaskAfterRejectDays)
	}
	if s.GPCInOptIn != GPCBanner && s.GPCInOptIn != GPCReject {
		v.Add("gpcInOptIn", "%q is not a choice: expected banner (default) or reject", s.GPCInOptIn)
	}
	if !contains(reopenPlaces, s.Banner.Reopen) {
		v.Add("banner.reopen", "%q is not a place: expected %s", s.Banner.Reopen, strings.Join(reopenPlaces, ", "))
	}
	if d := s.CookieDomain; d != "" && (net.ParseIP(d) != nil || !strings.Contains(d, ".") || !validHostname(d)) {
		// A page outside it keeps the decision for its own host (storage.ts).
		v.Add("cookieDomain", "%q is not a domain: expected a registrable domain such as example.fi (no scheme, no port)", d)
	}
	v.signalCategories(s, "signals.uet", s.Signals.UET)
	if len(s.Signals.Clarity) > 0 {
		for k := range s.Signals.Clarity {
			if !contains(claritySignals, k) {
				v.Add("signals.clarity."+k, "unknown Clarity consent type: expected ad_Storage and analytics_Storage")
			}
		}
		for _, k := range claritySignals {
			if cats, ok := s.Signals.Clarity[k]; !ok {
				v.Add("signals.clarity."+k, "missing: Clarity's consent API needs both ad_Storage and analytics_Storage, e.g. analytics_Storage: [analytics]")
			} else {
				v.signalCategories(s, "signals.clarity."+k, cats)
			}
		}
	}
}

// signalCategories checks that a signal names at least one category and
// only the site's.
func (v *validator) signalCategories(s *Site, name string, cats []string) {
	if cats != nil && len(cats) == 0 {
		v.Add(name, "empty: list the categories that grant it, e.g. [marketing]")
	}
	for i, id := range cats {
		if _, ok := s.Category(id); !ok {
			v.Add(fmt.Sprintf("%s[%d]", name, i), "unknown category %q", id)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validHostname reports whether d is a DNS name: labels of letters,
// digits and '-', not starting or ending with '-'.
func validHostname(d string) bool {
	if len(d) > 253 {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// material is what consent is given to: what the consent version hashes.
// The controller's contact details, the notice's wording outside purposes,
// recipients and transfers, and the widget's look are not in it.
type material struct {
	Forced      string             `json:"forced,omitempty"`
	Categories  []materialCategory `json:"categories"`
	Controllers []string           `json:"controllers,omitempty"`
	Purposes    []notice.Purpose   `json:"purposes,omitempty"`
	Recipients  notice.Recipients  `json:"recipients"`
	Transfers   *notice.Transfers  `json:"transfers,omitempty"`
}

type materialCategory struct {
	ID          string            `json:"id"`
	Required    bool              `json:"required,omitempty"`
	SaleShare   bool              `json:"saleShare,omitempty"`
	Description map[string]string `json:"description"`
	Services    []materialService `json:"services"`
}

type materialService struct {
	Name     string            `json:"name"`
	Provider string            `json:"provider"`
	Purpose  map[string]string `json:"purpose"`
	Cookies  [][2]string       `json:"cookies"` // name, duration
}

// ConsentVersionOf returns the site's consent version: "cv1:" and the
// first 16 bytes (hex) of the SHA-256 of what consent is given to — the
// categories with their descriptions, services, purposes, cookies and
// lifetimes; the notice's purposes, recipients and transfers; the
// controllers' names; and the site's consentVersion (to force a re-ask).
// A stored decision stays valid while it is unchanged (the widget), even
// when the notice's other text changes.
func (s *Site) ConsentVersionOf() string {
	m := material{Forced: s.ConsentVersion, Purposes: s.Notice.Purposes, Recipients: s.Notice.Recipients, Transfers: s.Notice.Transfers}
	for _, c := range s.Notice.Controllers {
		m.Controllers = append(m.Controllers, c.Name)
	}
	for _, c := range s.Categories {
		mc := materialCategory{ID: c.ID, Required: c.Required, SaleShare: c.SaleShare, Description: c.Description, Services: []materialService{}}
		for _, svc := range c.Services {
			ms := materialService{Name: svc.Name, Provider: svc.Provider, Purpose: svc.Purpose, Cookies: [][2]string{}}
			for _, ck := range svc.Cookies {
				ms.Cookies = append(ms.Cookies, [2]string{ck.Name, ck.Duration})
			}
			mc.Services = append(mc.Services, ms)
		}
		m.Categories = append(m.Categories, mc)
	}
	b, err := json.Marshal(m) // maps marshal with sorted keys: the same site, the same bytes
	if err != nil {
		panic("site: consent version: " + err.Error()) // plain data: cannot fail
	}
	sum := sha256.Sum256(b)
	return "cv1:" + hex.EncodeToString(sum[:16])
}

// Change is what a new version of a site file means for the visitors'
// stored decisions.
type Change int

// The kinds of change, from the least to the most.
const (
	// ChangeNone: not what consent is asked for (the controller's contact
	// details, wording outside purposes, the look): decisions stay valid.
	ChangeNone Change = iota
	// ChangeMaterial: what consent is asked for changed: visitors are
	// asked again, those who refused only after ReaskAfterRejectDays.
	ChangeMaterial
	// ChangeForced: the site's consentVersion changed: everyone is asked
	// again.
	ChangeForced
)

// CompareConsent tells what the change from before to after is.
func CompareConsent(before, after *Site) Change {
	switch {
	case before.ConsentVersion != after.ConsentVersion:
		return ChangeForced
	case before.ConsentVersionOf() != after.ConsentVersionOf():
		return ChangeMaterial
	}
	return ChangeNone
}

// String says what the change means, for logs and `notice check`.
func (c Change) String() string {
	switch c {
	case ChangeForced:
		return "consentVersion changed: every visitor is asked again"
	case ChangeMaterial:
		return "what consent is asked for changed: visitors are asked again, a refusal only after reaskAfterRejectDays"
	}
	return "not what consent is asked for: stored decisions stay valid, new records cite the new notice"
}
