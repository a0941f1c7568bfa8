package asset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// mustCompressor starts a Compressor with workers workers (0: none, to
// see what waits) that the test's end closes.
func mustCompressor(t *testing.T, workers int, dir string) *Compressor {
	t.Helper()
	c, err := newCompressor(workers, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func waitCompressed(t *testing.T, c *Compressor) {
	t.Helper()
	// Minutes: brotli at quality 11 under -race on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCompressorServesAtOnce: an asset made by a Compressor is served
// uncompressed (with the identity ETag of the same content) until its
// compressed forms are made; then as New's asset is, byte for byte.
func TestCompressorServesAtOnce(t *testing.T) {
	c, err := NewCompressor(1, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A worker busy with a large asset: the next one waits its turn.
	big := bytes.Repeat(incompressibleBytes(1<<16), 8)
	c.New("application/octet-stream", big)
	a := c.New("text/javascript; charset=utf-8", compressible)
	eager := mustNew(t, "text/javascript; charset=utf-8", compressible)
	if a.Hash != eager.Hash {
		t.Fatalf("hash %s, want %s as New gives", a.Hash, eager.Hash)
	}
	app := newApp(a)
	if !a.Compressed() {
		res := do(t, app, http.MethodGet, map[string]string{"Accept-Encoding": "br, gzip"})
		if res.header.Get("Content-Encoding") != "" || !bytes.Equal(res.body, compressible) || res.header.Get("ETag") != eager.ETag(Identity) {
			t.Fatalf("before compression: %v, %d bytes; want the raw bytes with the identity ETag", res.header, len(res.body))
		}
	}
	waitCompressed(t, c)
	res := do(t, app, http.MethodGet, map[string]string{"Accept-Encoding": "br, gzip"})
	if res.header.Get("Content-Encoding") != Brotli || !bytes.Equal(res.body, eager.body(Brotli)) || res.header.Get("ETag") != eager.ETag(Brotli) {
		t.Fatalf("after compression: %v; want New's brotli form and ETag", res.header)
	}
	if _, gz, br := a.Sizes(); gz != len(eager.body(Gzip)) || br != len(eager.body(Brotli)) {
		t.Fatalf("sizes gzip %d brotli %d, want New's", gz, br)
	}
}

// TestCompressorRequestedFirst: an asset a client asked for is
// compressed before those queued earlier.
func TestCompressorRequestedFirst(t *testing.T) {
	c, err := NewCompressor(1, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var queued []*Asset
	for i := range 40 {
		queued = append(queued, c.New("text/plain", append(bytes.Repeat([]byte{byte('a' + i%26)}, 1<<15), incompressibleBytes(1<<14)...)))
	}
	wanted := c.New("text/plain", compressible)
	do(t, newApp(wanted), http.MethodGet, map[string]string{"Accept-Encoding": "br"})
	deadline := time.Now().Add(2 * time.Minute) // a bound for a failure, not a timing: -race on a busy machine is slow
	for !wanted.Compressed() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	done := 0
	for _, a := range queued {
		if a.Compressed() {
			done++
		}
	}
	if !wanted.Compressed() || done == len(queued) {
		t.Fatalf("requested asset compressed %v with %d of the %d queued before it done; want it before the queue's end", wanted.Compressed(), done, len(queued))
	}
	waitCompressed(t, c)
}

// TestCompressorCache: a second Compressor on the same directory reads
// the compressed forms instead of compressing again (here: a cached
// brotli form of lower quality, which compressing again would not give),
// and compresses again when a cached file does not decode to the asset.
func TestCompressorCache(t *testing.T) {
	dir := t.TempDir()
	c1, err := NewCompressor(1, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	c1.New("text/plain", compressible)
	waitCompressed(t, c1)
	c1.Close()
	sum := sha256.Sum256(compressible)
	name := filepath.Join(dir, hex.EncodeToString(sum[:]))
	for _, ext := range []string{".gz", ".br"} {
		if fi, err := os.Stat(name + ext); err != nil || fi.Size() == 0 {
			t.Fatalf("cache file %s: %v", ext, err)
		}
	}
	var fast bytes.Buffer
	w := brotli.NewWriterLevel(&fast, 1)
	_, _ = w.Write(compressible)
	_ = w.Close()
	if err := os.WriteFile(name+".br", fast.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	c2, err := NewCompressor(1, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	a := c2.New("text/plain", compressible)
	waitCompressed(t, c2)
	if !bytes.Equal(a.body(Brotli), fast.Bytes()) {
		t.Fatal("the cached brotli form was not used")
	}

	if err := os.WriteFile(name+".br", []byte("not brotli"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := c2.New("text/plain", compressible)
	waitCompressed(t, c2)
	if got := unbrotli(t, b.body(Brotli)); !bytes.Equal(got, compressible) {
		t.Fatal("a damaged cache file was served")
	}
}

// TestCompressorCloseLeavesRaw: after Close, a new asset is served raw.
func TestCompressorCloseLeavesRaw(t *testing.T) {
	c, err := NewCompressor(2, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	a := c.New("text/plain", compressible)
	waitCompressed(t, c)
	if a.Compressed() || a.Pick("br") != Identity {
		t.Fatal("compressed after Close")
	}
}

// TestCompressorNewRequested: an asset made on request takes its
// compressed forms from the cache directory at once; else it waits in a
// short queue of its own, and one made when that queue is full is served
// raw until a request for it finds room.
func TestCompressorNewRequested(t *testing.T) {
	dir := t.TempDir()
	c1 := mustCompressor(t, 1, dir)
	c1.New("text/plain", compressible)
	waitCompressed(t, c1)
	c1.Close()

	c := mustCompressor(t, 0, dir) // no workers yet: nothing made here is compressed
	eager := mustNew(t, "text/plain", compressible)
	if a := c.NewRequested("text/plain", compressible); !a.Compressed() || !bytes.Equal(a.body(Brotli), eager.body(Brotli)) || a.Pick("br") != Brotli {
		t.Fatal("cached forms not taken at once")
	}
	var queued []*Asset
	for i := range requestedQueueSize {
		queued = append(queued, c.NewRequested("text/plain", append([]byte{byte(i)}, compressible...)))
	}
	late := c.NewRequested("text/plain", append([]byte("late"), compressible...))
	c.startWorker()
	waitCompressed(t, c)
	for i, a := range queued {
		if !a.Compressed() {
			t.Fatalf("queued asset %d not compressed", i)
		}
	}
	if late.Compressed() {
		t.Fatal("an asset beyond the requested queue was queued")
	}
	do(t, newApp(late), http.MethodGet, map[string]string{"Accept-Encoding": "br"})
	waitCompressed(t, c)
	if !late.Compressed() {
		t.Fatal("requested again, still not compressed")
	}
}

// TestCompressorPrime: Prime writes the compressed forms to the cache
// directory (once: primed again, nothing is queued), where NewRequested
// finds them; without a directory it does nothing.
func TestCompressorPrime(t *testing.T) {
	c := mustCompressor(t, 1, t.TempDir())
	c.Prime("text/plain", compressible)
	waitCompressed(t, c)
	if !c.cached(cacheName(compressible)) {
		t.Fatal("not in the cache directory after Prime")
	}
	c.Prime("text/plain", compressible)
	if c.pending != 0 {
		t.Fatal("primed again: queued again")
	}
	if a := c.NewRequested("text/plain", compressible); !a.Compressed() {
		t.Fatal("NewRequested did not find the primed forms")
	}

	none := mustCompressor(t, 1, "")
	none.Prime("text/plain", compressible)
	if none.pending != 0 {
		t.Fatal("primed without a cache directory")
	}
}
