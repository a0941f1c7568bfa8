package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/consentd/consentd/config/region"
	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/proof/canon"
	"github.com/consentd/consentd/server/ledger"
)

// Appender stores a decision and answers once it is acknowledged.
type Appender interface {
	Append(ctx context.Context, r *ledger.Record) (ledger.Ack, error)
}

// consentResponse is the answer to a stored decision: 201 (or 200 for a retry
// of a request already stored).
type consentResponse struct {
	RecordID      string `json:"recordId"`
	ConsentID     string `json:"consentId"`
	Time          string `json:"time"`
	NoticeVersion string `json:"noticeVersion"`
	Duplicate     bool   `json:"duplicate,omitempty"`
	// Seq and Hash place the record in the site's hash chain; Receipt is
	// the signed proof.Receipt (docs/proof.md) for the widget to keep.
	Seq     int64           `json:"seq,omitempty"`
	Hash    string          `json:"hash,omitempty"`
	Receipt json.RawMessage `json:"receipt,omitempty"`
}

// isLowerUUID reports whether s is a UUID written as 8-4-4-4-12 lowercase
// hex digits, such as 3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f.
func isLowerUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
		} else if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

// isVersion reports whether s is a notice version: 64 lowercase hex digits.
func isVersion(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

func isLowerHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

const (
	maxURLLength       = 2048
	maxUserAgentLength = 512
)

// consentInput is one POST /v1/consent as read from the request, once:
// the decoded body and every header the decision depends on.
type consentInput struct {
	req       consentRequest
	idemKey   string     // Idempotency-Key, checked; "" without one
	addr      netip.Addr // the client's address (X-Forwarded-For read once)
	gpc       bool       // Sec-GPC: 1
	userAgent string
}

// postConsent validates a decision, stores it and answers with its
// receipt once Redis has acknowledged it. Every check that needs no Redis
// comes first; then the notice version (Redis only for a version this
// instance does not serve) and the append, whose script also checks and
// counts the rate limits.
func (s *Server) postConsent(c *fiber.Ctx) error {
	entry, in, err := s.readConsent(c)
	if err != nil {
		return err
	}
	loc, mode := s.locate(c, entry.site, in.addr)
	rec, err := buildRecord(entry, in, recordContext{ip: s.ips.Anonymize(in.addr), country: loc.Country, mode: mode,
		limits: s.consentLimits(in.addr)})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.AppendTimeout)
	defer cancel()
	if err := s.checkNoticeVersion(ctx, entry, rec.NoticeVersion, rec.Language); err != nil {
		return s.storeError(rec.Site, err)
	}
	ack, err := s.appender.Append(ctx, rec)
	var limited *ledger.RateLimitedError
	switch {
	case errors.Is(err, ledger.ErrIdempotencyConflict):
		return &APIError{Code: fiber.StatusUnprocessableEntity, Field: "Idempotency-Key",
			Msg: "this Idempotency-Key was used for another request (other decision, consent ID, notice version, language or page): use a new key for a new decision"}
	case errors.As(err, &limited):
		return s.tooMany(limited)
	case err != nil:
		return s.storeError(rec.Site, err)
	}
	s.setLimitHeaders(c, rec, ack.Usage)
	setDecisionCookie(c, entry, rec)
	status := fiber.StatusCreated
	if ack.Duplicate {
		status = fiber.StatusOK
	}
	resp := consentResponse{
		RecordID:      ack.RecordID,
		ConsentID:     ack.ConsentID,
		Time:          ack.Time.UTC().Format(ledger.TimeFormat),
		NoticeVersion: rec.NoticeVersion,
		Duplicate:     ack.Duplicate,
		Seq:           ack.Seq,
		Hash:          ack.Hash,
		Receipt:       ack.Receipt,
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	// Written into the response's own (pooled) body buffer: no copy, no
	// allocation once the buffer has grown.
	res := c.Status(status).Response()
	res.SwapBody(resp.appendJSON(res.SwapBody(nil)[:0]))
	return nil
}

// readConsent reads a consent post: its body, its site (known, and the
// Origin allowed) and the headers that matter, each checked.
func (s *Server) readConsent(c *fiber.Ctx) (*siteEntry, *consentInput, error) {
	if err := checkJSONContentType(c.Get(fiber.HeaderContentType)); err != nil {
		return nil, nil, err
	}
	body := c.Body()
	if len(body) > consentBodyLimit {
		return nil, nil, &APIError{Code: fiber.StatusRequestEntityTooLarge, Field: "body", Msg: fmt.Sprintf("body is larger than %d bytes", consentBodyLimit)}
	}
	in := &consentInput{}
	var err error
	if in.req, err = decodeConsent(body); err != nil {
		return nil, nil, err
	}
	if in.req.Site == "" {
		return nil, nil, badRequest("site", "required: the site id")
	}
	entry, ok := s.site(in.req.Site)
	if !ok {
		return nil, nil, badRequest("site", "unknown site")
	}
	if origin := c.Get(fiber.HeaderOrigin); origin == "" || !entry.site.AllowsOrigin(origin) {
		return nil, nil, &APIError{Code: fiber.StatusForbidden, Field: "Origin", Msg: "origin is not in the site's allowlist"}
	}
	if key := c.Get("Idempotency-Key"); key != "" {
		if !saneToken(key, 64) {
			return nil, nil, badRequest("Idempotency-Key", "must be 1 to 64 characters of letters, digits, '-', '_' or '.'")
		}
		in.idemKey = strings.Clone(key)
	}
	in.addr = s.clientAddr(c)
	in.gpc = c.Get("Sec-GPC") == "1"
	in.userAgent = cleanText(c.Get(fiber.HeaderUserAgent), maxUserAgentLength)
	return entry, in, nil
}

// appendJSON writes the response as encoding/json would, without
// re-validating Receipt (canonical JSON made by the ledger), which
// encoding/json does for a json.RawMessage at a cost of microseconds.
func (r *consentResponse) appendJSON(b []byte) []byte {
	b = canon.AppendString(append(b, `{"recordId":`...), r.RecordID)
	b = canon.AppendString(append(b, `,"consentId":`...), r.ConsentID)
	b = canon.AppendString(append(b, `,"time":`...), r.Time)
	b = canon.AppendString(append(b, `,"noticeVersion":`...), r.NoticeVersion)
	if r.Duplicate {
		b = append(b, `,"duplicate":true`...)
	}
	if r.Seq != 0 {
		b = strconv.AppendInt(append(b, `,"seq":`...), r.Seq, 10)
	}
	if r.Hash != "" {
		b = canon.AppendString(append(b, `,"hash":`...), r.Hash)
	}
	if len(r.Receipt) > 0 {
		b = append(append(b, `,"receipt":`...), r.Receipt...)
	}
	return append(b, '}')
}

// storeError turns a Redis failure (of a write or a read) into 503 +
// Retry-After; other errors (such as an APIError) pass through.
func (s *Server) storeError(site string, err error) error {
	if errors.Is(err, ledger.ErrUnavailable) || errors.Is(err, ledger.ErrClosed) {
		s.log.Warn("consent store unavailable", "site", site, "err", err)
		return &APIError{Code: fiber.StatusServiceUnavailable, Msg: "consent store unavailable, retry later", RetryAfter: "2"}
	}
	return err
}

func checkJSONContentType(ct string) error {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &APIError{Code: fiber.StatusUnsupportedMediaType, Field: "Content-Type", Msg: "Content-Type must be application/json"}
	}
	return nil
}

