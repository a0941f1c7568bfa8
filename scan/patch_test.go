package scan

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/consentd/consentd/catalogue"
	"github.com/consentd/consentd/config/site"
)

// patchSite is the site the patch tests scan: fi, sv and en, an empty
// analytics category, and Meta Pixel from the catalogue with only _fbp.
const patchSite = `id: shop
name: Shop Oy
origins: [https://www.shop.fi]
languages: [fi, sv, en]
policyVersion: "1"
categories:
  - id: necessary
    required: true
    label: {fi: Välttämättömät, sv: Nödvändiga, en: Necessary}
    description: {fi: Tarvitaan., sv: Behövs., en: Needed.}
    services:
      - name: Shop
        provider: Shop Oy
        purpose: {fi: Istunto., sv: Session., en: Session.}
        cookies:
          - name: shop_session
            duration: session
            description: {fi: Istunto., sv: Session., en: Session.}
  - id: analytics
    label: {fi: Analytiikka, sv: Analys, en: Analytics}
    description: {fi: Tilastot., sv: Statistik., en: Statistics.}
  - id: marketing
    label: {fi: Markkinointi, sv: Marknadsföring, en: Marketing}
    description: {fi: Mainonta., sv: Reklam., en: Advertising.}
    services:
      - use: meta-pixel
        cookies:
          - name: _fbp
notice:
  controllers:
    - {name: Shop Oy, phone: "09 123"}
  processors:
    - {name: Hosting Oy, phone: "09 456"}
`

// seenCookie is a cookie of the accept-all pass: name, domain (a leading
// dot: another site's), lifetime, and the address that set it.
func seenCookie(name, domain string, lifetime time.Duration, by string) Cookie {
	first := !strings.HasPrefix(domain, ".")
	c := Cookie{Name: name, Domain: domain, FirstParty: first, LifetimeSeconds: int64(lifetime / time.Second),
		Presence: Presence{FirstPage: "https://www.shop.fi/"}}
	if by != "" {
		c.SetBy = []Setter{{Kind: "script", URL: by}}
	}
	return c
}

