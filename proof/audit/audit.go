// Package audit verifies an export of consentd's consent log offline
// (`consentd verify`, docs/proof.md): every record's hash, every link of
// each site's hash chain, seq continuity, every receipt and its batch
// signature, the signed checkpoints, and that each cited notice version
// has its snapshot. Scan records (package evidence) are checked like
// decisions, and a scan's report.json against its record
// (Summary.CheckReport). It stops at the first problem and names it: line,
// record ID, seq and what is wrong.
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/proof/evidence"
)

// Kinds of problems.
const (
	Malformed  = "malformed"   // a line is not a record
	Edited     = "edited"      // a record's content does not hash to its hash
	Link       = "broken link" // prev is not the hash of the previous record
	Deleted    = "deleted"     // records are missing from the chain
	Reordered  = "reordered"   // records are out of order
	Receipt    = "receipt"     // a receipt does not belong to its record
	Signature  = "bad signature"
	UnknownKey = "unknown key"
	Truncated  = "truncated"  // a checkpoint proves records after the last one exported
	Checkpoint = "checkpoint" // a checkpoint does not match the records
	Notice     = "notice"     // a notice snapshot is missing or does not match its version
	// Unverified: the exporting server found a stream entry that is not
	// part of the signed chain (a "not_verified" line).
	Unverified = "not in the signed chain"
	// OtherSite: a bundle of one site holds a record of another.
	OtherSite = "other site"
	// Report: a report.json is not the one a scan record summarises.
	Report = "report"
)

// recordFormat is the stored record format the verifier reads: every
// record of it is chained and covered by a signed batch.
const recordFormat = 2

// Problem is the first thing found wrong.
type Problem struct {
	Kind     string
	Line     int    // 1-based line of records.ndjson; 0: not about one line
	RecordID string // "" when unknown
	Seq      int64
	Site     string
	Msg      string
}

// Error formats the problem for people: where first, then what.
func (p *Problem) Error() string {
	var where []string
	if p.Line > 0 {
		where = append(where, fmt.Sprintf("line %d", p.Line))
	}
	if p.RecordID != "" {
		where = append(where, "record "+p.RecordID)
	}
	if p.Seq > 0 {
		where = append(where, fmt.Sprintf("seq %d", p.Seq))
	}
	if p.Site != "" && p.Line == 0 {
		where = append(where, "site "+p.Site)
	}
	if len(where) == 0 {
		return p.Kind + ": " + p.Msg
	}
	return strings.Join(where, ", ") + ": " + p.Kind + ": " + p.Msg
}

// Options are what the records are checked against.
type Options struct {
	Keys proof.KeySet
	// Site, when set, is the one site the export is of (a proof bundle's):
	// a record of another site in it is a problem, not another chain.
	Site string
	// Checkpoints: signed checkpoints of the sites exported (any order).
	Checkpoints []proof.Checkpoint
	// Notices maps notice version → snapshot bytes; nil: not checked
	// (a plain NDJSON file without --notices).
	Notices map[string][]byte
}

// SiteSummary describes one site's chain in the export.
type SiteSummary struct {
	Records  int // decisions and scan records
	Scans    int // scan records
	FirstSeq int64
	LastSeq  int64
	Head     string
	Anchor   string // how the chain's start is proven: "genesis" or "cut checkpoint at seq N"
	// Checkpointed is the seq of the newest checkpoint given for the site
	// (0: none). The records after it (LastSeq − Checkpointed) are the
	// window in which records removed at the end would not be noticed.
	Checkpointed int64
}

// Unprotected is how many records lie after the newest checkpoint.
func (x *SiteSummary) Unprotected() int64 { return x.LastSeq - x.Checkpointed }

// ScanRecord is a scan record found in the export, verified like every
// record (docs/proof.md, "Scan records").
type ScanRecord struct {
	Line     int
	Site     string
	RecordID string
	Seq      int64
	Time     string // when it was recorded
	Scan     evidence.Scan
}

// Summary is what a successful verification found.
type Summary struct {
	Records     int // decisions and scan records
	Scans       []ScanRecord
	Sites       map[string]*SiteSummary
	Keys        map[string]int // kid → records whose receipt it signed
	Batches     int            // distinct signed batches
	Checkpoints int            // checkpoints verified
	Notices     int            // notice snapshots verified (-1: not checked)
}

