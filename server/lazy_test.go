package server_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/servertest"
)

const lazySites = 3

// lazySiteFiles are lazySites copies of the demo site (fi, sv, en).
func lazySiteFiles(t *testing.T) func(base string) map[string]string {
	return func(base string) map[string]string {
		demo := servertest.DemoSite(t, base)
		out := map[string]string{}
		for i := range lazySites {
			id := fmt.Sprintf("site%d", i)
			out[id+".yaml"] = strings.Replace(demo, "\nid: demo\n", "\nid: "+id+"\n", 1)
		}
		return out
	}
}

// lazyPaths are what site i serves: the widget, the notice page in each
// language and in languages the site lacks (a built-in one and any
// other), the structured notice and the snapshot of each current version
// (as the eager server at base publishes them).
func lazyPaths(t *testing.T, base string, i int) []string {
	id := fmt.Sprintf("site%d", i)
	paths := []string{"/w/" + id + ".js", "/n/" + id + "?lang=fi", "/n/" + id + "?lang=sv", "/n/" + id + "?lang=en",
		"/n/" + id, "/n/" + id + "?lang=de", "/n/" + id + ".json"}
	for _, lang := range []string{"fi", "sv", "en"} {
		paths = append(paths, "/n/"+id+"/v/"+servertest.NoticeVersion(t, base, id, lang))
	}
	return paths
}

// sameAsEager fails unless GET path with header gets from got what it
// gets from want: status, Content-Type, Content-Encoding, ETag and bytes.
func sameAsEager(t *testing.T, got, want *servertest.Env, path string, header map[string]string) {
	t.Helper()
	g, w := get(t, got.URL+path, header), get(t, want.URL+path, header)
	for _, h := range []string{"Content-Type", "Content-Encoding", "ETag"} {
		if g.Header.Get(h) != w.Header.Get(h) {
			t.Fatalf("GET %s %v: %s %q, want %q as built eagerly", path, header, h, g.Header.Get(h), w.Header.Get(h))
		}
	}
	if g.Status != http.StatusOK || g.Raw != w.Raw {
		t.Fatalf("GET %s %v: %d, %d bytes; want %d, %d bytes as built eagerly", path, header, g.Status, len(g.Raw), w.Status, len(w.Raw))
	}
}

// TestLazyBuild: a server whose sites are built on first use (or by the
// warm-up after start), whose notice pages are rendered when asked for
// and whose assets are compressed in the background answers the first
// request for each site and page with the same content and ETag as a
// server that built and compressed everything before serving, and the
// same compressed bytes once they are made; and so it does when its
// notice cache is too small to keep them (notice cache bound). The lazy
// servers share a cache directory, as restarts do.
func TestLazyBuild(t *testing.T) {
	eager := servertest.Start(t, servertest.Options{Sites: lazySiteFiles(t), Eager: true})
	cache := t.TempDir()
	withCache := func(c *config.Config) { c.CacheDir = cache }
	t.Run("first requests", func(t *testing.T) {
		lazy := servertest.Start(t, servertest.Options{Sites: lazySiteFiles(t), NoWait: true, Config: withCache})
		identity := map[string]string{"Accept-Encoding": "identity"}
		// Last site first: the warm-up builds in no particular order.
		for i := lazySites - 1; i >= 0; i-- {
			for _, p := range lazyPaths(t, eager.URL, i) {
				sameAsEager(t, lazy, eager, p, identity)
			}
		}
	})
	t.Run("compressed", func(t *testing.T) {
		// Once compressed: the same brotli bytes, from the first request
		// of each notice page on (the warm-up put them in the cache
		// directory). This server also decodes its sites from the
		// parsed-site cache the first one filled (config/site/sitecache).
		if parsed, _ := filepath.Glob(filepath.Join(cache, "sites", "*.site.json")); len(parsed) != lazySites {
			t.Fatalf("parsed-site cache: %d files, want %d", len(parsed), lazySites)
		}
		done := servertest.Start(t, servertest.Options{Sites: lazySiteFiles(t), Config: withCache})
		br := map[string]string{"Accept-Encoding": "br"}
		for i := range lazySites {
			for _, p := range lazyPaths(t, eager.URL, i) {
				sameAsEager(t, done, eager, p, br)
			}
		}
	})
	t.Run("notice cache bound", func(t *testing.T) {
		// Asking for every site's notice documents with a cache that
		// holds a page or two evicts some and never holds more than the
		// budget; each document rendered again after its eviction is the
		// same, byte for byte and ETag, in every encoding.
		const budget = 64 << 10
		small := servertest.Start(t, servertest.Options{Sites: lazySiteFiles(t),
			Config: func(c *config.Config) { withCache(c); c.NoticeCache = budget }})
		encodings := []map[string]string{{"Accept-Encoding": "br"}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "identity"}}
		for round := range 2 { // the second round meets only re-rendered documents
			for i := range lazySites {
				for _, p := range lazyPaths(t, eager.URL, i)[1:] { // the notice documents, not the widget
					for _, h := range encodings {
						sameAsEager(t, small, eager, p, h)
					}
					if st := small.Server.NoticeCacheStats(); st.Bytes > budget {
						t.Fatalf("round %d, after %s: the notice cache holds %d bytes, budget %d", round, p, st.Bytes, budget)
					}
				}
			}
		}
		if st := small.Server.NoticeCacheStats(); st.Evicted == 0 || st.Assets == 0 {
			t.Fatalf("notice cache %+v: want evictions and some documents held", st)
		}
	})
}
