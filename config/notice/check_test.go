package notice_test

import (
	"strings"
	"testing"

	"github.com/consentd/consentd/config/i18n"
	"github.com/consentd/consentd/config/notice"
	"github.com/consentd/consentd/config/site"
)

// completeNotice returns the parsed completeNoticeSite: a valid site
// whose notice lacks nothing.
func completeNotice(t *testing.T) *site.Site {
	t.Helper()
	s, err := site.Parse("x/demo.yaml", []byte(completeNoticeSite))
	if err != nil {
		t.Fatalf("complete notice site: %v", err)
	}
	return s
}

func boolPtr(b bool) *bool { return &b }

func TestCompleteNoticeHasNoWarnings(t *testing.T) {
	if ws := completeNotice(t).CheckNotice(); len(ws) != 0 {
		t.Fatalf("want no warnings, got %v", ws)
	}
}

func TestCheckNotice(t *testing.T) {
	tests := []struct {
		name    string
		change  func(n *notice.Notice) // removes or breaks exactly one thing
		field   string
		article string
	}{
		{"no controllers", func(n *notice.Notice) { n.Controllers = nil }, "notice.controllers", "13(1)(a)"},
		{"controller without contact details", func(n *notice.Notice) {
			c := &n.Controllers[0]
			c.Email, c.Phone, c.Address = "", "", ""
		}, "notice.controllers[0]", "13(1)(a)"},
		{"no contacts", func(n *notice.Notice) { n.Contacts = nil }, "notice.contacts", "13(1)(b)"},
		{"no purposes", func(n *notice.Notice) { n.Purposes = nil }, "notice.purposes", "13(1)(c)"},
		{"legitimate interest not described", func(n *notice.Notice) { n.Purposes[1].LegitimateInterest = nil }, "notice.purposes[1].legitimateInterest", "13(1)(d)"},
		{"no recipients", func(n *notice.Notice) { n.Recipients = notice.Recipients{} }, "notice.recipients", "13(1)(e)"},
		{"transfers not stated", func(n *notice.Notice) { n.Transfers = nil }, "notice.transfers", "13(1)(f)"},
		{"transfers without countries", func(n *notice.Notice) { n.Transfers.Countries = nil }, "notice.transfers.countries", "13(1)(f)"},
		{"transfers without safeguards", func(n *notice.Notice) { n.Transfers.Safeguards = nil }, "notice.transfers.safeguards", "13(1)(f)"},
		{"no retention", func(n *notice.Notice) { n.Retention = nil }, "notice.retention", "13(2)(a)"},
		{"right not applying without reason", func(n *notice.Notice) {
			n.Rights[notice.RightPortability] = notice.Right{Applies: boolPtr(false)}
		}, "notice.rights.portability.text", "13(2)(b)"},
		{"consent cannot be withdrawn", func(n *notice.Notice) {
			n.Rights[notice.RightWithdrawConsent] = notice.Right{Applies: boolPtr(false)}
		}, "notice.rights.withdraw-consent", "13(2)(c)"},
		{"no complaint authority", func(n *notice.Notice) {
			n.ComplaintAuthority, n.Country = nil, "DE" // no built-in authority for DE
		}, "notice.complaintAuthority", "13(2)(d)"},
		{"complaint right not applying", func(n *notice.Notice) {
			n.Rights[notice.RightComplaint] = notice.Right{Applies: boolPtr(false), Text: i18n.Text{"fi": "Ei.", "sv": "Nej.", "en": "No."}}
		}, "notice.rights.complaint", "13(2)(d)"},
		{"no requirement", func(n *notice.Notice) { n.Requirement = nil }, "notice.requirement", "13(2)(e)"},
		{"automated decisions not stated", func(n *notice.Notice) { n.AutomatedDecisions = nil }, "notice.automatedDecisions", "13(2)(f)"},
		{"automated decisions not described", func(n *notice.Notice) {
			n.AutomatedDecisions = &notice.AutomatedDecisions{Used: boolPtr(true)}
		}, "notice.automatedDecisions.description", "13(2)(f)"},
		{"no data categories", func(n *notice.Notice) { n.DataCategories = nil }, "notice.dataCategories", "14(1)(d)"},
		{"no sources", func(n *notice.Notice) { n.Sources = nil }, "notice.sources", "14(2)(f)"},
		{"no register name", func(n *notice.Notice) { n.RegisterName = nil }, "notice.registerName", "practice"},
		{"no updated or validFrom date", func(n *notice.Notice) { n.Updated, n.ValidFrom = "", "" }, "notice.updated", "practice"},
		{"purpose without legal basis", func(n *notice.Notice) { n.Purposes[2].LegalBasis = nil }, "notice.purposes[2].legalBasis", "13(1)(c)"},
		{"retention row without period", func(n *notice.Notice) { n.Retention[0].Period = nil }, "notice.retention[0].period", "13(2)(a)"},
		{"data protection officer without contact details", func(n *notice.Notice) {
			c := &n.Contacts[1]
			c.Email, c.Address = "", ""
			c.Role = i18n.Text{"fi": "Kaupungin tietosuojavastaava", "sv": "Stadens dataskyddsombud", "en": "The city's DPO"}
		}, "notice.contacts[1]", "13(1)(b)"},
		{"no security", func(n *notice.Notice) { n.Security = nil }, "notice.security", "practice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := completeNotice(t)
			tt.change(&s.Notice)
			if err := s.Validate(); err != nil {
				t.Fatalf("test setup: the changed site must stay valid: %v", err)
			}
			ws := s.CheckNotice()
			if len(ws) != 1 || ws[0].Field != tt.field || ws[0].Article != tt.article {
				t.Fatalf("want exactly one warning on %s (Art. %s), got %d:\n%v", tt.field, tt.article, len(ws), ws)
			}
			if ws[0].Msg == "" {
				t.Fatal("warning without a message")
			}
		})
	}
}

