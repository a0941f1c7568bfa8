package scan

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// cookie is a cookie of a pass for the comparison tests: before is
// whether it was present with no decision in force, after the page where
// it was first present with the decision in force ("" for none).
func cookie(name string, lifetimeDays int64, before bool, after string) Cookie {
	return Cookie{Name: name, Domain: "www.example.fi", FirstParty: true, LifetimeSeconds: lifetimeDays * 86400,
		Presence: Presence{FirstPage: "/", BeforeDecision: before, AfterDecisionPage: after}}
}

// violations renders findings' violations as "pass name when category".
func violations(f Findings) []string {
	out := []string{}
	for _, v := range f.Violations {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", v.Pass, v.Name, v.When, v.Category)))
	}
	return out
}

func TestCompareViolations(t *testing.T) {
	s := testSite(
		category("necessary", true, "Shop", "shop_session", "session"),
		category("analytics", false, "Matomo", "_pk_id.*", "13mo"),
		category("marketing", false, "Meta Pixel", "_fbp", "3mo"),
	)
	decls := Declared(s)
	noDecision := func(cs ...Cookie) Pass { return Pass{Name: "no-decision", Cookies: cs} }
	reject := func(cs ...Cookie) Pass { return Pass{Name: "reject-all", Decision: "reject", Cookies: cs} }
	accept := func(cs ...Cookie) Pass { return Pass{Name: "accept-all", Decision: "accept", Cookies: cs} }
	for _, tt := range []struct {
		name   string
		passes []Pass
		want   []string
	}{
		{"a required cookie before consent is fine", []Pass{noDecision(cookie("shop_session", 0, true, ""))}, []string{}},
		{"the decision cookie is expected", []Pass{reject(cookie("consentd", 365, false, "/"))}, []string{}},
		{"marketing before consent", []Pass{noDecision(cookie("_fbp", 90, true, ""))}, []string{"no-decision _fbp before consent marketing"}},
		{"analytics family before consent", []Pass{noDecision(cookie("_pk_id.1.ab", 300, true, ""))}, []string{"no-decision _pk_id.1.ab before consent analytics"}},
		{"undeclared before consent", []Pass{noDecision(cookie("ab_test", 1, true, ""))}, []string{"no-decision ab_test before consent"}},
		{"analytics after reject all", []Pass{reject(cookie("_pk_id.1.ab", 300, false, "/about"))}, []string{"reject-all _pk_id.1.ab after reject all analytics"}},
		{"set before the reject and deleted by it: fine", []Pass{reject(cookie("_fbp", 90, true, ""))}, []string{}},
		{"anything after accept all is fine", []Pass{accept(cookie("_fbp", 90, false, "/"), cookie("ab_test", 1, false, "/"))}, []string{}},
		{"all passes", []Pass{noDecision(cookie("_fbp", 90, true, "")), reject(cookie("_fbp", 90, true, "/")), accept(cookie("_fbp", 90, true, "/"))},
			[]string{"no-decision _fbp before consent marketing", "reject-all _fbp after reject all marketing"}},
	} {
		f := Compare(decls, nil, tt.passes)
		if got := violations(f); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: violations %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCompareStorageAndHosts(t *testing.T) {
	s := testSite(
		category("necessary", true, "Shop", "cart", "session"),
		category("analytics", false, "Hotjar", "_hjSession*", "30min"),
	)
	item := func(key string, before bool) StorageItem {
		return StorageItem{Kind: "localStorage", Origin: "https://www.example.fi", Key: key, FirstParty: true,
			Presence: Presence{FirstPage: "/", BeforeDecision: before}}
	}
	p := Pass{Name: "no-decision",
		Storage:    []StorageItem{item("cart", true), item("_hjSession_1", true), item("consentd.queue", true), item("framework-state", true)},
		ThirdParty: []HostContact{{Host: "px.tracker.test", URL: "https://px.tracker.test/p.gif", Initiator: "https://www.example.fi/pixel.js", Presence: Presence{FirstPage: "/", BeforeDecision: true}}},
	}
	f := Compare(Declared(s), nil, []Pass{p})
	if got, want := violations(f), []string{"no-decision _hjSession_1 before consent analytics"}; !reflect.DeepEqual(got, want) {
		t.Errorf("violations %q, want %q (undeclared storage is listed, not a violation)", got, want)
	}
	if len(f.Undeclared) != 1 || f.Undeclared[0].Name != "framework-state" || f.Undeclared[0].Kind != "localStorage" {
		t.Errorf("undeclared %+v", f.Undeclared)
	}
	if len(f.ThirdParty) != 1 || f.ThirdParty[0].Host != "px.tracker.test" || f.ThirdParty[0].When != beforeConsent {
		t.Errorf("third party %+v", f.ThirdParty)
	}
}

func TestCompareUndeclaredNeverSeenLifetimes(t *testing.T) {
	s := testSite(
		category("necessary", true, "Shop", "shop_session", "session"),
		category("analytics", false, "Matomo", "_pk_id.*", "13mo", "_pk_ses.*", "30min"),
		category("marketing", false, "Meta Pixel", "_fbp", "3mo"),
	)
	patterns, err := BuiltinPatterns()
	if err != nil {
		t.Fatal(err)
	}
	passes := []Pass{
		{Name: "no-decision", Cookies: []Cookie{cookie("shop_session", 30, true, ""), cookie("ab_test", 1, true, "")}},
		{Name: "accept-all", Decision: "accept", Cookies: []Cookie{
			cookie("_pk_id.1.ab", 393, false, "/"), cookie("_fbp", 400, false, "/"), cookie("_ga", 400, false, "/"), cookie("ab_test", 1, false, "/")}},
	}
	f := Compare(Declared(s), patterns, passes)
	if und, want := undeclared(f), []string{"_ga [accept-all] Google Analytics/analytics", "ab_test [no-decision accept-all] -"}; !reflect.DeepEqual(und, want) {
		t.Errorf("undeclared %q, want %q", und, want)
	}
	if never, want := neverSeen(f), []string{"_pk_ses.*"}; !reflect.DeepEqual(never, want) {
		t.Errorf("never seen %q, want %q", never, want)
	}
	var long []string
	for _, l := range f.LongerThanDeclared {
		long = append(long, fmt.Sprintf("%s %s>%s", l.Name, l.Observed, l.Duration))
	}
	// shop_session: declared session, lives 30 days; _fbp: 400 days for 3mo;
	// _pk_id: 393 days is within 13mo.
	if want := []string{"_fbp 14mo>3mo", "shop_session 30d>session"}; !reflect.DeepEqual(long, want) {
		t.Errorf("longer than declared %q, want %q", long, want)
	}
}

// undeclared renders findings' undeclared entries as "name [passes]
// service/category" ("-" without a suggestion).
func undeclared(f Findings) []string {
	var out []string
	for _, u := range f.Undeclared {
		sug := "-"
		if u.Suggestion != nil {
			sug = u.Suggestion.Service + "/" + u.Suggestion.Category
		}
		out = append(out, fmt.Sprintf("%s %v %s", u.Name, u.Passes, sug))
	}
	return out
}

// neverSeen lists the names of the declarations never seen.
func neverSeen(f Findings) []string {
	var out []string
	for _, d := range f.NeverSeen {
		out = append(out, d.Name)
	}
	return out
}