// String is the summary `consentd verify` prints.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "OK: %d records", s.Records)
	if len(s.Scans) > 0 {
		fmt.Fprintf(&b, " (%d decisions, %d scan records)", s.Records-len(s.Scans), len(s.Scans))
	}
	fmt.Fprintf(&b, ", %d signed batches, %d checkpoints", s.Batches, s.Checkpoints)
	if s.Notices >= 0 {
		fmt.Fprintf(&b, ", %d notice snapshots", s.Notices)
	} else {
		b.WriteString(", notice snapshots not checked (no bundle or --notices)")
	}
	b.WriteByte('\n')
	sites := make([]string, 0, len(s.Sites))
	for id := range s.Sites {
		sites = append(sites, id)
	}
	sort.Strings(sites)
	for _, id := range sites {
		x := s.Sites[id]
		fmt.Fprintf(&b, "site %s: %d records, seq %d to %d, head %s, start proven by %s\n", id, x.Records, x.FirstSeq, x.LastSeq, x.Head, x.Anchor)
		for _, sr := range s.Scans {
			if sr.Site == id {
				sc := sr.Scan
				fmt.Fprintf(&b, "  scan record seq %d, recorded %s: %s, %d pages, %d violations, complete %t, report.json SHA-256 %s\n",
					sr.Seq, sr.Time, sc.URL, sc.Pages, sc.Violations, sc.Complete, sc.ReportSHA256)
			}
		}
		switch {
		case x.Checkpointed == 0:
			fmt.Fprintf(&b, "  no checkpoint given: records removed at the end of the chain would not be noticed (all %d records); verify with --checkpoints\n", x.Records)
		case x.Unprotected() > 0:
			fmt.Fprintf(&b, "  %d records after the newest checkpoint (seq %d): removing them would not be noticed\n", x.Unprotected(), x.Checkpointed)
		default:
			fmt.Fprintf(&b, "  the newest checkpoint covers the last record (seq %d)\n", x.Checkpointed)
		}
	}
	kids := make([]string, 0, len(s.Keys))
	for k := range s.Keys {
		kids = append(kids, k)
	}
	sort.Strings(kids)
	for _, k := range kids {
		fmt.Fprintf(&b, "key %s signed %d records\n", k, s.Keys[k])
	}
	return b.String()
}

// siteState follows one site's chain while reading.
type siteState struct {
	sum       *SiteSummary
	last      *record // the previous record
	chained   bool    // a record of the site has been read
	cps       map[int64][]*proof.Checkpoint
	firstLine int
}

type record struct {
	line    int
	kind    string         // "" for a decision, evidence.Kind for a scan record
	scan    *evidence.Scan // a scan record's summary
	fields  map[string]any
	hash    proof.Hash
	claimed string
	site    string
	id      string
	seq     int64
	prev    string
	v       int64
	cv      int64
	receipt json.RawMessage
	notice  string
}

