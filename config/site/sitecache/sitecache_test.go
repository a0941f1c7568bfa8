package sitecache

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentd/consentd/config/site"
)

// counting is a Dir that counts what it finds and stores.
type counting struct {
	*Dir
	hits, puts atomic.Int64
}

func (c *counting) Get(key string, dst []byte) ([]byte, bool) {
	b, ok := c.Dir.Get(key, dst)
	if ok {
		c.hits.Add(1)
	}
	return b, ok
}

func (c *counting) Put(key string, b []byte) { c.puts.Add(1); c.Dir.Put(key, b) }

func openCounting(t *testing.T, dir string) *counting {
	t.Helper()
	d, err := Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &counting{Dir: d}
}

// realSites copies the demo site and the example sites into a new
// directory: every field the site files of the repository use.
func realSites(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range append(files, "../../sites/demo.yaml") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoaderCache: a second load with the same code, catalogue and files
// decodes every site from the cache, and each is exactly the site parsing
// gives (every field, nil and empty alike); a changed file, another build
// or a damaged cache file is parsed again, and a bad file is reported
// whatever the cache holds.
func TestLoaderCache(t *testing.T) {
	sitesDir, cacheDir := realSites(t), t.TempDir()
	parsed, err := site.LoadDir(sitesDir)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(parsed))
	load := func(t *testing.T, version string) (site.Sites, *counting) {
		t.Helper()
		l, err := site.NewLoader()
		if err != nil {
			t.Fatal(err)
		}
		c := openCounting(t, cacheDir)
		l.Cache, l.Version = c, version
		sites, err := l.LoadDir(sitesDir)
		if err != nil {
			t.Fatal(err)
		}
		return sites, c
	}
	same := func(t *testing.T, got site.Sites) {
		t.Helper()
		for id, want := range parsed {
			if !reflect.DeepEqual(got[id], want) {
				t.Errorf("site %s from the cache differs from the parsed one", id)
			}
		}
		if len(got) != len(parsed) {
			t.Errorf("%d sites, want %d", len(got), len(parsed))
		}
	}
	steps := []struct {
		name       string
		version    string
		before     func(t *testing.T)
		hits, puts int64
	}{
		{"first start parses and stores", "build-1", nil, 0, n},
		{"restart decodes", "build-1", nil, n, 0},
		{"another build parses", "build-2", nil, 0, n},
		{"a changed file is parsed", "build-1", func(t *testing.T) {
			f := filepath.Join(sitesDir, "demo.yaml")
			b, _ := os.ReadFile(f)
			b = bytes.Replace(b, []byte("\nconsentExpiryDays: 365\n"), []byte("\nconsentExpiryDays: 366\n"), 1)
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if parsed, err = site.LoadDir(sitesDir); err != nil {
				t.Fatal(err)
			}
		}, n - 1, 1},
		{"a damaged cache file is parsed again", "build-1", func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(cacheDir, "*"+suffix))
			for _, f := range files {
				b, _ := os.ReadFile(f)
				if bytes.Contains(b, []byte(`"ID":"demo"`)) {
					b = bytes.Replace(b, []byte(`"ID":"demo"`), []byte(`"ID":"deme"`), 1)
					if err := os.WriteFile(f, b, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
		}, n - 1, 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before(t)
			}
			got, c := load(t, st.version)
			same(t, got)
			if c.hits.Load() != st.hits || c.puts.Load() != st.puts {
				t.Errorf("%d found and %d stored, want %d and %d", c.hits.Load(), c.puts.Load(), st.hits, st.puts)
			}
		})
	}
	t.Run("a bad file fails the load", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(sitesDir, "broken.yaml"), []byte("id: broken\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		l, _ := site.NewLoader()
		l.Cache, l.Version = openCounting(t, cacheDir), "build-1"
		if _, err := l.LoadDir(sitesDir); err == nil || !strings.Contains(err.Error(), "broken.yaml: name: required") {
			t.Fatalf("got %v, want the bad file's error", err)
		}
	})
}

// TestDir: what is put is got back; a missing, truncated or altered file
// is a miss.
func TestDir(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	d.Put("k", []byte(`{"a":1}`))
	if b, ok := d.Get("k", nil); !ok || string(b) != `{"a":1}` {
		t.Fatalf("Get = %q %v", b, ok)
	}
	if b, ok := d.Get("k", []byte("kept:")); !ok || string(b) != `kept:{"a":1}` {
		t.Fatalf("Get appending = %q %v", b, ok)
	}
	f := filepath.Join(dir, "k"+suffix)
	whole, _ := os.ReadFile(f)
	for name, b := range map[string][]byte{
		"truncated": whole[:len(whole)-1],
		"altered":   bytes.Replace(whole, []byte("1"), []byte("2"), 1),
		"no sum":    []byte(`{"a":1}`),
	} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, ok := d.Get("k", nil); ok {
			t.Errorf("%s file: found", name)
		}
	}
	if _, ok := d.Get("absent", nil); ok {
		t.Error("absent key found")
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(names) != 0 {
		t.Errorf("temporary files left: %v", names)
	}
}

// TestExecutableID: the test binary has a build ID, the same on every
// call; a file that is not ELF has none.
func TestExecutableID(t *testing.T) {
	a, err := ExecutableID()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ExecutableID()
	if a == "" || a != b || strings.ContainsAny(a, "\x00\n") {
		t.Fatalf("ids %q and %q", a, b)
	}
	if _, err := buildID("sitecache.go"); err == nil {
		t.Fatal("a Go source file has a build id")
	}
}

// TestPrune: files neither found nor stored by this process and older
// than the age go; used ones and recent ones stay.
func TestPrune(t *testing.T) {
	dir := t.TempDir()
	old, err := Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"found", "stored", "recent", "stale"} {
		old.Put(k, []byte(k))
	}
	now := time.Now()
	for _, k := range []string{"found", "stored", "stale"} { // written 10 days ago
		if err := os.Chtimes(filepath.Join(dir, k+suffix), now, now.Add(-10*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := Open(dir, slog.New(slog.DiscardHandler)) // a new process
	if _, ok := d.Get("found", nil); !ok {
		t.Fatal("found: not found")
	}
	d.Put("stored", []byte("stored again"))
	n, err := d.Prune(7*24*time.Hour, now)
	if err != nil || n != 1 {
		t.Fatalf("Prune removed %d, %v; want 1", n, err)
	}
	for k, want := range map[string]bool{"found": true, "stored": true, "recent": true, "stale": false} {
		if _, ok := d.Get(k, nil); ok != want {
			t.Errorf("%s: there %v, want %v", k, ok, want)
		}
	}
}
