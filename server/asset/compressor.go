package asset

// Background compression: brotli at quality 11 costs tens of milliseconds
// per widget bundle or notice page, which made start-up cost about half a
// second per site. A Compressor makes assets that are served at once
// (uncompressed until their compressed forms are ready) and compresses
// them in a few worker goroutines, the ones already requested first,
// keeping the results in a directory so a restart compresses nothing it
// has compressed before.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/andybalholm/brotli"
)

// Compressor compresses assets in the background. Create it with
// NewCompressor and stop it with Close; it is safe for concurrent use.
type Compressor struct {
	dir string // cache directory; "" keeps nothing on disk
	log *slog.Logger

	urgent     chan *Asset // assets a client asked for: compressed first
	requested  chan *Asset // assets made for a request (NewRequested): as urgent, but few
	background chan *Asset

	mu      sync.Mutex
	pending int           // assets queued or being compressed
	idle    chan struct{} // closed while pending == 0
	stop    chan struct{}
	workers sync.WaitGroup
}

// queueSize bounds each queue; New blocks (start-up only) when the
// background queue is full, which paces loading to the workers' speed
// only for sites beyond it.
const queueSize = 1 << 16

// requestedQueueSize bounds the assets made on request that wait to be
// compressed: each holds its raw bytes, and a flood of requests for pages
// that do not stay cached must not queue without bound. An asset made
// when the queue is full is served uncompressed; the next request for it
// tries again.
const requestedQueueSize = 64

// NewCompressor starts workers goroutines (at least 1). dir, when not
// empty, is where compressed forms are kept by content (created if
// missing): a restart reads them instead of compressing again.
func NewCompressor(workers int, dir string, log *slog.Logger) (*Compressor, error) {
	return newCompressor(max(workers, 1), dir, log)
}

// newCompressor is NewCompressor with any number of workers (tests start
// none, to see what waits).
func newCompressor(workers int, dir string, log *slog.Logger) (*Compressor, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("asset: cache directory: %w", err)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Compressor{dir: dir, log: log, urgent: make(chan *Asset, queueSize),
		requested: make(chan *Asset, requestedQueueSize), background: make(chan *Asset, queueSize),
		idle: make(chan struct{}), stop: make(chan struct{})}
	close(c.idle)
	for range workers {
		c.startWorker()
	}
	return c, nil
}

// New returns an asset that serves raw at once and gets its compressed
// forms in the background. The caller must not modify raw afterwards.
func (c *Compressor) New(contentType string, raw []byte) *Asset {
	a := newRaw(contentType, raw)
	a.comp = c
	c.mu.Lock()
	if c.pending == 0 {
		c.idle = make(chan struct{})
	}
	c.pending++
	c.mu.Unlock()
	a.queued.Store(queuedBackground)
	select {
	case <-c.stop: // closed: served uncompressed
		c.done()
		return a
	default:
	}
	select {
	case c.background <- a:
	case <-c.stop:
		c.done()
	}
	return a
}

// NewRequested returns an asset made for a request in hand (a page
// rendered on demand). Its compressed forms come from the cache
// directory at once when it has them; else it is compressed next (it is
// served uncompressed until then), unless requestedQueueSize such assets
// wait already: then each request for it tries again. The caller must
// not modify raw afterwards.
func (c *Compressor) NewRequested(contentType string, raw []byte) *Asset {
	a := newRaw(contentType, raw)
	a.comp = c
	if enc, ok := c.read(cacheName(raw), raw); ok {
		a.compressed.Store(enc)
		return a
	}
	a.queued.Store(queuedWaiting)
	c.request(a)
	return a
}

// Prime makes sure the cache directory holds raw's compressed forms, for
// content that is not kept in memory but may be made again on request
// (NewRequested then finds them at once): when they are missing, raw is
// compressed in the background as New's assets are (Wait waits for it),
// written to the directory and let go. Without a cache directory it does
// nothing. The caller must not modify raw afterwards.
func (c *Compressor) Prime(contentType string, raw []byte) {
	if c.dir == "" || c.cached(cacheName(raw)) {
		return
	}
	c.New(contentType, raw)
}

// cached reports whether the cache directory has both files of name
// (checked when read).
func (c *Compressor) cached(name string) bool {
	for _, ext := range []string{".gz", ".br"} {
		if _, err := os.Stat(filepath.Join(c.dir, name+ext)); err != nil {
			return false
		}
	}
	return true
}

// request puts a waiting asset made by NewRequested in the requested
// queue, unless it is full or the asset is there already.
func (c *Compressor) request(a *Asset) {
	if !a.queued.CompareAndSwap(queuedWaiting, queuedRequested) {
		return
	}
	c.mu.Lock()
	if c.pending == 0 {
		c.idle = make(chan struct{})
	}
	c.pending++
	c.mu.Unlock()
	select {
	case <-c.stop:
	case c.requested <- a:
		return
	default: // full: served uncompressed, tried again at its next request
	}
	a.queued.Store(queuedWaiting)
	c.done()
}