// recordContext is what the server adds to a request's record: where the
// visitor is, the stored form of their address, and the rate limits the
// record counts against.
type recordContext struct {
	ip, country, mode string
	limits            []ledger.Limit
}

// gpcInOptInReject is the site setting under which GPC refuses in the
// opt-in mode (buildRecord; site is a variable there).
const gpcInOptInReject = site.GPCReject

// buildRecord checks the request against the site and the visitor's
// regional mode, and makes the record.
func buildRecord(e *siteEntry, in *consentInput, rc recordContext) (*ledger.Record, error) {
	mode := rc.mode
	site, req := e.site, &in.req
	consentID := req.ConsentID
	switch {
	case consentID == "" && in.idemKey != "":
		// A retry of this request must land on the same visitor state,
		// where its idempotency value is kept (ledger.IdemField).
		consentID = idemConsentID(site.ID, in.idemKey)
	case consentID == "":
		consentID = uuid.NewString()
	case !isLowerUUID(consentID):
		return nil, badRequest("consentId", "must be a lowercase UUID such as 3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f")
	}
	if !slices.Contains(ledger.ClientMethods, req.Method) {
		return nil, badRequest("method", "must be one of "+strings.Join(ledger.ClientMethods, ", "))
	}
	gpcReject := req.Method == ledger.MethodGPC && mode == region.ModeOptIn && site.GPCInOptIn == gpcInOptInReject
	if req.Method == ledger.MethodGPC && mode != region.ModeOptOut && !gpcReject {
		return nil, badRequest("method", "gpc is the decision the widget records in the opt-out mode (and in the opt-in mode with gpcInOptIn: reject); this visitor's mode is "+mode)
	}
	if req.Method == ledger.MethodClose && !site.Banner.CloseRejects {
		return nil, badRequest("method", "close is recorded only by a banner with a close button (banner.closeRejects), and this site has none")
	}
	method := req.Method
	if gpcReject {
		method = ledger.MethodRejectAll // what it must say: nothing optional granted
	}
	choices, err := checkChoices(site, req.Choices, method)
	if err != nil {
		return nil, err
	}
	if !isVersion(req.NoticeVersion) {
		return nil, badRequest("noticeVersion", "must be the 64-hex-digit notice version the widget was built with")
	}
	if req.Language == "" || !site.HasLanguage(req.Language) {
		return nil, badRequest("language", "must be one of the site's languages: "+strings.Join(site.Languages, ", "))
	}
	page, err := cleanPageURL(req.URL)
	if err != nil {
		return nil, err
	}
	recordID, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("record id: %w", err)
	}
	return &ledger.Record{
		Site:           site.ID,
		RecordID:       recordID.String(),
		ConsentID:      consentID,
		Time:           time.Now().UTC(),
		NoticeVersion:  req.NoticeVersion,
		PolicyVersion:  site.PolicyVersion,
		Method:         req.Method,
		Choices:        choices,
		Language:       req.Language,
		URL:            page,
		UserAgent:      in.userAgent,
		IP:             rc.ip,
		Country:        rc.country,
		Mode:           mode,
		GPC:            in.gpc,
		IdempotencyKey: in.idemKey,
		RequestHash:    requestHash(site.ID, req.ConsentID, req.Method, req.NoticeVersion, req.Language, page, choices),
		LimitConsentID: req.ConsentID != "",
		Limits:         rc.limits,
	}, nil
}