// TestPatchCatalogue scans made-up cookie sets against patchSite, writes
// the patch, merges it into the site file as its header says, and loads
// the result: catalogue services load whole, and every cookie they
// explain is then declared; what needs a person fails to load, naming
// the field.
func TestPatchCatalogue(t *testing.T) {
	const gtag = "https://www.googletagmanager.com/gtag/js?id=G-1"
	for _, tt := range []struct {
		name    string
		cookies []Cookie
		hosts   []string // third-party requests
		want    []string // in the patch
		not     []string // not in the patch
		loadErr []string // each in the merged file's load error; none: it loads
		notErr  string   // not in the load error
		fill    [2]string
		left    []string // still undeclared after the merge (a rescan)
	}{
		{name: "GA4 cookies, Tag Manager seen",
			cookies: []Cookie{seenCookie("_ga", "www.shop.fi", 2*year, gtag), seenCookie("_ga_1A2B3C", "www.shop.fi", 2*year, gtag)},
			hosts:   []string{"https://www.googletagmanager.com/gtm.js?id=GTM-1"},
			want: []string{"- id: analytics\n    services:\n      # Google Analytics 4 from the service catalogue",
				"- use: google-analytics-4\n", "# seen: _ga_1A2B3C, www.shop.fi, lives 2y",
				"www.googletagmanager.com/gtm.js: Google Tag Manager (use: google-tag-manager)"},
			not: []string{"name: _ga", "# CHECK"}},
		{name: "Matomo, self-hosted: provider to fill in",
			cookies: []Cookie{seenCookie("_pk_id.1.abcd", "www.shop.fi", 13*month, "https://www.shop.fi/matomo.js"),
				seenCookie("_pk_ses.1.abcd", "www.shop.fi", 30*time.Minute, "https://www.shop.fi/matomo.js")},
			want:    []string{"- use: matomo-self-hosted\n        provider: \"\" # TODO: who runs it (the notice names Shop Oy; Hosting Oy)"},
			loadErr: []string{`categories[1].services[0].provider: required: catalogue entry "matomo-self-hosted" is software the site runs itself`},
			fill:    [2]string{`provider: ""`, `provider: Shop Oy`}},
		{name: "Matomo Cloud: its host seen",
			cookies: []Cookie{seenCookie("_pk_id.1.abcd", "www.shop.fi", 13*month, "https://cdn.matomo.cloud/shop.matomo.cloud/matomo.js"),
				seenCookie("_pk_ses.1.abcd", "www.shop.fi", 30*time.Minute, "https://cdn.matomo.cloud/shop.matomo.cloud/matomo.js")},
			hosts: []string{"https://cdn.matomo.cloud/shop.matomo.cloud/matomo.js"},
			want: []string{"- use: matomo-cloud\n",
				"# Chosen over use: matomo-self-hosted (Matomo (self-hosted)), which lists the same cookies: the scan saw cdn.matomo.cloud"},
			not: []string{"- use: matomo-self-hosted", "# CHECK"}},
		{name: "YouTube and Vimeo",
			cookies: []Cookie{seenCookie("VISITOR_INFO1_LIVE", ".youtube.com", 179*day, "https://www.youtube.com/embed/x"),
				seenCookie("YSC", ".youtube.com", 0, "https://www.youtube.com/embed/x"),
				seenCookie("sd_identity", ".vimeo.com", 2*year, "https://player.vimeo.com/video/1")},
			want: []string{"- use: vimeo\n", "- use: youtube\n", "third party: the widget cannot delete it"},
			not:  []string{"# CHECK"}},
		{name: "ambiguous, no host seen",
			cookies: []Cookie{seenCookie("MUID", ".bing.com", 13*month, "")},
			want: []string{"- use: microsoft-advertising-uet\n",
				"# CHECK: use: microsoft-clarity (Microsoft Clarity) lists the same cookies, and the scan saw no host of microsoft-advertising-uet or microsoft-clarity"},
			not: []string{"- use: microsoft-clarity"}},
		{name: "ambiguous, settled by a host",
			cookies: []Cookie{seenCookie("MUID", ".clarity.ms", year, "")},
			hosts:   []string{"https://www.clarity.ms/tag/abc"},
			want: []string{"- use: microsoft-clarity\n",
				"# Chosen over use: microsoft-advertising-uet (Microsoft Advertising (UET tag)), which lists the same cookies: the scan saw clarity.ms"},
			not: []string{"- use: microsoft-advertising-uet", "# CHECK"}},
		{name: "a service the site uses is not proposed again",
			cookies: []Cookie{seenCookie("_fbp", "www.shop.fi", 3*month, "https://connect.facebook.net/en_US/fbevents.js"),
				seenCookie("_fbc", "www.shop.fi", 3*month, "https://connect.facebook.net/en_US/fbevents.js"),
				seenCookie("fr", ".facebook.com", 3*month, "https://www.facebook.com/tr?id=1")},
			want: []string{"shop.yaml already has Meta Pixel (Facebook Pixel) (use: meta-pixel) in category \"marketing\"",
				"- use: meta-pixel\n        cookies:\n", "- name: _fbc\n", "- name: fr\n",
				"fr is also a cookie of facebook-embeds", "fi: Tallentaa"},
			not: []string{"_fbp (", "- use: facebook-embeds"}},
		{name: "unknown cookies: written out, for a person to finish",
			cookies: []Cookie{seenCookie("ab_test", "www.shop.fi", day, "https://www.shop.fi/"),
				seenCookie("_hjid", "www.shop.fi", year, "https://static.hotjar.com/c/hotjar-1.js"),
				seenCookie("_ga", "www.shop.fi", 2*year, gtag)},
			want: []string{"- use: google-analytics-4\n", "- name: Hotjar\n", "- id: unknown\n", "- name: ab_test\n",
				"static.hotjar.com/c/hotjar-1.js: Hotjar (use: hotjar)"},
			loadErr: []string{"categories[1].services[1].purpose.fi: missing translation", "categories[1].services[1].cookies[0].description.sv: missing translation",
				"categories[3].label: required", "categories[3].services[0].purpose.fi: missing translation"},
			notErr: "categories[1].services[0]"}, // google-analytics-4 loads
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := parseSite(t, patchSite)
			pass := Pass{Name: "accept-all", Decision: "accept", Cookies: tt.cookies}
			for _, h := range tt.hosts {
				pass.ThirdParty = append(pass.ThirdParty, HostContact{Host: hostOf(h), URL: h})
			}
			r := &Report{URL: "https://www.shop.fi/", Passes: []Pass{pass}}
			patterns, err := BuiltinPatterns()
			if err != nil {
				t.Fatal(err)
			}
			r.Findings = Compare(Declared(s), patterns, r.Passes)
			patch, err := r.Patch(s)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !bytes.Contains(patch, []byte(w)) {
					t.Errorf("patch lacks %q\n%s", w, patch)
				}
			}
			for _, w := range tt.not {
				if bytes.Contains(patch, []byte(w)) {
					t.Errorf("patch has %q\n%s", w, patch)
				}
			}
			merged := applyPatch(t, patchSite, patch)
			after, err := site.Parse("sites/shop.yaml", []byte(merged))
			if len(tt.loadErr) > 0 {
				if err == nil {
					t.Fatalf("merged file loads; want errors %q\n%s", tt.loadErr, merged)
				}
				for _, w := range tt.loadErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("load error lacks %q:\n%v", w, err)
					}
				}
				if tt.notErr != "" && strings.Contains(err.Error(), tt.notErr) {
					t.Errorf("load error has %q:\n%v", tt.notErr, err)
				}
				if tt.fill[0] == "" {
					return
				}
				merged = strings.Replace(merged, tt.fill[0], tt.fill[1], 1)
				if after, err = site.Parse("sites/shop.yaml", []byte(merged)); err != nil {
					t.Fatalf("filled in: %v\n%s", err, merged)
				}
			} else if err != nil {
				t.Fatalf("merged file: %v\npatch:\n%s", err, patch)
			}
			// A rescan of the merged site finds every cookie declared.
			f := Compare(Declared(after), patterns, r.Passes)
			if len(f.Undeclared) > 0 {
				t.Errorf("after the merge, undeclared: %+v\n%s", f.Undeclared, merged)
			}
		})
	}
}

