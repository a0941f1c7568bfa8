// Package asset serves in-memory files that are compressed once (gzip and
// brotli) when they are created, with strong ETags, Accept-Encoding
// negotiation and 304 Not Modified.
package asset

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"
)

// Asset is one file in its three encodings.
type Asset struct {
	ContentType string
	Hash        string // first 16 hex digits of the SHA-256 of the raw bytes

	raw, gz, br []byte
}

// New compresses raw with gzip (best) and brotli (quality 11). A
// compressed form that is not smaller than raw is not offered.
func New(contentType string, raw []byte) (*Asset, error) {
	sum := sha256.Sum256(raw)
	a := &Asset{ContentType: contentType, Hash: hex.EncodeToString(sum[:8]), raw: raw}

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
		a.gz = gz.Bytes()
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
		a.br = br.Bytes()
	}
	return a, nil
}

// Sizes returns the raw, gzip and brotli sizes in bytes (0 when that
// encoding is not offered).
func (a *Asset) Sizes() (raw, gz, br int) { return len(a.raw), len(a.gz), len(a.br) }

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
// this asset does not offer).
func (a *Asset) Pick(acceptEncoding string) string {
	q := parseAcceptEncoding(acceptEncoding)
	accepts := func(name string) bool {
		if v, ok := q[name]; ok {
			return v > 0
		}
		v, ok := q["*"]
		return ok && v > 0
	}
	switch {
	case a.br != nil && accepts(Brotli):
		return Brotli
	case a.gz != nil && accepts(Gzip):
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
	switch encoding {
	case Brotli:
		return a.br
	case Gzip:
		return a.gz
	}
	return a.raw
}

// Serve writes the asset (or 304) with the given Cache-Control value.
func (a *Asset) Serve(c *fiber.Ctx, cacheControl string) error {
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
