// Package notice is the privacy notice model (GDPR Art. 13): the `notice:`
// part of a site file (this file), its validation (hard errors,
// validate.go), its completeness check (warnings, one per Art. 13 item,
// check.go) and the built-in defaults (rights texts, complaint
// authorities, defaults.go). It knows nothing of the rest of the site
// file: what it needs of the site (its languages, the controller's
// country) is passed in. server/notice renders it; docs/notice.md is the
// reference for site owners.
package notice

import (
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/consentd/consentd/config/i18n"
)

// Notice is a site's privacy notice (tietosuojaseloste). Every field is
// optional to the parser; what GDPR Art. 13 requires and the notice lacks
// is reported by Check as warnings.
//
// Long texts (RichText) are plain text: a blank line starts a new
// paragraph and lines starting with "- " form a bulleted list. No HTML or
// Markdown is interpreted; everything is escaped when rendered.
type Notice struct {
	// Title overrides the title of the page and of the widget's notice
	// view (default: "Privacy notice" in each language).
	Title i18n.Text `yaml:"title" json:"title,omitempty"`
	// RegisterName is the name of the processing, e.g. "Oppimo learning
	// environment user register" (rekisterin nimi).
	RegisterName i18n.Text `yaml:"registerName" json:"registerName,omitempty"`
	// Intro is an optional lead text shown before the first section.
	Intro i18n.Text `yaml:"intro" json:"intro,omitempty"`
	// Country is the ISO 3166-1 alpha-2 code of the country where the
	// controller is established (e.g. FI). It selects the default
	// complaint authority (built in: FI, SE). Default: FI when the site's
	// default language is fi.
	Country string `yaml:"country" json:"country,omitempty"`
	// NumberedHeadings numbers the section headings ("2. Contact
	// person"), as the notices a site file replaces often do, so that a
	// text saying "see section 2" reads right. Default: on when the
	// site's default language is fi, else off.
	NumberedHeadings *bool `yaml:"numberedHeadings" json:"numberedHeadings,omitempty"`

	// Created, Updated and ValidFrom are dates (YYYY-MM-DD): when the
	// notice was first written, last changed, and from when it applies.
	Created   string `yaml:"created" json:"created,omitempty"`
	Updated   string `yaml:"updated" json:"updated,omitempty"`
	ValidFrom string `yaml:"validFrom" json:"validFrom,omitempty"`

	// Controllers are the controller(s) (rekisterinpitäjä); joint
	// controllers are listed together. Art. 13(1)(a).
	Controllers []Party `yaml:"controllers" json:"controllers,omitempty"`
	// Processors are processors named with their contact details, e.g.
	// the SaaS vendor when a school is the controller.
	Processors []Party `yaml:"processors" json:"processors,omitempty"`
	// Contacts are the contact person(s) for the register and the data
	// protection officer (set dpo: true). Art. 13(1)(b).
	Contacts []Contact `yaml:"contacts" json:"contacts,omitempty"`

	// Purposes of the processing, each with its legal basis.
	// Art. 13(1)(c), (d).
	Purposes []Purpose `yaml:"purposes" json:"purposes,omitempty"`
	// LegalBasisNote is an optional text after the purposes, e.g. the
	// laws that the processing is based on.
	LegalBasisNote i18n.Text `yaml:"legalBasisNote" json:"legalBasisNote,omitempty"`

	// DataCategories are the kinds of personal data processed (tietosisältö),
	// optionally grouped per role (pupil, teacher, guardian).
	DataCategories []DataGroup `yaml:"dataCategories" json:"dataCategories,omitempty"`
	// Sources are where the data comes from (säännönmukaiset tietolähteet).
	// Art. 14(2)(f) when data is not collected from the person.
	Sources []i18n.Text `yaml:"sources" json:"sources,omitempty"`
	// SourcesNote is an optional text after the sources (or instead of
	// a list of them).
	SourcesNote i18n.Text `yaml:"sourcesNote" json:"sourcesNote,omitempty"`
	// Requirement says whether providing the data is a statutory or
	// contractual requirement and what happens if it is not provided.
	// Art. 13(2)(e).
	Requirement i18n.Text `yaml:"requirement" json:"requirement,omitempty"`

	// Recipients are the recipients and processors of the data.
	// Art. 13(1)(e).
	Recipients Recipients `yaml:"recipients" json:"recipients,omitempty"`
	// Transfers describes transfers outside the EU/EEA. Art. 13(1)(f).
	Transfers *Transfers `yaml:"transfers" json:"transfers,omitempty"`
	// Retention is a table: data → how long it is kept. Art. 13(2)(a).
	Retention []RetentionRule `yaml:"retention" json:"retention,omitempty"`
	// RetentionNote is an optional text after the retention table, e.g.
	// the criteria used to set the periods.
	RetentionNote i18n.Text `yaml:"retentionNote" json:"retentionNote,omitempty"`
	// Security describes technical and organisational measures.
	Security i18n.Text `yaml:"security" json:"security,omitempty"`
	// Rights overrides the built-in texts of the data subject's rights,
	// keyed by right (access, rectification, erasure, restriction,
	// portability, objection, withdraw-consent, automated, complaint).
	// Art. 13(2)(b), (c), (d).
	Rights map[string]Right `yaml:"rights" json:"rights,omitempty"`
	// CustomRights are further rights with their own title and text,
	// shown after the standard ones in the order given.
	CustomRights []CustomRight `yaml:"customRights" json:"customRights,omitempty"`
	// RightsNote says how to use the rights: where to send a request,
	// how the requester is identified, when an answer comes. It replaces
	// the built-in "contact the contact person above".
	RightsNote i18n.Text `yaml:"rightsNote" json:"rightsNote,omitempty"`
	// ComplaintAuthority is the supervisory authority. Default: the one
	// of Country (FI: the Data Protection Ombudsman). Art. 13(2)(d).
	ComplaintAuthority *Authority `yaml:"complaintAuthority" json:"complaintAuthority,omitempty"`
	// AutomatedDecisions says whether automated decision-making or
	// profiling takes place. Art. 13(2)(f).
	AutomatedDecisions *AutomatedDecisions `yaml:"automatedDecisions" json:"automatedDecisions,omitempty"`
	// Sections are extra free sections, shown after the standard ones
	// or after the section named by their After.
	Sections []Section `yaml:"sections" json:"sections,omitempty"`
}