// Verify reads an NDJSON export (one record per line, as
// GET /v1/sites/{site}/consents?format=ndjson writes it) and checks it.
// The error is a *Problem for anything wrong with the data.
func Verify(r io.Reader, o Options) (*Summary, error) {
	v := &verifier{o: o, sum: &Summary{Sites: map[string]*SiteSummary{}, Keys: map[string]int{}, Notices: -1},
		sites: map[string]*siteState{}, batches: map[string]bool{}}
	if err := v.checkpoints(); err != nil {
		return nil, err
	}
	if o.Notices != nil {
		if err := v.notices(); err != nil {
			return nil, err
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	next := func() (*record, error) {
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			return parse(line, b)
		}
		return nil, sc.Err()
	}
	cur, err := next()
	for cur != nil && err == nil {
		var ahead *record
		ahead, err = next()
		if err != nil {
			break
		}
		if err = v.record(cur, ahead); err != nil {
			return nil, err
		}
		cur = ahead
	}
	if err != nil {
		var p *Problem
		if errors.As(err, &p) {
			return nil, p
		}
		return nil, fmt.Errorf("read records: %w", err)
	}
	if err := v.finish(); err != nil {
		return nil, err
	}
	return v.sum, nil
}

type verifier struct {
	o         Options
	sum       *Summary
	sites     map[string]*siteState
	batches   map[string]bool // verified batch signatures
	cpsBySite map[string][]*proof.Checkpoint
}

func (v *verifier) checkpoints() error {
	v.cpsBySite = map[string][]*proof.Checkpoint{}
	for i := range v.o.Checkpoints {
		c := &v.o.Checkpoints[i]
		if err := c.Verify(v.o.Keys); err != nil {
			kind := Signature
			if errors.Is(err, proof.ErrUnknownKey) {
				kind = UnknownKey
			}
			return &Problem{Kind: kind, Site: c.Site, Seq: c.Seq, Msg: fmt.Sprintf("checkpoint %d (%s of %s): %v", i+1, c.Kind, c.Time, err)}
		}
		v.cpsBySite[c.Site] = append(v.cpsBySite[c.Site], c)
		v.sum.Checkpoints++
	}
	return nil
}

func (v *verifier) notices() error {
	for ver, snap := range v.o.Notices {
		if proof.Sum(snap).String() != ver {
			return &Problem{Kind: Notice, Msg: fmt.Sprintf("notices/%s.json: the snapshot's SHA-256 is %s, not its version: the snapshot was replaced or edited", ver, proof.Sum(snap))}
		}
	}
	v.sum.Notices = len(v.o.Notices)
	return nil
}

// unverifiedMember marks an export line that is a stream entry outside
// the signed chain (server/export.UnverifiedMember).
const unverifiedMember = "not_verified"

func parse(line int, b []byte) (*record, error) {
	h, claimed, fields, err := proof.RecordHash(b, "receipt", "stream_id")
	if err != nil {
		return nil, &Problem{Kind: Malformed, Line: line, Msg: err.Error()}
	}
	if why, ok := fields[unverifiedMember].(string); ok {
		id, _ := fields["stream_id"].(string)
		return nil, &Problem{Kind: Unverified, Line: line, Msg: fmt.Sprintf("the server exported stream entry %s as not part of the signed chain: %s", id, why)}
	}
	r := &record{line: line, fields: fields, hash: h, claimed: claimed}
	r.site, _ = fields["site"].(string)
	r.id, _ = fields["record_id"].(string)
	r.prev, _ = fields["prev"].(string)
	r.notice, _ = fields["notice_version"].(string)
	r.seq, _ = fields["seq"].(int64)
	r.v, _ = fields["v"].(int64)
	r.cv, _ = fields["cv"].(int64)
	if rc, ok := fields["receipt"]; ok {
		r.receipt, _ = json.Marshal(rc)
	}
	if r.site == "" || r.id == "" {
		return nil, &Problem{Kind: Malformed, Line: line, RecordID: r.id, Msg: "not a consent record (no site or record_id)"}
	}
	if k, ok := fields["kind"]; ok {
		if err := parseScan(r, k, b); err != nil {
			return nil, &Problem{Kind: Malformed, Line: line, RecordID: r.id, Msg: err.Error()}
		}
	}
	return r, nil
}

// scanMembers are the members of a scan record (and of its export line).
var scanMembers = map[string]bool{"cv": true, "hash": true, "kind": true, "prev": true, "record_id": true, "scan": true,
	"seq": true, "site": true, "time": true, "v": true, "receipt": true, "stream_id": true}

// parseScan reads the record line b of kind k: a scan record, whose
// summary must be of the format evidence knows, and which has none of a
// decision's members.
func parseScan(r *record, k any, b []byte) error {
	if k != evidence.Kind {
		return fmt.Errorf("a record of kind %v: this verifier knows decisions (no kind) and scan records (kind %q)", k, evidence.Kind)
	}
	for m := range r.fields {
		if !scanMembers[m] {
			return fmt.Errorf("a scan record with the member %q, which only decisions have", m)
		}
	}
	var doc struct {
		Scan json.RawMessage `json:"scan"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Scan) == 0 {
		return errors.New("a scan record without its summary (scan)")
	}
	var sc evidence.Scan
	dec := json.NewDecoder(bytes.NewReader(doc.Scan))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return fmt.Errorf("scan record: %w", err)
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	r.kind, r.scan = evidence.Kind, &sc
	return nil
}

func (v *verifier) problem(r *record, kind, format string, args ...any) *Problem {
	return &Problem{Kind: kind, Line: r.line, RecordID: r.id, Seq: r.seq, Site: r.site, Msg: fmt.Sprintf(format, args...)}
}

func (v *verifier) site(id string) *siteState {
	s := v.sites[id]
	if s == nil {
		s = &siteState{sum: &SiteSummary{}, cps: map[int64][]*proof.Checkpoint{}}
		for _, c := range v.cpsBySite[id] {
			s.cps[c.Seq] = append(s.cps[c.Seq], c)
		}
		v.sites[id] = s
		v.sum.Sites[id] = s.sum
	}
	return s
}

func (v *verifier) record(r, ahead *record) error {
	if v.o.Site != "" && r.site != v.o.Site {
		return v.problem(r, OtherSite, "a record of site %s in the export of site %s: it was moved from another site's log", r.site, v.o.Site)
	}
	s := v.site(r.site)
	v.sum.Records++
	s.sum.Records++
	if r.v != recordFormat || r.claimed == "" || r.seq < 1 {
		return v.problem(r, Malformed, "a record of format v=%d without hash or seq: not covered by a signed batch (this verifier reads format %d, whose records are all chained and signed)", r.v, recordFormat)
	}
	if v.o.Notices != nil {
		cited := []string{r.notice}
		if r.scan != nil {
			cited = slices.Sorted(maps.Values(r.scan.NoticeVersions))
		}
		for _, n := range cited {
			if _, ok := v.o.Notices[n]; !ok {
				return v.problem(r, Notice, "cites notice version %s, but there is no snapshot of it (notices/%s.json missing)", n, n)
			}
		}
	}
	if r.cv != proof.CanonVersion {
		return v.problem(r, Malformed, "canonical format cv=%d: this verifier knows cv=%d", r.cv, proof.CanonVersion)
	}
	if r.claimed == "" {
		return v.problem(r, Malformed, "a format-%d record without hash", r.v)
	}
	if r.hash.String() != r.claimed {
		if r.scan != nil {
			return v.problem(r, Edited, "the scan record's content does not hash to its hash (%s): its summary (a count, the report's SHA-256, …) or another field was changed after it was recorded", short(r.claimed))
		}
		return v.problem(r, Edited, "the content does not hash to the record's hash (%s): a field was changed after the record was stored", short(r.claimed))
	}
	if err := v.receipt(r); err != nil {
		return err
	}
	// Chain position.
	if !s.chained {
		s.chained = true
		s.sum.FirstSeq = r.seq
		switch {
		case r.seq == 1 && r.prev == proof.Genesis:
			s.sum.Anchor = "genesis"
		case r.seq == 1:
			return v.problem(r, Link, "the first record's prev is %s, not the genesis value (64 zeros)", short(r.prev))
		default:
			anchored := false
			for _, c := range s.cps[r.seq-1] {
				if c.Head == r.prev {
					anchored = true
				} else {
					return v.problem(r, Checkpoint, "checkpoint of %s says seq %d had hash %s, but this record's prev is %s", c.Time, c.Seq, short(c.Head), short(r.prev))
				}
			}
			if !anchored {
				return v.problem(r, Deleted, "the chain starts at seq %d: records 1 to %d are missing and no checkpoint anchors the start (a retention cut writes one)", r.seq, r.seq-1)
			}
			s.sum.Anchor = fmt.Sprintf("cut checkpoint at seq %d", r.seq-1)
		}
	} else {
		want := s.last.seq + 1
		switch {
		case r.seq == want:
			if r.prev != s.last.hash.String() {
				return v.problem(r, Link, "prev is %s, but the record before (line %d, seq %d) has hash %s: a record was replaced", short(r.prev), s.last.line, s.last.seq, short(s.last.hash.String()))
			}
		case r.seq > want && ahead != nil && ahead.site == r.site && ahead.seq >= want && ahead.seq < r.seq:
			return v.problem(r, Reordered, "seq %d comes before seq %d (line %d): records are out of order", r.seq, ahead.seq, ahead.line)
		case r.seq > want:
			missing := fmt.Sprintf("seq %d", want)
			if r.seq-want > 1 {
				missing = fmt.Sprintf("seq %d to %d", want, r.seq-1)
			}
			return v.problem(r, Deleted, "%s missing after seq %d (line %d): records were deleted", missing, s.last.seq, s.last.line)
		default:
			return v.problem(r, Reordered, "seq %d after seq %d (line %d): records are out of order or repeated", r.seq, s.last.seq, s.last.line)
		}
	}
	for _, c := range s.cps[r.seq] {
		if c.Head != r.claimed {
			return v.problem(r, Checkpoint, "the %s checkpoint of %s says seq %d has hash %s, the record has %s", c.Kind, c.Time, c.Seq, short(c.Head), short(r.claimed))
		}
	}
	s.last = r
	s.sum.LastSeq = r.seq
	s.sum.Head = r.claimed
	if r.scan != nil {
		s.sum.Scans++
		t, _ := r.fields["time"].(string)
		v.sum.Scans = append(v.sum.Scans, ScanRecord{Line: r.line, Site: r.site, RecordID: r.id, Seq: r.seq, Time: t, Scan: *r.scan})
	}
	return nil
}

// CheckReport finds the scan record of the export that summarises
// report.json's bytes (its report_sha256) and checks the report against
// it (evidence.CheckReport). A report that no scan record names is a
// *Problem of kind Report; when a record of the same scan (site, start
// address and time) is there, the problem names it: the report was
// changed after it was recorded.
func (s *Summary) CheckReport(reportJSON []byte) (*ScanRecord, error) {
	sum := proof.Sum(reportJSON).String()
	for i := range s.Scans {
		sr := &s.Scans[i]
		if sr.Scan.ReportSHA256 != sum {
			continue
		}
		if err := evidence.CheckReport(reportJSON, sr.Site, &sr.Scan); err != nil {
			return nil, &Problem{Kind: Report, Line: sr.Line, RecordID: sr.RecordID, Seq: sr.Seq, Site: sr.Site, Msg: err.Error()}
		}
		return sr, nil
	}
	site, fresh, err := evidence.FromReport(reportJSON)
	if err != nil {
		return nil, &Problem{Kind: Report, Msg: err.Error()}
	}
	for i := range s.Scans {
		sr := &s.Scans[i]
		if sr.Site == site && sr.Scan.URL == fresh.URL && sr.Scan.Started == fresh.Started {
			return nil, &Problem{Kind: Report, Line: sr.Line, RecordID: sr.RecordID, Seq: sr.Seq, Site: sr.Site,
				Msg: fmt.Sprintf("this is the scan record of the scan of %s started %s, but %v: its SHA-256 is %s, the record says %s", fresh.URL, fresh.Started, evidence.ErrReportChanged, sum, sr.Scan.ReportSHA256)}
		}
	}
	return nil, &Problem{Kind: Report, Site: site, Msg: fmt.Sprintf("no scan record of the export has report.json's SHA-256 %s (site %s, scan of %s started %s): the scan was not recorded, or the report was changed", sum, site, fresh.URL, fresh.Started)}
}

func (v *verifier) receipt(r *record) error {
	if r.receipt == nil {
		return v.problem(r, Receipt, "no receipt: a chained record is exported with its signed receipt")
	}
	rc, err := proof.ParseReceipt(r.receipt)
	if err != nil {
		return v.problem(r, Receipt, "%v", err)
	}
	switch {
	case rc.Hash != r.claimed:
		return v.problem(r, Receipt, "the receipt is for hash %s, the record has %s", short(rc.Hash), short(r.claimed))
	case rc.RecordID != r.id || rc.Seq != r.seq || rc.Site != r.site:
		return v.problem(r, Receipt, "the receipt is for record %s, seq %d of %s", rc.RecordID, rc.Seq, rc.Site)
	}
	if err := rc.VerifyPath(); err != nil {
		return v.problem(r, Receipt, "%v", err)
	}
	if batch := rc.BatchKey(); !v.batches[batch] {
		if err := rc.VerifySig(v.o.Keys); err != nil {
			kind := Signature
			if errors.Is(err, proof.ErrUnknownKey) {
				kind = UnknownKey
			}
			return v.problem(r, kind, "receipt: %v", err)
		}
		v.batches[batch] = true
		v.sum.Batches++
	}
	v.sum.Keys[rc.KID]++
	return nil
}

// finish checks the checkpoints against the end of each chain: one that
// proves a longer chain than the export holds means records at the end
// were removed.
func (v *verifier) finish() error {
	for site, cps := range v.cpsBySite {
		s := v.sites[site]
		var last int64
		lastLine := 0
		if s != nil && s.last != nil {
			last, lastLine = s.last.seq, s.last.line
		}
		for _, c := range cps {
			if s != nil {
				s.sum.Checkpointed = max(s.sum.Checkpointed, c.Seq)
			}
			if c.Seq > last {
				return &Problem{Kind: Truncated, Site: site, Seq: last, Line: lastLine,
					Msg: fmt.Sprintf("the %s checkpoint of %s proves the chain of %s had %d records (head %s), the export ends at seq %d: records at the end were removed", c.Kind, c.Time, site, c.Seq, short(c.Head), last)}
			}
		}
	}
	return nil
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