// TestPatchNothingUndeclared: a site that uses the catalogue entry of
// every cookie seen gets an empty patch (declared.go counts the
// entry's cookies as declared).
func TestPatchNothingUndeclared(t *testing.T) {
	s := parseSite(t, patchSite)
	r := &Report{URL: "https://www.shop.fi/", Passes: []Pass{{Name: "accept-all", Cookies: []Cookie{
		seenCookie("_fbp", "www.shop.fi", 3*month, "https://connect.facebook.net/en_US/fbevents.js")}}}}
	r.Findings = Compare(Declared(s), nil, r.Passes)
	patch, err := r.Patch(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(patch, []byte("nothing to add")) || bytes.Contains(patch, []byte("use:")) {
		t.Errorf("patch:\n%s", patch)
	}
}

// TestEntryHosts checks the host table against the catalogue: every
// line an entry, every entry but self-hosted ones a line, and no host
// of two entries.
func TestEntryHosts(t *testing.T) {
	hosts, err := BuiltinEntryHosts()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalogue.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{}
	for name, hs := range hosts {
		if _, ok := cat.Lookup(name); !ok {
			t.Errorf("patterns_hosts.yaml: %s is no catalogue entry", name)
		}
		for _, h := range hs {
			if o, dup := owner[h]; dup {
				t.Errorf("patterns_hosts.yaml: %s is a host of %s and %s", h, o, name)
			}
			owner[h] = name
		}
	}
	for _, e := range cat.Entries() {
		if _, ok := hosts[e.Name]; !ok && !e.SelfHosted {
			t.Errorf("patterns_hosts.yaml: no hosts for the catalogue entry %s", e.Name)
		}
	}
	for _, tt := range []struct {
		pattern, addr string
		want          bool
	}{
		{"youtube.com", "www.youtube.com", true},
		{"youtube.com", "youtube.com", true},
		{"youtube.com", "www.youtube-nocookie.com", false},
		{"youtube.com", "notyoutube.com", false},
		{"www.googletagmanager.com/gtag/js", "www.googletagmanager.com/gtag/js", true},
		{"www.googletagmanager.com/gtag/js", "www.googletagmanager.com/gtm.js", false},
		{"www.googletagmanager.com/gtag/js", "www.googletagmanager.com", false},
		{"connect.facebook.net/*/fbevents.js", "connect.facebook.net/en_US/fbevents.js", true},
		{"connect.facebook.net/*/fbevents.js", "connect.facebook.net/en_US/sdk.js", false},
	} {
		host, path, _ := strings.Cut(tt.addr, "/")
		if path != "" {
			path = "/" + path
		}
		if got := hostMatches(tt.pattern, address{host, path}); got != tt.want {
			t.Errorf("hostMatches(%q, %q) = %v", tt.pattern, tt.addr, got)
		}
	}
}

func parseSite(t *testing.T, src string) *site.Site {
	t.Helper()
	s, err := site.Parse("sites/shop.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hostOf(u string) string {
	h, _, _ := strings.Cut(strings.TrimPrefix(u, "https://"), "/")
	return h
}

// applyPatch merges a patch into a site file as the patch's header says:
// each category's services into the category of that id (a new category
// at the end), and a service the site has (same use, or same name) gets
// the patch's cookies added to its own.
func applyPatch(t *testing.T, siteYAML string, patch []byte) string {
	t.Helper()
	var doc, p yaml.Node
	if err := yaml.Unmarshal([]byte(siteYAML), &doc); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(patch, &p); err != nil {
		t.Fatalf("patch: %v\n%s", err, patch)
	}
	siteCats := value(doc.Content[0], "categories")
	for _, pc := range value(p.Content[0], "categories").Content {
		id := value(pc, "id").Value
		var sc *yaml.Node
		for _, c := range siteCats.Content {
			if value(c, "id").Value == id {
				sc = c
			}
		}
		if sc == nil {
			siteCats.Content = append(siteCats.Content, pc)
			continue
		}
		svcs := value(sc, "services")
		if svcs == nil {
			svcs = &yaml.Node{Kind: yaml.SequenceNode}
			sc.Content = append(sc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "services"}, svcs)
		}
	services:
		for _, ps := range value(pc, "services").Content {
			for _, ss := range svcs.Content {
				for _, k := range []string{"use", "name"} {
					if v := value(ps, k); v != nil && value(ss, k) != nil && value(ss, k).Value == v.Value {
						cs := value(ss, "cookies")
						cs.Content = append(cs.Content, value(ps, "cookies").Content...)
						continue services
					}
				}
			}
			svcs.Content = append(svcs.Content, ps)
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// value is the value of key in a mapping node, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