// Party is a controller or processor: an organisation with its contact
// details.
type Party struct {
	// Name is required unless Role says who the party is (e.g. "the
	// controller is usually your school").
	Name string `yaml:"name" json:"name,omitempty"`
	// BusinessID is the company or organisation ID (in Finland the
	// Y-tunnus, e.g. 1234567-1; its check digit is verified). It is
	// labelled "Y-tunnus" only when it has that shape.
	BusinessID string `yaml:"businessId" json:"businessId,omitempty"`
	// BusinessIDLabel overrides the label of BusinessID, e.g.
	// "Registrikood" for an Estonian registry code.
	BusinessIDLabel i18n.Text `yaml:"businessIdLabel" json:"businessIdLabel,omitempty"`
	// Address is the postal address; lines separated by newlines.
	Address string `yaml:"address" json:"address,omitempty"`
	Phone   string `yaml:"phone" json:"phone,omitempty"`
	Email   string `yaml:"email" json:"email,omitempty"`
	URL     string `yaml:"url" json:"url,omitempty"`
	// Role optionally describes the party's part, e.g. "provides the
	// learning environment as a service".
	Role i18n.Text `yaml:"role" json:"role,omitempty"`
}

// Contact is a contact person for the register or the data protection
// officer. A contact may be only a role ("the school's principal"); then
// Check warns that it has no contact details.
type Contact struct {
	Name string `yaml:"name" json:"name,omitempty"`
	// Role is e.g. "rehtori" / "principal".
	Role i18n.Text `yaml:"role" json:"role,omitempty"`
	// DPO marks the data protection officer (tietosuojavastaava).
	DPO     bool   `yaml:"dpo" json:"dpo,omitempty"`
	Address string `yaml:"address" json:"address,omitempty"`
	Phone   string `yaml:"phone" json:"phone,omitempty"`
	Email   string `yaml:"email" json:"email,omitempty"`
}

// Legal bases of GDPR Art. 6(1), as written in site files.
const (
	BasisConsent            = "consent"             // Art. 6(1)(a)
	BasisContract           = "contract"            // Art. 6(1)(b)
	BasisLegalObligation    = "legal-obligation"    // Art. 6(1)(c)
	BasisVitalInterest      = "vital-interest"      // Art. 6(1)(d)
	BasisPublicTask         = "public-task"         // Art. 6(1)(e)
	BasisLegitimateInterest = "legitimate-interest" // Art. 6(1)(f)
)

// LegalBases lists the legal bases in the order of Art. 6(1).
var LegalBases = []string{BasisConsent, BasisContract, BasisLegalObligation,
	BasisVitalInterest, BasisPublicTask, BasisLegitimateInterest}

