package server_test

import (
	"strings"
	"testing"

	"github.com/consentd/consentd/server/servertest"
)

func TestDashboardFiles(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	for _, tt := range []struct{ path, ctype, contains string }{
		{"/admin", "text/html", `<script src="/admin/admin.js" defer></script>`},
		{"/admin", "text/html", `<div id="scans" class="scroll"`},
		{"/admin/admin.js", "javascript", "textContent"},
		{"/admin/admin.js", "javascript", `api("/scans?limit=" + scanPage`},
		{"/admin", "text/html", `id="scans-more"`},
		{"/admin/admin.css", "text/css", "prefers-color-scheme"},
	} {
		r := get(t, env.URL+tt.path, nil)
		if r.Status != 200 || !strings.Contains(r.Header.Get("Content-Type"), tt.ctype) || !strings.Contains(r.Raw, tt.contains) {
			t.Errorf("%s: %d %s", tt.path, r.Status, r.Header.Get("Content-Type"))
		}
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", tt.path, csp)
		}
	}
	// Nothing in the dashboard loads from elsewhere.
	for _, f := range []string{"/admin", "/admin/admin.js", "/admin/admin.css"} {
		body := strings.ReplaceAll(get(t, env.URL+f, nil).Raw, "http://www.w3.org/2000/svg", "") // a namespace, not a request
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("%s refers to another origin", f)
		}
	}
}
