package notice

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/consentd/consentd/config/i18n"
	noticecfg "github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/site"
)

func ui(lang string) (map[string]string, error) {
	return map[string]string{"title": "T " + lang, "acceptAll": "A", "rejectAll": "R"}, nil
}

func demoSite(t *testing.T) *site.Site {
	t.Helper()
	s, err := site.Load(filepath.Join("..", "..", "config", "sites", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func build(t *testing.T, s *site.Site) *Set {
	t.Helper()
	set, err := Build(s, ui)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestVersionFollowsContent(t *testing.T) {
	base := build(t, demoSite(t)).Versions()
	if again := build(t, demoSite(t)).Versions(); !reflect.DeepEqual(base, again) {
		t.Fatalf("same file, different versions: %v vs %v", base, again)
	}
	if len(base) != 3 || base["fi"] == base["sv"] || base["sv"] == base["en"] {
		t.Fatalf("want three distinct versions: %v", base)
	}
	tests := []struct {
		name    string
		edit    func(s *site.Site)
		changed []string // languages whose version must change; the others must not
	}{
		{"one word of a cookie description", func(s *site.Site) {
			d := s.Categories[1].Description
			d["en"] = strings.Replace(d["en"], "improve", "better", 1)
		}, []string{"en"}},
		{"policy version", func(s *site.Site) { s.PolicyVersion = "2099-01-01" }, []string{"fi", "sv", "en"}},
		{"controller phone", func(s *site.Site) { s.Notice.Controllers[0].Phone = "+358 1 000 0000" }, []string{"fi", "sv", "en"}},
		{"one retention period in fi", func(s *site.Site) { s.Notice.Retention[0].Period["fi"] += " Muutettu." }, []string{"fi"}},
		{"site name", func(s *site.Site) { s.Name = "Other Oy" }, []string{"fi", "sv", "en"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := demoSite(t)
			tt.edit(s)
			got := build(t, s).Versions()
			for _, l := range []string{"fi", "sv", "en"} {
				want := false
				for _, c := range tt.changed {
					want = want || c == l
				}
				if (got[l] != base[l]) != want {
					t.Errorf("%s: changed=%v, want %v", l, got[l] != base[l], want)
				}
			}
		})
	}
}

func TestSnapshotIsVerifiable(t *testing.T) {
	set := build(t, demoSite(t))
	for lang, d := range set.Docs {
		if Version(d.Snapshot) != d.Version {
			t.Errorf("%s: sha256(snapshot) != version", lang)
		}
		var s Snapshot
		if err := json.Unmarshal(d.Snapshot, &s); err != nil {
			t.Fatal(err)
		}
		again, err := s.Encode()
		if err != nil || !bytes.Equal(again, d.Snapshot) {
			t.Errorf("%s: decode+encode does not give the same bytes", lang)
		}
		if s.Format != Format || s.Lang != lang || s.HTML != d.Fragment || s.UI["title"] != "T "+lang || s.PolicyVersion == "" {
			t.Errorf("%s: snapshot fields %+v", lang, s)
		}
	}
}

func TestDemoNoticeHasEverySection(t *testing.T) {
	set := build(t, demoSite(t))
	want := []string{"controller", "contact", "register", "purposes", "data", "sources", "requirement", "recipients",
		"transfers", "cookies", "retention", "security", "rights", "complaint", "automated", "extra-1", "about"}
	for lang, d := range set.Docs {
		for _, id := range want {
			if !strings.Contains(d.Fragment, `<section id="cdn-`+id+`"`) {
				t.Errorf("%s: no section %s", lang, id)
			}
			if !strings.Contains(d.Fragment, `<a href="#cdn-`+id+`">`) {
				t.Errorf("%s: table of contents lacks %s", lang, id)
			}
		}
		page := string(d.Page)
		for _, s := range []string{`<html lang="` + lang + `">`, `aria-current="page"`, `hreflang="sv" lang="sv"`, "<h1>", "@media print", d.Version} {
			if !strings.Contains(page, s) {
				t.Errorf("%s: page lacks %q", lang, s)
			}
		}
	}
	fi := set.Docs["fi"].Fragment
	for _, s := range []string{"Tietosuojavaltuutetun toimisto", "Yhdysvallat", "VISITOR_INFO1_LIVE", "179 päivää", "consentd-palveluluettelo",
		"EU:n ja Yhdysvaltojen välinen tietosuojakehys", "Ei sovelleta tähän käsittelyyn.", "<ul>"} {
		if !strings.Contains(fi, s) {
			t.Errorf("fi notice lacks %q", s)
		}
	}
}

func TestRich(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"One line.", "<p>One line.</p>"},
		{"Two\nlines.", "<p>Two lines.</p>"},
		{"Para one.\n\nPara two.", "<p>Para one.</p><p>Para two.</p>"},
		{"Intro:\n- a\n- b\nAfter.", "<p>Intro:</p><ul><li>a</li><li>b</li></ul><p>After.</p>"},
		{"- <b>x</b>\n\n<i>&amp;", "<ul><li>&lt;b&gt;x&lt;/b&gt;</li></ul><p>&lt;i&gt;&amp;amp;</p>"},
		{"-not a list", "<p>-not a list</p>"},
	}
	for _, tt := range tests {
		if got := string(rich(tt.in)); got != tt.want {
			t.Errorf("rich(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDurationAndDate(t *testing.T) {
	tests := []struct{ lang, in, want string }{
		{"fi", "13mo", "13 kuukautta"}, {"sv", "13mo", "13 månader"}, {"en", "13mo", "13 months"},
		{"en", "1y", "1 year"}, {"fi", "30min", "30 minuuttia"}, {"sv", "session", "session"}, {"fi", "session", "istunto"},
		{"en", "2d", "2 days"}, {"fi", "1h", "1 tunti"},
	}
	for _, tt := range tests {
		if got := duration(labels[tt.lang], tt.in); got != tt.want {
			t.Errorf("duration(%s, %s) = %q, want %q", tt.lang, tt.in, got, tt.want)
		}
	}
	if got := date("fi", "2026-11-01"); got != "1.11.2026" {
		t.Errorf("fi date %q", got)
	}
	if got := date("en", "2026-11-01"); got != "1 November 2026" {
		t.Errorf("en date %q", got)
	}
}

func TestLabelsComplete(t *testing.T) {
	for lang, m := range labels {
		for key := range labels["en"] {
			if m[key] == "" {
				t.Errorf("%s: no label %q", lang, key)
			}
		}
		if len(m) != len(labels["en"]) {
			t.Errorf("%s has %d labels, en %d", lang, len(m), len(labels["en"]))
		}
	}
	for _, id := range noticecfg.Rights {
		if labels["fi"]["right."+id] == "" {
			t.Errorf("no label for right %s", id)
		}
	}
	for _, b := range noticecfg.LegalBases {
		if labels["sv"]["basis."+b] == "" {
			t.Errorf("no label for basis %s", b)
		}
	}
	for _, s := range noticecfg.Safeguards {
		if labels["en"]["safeguard."+s] == "" {
			t.Errorf("no label for safeguard %s", s)
		}
	}
}

// hostile are strings that would run script if any reached the page as
// markup or as a URL.
var hostile = []string{
	`<script>window.__xss=1</script>`,
	`"><img src=x onerror="window.__xss=1">`,
	`javascript:window.__xss=1`,
	`' onmouseover='window.__xss=1`,
	`</style></div><svg onload=window.__xss=1>`,
	`{{.}}<!--`,
}

// fillHostile sets every string, Text and list in v (recursively) to
// hostile values, one list entry each, every right and every pointer.
func fillHostile(v reflect.Value, n *int) {
	next := func() string { *n++; return hostile[*n%len(hostile)] }
	switch v.Kind() {
	case reflect.String:
		v.SetString(next())
	case reflect.Ptr:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fillHostile(v.Elem(), n)
	case reflect.Bool:
		v.SetBool(*n%2 == 0)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillHostile(v.Field(i), n)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fillHostile(s.Index(i), n)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		keys := []string{"fi", "sv", "en"}
		if v.Type().Elem().Kind() != reflect.String {
			keys = noticecfg.Rights
		}
		for _, k := range keys {
			e := reflect.New(v.Type().Elem()).Elem()
			fillHostile(e, n)
			m.SetMapIndex(reflect.ValueOf(k), e)
		}
		v.Set(m)
	}
}

// HostileSite returns a site whose every config string is hostile
// (unvalidated: it tests the renderer's escaping, not the validator).
func hostileSite() *site.Site {
	s := &site.Site{ID: "evil", Languages: []string{"fi", "sv", "en"}, DefaultLanguage: "fi", Origins: []string{"https://evil.example"}}
	n := 0
	fillHostile(reflect.ValueOf(&s.Name).Elem(), &n)
	fillHostile(reflect.ValueOf(&s.PolicyVersion).Elem(), &n)
	fillHostile(reflect.ValueOf(&s.Categories).Elem(), &n)
	fillHostile(reflect.ValueOf(&s.Notice).Elem(), &n)
	s.Notice.Recipients.Layout = "table"
	return s
}

// allowed are the only elements and attributes the notice may contain.
var (
	allowedTags = map[string]bool{"html": true, "head": true, "meta": true, "title": true, "link": true, "style": true,
		"body": true, "header": true, "main": true, "footer": true, "div": true, "nav": true, "section": true,
		"h1": true, "h2": true, "h3": true, "p": true, "ol": true, "ul": true, "li": true, "a": true, "strong": true,
		"br": true, "dl": true, "dt": true, "dd": true, "table": true, "thead": true, "tbody": true, "tr": true,
		"th": true, "td": true, "span": true, "code": true}
	allowedAttrs = map[string]bool{"class": true, "id": true, "href": true, "lang": true, "hreflang": true,
		"aria-labelledby": true, "aria-label": true, "aria-current": true, "scope": true, "charset": true,
		"name": true, "content": true, "rel": true, "data-label": true, "data-title": true, "role": true}
)

// checkInert fails unless doc has only allowed elements and attributes,
// and every link is a fragment, mailto:, http(s) or html/template's
// "#ZgotmplZ" for a URL it refused.
func checkInert(t *testing.T, what, doc string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(doc))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if !allowedTags[tok.Data] {
				t.Errorf("%s: element <%s> got through", what, tok.Data)
			}
			for _, a := range tok.Attr {
				if !allowedAttrs[a.Key] {
					t.Errorf("%s: attribute %s=%q on <%s> got through", what, a.Key, a.Val, tok.Data)
				}
				if a.Key == "href" && !(strings.HasPrefix(a.Val, "#") || strings.HasPrefix(a.Val, "mailto:") ||
					strings.HasPrefix(a.Val, "https://") || strings.HasPrefix(a.Val, "http://") || strings.HasPrefix(a.Val, "?lang=") ||
					strings.HasPrefix(a.Val, "/n/")) {
					t.Errorf("%s: href %q got through", what, a.Val)
				}
			}
		}
	}
}

func TestHostileConfigRendersInert(t *testing.T) {
	s := hostileSite()
	set := build(t, s)
	for lang, d := range set.Docs {
		checkInert(t, lang+" fragment", d.Fragment)
		checkInert(t, lang+" page", string(d.Page))
		if strings.Contains(d.Fragment, "<script") || strings.Contains(d.Fragment, "<img") || strings.Contains(d.Fragment, "<svg") {
			t.Errorf("%s: raw markup in fragment", lang)
		}
		if !strings.Contains(d.Fragment, "&lt;script&gt;") {
			t.Errorf("%s: the hostile text should be shown, escaped", lang)
		}
	}
	// The same with a list layout for recipients.
	s.Notice.Recipients.Layout = "list"
	for lang, d := range build(t, s).Docs {
		checkInert(t, lang+" list fragment", d.Fragment)
	}
	// The structured JSON is data, but must not be HTML-sniffable either.
	if bytes.Contains(set.JSON, []byte("<script")) {
		t.Error("structured JSON contains a raw <script")
	}
}

func TestPageCSPMatchesStyle(t *testing.T) {
	if !strings.Contains(PageCSP, "style-src 'sha256-") || strings.Contains(PageCSP, "unsafe") {
		t.Fatalf("CSP %q", PageCSP)
	}
	page := string(build(t, demoSite(t)).Docs["en"].Page)
	i, j := strings.Index(page, "<style>"), strings.Index(page, "</style>")
	if i < 0 || j < i || page[i+7:j] != pageCSS {
		t.Fatal("the inline style is not byte-identical to notice.css, so its CSP hash would not match")
	}
}

// germanSite is the demo site plus German, with every text given in its
// strings section; drop removes one key, extra adds one.
func germanSite(t *testing.T, edit func(s *site.Site)) (*site.Site, error) {
	t.Helper()
	s := demoSite(t)
	s.Languages = append(s.Languages, "de")
	de := map[string]string{}
	for k, v := range labels["en"] {
		de["notice."+k] = "DE " + v
		if strings.HasPrefix(k, "unit.") {
			de["notice."+k] = "DEone|DEmany"
		}
	}
	en, _ := ui("en")
	for k, v := range en {
		de["widget."+k] = "DE " + v
	}
	s.Strings = map[string]map[string]string{"de": de}
	// Every translated text needs German now: copy English.
	var addDE func(v reflect.Value)
	addDE = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Ptr:
			if !v.IsNil() {
				addDE(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					addDE(v.Field(i))
				}
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				addDE(v.Index(i))
			}
		case reflect.Map:
			if t, ok := v.Interface().(i18n.Text); ok && len(t) > 0 {
				t["de"] = "DE " + t["en"]
				return
			}
			for _, k := range v.MapKeys() {
				e := reflect.New(v.Type().Elem()).Elem()
				e.Set(v.MapIndex(k))
				addDE(e)
				v.SetMapIndex(k, e)
			}
		}
	}
	addDE(reflect.ValueOf(&s.Categories).Elem())
	addDE(reflect.ValueOf(&s.Notice).Elem())
	if s.Notice.Rights == nil {
		s.Notice.Rights = map[string]noticecfg.Right{}
	}
	for _, id := range noticecfg.Rights {
		r := s.Notice.Rights[id]
		if len(r.Text) == 0 {
			r.Text = i18n.Text{}
			for _, l := range []string{"fi", "sv", "en"} {
				r.Text[l] = noticecfg.DefaultRightText(id)[l]
			}
		}
		r.Text["de"] = "DE right " + id
		s.Notice.Rights[id] = r
	}
	if edit != nil {
		edit(s)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("the German test site must be valid: %v", err)
	}
	_, err := Build(s, ui)
	return s, err
}