// Purpose is one purpose of the processing and its legal basis.
type Purpose struct {
	// Activity optionally names the processing activity the purpose
	// belongs to, e.g. "Booking an appointment"; a column of its own.
	Activity i18n.Text `yaml:"activity" json:"activity,omitempty"`
	Purpose  i18n.Text `yaml:"purpose" json:"purpose"`
	// Data optionally says which personal data the activity uses; a
	// column of the purposes table.
	Data i18n.Text `yaml:"data" json:"data,omitempty"`
	// LegalBasis is one or more of LegalBases. Missing, the page shows
	// no basis and Check warns (Art. 13(1)(c)).
	LegalBasis []string `yaml:"legalBasis" json:"legalBasis,omitempty"`
	// Retention optionally says how long this activity's data is kept;
	// such purposes form a table of their own in the retention section.
	Retention i18n.Text `yaml:"retention" json:"retention,omitempty"`
	// LegitimateInterest describes the interest pursued; required when
	// LegalBasis includes legitimate-interest (Art. 13(1)(d)).
	LegitimateInterest i18n.Text `yaml:"legitimateInterest" json:"legitimateInterest,omitempty"`
	// Details is optional, e.g. the law a legal obligation comes from.
	Details i18n.Text `yaml:"details" json:"details,omitempty"`
}

// DataGroup is a list of personal data kinds, optionally for one role
// (e.g. "Pupils").
type DataGroup struct {
	Role i18n.Text `yaml:"role" json:"role,omitempty"`
	// Intro is an optional text before the items (or instead of them).
	Intro i18n.Text   `yaml:"intro" json:"intro,omitempty"`
	Items []i18n.Text `yaml:"items" json:"items,omitempty"`
}

// Recipients lists who receives the data, as a list or a table.
type Recipients struct {
	// Layout is "list" (numbered list: name, purpose, web address) or
	// "table" (columns name, purpose, data, legal basis, country).
	// Default: list.
	Layout string `yaml:"layout" json:"layout,omitempty"`
	// Intro is an optional text before the list, e.g. "Data is not
	// disclosed outside the school except ...".
	Intro i18n.Text   `yaml:"intro" json:"intro,omitempty"`
	Items []Recipient `yaml:"items" json:"items,omitempty"`
	// Groups are recipients grouped under headings of their own (e.g.
	// "Authorities", "Processors"), after Items.
	Groups []RecipientGroup `yaml:"groups" json:"groups,omitempty"`
	// None states explicitly that data is not disclosed to anyone.
	None bool `yaml:"none" json:"none,omitempty"`
}

// RecipientGroup is a titled group of recipients with an optional intro.
type RecipientGroup struct {
	Title i18n.Text   `yaml:"title" json:"title"`
	Intro i18n.Text   `yaml:"intro" json:"intro,omitempty"`
	Items []Recipient `yaml:"items" json:"items,omitempty"`
}

// Recipient kinds.
const (
	RecipientProcessor = "processor"
	RecipientRecipient = "recipient"
	RecipientControl   = "controller" // an independent controller the data is disclosed to
)

// Recipient is one recipient or processor.
type Recipient struct {
	Name string `yaml:"name" json:"name"`
	// Kind is processor, recipient or controller; left out, no kind is
	// shown.
	Kind    string    `yaml:"kind" json:"kind,omitempty"`
	Purpose i18n.Text `yaml:"purpose" json:"purpose,omitempty"`
	// Data optionally says which data the recipient gets.
	Data       i18n.Text `yaml:"data" json:"data,omitempty"`
	LegalBasis []string  `yaml:"legalBasis" json:"legalBasis,omitempty"`
	// Country is where the recipient processes the data (ISO alpha-2).
	Country string `yaml:"country" json:"country,omitempty"`
	// Address is the recipient's postal address, lines separated by
	// newlines (filled from the service catalogue for its providers).
	Address string `yaml:"address" json:"address,omitempty"`
	URL     string `yaml:"url" json:"url,omitempty"`
}

// Transfer safeguards (Art. 45–49), as written in site files.
const (
	SafeguardAdequacy   = "adequacy"   // Art. 45 adequacy decision
	SafeguardDPF        = "dpf"        // EU-US Data Privacy Framework (an adequacy decision)
	SafeguardSCC        = "scc"        // Art. 46(2)(c) standard contractual clauses
	SafeguardBCR        = "bcr"        // Art. 47 binding corporate rules
	SafeguardDerogation = "derogation" // Art. 49 derogation, e.g. explicit consent
)

// Safeguards lists the transfer safeguards a site file may name.
var Safeguards = []string{SafeguardAdequacy, SafeguardDPF, SafeguardSCC, SafeguardBCR, SafeguardDerogation}

// Safeguard is one transfer safeguard: a key of Safeguards, written as
// a plain string in the site file, or the controller's own text, written
// as a translated text (e.g. for an old notice naming the Privacy
// Shield).
type Safeguard struct {
	Key  string
	Text i18n.Text
}

// UnmarshalYAML reads a key (scalar) or a translated text (mapping).
func (s *Safeguard) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Decode(&s.Key)
	case yaml.MappingNode:
		return n.Decode(&s.Text)
	}
	return fmt.Errorf("notice.transfers.safeguards: line %d: expected a safeguard (%v) or a text per language ({fi: ..., en: ...})", n.Line, Safeguards)
}

