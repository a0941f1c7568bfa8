package notice

import (
	"bytes"
	"fmt"
	"html"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"github.com/consentd/consentd/config/i18n"
	noticecfg "github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/site"
)

// smallSite is a valid en-only site with a minimal notice; tests add what
// they look at.
func smallSite(t *testing.T, notice string) *site.Site {
	t.Helper()
	src := `id: small
name: Small Oy
origins: [https://small.example]
languages: [en]
policyVersion: "1"
categories:
  - id: necessary
    required: true
    label: {en: Necessary}
    description: {en: Needed.}
notice:
` + notice
	s, err := site.Parse("x/small.yaml", []byte(src))
	if err != nil {
		t.Fatalf("test site: %v", err)
	}
	return s
}

// fragmentText is the visible text of a fragment, white space collapsed,
// followed by its links' targets.
func fragmentText(frag string) string {
	var text, hrefs []string
	z := xhtml.NewTokenizer(strings.NewReader(frag))
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			all := strings.Join(text, "") + " " + strings.Join(hrefs, " ")
			return strings.Join(strings.Fields(strings.ReplaceAll(all, "\u00a0", " ")), " ")
		case xhtml.TextToken:
			text = append(text, html.UnescapeString(string(z.Text())))
		case xhtml.StartTagToken:
			tok := z.Token()
			for _, a := range tok.Attr {
				if a.Key == "href" || a.Key == "data-title" {
					hrefs = append(hrefs, a.Val)
				}
			}
			if tok.Data == "p" || tok.Data == "li" || tok.Data == "td" || tok.Data == "dd" || tok.Data == "br" {
				text = append(text, " ")
			}
		}
	}
}

