package scan

import (
	"slices"
	"sort"
	"time"
)

// When a pass found something without consent.
const (
	beforeConsent = "before consent"
	afterReject   = "after reject all"
)

// Findings are the results of comparing the passes with the site file.
type Findings struct {
	// Violations: cookies of a category that is not required, or not
	// declared at all, and declared storage keys of such a category,
	// present before consent (no-decision pass) or after "reject all".
	Violations []Violation `json:"violations"`
	// ThirdParty are hosts outside the site's domain contacted before
	// consent or after "reject all" (the consentd server aside).
	ThirdParty []ThirdPartyFinding `json:"thirdPartyWithoutConsent"`
	// Undeclared are cookies and storage keys the site file does not
	// declare, from any pass, with a suggestion where a pattern matches.
	Undeclared []Undeclared `json:"undeclared"`
	// NeverSeen are declared cookies that no pass saw.
	NeverSeen []Declaration `json:"neverSeen"`
	// LongerThanDeclared are cookies that live longer than declared.
	LongerThanDeclared []LongLifetime `json:"longerThanDeclared"`
}

// Violation is a cookie or storage key present without consent.
type Violation struct {
	Pass       string `json:"pass"`
	When       string `json:"when"` // before consent, after reject all
	Kind       string `json:"kind"` // cookie, localStorage, sessionStorage
	Name       string `json:"name"`
	Domain     string `json:"domain,omitempty"` // cookies; the origin for storage
	FirstParty bool   `json:"firstParty"`
	Page       string `json:"page"`
	// Category and Service are the declaration's; empty when undeclared.
	Category string   `json:"category,omitempty"`
	Service  string   `json:"service,omitempty"`
	Declared string   `json:"declared,omitempty"` // the declared name (pattern)
	SetBy    []Setter `json:"setBy"`
}

// ThirdPartyFinding is a third-party host contacted without consent.
type ThirdPartyFinding struct {
	Pass      string `json:"pass"`
	When      string `json:"when"`
	Host      string `json:"host"`
	Page      string `json:"page"`
	URL       string `json:"url"`
	Initiator string `json:"initiator,omitempty"`
}

// Undeclared is a cookie or storage key no declaration matches.
type Undeclared struct {
	Kind            string   `json:"kind"`
	Name            string   `json:"name"`
	Domain          string   `json:"domain"`
	FirstParty      bool     `json:"firstParty"`
	Passes          []string `json:"passes"`
	Page            string   `json:"page"`
	LifetimeSeconds int64    `json:"lifetimeSeconds"`
	SetBy           []Setter `json:"setBy"`
	Suggestion      *Pattern `json:"suggestion,omitempty"`
}

// LongLifetime is a cookie living longer than its declared duration.
type LongLifetime struct {
	Name            string `json:"name"`
	Domain          string `json:"domain"`
	Declared        string `json:"declared"` // the declared name
	Duration        string `json:"duration"` // as declared
	LifetimeSeconds int64  `json:"lifetimeSeconds"`
	Observed        string `json:"observed"` // the lifetime as a duration: 400d
	Pass            string `json:"pass"`
	Page            string `json:"page"`
}

// without tells whether a pass saw p without consent, when, and where.
func without(pass Pass, p Presence) (when, page string, ok bool) {
	switch pass.Decision {
	case "":
		return beforeConsent, p.FirstPage, p.BeforeDecision
	case "reject":
		return afterReject, p.AfterDecisionPage, p.AfterDecisionPage != ""
	}
	return "", "", false
}

