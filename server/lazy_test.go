package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/consentd/consentd/server/servertest"
)

// TestLazyBuild: a server whose sites are built on first use (or by the
// warm-up after start) and whose assets are compressed in the background
// answers the first request for each site with the same content and
// ETag as a server that built and compressed everything before serving,
// and the same compressed bytes once they are made.
func TestLazyBuild(t *testing.T) {
	const n = 6
	sites := func(base string) map[string]string {
		demo := servertest.DemoSite(t, base)
		out := map[string]string{}
		for i := range n {
			id := fmt.Sprintf("site%d", i)
			out[id+".yaml"] = strings.Replace(demo, "\nid: demo\n", "\nid: "+id+"\n", 1)
		}
		return out
	}
	eager := servertest.Start(t, servertest.Options{Sites: sites, Eager: true})
	lazy := servertest.Start(t, servertest.Options{Sites: sites, NoWait: true})
	paths := func(i int) []string {
		id := fmt.Sprintf("site%d", i)
		return []string{"/w/" + id + ".js", "/n/" + id + "?lang=fi", "/n/" + id + "?lang=sv", "/n/" + id + ".json"}
	}
	identity := map[string]string{"Accept-Encoding": "identity"}
	// Last site first: the warm-up builds in no particular order.
	for i := n - 1; i >= 0; i-- {
		for _, p := range paths(i) {
			got, want := get(t, lazy.URL+p, identity), get(t, eager.URL+p, identity)
			if got.Status != http.StatusOK || got.Raw != want.Raw || got.Header.Get("ETag") != want.Header.Get("ETag") {
				t.Fatalf("first GET %s: %d, ETag %s, %d bytes; want %d, ETag %s, %d bytes as built eagerly", p, got.Status,
					got.Header.Get("ETag"), len(got.Raw), want.Status, want.Header.Get("ETag"), len(want.Raw))
			}
		}
	}
	// Once compressed: the same brotli bytes.
	lazyDone := servertest.Start(t, servertest.Options{Sites: sites})
	br := map[string]string{"Accept-Encoding": "br"}
	for i := range n {
		for _, p := range paths(i) {
			got, want := get(t, lazyDone.URL+p, br), get(t, eager.URL+p, br)
			if got.Header.Get("Content-Encoding") != "br" || got.Raw != want.Raw || got.Header.Get("ETag") != want.Header.Get("ETag") {
				t.Fatalf("GET %s (br) after compression: %v; want the eager server's bytes and ETag %s", p, got.Header, want.Header.Get("ETag"))
			}
		}
	}
}
