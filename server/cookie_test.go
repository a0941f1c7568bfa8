package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/consentd/consentd/server/servertest"
)

// TestDecisionCookie: with serverCookie the consent response sets the
// decision cookie, as the widget would write it, for the newest decision
// of a page on the API's own host; in every other case it sets none.
func TestDecisionCookie(t *testing.T) {
	sites := func(extra string) func(string) map[string]string {
		return func(base string) map[string]string {
			return map[string]string{"demo.yaml": servertest.DemoSite(t, base) + extra}
		}
	}
	env := servertest.Start(t, servertest.Options{Sites: sites("serverCookie: true\ncookieDomain: oppimo.fi\n")})
	plain := servertest.Start(t, servertest.Options{Sites: sites("")})

	send := func(env *servertest.Env, host, origin string, ask bool) *http.Response {
		t.Helper()
		b, _ := json.Marshal(validBody(noticeVersion(t, env)))
		req, err := http.NewRequest(http.MethodPost, env.URL+"/v1/consent", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host // as a reverse proxy passes it on
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
		if ask {
			req.Header.Set("Consentd-Cookie", "1")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("status %d", res.StatusCode)
		}
		return res
	}

	res := send(env, "www.oppimo.fi", testOrigin, true)
	cookies := res.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Set-Cookie %q, want one cookie", res.Header.Values("Set-Cookie"))
	}
	c := cookies[0]
	if c.Name != "consentd" || c.Path != "/" || c.Domain != "oppimo.fi" || c.MaxAge != 365*86400 || !c.Secure ||
		c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie attributes: %q", res.Header.Get("Set-Cookie"))
	}
	raw, err := url.PathUnescape(c.Value)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		ID string         `json:"id"`
		V  string         `json:"v"`
		C  map[string]int `json:"c"`
		T  int64          `json:"t"`
		CV string         `json:"cv"`
		F  *string        `json:"f"`
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatalf("cookie value %q: %v", raw, err)
	}
	if st.ID != "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f" || st.V != noticeVersion(t, env) || st.T == 0 ||
		!strings.HasPrefix(st.CV, "cv1:") || st.F == nil || *st.F != "" ||
		st.C["necessary"] != 1 || st.C["analytics"] != 1 || st.C["marketing"] != 0 {
		t.Errorf("cookie value %s", raw)
	}
	if strings.ContainsAny(c.Value, `"{},; `) {
		t.Errorf("cookie value not URI-encoded: %s", c.Value)
	}

	for _, tt := range []struct {
		name         string
		env          *servertest.Env
		host, origin string
		ask          bool
	}{
		{"not asked (an older decision sent again)", env, "www.oppimo.fi", testOrigin, false},
		{"another host than the page's", env, strings.TrimPrefix(env.URL, "http://"), testOrigin, true},
		{"site without serverCookie", plain, "www.oppimo.fi", testOrigin, true},
	} {
		if got := send(tt.env, tt.host, tt.origin, tt.ask).Header.Values("Set-Cookie"); len(got) != 0 {
			t.Errorf("%s: Set-Cookie %q, want none", tt.name, got)
		}
	}
}
