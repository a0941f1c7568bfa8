// Package asset serves in-memory files compressed once (gzip and brotli),
// with strong ETags, Accept-Encoding negotiation and 304 Not Modified.
// New compresses when the asset is made; a Compressor makes assets that
// are served uncompressed until it has compressed them in the background.
package asset

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"
)

// Asset is one file in its three encodings.
type Asset struct {
	ContentType string
	Hash        string // first 16 hex digits of the SHA-256 of the raw bytes

	raw        []byte
	compressed atomic.Pointer[encodings] // nil until compressed
	comp       *Compressor               // made by it; nil: compressed by New
	queued     atomic.Int32              // queuedNone, queuedBackground, queuedUrgent
}

// encodings are an asset's compressed forms; nil: not offered (not
// smaller than the raw bytes).
type encodings struct{ gz, br []byte }

func newRaw(contentType string, raw []byte) *Asset {
	sum := sha256.Sum256(raw)
	return &Asset{ContentType: contentType, Hash: hex.EncodeToString(sum[:8]), raw: raw}
}

// New compresses raw with gzip (best) and brotli (quality 11). A
// compressed form that is not smaller than raw is not offered.
func New(contentType string, raw []byte) (*Asset, error) {
	a := newRaw(contentType, raw)
	enc, err := compressBoth(raw)
	if err != nil {
		return nil, err
	}
	a.compressed.Store(enc)
	return a, nil
}

// compressBoth makes the gzip and brotli forms of raw.
func compressBoth(raw []byte) (*encodings, error) {
	enc := &encodings{}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("asset: gzip: %w", err)
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("asset: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("asset: gzip: %w", err)
	}
	if gz.Len() < len(raw) {
		enc.gz = bytes.Clone(gz.Bytes()) // without the buffer's spare capacity: kept for as long as the site
	}

	var br bytes.Buffer
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	if _, err := bw.Write(raw); err != nil {
		return nil, fmt.Errorf("asset: brotli: %w", err)
	}
	if err := bw.Close(); err != nil {
		return nil, fmt.Errorf("asset: brotli: %w", err)
	}
	if br.Len() < len(raw) {
		enc.br = bytes.Clone(br.Bytes())
	}
	return enc, nil
}

// Compressed reports whether the compressed forms are made (always, for
// an asset made by New).
func (a *Asset) Compressed() bool { return a.compressed.Load() != nil }

// Sizes returns the raw, gzip and brotli sizes in bytes (0 when that
// encoding is not offered).
func (a *Asset) Sizes() (raw, gz, br int) {
	if e := a.compressed.Load(); e != nil {
		gz, br = len(e.gz), len(e.br)
	}
	return len(a.raw), gz, br
}

// Raw returns the uncompressed bytes. The caller must not modify them.
func (a *Asset) Raw() []byte { return a.raw }

// Encoding names.
const (
	Identity = "identity"
	Gzip     = "gzip"
	Brotli   = "br"
)

// Pick chooses the encoding for an Accept-Encoding header value: brotli,
// then gzip, then identity, skipping any the client gives q=0 (and any
// this asset does not offer, or does not have yet).
func (a *Asset) Pick(acceptEncoding string) string {
	e := a.compressed.Load()
	if e == nil {
		return Identity
	}
	q := parseAcceptEncoding(acceptEncoding)
	accepts := func(name string) bool {
		if v, ok := q[name]; ok {
			return v > 0
		}
		v, ok := q["*"]
		return ok && v > 0
	}
	switch {
	case e.br != nil && accepts(Brotli):
		return Brotli
	case e.gz != nil && accepts(Gzip):
		return Gzip
	}
	return Identity
}

// ETag returns the strong entity tag of one encoding. Each encoding is a
// different representation, so each has its own tag.
func (a *Asset) ETag(encoding string) string {
	if encoding == Identity {
		return `"` + a.Hash + `"`
	}
	return `"` + a.Hash + "-" + encoding + `"`
}

func (a *Asset) body(encoding string) []byte {
	e := a.compressed.Load()
	switch {
	case e != nil && encoding == Brotli:
		return e.br
	case e != nil && encoding == Gzip:
		return e.gz
	}
	return a.raw
}

// Serve writes the asset (or 304) with the given Cache-Control value.
func (a *Asset) Serve(c *fiber.Ctx, cacheControl string) error {
	if a.comp != nil && a.compressed.Load() == nil {
		a.comp.hurry(a) // asked for before its turn: compressed next
	}
	enc := a.Pick(c.Get(fiber.HeaderAcceptEncoding))
	etag := a.ETag(enc)
	c.Vary(fiber.HeaderAcceptEncoding)
	c.Set(fiber.HeaderCacheControl, cacheControl)
	c.Set(fiber.HeaderETag, etag)
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatches(inm, etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, a.ContentType)
	if enc != Identity {
		c.Set(fiber.HeaderContentEncoding, enc)
	}
	return c.Send(a.body(enc))
}

// etagMatches implements If-None-Match's weak comparison (RFC 9110
// 13.1.2): W/ prefixes are ignored, "*" matches anything.
func etagMatches(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

// parseAcceptEncoding maps each coding to its q-value (1 when absent).
func parseAcceptEncoding(h string) map[string]float64 {
	out := map[string]float64{}
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				} else {
					q = 0
				}
			}
		}
		out[name] = q
	}
	return out
}