// Queue states of an asset made by a Compressor.
const (
	queuedNone       = iota // not queued (or compressed)
	queuedBackground        // in the background queue
	queuedUrgent            // also in the urgent queue
	queuedWaiting           // made by NewRequested, in no queue, not compressed
	queuedRequested         // in the requested queue
)

// hurry moves a requested asset to the front: it is compressed next.
func (c *Compressor) hurry(a *Asset) {
	if a.compressed.Load() != nil {
		return
	}
	if a.queued.Load() == queuedWaiting {
		c.request(a)
		return
	}
	if !a.queued.CompareAndSwap(queuedBackground, queuedUrgent) {
		return
	}
	select {
	case c.urgent <- a:
	default: // the urgent queue is full: it stays in the background queue
	}
}

// Wait returns once every asset made so far is compressed, or the
// Compressor is closed (what is left stays uncompressed), or ctx ends.
func (c *Compressor) Wait(ctx context.Context) error {
	c.mu.Lock()
	idle := c.idle
	c.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-c.stop:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the workers once they finish the asset in hand; assets not
// yet compressed stay uncompressed.
func (c *Compressor) Close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.workers.Wait()
}

func (c *Compressor) startWorker() {
	c.workers.Add(1)
	go c.work()
}

func (c *Compressor) work() {
	defer c.workers.Done()
	for {
		var a *Asset
		select { // urgent and requested first
		case a = <-c.urgent:
		case a = <-c.requested:
		case <-c.stop:
			return
		default:
			select {
			case a = <-c.urgent:
			case a = <-c.requested:
			case a = <-c.background:
			case <-c.stop:
				return
			}
		}
		if a.compressed.Load() != nil { // met in both queues: done already
			continue
		}
		enc, err := c.compress(a)
		if err != nil {
			c.log.Error("asset not compressed: served uncompressed", "content_type", a.ContentType, "hash", a.Hash, "err", err)
			enc = &encodings{}
		}
		a.compressed.Store(enc)
		a.queued.Store(queuedNone)
		c.done()
	}
}

func (c *Compressor) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending--
	if c.pending == 0 {
		close(c.idle)
	}
}

// cacheName is the name of raw's compressed forms in the cache
// directory (without the extension): the hex SHA-256 of raw.
func cacheName(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// compress makes a's encodings, or reads them from the cache directory.
func (c *Compressor) compress(a *Asset) (*encodings, error) {
	name := cacheName(a.raw)
	if enc, ok := c.read(name, a.raw); ok {
		return enc, nil
	}
	enc, err := compressBoth(a.raw)
	if err != nil {
		return nil, err
	}
	c.write(name+".gz", enc.gz)
	c.write(name+".br", enc.br)
	return enc, nil
}

// read returns the cached encodings of raw, when both are in the cache
// directory and decode to raw (a damaged file is compressed again).
func (c *Compressor) read(name string, raw []byte) (*encodings, bool) {
	if c.dir == "" {
		return nil, false
	}
	enc := &encodings{}
	for _, f := range []struct {
		ext    string
		dst    *[]byte
		reader func(io.Reader) (io.Reader, error)
	}{
		{".gz", &enc.gz, func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
		{".br", &enc.br, func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil }},
	} {
		b, err := os.ReadFile(filepath.Join(c.dir, name+f.ext))
		if errors.Is(err, os.ErrNotExist) {
			return nil, false
		}
		if err != nil {
			c.log.Warn("asset cache not read", "file", name+f.ext, "err", err)
			return nil, false
		}
		if len(b) > 0 && !decodesTo(b, raw, f.reader) {
			c.log.Warn("asset cache file damaged: compressing again", "file", name+f.ext)
			return nil, false
		}
		if len(b) > 0 { // empty: that encoding is not offered (not smaller than raw)
			*f.dst = b
		}
	}
	return enc, true
}

// decodesTo reports whether b decodes to want.
func decodesTo(b, want []byte, reader func(io.Reader) (io.Reader, error)) bool {
	r, err := reader(bytes.NewReader(b))
	if err != nil {
		return false
	}
	got, err := io.ReadAll(io.LimitReader(r, int64(len(want))+1))
	return err == nil && bytes.Equal(got, want)
}

// write keeps b in the cache directory (atomically: a temporary file
// renamed), logging failures: the cache only saves time.
func (c *Compressor) write(name string, b []byte) {
	if c.dir == "" {
		return
	}
	f, err := os.CreateTemp(c.dir, name+".*.tmp")
	if err == nil {
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), filepath.Join(c.dir, name))
		}
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}
	if err != nil {
		c.log.Warn("asset cache not written", "file", name, "err", err)
	}
}