func TestMoreLanguagesByConfig(t *testing.T) {
	s, err := germanSite(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	set := build(t, s)
	de := set.Docs["de"]
	page := string(de.Page)
	for _, want := range []string{`<html lang="de">`, "DE " + labels["en"]["controller"], "DE right access", "2026-11-01",
		">13 DEmany</td>", "Office of the Data Protection Ombudsman", `lang="de"`, ">DE English<"} {
		if !strings.Contains(page, want) {
			t.Errorf("de page lacks %q", want)
		}
	}
	var snap Snapshot
	if err := json.Unmarshal(de.Snapshot, &snap); err != nil || snap.UI["acceptAll"] != "DE A" {
		t.Errorf("de snapshot UI %v", snap.UI)
	}

	tests := []struct {
		name, field string
		edit        func(s *site.Site)
	}{
		{"a missing notice text", "strings.de: 1 texts missing", func(s *site.Site) { delete(s.Strings["de"], "notice.toc") }},
		{"a missing widget text", "widget.acceptAll", func(s *site.Site) { delete(s.Strings["de"], "widget.acceptAll") }},
		{"an unknown key", "strings.de.notice.nope: unknown text key", func(s *site.Site) { s.Strings["de"]["notice.nope"] = "x" }},
		{"an unknown key in a built-in language", "strings.en.widget.nope: unknown text key", func(s *site.Site) {
			s.Strings["en"] = map[string]string{"widget.nope": "x"}
		}},
		{"no text for a right", "notice.rights.erasure.text.de: no built-in text", func(s *site.Site) {
			r := s.Notice.Rights["erasure"]
			delete(r.Text, "de")
			r.Text = nil
			s.Notice.Rights["erasure"] = r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := germanSite(t, tt.edit)
			if err == nil || !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), "demo.yaml: ") {
				t.Fatalf("got %v, want an error with %q", err, tt.field)
			}
		})
	}
}

func TestStringsOverrideBuiltinTexts(t *testing.T) {
	base := build(t, demoSite(t))
	s := demoSite(t)
	s.Strings = map[string]map[string]string{"en": {"widget.title": "Our cookies", "notice.title": "Data protection"}}
	set := build(t, s)
	var snap Snapshot
	_ = json.Unmarshal(set.Docs["en"].Snapshot, &snap)
	if snap.UI["title"] != "Our cookies" || !strings.Contains(string(set.Docs["en"].Page), "<h1>Data protection</h1>") {
		t.Errorf("override not applied: ui %v", snap.UI["title"])
	}
	if set.Docs["en"].Version == base.Docs["en"].Version || set.Docs["fi"].Version != base.Docs["fi"].Version {
		t.Error("an English override must change the en version only")
	}
}