// Compare judges the passes against the site file's declarations.
func Compare(decls Declarations, patterns Patterns, passes []Pass) Findings {
	f := Findings{Violations: []Violation{}, ThirdParty: []ThirdPartyFinding{}, Undeclared: []Undeclared{},
		NeverSeen: []Declaration{}, LongerThanDeclared: []LongLifetime{}}
	undeclared := map[string]*Undeclared{}
	long := map[string]*LongLifetime{}
	seen := make([]bool, len(decls))
	noteSeen := func(name string) {
		for i, d := range decls {
			if MatchName(d.Name, name) {
				seen[i] = true
			}
		}
	}
	addUndeclared := func(pass Pass, u Undeclared) {
		key := u.Kind + "\x00" + u.Name + "\x00" + u.Domain
		have, ok := undeclared[key]
		if !ok {
			if p, ok := patterns.Lookup(u.Name); ok && u.Kind == "cookie" {
				u.Suggestion = &p
			}
			u.Passes = []string{pass.Name}
			undeclared[key] = &u
			return
		}
		if !slices.Contains(have.Passes, pass.Name) {
			have.Passes = append(have.Passes, pass.Name)
		}
		have.LifetimeSeconds = max(have.LifetimeSeconds, u.LifetimeSeconds)
		have.SetBy = mergeSetters(have.SetBy, u.SetBy)
	}

	for _, pass := range passes {
		for _, c := range pass.Cookies {
			noteSeen(c.Name)
			d, declared := decls.Match(c.Name)
			if when, page, ok := without(pass, c.Presence); ok && (!declared || !d.Required) {
				v := Violation{Pass: pass.Name, When: when, Kind: "cookie", Name: c.Name, Domain: c.Domain, FirstParty: c.FirstParty,
					Page: page, SetBy: c.SetBy}
				if declared {
					v.Category, v.Service, v.Declared = d.Category, d.Service, d.Name
				}
				f.Violations = append(f.Violations, v)
			}
			if !declared {
				addUndeclared(pass, Undeclared{Kind: "cookie", Name: c.Name, Domain: c.Domain, FirstParty: c.FirstParty,
					Page: c.FirstPage, LifetimeSeconds: c.LifetimeSeconds, SetBy: c.SetBy})
				continue
			}
			if over, err := LongerThanDeclared(c.Lifetime(), d.Duration); err == nil && over {
				key := c.Name + "\x00" + c.Domain
				if l, ok := long[key]; !ok || c.LifetimeSeconds > l.LifetimeSeconds {
					long[key] = &LongLifetime{Name: c.Name, Domain: c.Domain, Declared: d.Name, Duration: d.Duration,
						LifetimeSeconds: c.LifetimeSeconds, Observed: FormatDuration(c.Lifetime()), Pass: pass.Name, Page: c.FirstPage}
				}
			}
		}
		for _, it := range pass.Storage {
			noteSeen(it.Key)
			d, declared := decls.Match(it.Key)
			if !declared {
				addUndeclared(pass, Undeclared{Kind: it.Kind, Name: it.Key, Domain: it.Origin, FirstParty: it.FirstParty,
					Page: it.FirstPage, SetBy: it.SetBy})
				continue
			}
			if when, page, ok := without(pass, it.Presence); ok && !d.Required {
				f.Violations = append(f.Violations, Violation{Pass: pass.Name, When: when, Kind: it.Kind, Name: it.Key, Domain: it.Origin,
					FirstParty: it.FirstParty, Page: page, Category: d.Category, Service: d.Service, Declared: d.Name, SetBy: it.SetBy})
			}
		}
		for _, h := range pass.ThirdParty {
			if when, page, ok := without(pass, h.Presence); ok {
				f.ThirdParty = append(f.ThirdParty, ThirdPartyFinding{Pass: pass.Name, When: when, Host: h.Host, Page: page,
					URL: h.URL, Initiator: h.Initiator})
			}
		}
	}
	for _, u := range undeclared {
		f.Undeclared = append(f.Undeclared, *u)
	}
	for i, d := range decls {
		if !seen[i] && !d.Implicit {
			f.NeverSeen = append(f.NeverSeen, d)
		}
	}
	for _, l := range long {
		f.LongerThanDeclared = append(f.LongerThanDeclared, *l)
	}
	sort.Slice(f.LongerThanDeclared, func(i, j int) bool {
		a, b := f.LongerThanDeclared[i], f.LongerThanDeclared[j]
		return a.Name+"\x00"+a.Domain < b.Name+"\x00"+b.Domain
	})
	sort.Slice(f.Undeclared, func(i, j int) bool {
		a, b := f.Undeclared[i], f.Undeclared[j]
		return a.Kind+"\x00"+a.Name+"\x00"+a.Domain < b.Kind+"\x00"+b.Name+"\x00"+b.Domain
	})
	return f
}

// durationOf is d as a lifetime for the summary: "session" for 0.
func durationOf(seconds int64) string {
	return FormatDuration(time.Duration(seconds) * time.Second)
}