// MarshalJSON writes the key, or the text when there is no key.
func (s Safeguard) MarshalJSON() ([]byte, error) {
	if s.Key != "" || len(s.Text) == 0 {
		return json.Marshal(s.Key)
	}
	return json.Marshal(s.Text)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Safeguard) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &s.Key)
	}
	return json.Unmarshal(b, &s.Text)
}

// Transfers describes transfers outside the EU/EEA.
type Transfers struct {
	// OutsideEEA must be set explicitly: true or false.
	OutsideEEA *bool `yaml:"outsideEEA" json:"outsideEEA"`
	// Countries are ISO 3166-1 alpha-2 codes outside the EU/EEA.
	Countries []string `yaml:"countries" json:"countries,omitempty"`
	// Safeguards are keys of Safeguards or the controller's own texts.
	Safeguards []Safeguard `yaml:"safeguards" json:"safeguards,omitempty"`
	// Description adds detail, e.g. where a copy of the clauses is
	// available. With OutsideEEA false it replaces the built-in "data is
	// not transferred" sentence (e.g. "not regularly transferred ...").
	Description i18n.Text `yaml:"description" json:"description,omitempty"`
}

// RetentionRule is one row of the retention table.
type RetentionRule struct {
	Data i18n.Text `yaml:"data" json:"data"`
	// Period is how long, or the criteria; missing, Check warns.
	Period i18n.Text `yaml:"period" json:"period,omitempty"`
}

// Data subject rights, as keys of Notice.Rights.
const (
	RightAccess          = "access"           // Art. 15
	RightRectification   = "rectification"    // Art. 16
	RightErasure         = "erasure"          // Art. 17
	RightRestriction     = "restriction"      // Art. 18
	RightPortability     = "portability"      // Art. 20
	RightObjection       = "objection"        // Art. 21
	RightWithdrawConsent = "withdraw-consent" // Art. 7(3), 13(2)(c)
	RightAutomated       = "automated"        // Art. 22
	RightComplaint       = "complaint"        // Art. 77, 13(2)(d)
	// RightDirectMarketing is the right to object to direct marketing
	// (Art. 21(2), suoramarkkinointikielto). Not one of Rights: it is
	// shown only when the notice's rights name it.
	RightDirectMarketing = "direct-marketing"
)

// Rights lists the standard rights in the order they are shown.
var Rights = []string{RightAccess, RightRectification, RightErasure, RightRestriction,
	RightPortability, RightObjection, RightWithdrawConsent, RightAutomated, RightComplaint}

// RightKeys are the keys a notice's rights may have: the standard Rights
// and RightDirectMarketing, in the order they are shown.
var RightKeys = []string{RightAccess, RightRectification, RightErasure, RightRestriction,
	RightPortability, RightObjection, RightDirectMarketing, RightWithdrawConsent, RightAutomated, RightComplaint}

// CustomRight is a right beyond the built-in ones, with its own title and
// text.
type CustomRight struct {
	Title i18n.Text `yaml:"title" json:"title"`
	Text  i18n.Text `yaml:"text" json:"text"`
}

// Right overrides one right's built-in text or marks it as not applying
// (e.g. portability when the basis is a public task); then Text should
// say why.
type Right struct {
	// Applies defaults to true.
	Applies *bool     `yaml:"applies" json:"applies,omitempty"`
	Text    i18n.Text `yaml:"text" json:"text,omitempty"`
}

// Authority is a supervisory authority.
type Authority struct {
	Name    i18n.Text `yaml:"name" json:"name"`
	Address string    `yaml:"address" json:"address,omitempty"`
	Phone   string    `yaml:"phone" json:"phone,omitempty"`
	Email   string    `yaml:"email" json:"email,omitempty"`
	URL     string    `yaml:"url" json:"url,omitempty"`
}

// AutomatedDecisions says whether automated decisions or profiling
// (Art. 22) take place.
type AutomatedDecisions struct {
	// Used must be set explicitly: true or false.
	Used *bool `yaml:"used" json:"used"`
	// Description is required when Used: the logic involved, the
	// significance and the envisaged consequences.
	Description i18n.Text `yaml:"description" json:"description,omitempty"`
}

// Section is an extra free section.
type Section struct {
	Title i18n.Text `yaml:"title" json:"title"`
	Body  i18n.Text `yaml:"body" json:"body"`
	// After is the id of the section this one follows (one of
	// SectionIDs, e.g. "retention"); default: after the standard ones.
	After string `yaml:"after" json:"after,omitempty"`
}

// SectionIDs are the standard sections of a notice, in the order they
// are shown; a section with nothing to say is left out.
var SectionIDs = []string{"controller", "contact", "register", "purposes", "data", "sources", "requirement",
	"recipients", "transfers", "cookies", "retention", "security", "rights", "complaint", "automated", "about"}