// A site without a notice gets every warning, each once, in article
// order; with English as default language no country (and so no
// complaint authority) is assumed.
func TestCheckEmptyNotice(t *testing.T) {
	s, err := site.Parse("x/demo.yaml", []byte(strings.Replace(noticelessSite, "[fi, sv, en]", "[en, fi, sv]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range s.CheckNotice() {
		got = append(got, w.Field+" "+w.Article)
	}
	want := []string{
		"notice.controllers 13(1)(a)",
		"notice.contacts 13(1)(b)",
		"notice.purposes 13(1)(c)",
		"notice.recipients 13(1)(e)",
		"notice.transfers 13(1)(f)",
		"notice.retention 13(2)(a)",
		"notice.complaintAuthority 13(2)(d)",
		"notice.requirement 13(2)(e)",
		"notice.automatedDecisions 13(2)(f)",
		"notice.dataCategories 14(1)(d)",
		"notice.sources 14(2)(f)",
		"notice.registerName practice",
		"notice.updated practice",
		"notice.security practice",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNoticeWarningString(t *testing.T) {
	tests := []struct {
		w    notice.Warning
		want string
	}{
		{notice.Warning{"notice.retention", "13(2)(a)", "no retention period: add notice.retention rows (data → period, or the criteria used to set it)"},
			"notice.retention: Art. 13(2)(a): no retention period: add notice.retention rows (data → period, or the criteria used to set it)"},
		{notice.Warning{"notice.security", "practice", "no security measures"}, "notice.security: good practice: no security measures"},
	}
	for _, tt := range tests {
		if got := tt.w.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// The retention warning is the example of docs and the CLI; keep its
// wording stable.
func TestCheckNoticeRetentionMessage(t *testing.T) {
	s := completeNotice(t)
	s.Notice.Retention = nil
	ws := s.CheckNotice()
	want := "notice.retention: Art. 13(2)(a): no retention period: add notice.retention rows (data → period, or the criteria used to set it)"
	if len(ws) != 1 || ws[0].String() != want {
		t.Fatalf("got %v, want %q", ws, want)
	}
}

// Each of these says a required thing in another way the model has:
// no warning.
func TestCheckNoticeAlternatives(t *testing.T) {
	text := i18n.Text{"fi": "Teksti.", "sv": "Text.", "en": "Text."}
	tests := []struct {
		name   string
		change func(n *notice.Notice)
	}{
		{"validFrom dates the notice", func(n *notice.Notice) { n.Updated = "" }},
		{"sources as a note", func(n *notice.Notice) { n.Sources, n.SourcesNote = nil, text }},
		{"retention as a note of criteria", func(n *notice.Notice) { n.Retention, n.RetentionNote = nil, text }},
		{"retention per purpose", func(n *notice.Notice) { n.Retention, n.Purposes[0].Retention = nil, text }},
		{"data per purpose", func(n *notice.Notice) { n.DataCategories, n.Purposes[0].Data = nil, text }},
		{"recipients in groups", func(n *notice.Notice) {
			n.Recipients.Groups = []notice.RecipientGroup{{Title: text, Items: n.Recipients.Items}}
			n.Recipients.Items = nil
		}},
		{"categories of recipients described", func(n *notice.Notice) { n.Recipients.Items = nil }},
		{"a contact who is only a role", func(n *notice.Notice) {
			n.Contacts[0] = notice.Contact{Role: text}
		}},
		{"a controller who is only a role, with contact details", func(n *notice.Notice) {
			n.Controllers[0].Name = ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := completeNotice(t)
			tt.change(&s.Notice)
			if err := s.Validate(); err != nil {
				t.Fatalf("the changed site must stay valid: %v", err)
			}
			if ws := s.CheckNotice(); len(ws) != 0 {
				t.Fatalf("want no warnings, got %v", ws)
			}
		})
	}
}
