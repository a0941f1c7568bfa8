package server

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/server/ledger"
)

// cookieState is the decision cookie's value as the widget writes it
// (widget/src/types.ts State): the server writes the same.
type cookieState struct {
	ID string         `json:"id"`
	V  string         `json:"v"`
	C  map[string]int `json:"c"`
	T  int64          `json:"t"`
	CV string         `json:"cv"`
	F  string         `json:"f"`
}

// setDecisionCookie sets the decision cookie "consentd" in the response
// to a stored decision, for a site whose API is reached through its own
// origin (serverCookie: a reverse-proxy path, docs/widget.md "Safari"):
// Safari caps cookies written by script at 7 days, not those set by a
// response of the site's own server. Only when the widget asks
// (Consentd-Cookie: 1, sent with its newest decision) and the request came
// to the page's own host (Origin's host is the Host the proxy passed on):
// a cookie set by another host would be consentd's, not the site's. The
// value is made from the record, never copied from the request.
func setDecisionCookie(c *fiber.Ctx, e *siteEntry, rec *ledger.Record) {
	if !e.site.ServerCookie || c.Get("Consentd-Cookie") != "1" {
		return
	}
	origin, err := url.Parse(c.Get(fiber.HeaderOrigin))
	if err != nil || origin.Host == "" || !strings.EqualFold(origin.Host, string(c.Request().Host())) {
		return
	}
	st := cookieState{ID: rec.ConsentID, V: rec.NoticeVersion, C: make(map[string]int, len(rec.Choices)), T: rec.Time.Unix(),
		CV: e.consentVersion, F: e.site.ConsentVersion}
	for k, v := range rec.Choices {
		if v {
			st.C[k] = 1
		} else {
			st.C[k] = 0
		}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return // plain data: cannot fail
	}
	host := origin.Hostname()
	domain := ""
	if d := e.site.CookieDomain; d != "" && (host == d || strings.HasSuffix(host, "."+d)) {
		domain = d
	}
	c.Cookie(&fiber.Cookie{
		Name:     "consentd",
		Value:    uriComponent(string(b)),
		Path:     "/",
		Domain:   domain,
		MaxAge:   e.site.ConsentExpiryDays * 86400,
		Secure:   origin.Scheme == "https",
		SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// uriComponent escapes s as JavaScript's encodeURIComponent does, so the
// widget reads the cookie with decodeURIComponent.
func uriComponent(s string) string {
	const keep = "-_.!~*'()"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte(keep, ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}
