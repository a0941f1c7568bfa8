package catalogue

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/consentd/consentd/config/field"
	"github.com/consentd/consentd/config/lifetime"
	"github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/region"
)

var (
	namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	// cookieName is an RFC 6265 token, plus * for families, as in site files.
	cookieName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
)

// The signals an entry may name, as the site file's consentMode and
// signals sections name them.
var (
	consentModeSignals = []string{"ad_storage", "analytics_storage", "ad_user_data", "ad_personalization",
		"functionality_storage", "personalization_storage", "security_storage"}
	uetSignals     = []string{"ad_storage"}
	claritySignals = []string{"ad_Storage", "analytics_Storage"}
)

// Check returns every problem of the entry, each naming file and field:
// required facts present (texts in fi, sv and en), web addresses https,
// cookie names and lifetimes well formed, category, countries,
// safeguards and signals known, and a gap noted for each fact left out.
func (e *Entry) Check(file string) error {
	c := &field.Checker{File: file}
	if !namePattern.MatchString(e.Name) {
		c.Add("name", "%q is not a name: expected lowercase letters, digits and '-', e.g. google-analytics-4", e.Name)
	}
	c.Plain("title", e.Title, 200, true)
	if !slices.Contains(Categories, e.Category) {
		c.Add("category", "%q is not a category: expected one of %s", e.Category, strings.Join(Categories, ", "))
	}
	c.Text("purpose", e.Purpose, Languages, 500)
	var missing []string
	switch {
	case e.SelfHosted && e.Provider != nil:
		c.Add("provider", "a self-hosted service has no provider: the site names who runs it")
	case e.SelfHosted:
	case e.Provider == nil:
		c.Add("provider", "required: the legal entity (name, address, country), or selfHosted: true")
	default:
		c.Plain("provider.name", e.Provider.Name, 200, true)
		c.Plain("provider.address", e.Provider.Address, 500, false)
		if e.Provider.Address == "" {
			missing = append(missing, "provider.address")
		}
		switch {
		case e.Provider.Country == "":
			missing = append(missing, "provider.country")
		case !region.IsCountry(e.Provider.Country):
			c.Add("provider.country", "%q is not an ISO 3166-1 alpha-2 code such as IE or US", e.Provider.Country)
		}
	}
	switch {
	case e.PrivacyPolicy != "":
		checkURL(c, "privacyPolicy", e.PrivacyPolicy)
	case !e.SelfHosted:
		missing = append(missing, "privacyPolicy")
	}
	for i, ck := range e.Cookies {
		p := fmt.Sprintf("cookies[%d]", i)
		if !cookieName.MatchString(ck.Name) {
			c.Add(p+".name", "%q is not a cookie name: expected letters, digits and !#$%%&'*+.^_`|~- (* for a family such as _ga_*)", ck.Name)
		}
		if !lifetime.Valid(ck.Duration) {
			c.Add(p+".duration", "%q is not a duration: expected %s", ck.Duration, lifetime.Expected)
		}
		if ck.Party != FirstParty && ck.Party != ThirdParty {
			c.Add(p+".party", "%q is not a party: expected first or third", ck.Party)
		}
		c.Text(p+".description", ck.Description, Languages, 500)
		for j := range i {
			if e.Cookies[j].Name == ck.Name {
				c.Add(p+".name", "duplicate cookie %q", ck.Name)
			}
		}
	}
	if e.Transfers == nil {
		if !e.SelfHosted {
			missing = append(missing, "transfers")
		}
	} else {
		missing = append(missing, checkTransfers(c, e.Transfers)...)
	}
	checkSignals(c, "signals.consentMode", e.Signals.ConsentMode, consentModeSignals)
	checkSignals(c, "signals.uet", e.Signals.UET, uetSignals)
	checkSignals(c, "signals.clarity", e.Signals.Clarity, claritySignals)
	if len(e.Sources) == 0 {
		c.Add("sources", "required: the pages the facts were checked against")
	}
	for i, s := range e.Sources {
		checkURL(c, fmt.Sprintf("sources[%d]", i), s)
	}
	if _, err := time.Parse(time.DateOnly, e.Checked); err != nil {
		c.Add("checked", "%q is not a date: expected YYYY-MM-DD, the day the sources were read", e.Checked)
	}
	for i, g := range e.Gaps {
		c.Plain(fmt.Sprintf("gaps[%d]", i), g, 500, true)
	}
	if len(missing) > 0 && len(e.Gaps) == 0 {
		c.Add("gaps", "required: %s left out; say in gaps why (not found in the sources, not confirmed)", strings.Join(missing, ", "))
	}
	return c.Err()
}

// checkTransfers checks the transfers and returns what it lacks.
func checkTransfers(c *field.Checker, t *Transfers) (missing []string) {
	if t.OutsideEEA == nil {
		c.Add("transfers.outsideEEA", "required: true or false")
		return nil
	}
	if !*t.OutsideEEA {
		if len(t.Countries)+len(t.Safeguards) > 0 {
			c.Add("transfers", "countries and safeguards must be empty when outsideEEA is false")
		}
		return nil
	}
	for i, cc := range t.Countries {
		f := fmt.Sprintf("transfers.countries[%d]", i)
		switch {
		case !region.IsCountry(cc):
			c.Add(f, "%q is not an ISO 3166-1 alpha-2 code such as US", cc)
		case region.InEEA(cc):
			c.Add(f, "%q is in the EU/EEA: list only countries outside it", cc)
		}
	}
	for i, s := range t.Safeguards {
		if !slices.Contains(notice.Safeguards, s) {
			c.Add(fmt.Sprintf("transfers.safeguards[%d]", i), "unknown safeguard %q: expected one of %s", s, strings.Join(notice.Safeguards, ", "))
		}
	}
	if len(t.Countries) == 0 {
		missing = append(missing, "transfers.countries")
	}
	if len(t.Safeguards) == 0 {
		missing = append(missing, "transfers.safeguards")
	}
	return missing
}

func checkSignals(c *field.Checker, f string, got, known []string) {
	for i, s := range got {
		if !slices.Contains(known, s) {
			c.Add(fmt.Sprintf("%s[%d]", f, i), "unknown signal %q: expected one of %s", s, strings.Join(known, ", "))
		}
	}
}

// checkURL checks an absolute https address with a host.
func checkURL(c *field.Checker, f, s string) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		c.Add(f, "%q is not a web address: expected https://...", s)
	}
}