func TestRenderNoticeAsWritten(t *testing.T) {
	tests := []struct {
		name       string
		notice     string
		has, lacks []string // substrings of the en fragment
	}{
		{"item 1: a purpose without legal basis shows none",
			"  purposes:\n    - purpose: {en: Sending the newsletter}\n",
			[]string{`<td data-label="Purpose">Sending the newsletter</td><td data-label="Legal basis"></td>`},
			[]string{"Art.\u00a06(1)"}},
		{"item 2: outside the EEA without countries may be transferred",
			"  transfers: {outsideEEA: true, safeguards: [scc]}\n",
			[]string{"<p>Data may be transferred outside the EU/EEA.</p>", "standard contractual clauses"},
			[]string{"following countries"}},
		{"item 2: the countries named",
			"  transfers: {outsideEEA: true, countries: [US, GB], safeguards: [dpf]}\n",
			[]string{"to the following countries: United States, United Kingdom.</p>", "EU-US Data Privacy Framework"}, nil},
		{"item 2: a description replaces 'not transferred'",
			"  transfers:\n    outsideEEA: false\n    description: {en: Data is not regularly transferred outside the EU/EEA.}\n",
			[]string{"<p>Data is not regularly transferred outside the EU/EEA.</p>"},
			[]string{"Data is not transferred outside the EU/EEA."}},
		{"item 2: no description, the built-in sentence",
			"  transfers: {outsideEEA: false}\n",
			[]string{"<p>Data is not transferred outside the EU/EEA.</p>"}, nil},
		{"item 2: a safeguard in the controller's words",
			"  transfers: {outsideEEA: true, countries: [US], safeguards: [scc, {en: The EU-US Privacy Shield (no longer valid)}]}\n",
			[]string{"<li>European Commission standard contractual clauses</li><li>The EU-US Privacy Shield (no longer valid)</li>"}, nil},
		{"item 3: no DPO, no DPO in the heading",
			"  contacts: [{name: Anna, email: anna@small.example}]\n",
			[]string{`<span class="cdn-n">`[:0] + `Contact person</h2>`}, []string{"data protection officer", "Data protection officer"}},
		{"item 3: only the DPO",
			"  contacts: [{name: Dan, dpo: true, email: dpo@small.example}]\n",
			[]string{`>Data protection officer</h2>`}, []string{"Contact person"}},
		{"item 3: both",
			"  contacts: [{name: Anna, email: a@small.example}, {name: Dan, dpo: true, email: d@small.example}]\n",
			[]string{`>Contact person and data protection officer</h2>`}, nil},
		{"item 4: a Y-tunnus is labelled so",
			"  controllers: [{name: Small Oy, businessId: 1234567-1, email: a@small.example}]\n",
			[]string{"<dt>Business ID</dt><dd>1234567-1</dd>"}, []string{"Registration number"}},
		{"item 4: another country's ID is not",
			"  controllers: [{name: Väike OÜ, businessId: \"12345678\", email: a@small.example}]\n",
			[]string{"<dt>Registration number</dt><dd>12345678</dd>"}, []string{"Business ID"}},
		{"item 4: the controller's own label",
			"  controllers: [{name: Väike OÜ, businessId: \"12345678\", businessIdLabel: {en: Registry code (Estonia)}, email: a@small.example}]\n",
			[]string{"<dt>Registry code (Estonia)</dt><dd>12345678</dd>"}, nil},
		{"item 5: a controller that is a role, a processor with its entry",
			"  controllers:\n    - role: {en: The controller is usually your school or its maintainer.}\n" +
				"    - {name: Small Oy, role: {en: Controller of the customer accounts.}, email: a@small.example}\n" +
				"  processors: [{name: Small Oy, role: {en: Processes pupils' data for the schools.}, url: https://small.example}]\n",
			[]string{`<div class="cdn-party"><p>The controller is usually your school or its maintainer.</p></div>`, ">Controllers</h2>",
				"<strong>Small Oy</strong><br>Controller of the customer accounts.", "<h3>Processors</h3>", "Processes pupils&#39; data for the schools."}, nil},
		{"item 6: notes",
			"  dataCategories: [{role: {en: Members}, intro: {en: We keep what the rules require.}, items: [{en: Name}]}]\n" +
				"  sourcesNote: {en: Mostly from you.}\n  retention: [{data: {en: Members}, period: {en: Membership + 1 year}}]\n" +
				"  retentionNote: {en: Bookkeeping law sets some periods.}\n  rightsNote: {en: Send requests to the board; we answer within a month.}\n" +
				"  contacts: [{name: Anna, email: anna@small.example}]\n",
			[]string{"<h3>Members</h3><p>We keep what the rules require.</p><ul><li>Name</li></ul>", "<p>Mostly from you.</p>",
				"</table></div><p>Bookkeeping law sets some periods.</p>", "<p>Send requests to the board; we answer within a month.</p>"},
			[]string{"To use your rights, contact the contact person above."}},
		{"item 6: recipient groups",
			"  recipients:\n    items: [{name: Host Oy, kind: processor}]\n    groups:\n      - title: {en: Authorities}\n        intro: {en: When the law requires.}\n        items: [{name: Tax Administration, kind: recipient, country: FI}]\n",
			[]string{"<li><strong>Host Oy</strong> (Processor)</li>", "<h3>Authorities</h3><p>When the law requires.</p><ol><li><strong>Tax Administration</strong> (Recipient)<br>Country: Finland</li></ol>"}, nil},
		{"item 6: a recipient without kind gets none",
			"  recipients: {items: [{name: Host Oy}]}\n",
			[]string{"<li><strong>Host Oy</strong></li>"}, []string{"(Processor)"}},
		{"item 7: activities in one table",
			"  purposes:\n    - {activity: {en: Booking}, purpose: {en: Managing appointments}, data: {en: \"Name, phone\"}, legalBasis: [contract], retention: {en: 2 years}}\n",
			[]string{`<th scope="col">Processing activity</th><th scope="col">Purpose</th><th scope="col">Data</th><th scope="col">Legal basis</th>`,
				`<td data-label="Processing activity">Booking</td><td data-label="Data">Name, phone</td><td data-label="Retention period">2 years</td>`}, nil},
		{"item 8: direct marketing and a custom right",
			"  rights:\n    direct-marketing: {}\n  customRights: [{title: {en: Right to a copy of the minutes}, text: {en: Members may read the minutes.}}]\n",
			[]string{"<dt>Right to object to direct marketing</dt><dd><p>You have the right to object at any time", "<dt>Right to a copy of the minutes</dt><dd><p>Members may read the minutes.</p></dd></dl>"}, nil},
		{"item 8: no direct marketing unless named", "  security: {en: Locked.}\n", nil, []string{"direct marketing"}},
		{"item 9: a section where it belongs, numbered on request",
			"  numberedHeadings: true\n  security: {en: Locked.}\n  sections: [{title: {en: Video surveillance}, body: {en: Cameras.}, after: cookies}]\n",
			[]string{`<h2 id="cdn-cookies-h"><span class="cdn-n">1.</span> Cookies</h2>`, `</section>
<section id="cdn-extra-1"><h2 id="cdn-extra-1-h"><span class="cdn-n">2.</span> Video surveillance</h2>`,
				`<span class="cdn-n">3.</span> Security</h2>`}, nil},
		{"item 9: not numbered by default in en", "  security: {en: Locked.}\n", []string{`<h2 id="cdn-security-h">Security</h2>`}, []string{"cdn-n"}},
		{"item 10: links in texts",
			"  security: {en: \"See https://small.example/security. Questions: tietoturva@small.example (or http://old.example).\"}\n",
			[]string{`See <a href="https://small.example/security">https://small.example/security</a>. Questions: <a href="mailto:tietoturva@small.example">tietoturva@small.example</a> (or http://old.example).`}, nil},
		{"item 12: legitimate interest inline",
			"  purposes: [{purpose: {en: Security}, legalBasis: [legitimate-interest], legitimateInterest: {en: Keeping the service safe.}}]\n",
			[]string{`<div class="cdn-more"><p><strong>Legitimate interest:</strong> Keeping the service safe.</p></div>`, `<span class="cdn-basis">Legitimate interests (Art.` + "\u00a0" + `6(1)(f))</span>`}, nil},
		{"item 13: the title travels with the fragment", "  title: {en: Privacy statement of Small}\n",
			[]string{`<div class="cdn" lang="en" data-title="Privacy statement of Small">`}, nil},
		{"cookies: only necessary, no cookies listed", "  security: {en: Locked.}\n",
			[]string{"The site uses only the necessary cookies listed below", "<p>No cookies are listed for this category.</p>"}, []string{"only with your consent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frag := build(t, smallSite(t, tt.notice)).Docs["en"].Fragment
			for _, s := range tt.has {
				if !strings.Contains(frag, s) {
					t.Errorf("fragment lacks %q", s)
				}
			}
			for _, s := range tt.lacks {
				if strings.Contains(frag, s) {
					t.Errorf("fragment has %q", s)
				}
			}
			if t.Failed() {
				t.Logf("fragment:\n%s", frag)
			}
			checkInert(t, "fragment", frag)
		})
	}
}