// idemConsentNamespace is the UUID namespace of idemConsentID.
var idemConsentNamespace = uuid.MustParse("5c0b7a54-3c1e-4d8e-9a55-0d7f3e6c2b19")

// idemConsentID is the consent ID of a request that sent an
// Idempotency-Key but no consent ID: a name-based UUID (version 5) of the
// site and the key, so a retry gets the same one.
func idemConsentID(site, key string) string {
	return uuid.NewSHA1(idemConsentNamespace, []byte(site+"\x00"+key)).String()
}

// checkChoices requires a true/false for every category of the site and
// nothing else; required categories must be true, and accept_all,
// reject_all and withdraw must say what they mean. choices are in body
// order, each id once (decodeConsent refuses a key given twice); the
// first bad entry is named.
func checkChoices(site *site.Site, choices []choice, method string) (map[string]bool, error) {
	if len(choices) == 0 {
		return nil, badRequest("choices", "required: an object with true or false for every category")
	}
	out := make(map[string]bool, len(choices))
	saleShare := false
	for _, ch := range choices {
		cat, ok := site.Category(ch.ID)
		if !ok {
			return nil, badRequest("choices."+truncate(ch.ID, 64), "unknown category")
		}
		switch ch.Value {
		case choiceTrue:
			out[ch.ID] = true
		case choiceFalse:
			if cat.Required {
				return nil, badRequest("choices."+ch.ID, "a required category must be true")
			}
			out[ch.ID] = false
		default:
			return nil, badRequest("choices."+ch.ID, "must be true or false")
		}
	}
	for _, cat := range site.Categories {
		granted, ok := out[cat.ID]
		if !ok {
			return nil, badRequest("choices."+cat.ID, "missing: every category needs true or false")
		}
		switch {
		case method == ledger.MethodAcceptAll && !granted:
			return nil, badRequest("method", "accept_all needs every category true")
		case (method == ledger.MethodRejectAll || method == ledger.MethodWithdraw || method == ledger.MethodClose) && granted && !cat.Required:
			return nil, badRequest("method", method+" needs every optional category false")
		case method == ledger.MethodGPC && granted && cat.SaleShare:
			return nil, badRequest("method", "gpc needs every sale or sharing category (saleShare) false")
		}
		saleShare = saleShare || cat.SaleShare
	}
	if method == ledger.MethodGPC && !saleShare {
		return nil, badRequest("method", "gpc denies the sale or sharing categories (saleShare), and this site has none")
	}
	return out, nil
}

// requestHash identifies what a consent request asks to store: the
// fields the client sent (the consent ID as sent, "" when the server made
// one), each length-prefixed, and the choices in sorted order. A request
// reusing an Idempotency-Key must have the same (ledger.Record.RequestHash).
func requestHash(site, consentID, method, noticeVersion, language, page string, choices map[string]bool) string {
	b := make([]byte, 0, 256)
	for _, f := range [...]string{site, consentID, method, noticeVersion, language, page} {
		b = append(append(strconv.AppendInt(b, int64(len(f)), 10), ':'), f...)
	}
	for _, id := range slices.Sorted(maps.Keys(choices)) {
		b = append(append(strconv.AppendInt(b, int64(len(id)), 10), ':'), id...)
		b = strconv.AppendBool(append(b, '='), choices[id])
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// cleanPageURL keeps scheme, host and path of the page: query strings and
// fragments often carry personal data and are dropped.
func cleanPageURL(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	if len(raw) > maxURLLength {
		return "", badRequest("url", fmt.Sprintf("is longer than %d characters", maxURLLength))
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", badRequest("url", "must be the page's absolute http(s) URL")
	}
	clean := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return clean.String(), nil
}

// cleanText copies a header value, replacing invalid UTF-8 and cutting it
// to at most max bytes on a rune boundary.
func cleanText(v string, max int) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	return truncate(v, max)
}

func truncate(v string, max int) string {
	if len(v) <= max {
		return strings.Clone(v)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return strings.Clone(v[:cut])
}
