package ledger

// Per-site policy: how long a site's counters and visitor state live and
// which categories its reports leave out. The server sets it when it
// loads the site, as it registers the site's notices; records do not
// carry it.

import (
	"slices"
	"time"
)

// Policy is how the ledger keeps one site's data.
type Policy struct {
	// CounterTTL is how long a daily counter hash lives after the day's
	// last decision.
	CounterTTL time.Duration
	// RetentionTTL is how long a visitor hash lives after the visitor's
	// last decision: the site's log retention (the hash indexes the log).
	RetentionTTL time.Duration
	// Required are the site's required categories: always granted, so
	// not counted in the opt-in reports.
	Required []string
}

// DefaultPolicy is the policy of a site that SetPolicy was not called
// for: counters kept 400 days, visitor state 1095 days (the default
// logRetentionDays), every category counted.
var DefaultPolicy = Policy{CounterTTL: 400 * 24 * time.Hour, RetentionTTL: 1095 * 24 * time.Hour}

// SetPolicy sets the policy of site's records from now on (the batches
// committed after the call).
func (l *Ledger) SetPolicy(site string, p Policy) {
	p.Required = slices.Clone(p.Required)
	l.policyMu.Lock()
	defer l.policyMu.Unlock()
	l.policies[site] = p
}

// Policy returns the policy of site: the one set with SetPolicy, else
// DefaultPolicy.
func (l *Ledger) Policy(site string) Policy {
	l.policyMu.RLock()
	defer l.policyMu.RUnlock()
	if p, ok := l.policies[site]; ok {
		return p
	}
	return DefaultPolicy
}