// Item 3: the register name is said once on the page.
func TestRegisterNameOnce(t *testing.T) {
	page := string(build(t, demoSite(t)).Docs["en"].Page)
	if n := strings.Count(page, "User register of the Oppimo learning environment"); n != 1 {
		t.Errorf("the register name is on the page %d times, want once", n)
	}
}

// Item 9: numbered by default when the site's default language is fi.
func TestHeadingsNumberedForFinnish(t *testing.T) {
	set := build(t, demoSite(t))
	for lang, d := range set.Docs {
		if !strings.Contains(d.Fragment, `<h2 id="cdn-controller-h"><span class="cdn-n">1.</span> `) {
			t.Errorf("%s: the first heading is not numbered", lang)
		}
	}
}

func TestLinkify(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a@b.fi", `<a href="mailto:a@b.fi">a@b.fi</a>`},
		{"(https://x.fi/a_(b))", `(<a href="https://x.fi/a_(b)">https://x.fi/a_(b)</a>)`},
		{"https://x.fi/?a=1&b=<2>", `<a href="https://x.fi/?a=1&amp;b=">https://x.fi/?a=1&amp;b=</a>&lt;2&gt;`},
		{"javascript:alert(1) http://x.fi", "javascript:alert(1) http://x.fi"},
		{"https://", "https://"},
		{"<b>a@b.fi</b>", `&lt;b&gt;<a href="mailto:a@b.fi">a@b.fi</a>&lt;/b&gt;`},
		{"Mail kirjaamo@jarvela.example.fi.", `Mail <a href="mailto:kirjaamo@jarvela.example.fi">kirjaamo@jarvela.example.fi</a>.`},
		{`https://x.fi/"onmouseover="alert(1)`, `<a href="https://x.fi/">https://x.fi/</a>&#34;onmouseover=&#34;alert(1)`},
	}
	for _, tt := range tests {
		if got := string(linkify(tt.in)); got != tt.want {
			t.Errorf("linkify(%q)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestRichLead(t *testing.T) {
	tests := []struct{ lead, in, want string }{
		{"L:", "Text.", "<p><strong>L:</strong> Text.</p>"},
		{"L:", "- a\n- b", "<p><strong>L:</strong></p><ul><li>a</li><li>b</li></ul>"},
		{"L:", "One.\n\nTwo.", "<p><strong>L:</strong> One.</p><p>Two.</p>"},
		{"L:", "", ""},
	}
	for _, tt := range tests {
		if got := string(richLead(tt.lead, tt.in)); got != tt.want {
			t.Errorf("richLead(%q, %q) = %q, want %q", tt.lead, tt.in, got, tt.want)
		}
	}
}

// Item 14: a language the site does not have gets the default language's
// page with a note in the language asked for.
func TestFallbackPages(t *testing.T) {
	s := smallSite(t, "  security: {en: Locked.}\n")
	s.Languages, s.DefaultLanguage = []string{"en"}, "en"
	set := build(t, s)
	tests := []struct{ asked, want string }{
		{"fi", `<p class="note" role="note" lang="fi">Tätä selostetta ei ole saatavilla suomeksi. Se näytetään englanniksi.</p>`},
		{"sv", `<p class="note" role="note" lang="sv">Beskrivningen finns inte på svenska. Den visas på engelska.</p>`},
		{"", `<p class="note" role="note" lang="en">This notice is not available in the language asked for. It is shown in English.</p>`},
	}
	for _, tt := range tests {
		page := string(set.Fallback[tt.asked])
		if !strings.Contains(page, tt.want) || !strings.Contains(page, `<html lang="en">`) {
			t.Errorf("fallback for %q lacks %q:\n%s", tt.asked, tt.want, page)
		}
	}
	if _, ok := set.Fallback["en"]; ok {
		t.Error("a fallback page for a language the site has")
	}
	if strings.Contains(string(set.Docs["en"].Page), `class="note"`) {
		t.Error("the site's own page has a note")
	}
}

// fillMarkers sets every free-text value of v (strings and texts, in
// every language of langs) to a unique marker "qzNNNz"; fields whose
// values come from a fixed set are left for the caller.
func fillMarkers(v reflect.Value, langs []string, n *int) {
	next := func() string { *n++; return fmt.Sprintf("qz%03dz", *n) }
	switch v.Kind() {
	case reflect.String:
		v.SetString(next())
	case reflect.Ptr:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fillMarkers(v.Elem(), langs, n)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			switch f.Name {
			case "ID", "Country", "Created", "Updated", "ValidFrom", "Layout", "Kind", "After", "Safeguards", "Duration", "Use":
				continue
			case "URL":
				*n++
				v.Field(i).SetString(fmt.Sprintf("https://qz%03dz.example/", *n))
				continue
			}
			if f.IsExported() && f.Type != reflect.TypeOf([]string{}) {
				fillMarkers(v.Field(i), langs, n)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fillMarkers(s.Index(i), langs, n)
		}
		v.Set(s)
	case reflect.Map:
		if v.Type() == reflect.TypeOf(i18n.Text{}) {
			m := i18n.Text{}
			for _, l := range langs {
				m[l] = next()
			}
			v.Set(reflect.ValueOf(m))
		}
	}
}

// Every free-text field of the model reaches the page, and Facts lists
// it: a field added to the model but not to the templates (or to Facts)
// fails here.
func TestEveryFieldIsShown(t *testing.T) {
	for _, table := range []bool{false, true} {
		s := &site.Site{ID: "all", Languages: []string{"en"}, DefaultLanguage: "en", Origins: []string{"https://all.example"}}
		n := 0
		fillMarkers(reflect.ValueOf(&s.Categories).Elem(), s.Languages, &n)
		fillMarkers(reflect.ValueOf(&s.Notice).Elem(), s.Languages, &n)
		fillMarkers(reflect.ValueOf(&s.PolicyVersion).Elem(), s.Languages, &n)
		for i := range s.Categories {
			for j := range s.Categories[i].Services {
				for k := range s.Categories[i].Services[j].Cookies {
					s.Categories[i].Services[j].Cookies[k].Duration = "13mo"
				}
			}
		}
		nc := &s.Notice
		yes := true
		nc.Country, nc.Created, nc.Updated, nc.ValidFrom = "FI", "2026-01-02", "2026-02-03", "2026-03-04"
		nc.Transfers.OutsideEEA, nc.Transfers.Countries = &yes, []string{"US"}
		nc.Transfers.Safeguards = []noticecfg.Safeguard{{Key: "scc"}, {Text: i18n.Text{"en": "qz800z"}}}
		nc.AutomatedDecisions.Used = &yes
		nc.Recipients.None = false
		if table {
			nc.Recipients.Layout = "table"
		}
		nc.Rights = map[string]noticecfg.Right{"access": {Text: i18n.Text{"en": "qz801z"}}, "direct-marketing": {Text: i18n.Text{"en": "qz802z"}}}
		for i := range nc.Purposes {
			nc.Purposes[i].LegalBasis = []string{"consent"}
		}
		frag := fragmentText(build(t, s).Docs["en"].Fragment)
		facts := strings.Join(Facts(s, "en"), "\n")
		for i := 1; i <= n; i++ {
			m := fmt.Sprintf("qz%03dz", i)
			if !strings.Contains(frag, m) {
				t.Errorf("table=%v: marker %s is not on the page", table, m)
			}
			if !strings.Contains(facts, m) {
				t.Errorf("table=%v: marker %s is not in Facts", table, m)
			}
		}
		for _, f := range Facts(s, "en") {
			if !strings.Contains(frag, strings.Join(strings.Fields(f), " ")) {
				t.Errorf("table=%v: fact %q is not on the page", table, f)
			}
		}
	}
}

// What the server renders on request (Page, FallbackPage, JSON, Doc) is
// byte for byte what Build renders at once, for every language and every
// fallback, so an ETag does not depend on when a page was rendered.
func TestOnDemandMatchesBuild(t *testing.T) {
	one := smallSite(t, "  security: {en: Locked.}\n")
	tests := []struct {
		name string
		site *site.Site
	}{
		{"demo (fi, sv, en)", demoSite(t)},
		{"one language (en)", one},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := build(t, tt.site)
			versions := set.Versions()
			for _, lang := range tt.site.Languages {
				page, err := Page(tt.site, versions, lang)
				if err != nil || !bytes.Equal(page, set.Docs[lang].Page) {
					t.Errorf("Page(%s) differs from Build's (err %v)", lang, err)
				}
				d, err := Doc(tt.site, ui, lang)
				if err != nil || !bytes.Equal(d.Snapshot, set.Docs[lang].Snapshot) || d.Version != versions[lang] {
					t.Errorf("Doc(%s) differs from Build's (err %v)", lang, err)
				}
			}
			for _, asked := range []string{"", "fi", "sv", "en", "de", "xx-unknown"} {
				if tt.site.HasLanguage(asked) {
					continue
				}
				page, err := FallbackPage(tt.site, versions, asked)
				want, ok := set.Fallback[FallbackKey(tt.site, asked)]
				if err != nil || !ok || !bytes.Equal(page, want) {
					t.Errorf("FallbackPage(%q) differs from Build's Fallback[%q] (err %v)", asked, FallbackKey(tt.site, asked), err)
				}
			}
			if len(set.Fallback) != len(FallbackKeys(tt.site)) {
				t.Errorf("Build made %d fallback pages, FallbackKeys names %d", len(set.Fallback), len(FallbackKeys(tt.site)))
			}
			js, err := JSON(tt.site, versions)
			if err != nil || !bytes.Equal(js, set.JSON) {
				t.Errorf("JSON differs from Build's (err %v)", err)
			}
			snaps, err := Snapshots(tt.site, ui)
			if err != nil || !reflect.DeepEqual(snaps.Versions(), versions) {
				t.Errorf("Snapshots: versions %v, want %v (err %v)", snaps.Versions(), versions, err)
			}
		})
	}
}

// BenchmarkPage is the cost of a notice page rendered on request (a miss
// of the server's notice cache).
func BenchmarkPage(b *testing.B) {
	s, err := site.Load(filepath.Join("..", "..", "config", "sites", "demo.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	set, err := Snapshots(s, ui)
	if err != nil {
		b.Fatal(err)
	}
	versions := set.Versions()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Page(s, versions, "fi"); err != nil {
			b.Fatal(err)
		}
	}
}
