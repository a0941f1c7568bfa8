package asset

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"
)

const cacheControl = "public, max-age=300"

// compressible is text that both gzip and brotli shrink a lot.
var compressible = []byte(strings.Repeat("consentd keeps a record of every choice a visitor makes. ", 64))

func mustNew(t testing.TB, contentType string, raw []byte) *Asset {
	t.Helper()
	a, err := New(contentType, raw)
	if err != nil {
		t.Fatalf("New(%q, %d bytes): %v", contentType, len(raw), err)
	}
	return a
}

// incompressibleBytes returns n bytes that neither encoding can shrink
// (a fixed seed keeps the test deterministic).
func incompressibleBytes(n int) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{'c', 'o', 'n', 's', 'e', 'n', 't', 'd'}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestNewCompressesBothEncodings(t *testing.T) {
	a := mustNew(t, "text/plain; charset=utf-8", compressible)
	raw, gz, br := a.Sizes()
	if raw != len(compressible) {
		t.Errorf("raw size = %d, want %d", raw, len(compressible))
	}
	if gz <= 0 || gz >= raw {
		t.Errorf("gzip size = %d, want 0 < size < %d", gz, raw)
	}
	if br <= 0 || br >= raw {
		t.Errorf("brotli size = %d, want 0 < size < %d", br, raw)
	}
	if !bytes.Equal(a.Raw(), compressible) {
		t.Error("Raw() differs from the bytes given to New")
	}
	if a.ContentType != "text/plain; charset=utf-8" {
		t.Errorf("ContentType = %q", a.ContentType)
	}
}

func TestNewCompressedFormsDecodeToRaw(t *testing.T) {
	a := mustNew(t, "text/plain", compressible)
	if got := gunzip(t, a.body(Gzip)); !bytes.Equal(got, compressible) {
		t.Error("gzip form does not decode to the raw bytes")
	}
	if got := unbrotli(t, a.body(Brotli)); !bytes.Equal(got, compressible) {
		t.Error("brotli form does not decode to the raw bytes")
	}
	if got := a.body(Identity); !bytes.Equal(got, compressible) {
		t.Error("identity body is not the raw bytes")
	}
}

func TestNewHash(t *testing.T) {
	a := mustNew(t, "text/plain", compressible)
	sum := sha256.Sum256(compressible)
	if want := hex.EncodeToString(sum[:])[:16]; a.Hash != want {
		t.Errorf("Hash = %q, want %q (first 16 hex digits of SHA-256)", a.Hash, want)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(a.Hash) {
		t.Errorf("Hash %q is not 16 lower-case hex digits", a.Hash)
	}
}

func TestNewOffersOnlyWhatIsSmaller(t *testing.T) {
	tests := []struct {
		name             string
		raw              []byte
		wantGzip, wantBr bool
	}{
		{"empty", nil, false, false},
		{"5 random bytes", incompressibleBytes(5), false, false},
		{"4 KiB random bytes", incompressibleBytes(4096), false, false},
		// 20 equal bytes: brotli's few bytes of framing win, gzip's 18 do not.
		{"20 equal bytes", bytes.Repeat([]byte{'a'}, 20), false, true},
		{"repetitive text", compressible, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustNew(t, "application/octet-stream", tt.raw)
			raw, gz, br := a.Sizes()
			if raw != len(tt.raw) {
				t.Errorf("raw size = %d, want %d", raw, len(tt.raw))
			}
			if (gz > 0) != tt.wantGzip {
				t.Errorf("gzip size = %d, offered = %v, want offered = %v", gz, gz > 0, tt.wantGzip)
			}
			if (br > 0) != tt.wantBr {
				t.Errorf("brotli size = %d, offered = %v, want offered = %v", br, br > 0, tt.wantBr)
			}
			if gz >= raw && gz != 0 || br >= raw && br != 0 {
				t.Errorf("offered a compressed form that is not smaller: raw %d, gzip %d, brotli %d", raw, gz, br)
			}
		})
	}
}

func TestPick(t *testing.T) {
	a := mustNew(t, "text/plain", compressible)
	tests := []struct {
		acceptEncoding string
		want           string
	}{
		{"", Identity},
		{"gzip", Gzip},
		{"br", Brotli},
		{"gzip, br", Brotli},
		{"br, gzip", Brotli},
		{"gzip, deflate, br, zstd", Brotli},
		{"deflate", Identity},
		{"br;q=0, gzip", Gzip},
		{"gzip;q=0, br;q=0", Identity},
		{"gzip;q=0", Identity},
		{"*", Brotli},
		{"*;q=0", Identity},
		{"*, br;q=0", Gzip},
		{"*;q=0, gzip", Gzip},
		{"identity", Identity},
		{"identity, gzip;q=0.1", Gzip},
		{"BR", Brotli},
		{"GZip", Gzip},
		{"br;Q=0, gzip", Gzip},
		// Brotli wins whenever it is acceptable at all; q only says yes or no.
		{"gzip;q=0.5, br;q=0.4", Brotli},
		{"gzip;q=1, br;q=0.001", Brotli},
		// A q-value that does not parse, or is out of range, counts as q=0.
		{"br;q=abc", Identity},
		{"br;q=abc, gzip", Gzip},
		{"br;q=", Identity},
		{"br;q=1.5, gzip", Gzip},
		{"br;q=-1, gzip", Gzip},
		{"br;q=NaN, gzip", Gzip},
		{"br;q=-0, gzip", Gzip},
		// Parameters other than q leave q at 1.
		{"br;level=4", Brotli},
		// Whitespace around names, separators and parameters.
		{"  gzip  ,  br  ", Brotli},
		{"br ; q = 0 , gzip", Gzip},
		{"gzip,br;q=0", Gzip},
		{"\tbr\t", Brotli},
		// Empty list elements are skipped.
		{",,gzip,,", Gzip},
		{",", Identity},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.acceptEncoding), func(t *testing.T) {
			if got := a.Pick(tt.acceptEncoding); got != tt.want {
				t.Errorf("Pick(%q) = %q, want %q", tt.acceptEncoding, got, tt.want)
			}
		})
	}
}

func TestPickSkipsEncodingsNotOffered(t *testing.T) {
	incompressible := mustNew(t, "application/octet-stream", incompressibleBytes(5))
	brOnly := mustNew(t, "text/plain", bytes.Repeat([]byte{'a'}, 20))
	if _, gz, br := brOnly.Sizes(); gz != 0 || br == 0 {
		t.Fatalf("precondition: want an asset with brotli only, sizes gzip %d brotli %d", gz, br)
	}
	tests := []struct {
		name           string
		asset          *Asset
		acceptEncoding string
		want           string
	}{
		{"incompressible, gzip", incompressible, "gzip", Identity},
		{"incompressible, br", incompressible, "br", Identity},
		{"incompressible, gzip and br", incompressible, "gzip, br", Identity},
		{"incompressible, *", incompressible, "*", Identity},
		{"brotli only, gzip", brOnly, "gzip", Identity},
		{"brotli only, gzip and br", brOnly, "gzip, br", Brotli},
		{"brotli only, br refused", brOnly, "br;q=0, gzip", Identity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.asset.Pick(tt.acceptEncoding); got != tt.want {
				t.Errorf("Pick(%q) = %q, want %q", tt.acceptEncoding, got, tt.want)
			}
		})
	}
}

func TestParseAcceptEncoding(t *testing.T) {
	tests := []struct {
		header string
		want   map[string]float64
	}{
		{"", map[string]float64{}},
		{"gzip", map[string]float64{"gzip": 1}},
		{"gzip, br", map[string]float64{"gzip": 1, "br": 1}},
		{"GZIP, Br", map[string]float64{"gzip": 1, "br": 1}},
		{"gzip;q=0.5, br;q=0.4", map[string]float64{"gzip": 0.5, "br": 0.4}},
		{"br;q=0", map[string]float64{"br": 0}},
		{"br;q=1", map[string]float64{"br": 1}},
		{"br;q=1.000", map[string]float64{"br": 1}},
		{"br;q=abc", map[string]float64{"br": 0}},
		{"br;q=2", map[string]float64{"br": 0}},
		{"br;q=-0.5", map[string]float64{"br": 0}},
		{"br;q", map[string]float64{"br": 1}}, // no "=": not a q parameter
		{"br;foo=bar", map[string]float64{"br": 1}},
		{"br;foo=bar;q=0.3", map[string]float64{"br": 0.3}},
		{"*;q=0", map[string]float64{"*": 0}},
		{" gzip ; q = 0.25 ", map[string]float64{"gzip": 0.25}},
		{";q=0.5", map[string]float64{}},
		{", ,", map[string]float64{}},
		// A repeated coding: the last one wins.
		{"br, br;q=0", map[string]float64{"br": 0}},
		{"br;q=0, br", map[string]float64{"br": 1}},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.header), func(t *testing.T) {
			if got := parseAcceptEncoding(tt.header); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseAcceptEncoding(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func TestETag(t *testing.T) {
	a := mustNew(t, "text/plain", compressible)
	strong := regexp.MustCompile(`^"[^"]+"$`)
	seen := map[string]string{}
	for _, enc := range []string{Identity, Gzip, Brotli} {
		tag := a.ETag(enc)
		if !strong.MatchString(tag) || strings.HasPrefix(tag, "W/") {
			t.Errorf("ETag(%q) = %s, want a strong quoted tag", enc, tag)
		}
		if !strings.Contains(tag, a.Hash) {
			t.Errorf("ETag(%q) = %s does not contain the hash %s", enc, tag, a.Hash)
		}
		if other, dup := seen[tag]; dup {
			t.Errorf("ETag(%q) = ETag(%q) = %s, want one tag per encoding", enc, other, tag)
		}
		seen[tag] = enc
	}
	if got, want := a.ETag(Identity), `"`+a.Hash+`"`; got != want {
		t.Errorf("ETag(identity) = %s, want %s", got, want)
	}
	if got, want := a.ETag(Gzip), `"`+a.Hash+`-gzip"`; got != want {
		t.Errorf("ETag(gzip) = %s, want %s", got, want)
	}
	if got, want := a.ETag(Brotli), `"`+a.Hash+`-br"`; got != want {
		t.Errorf("ETag(br) = %s, want %s", got, want)
	}
}

func TestETagDependsOnlyOnContent(t *testing.T) {
	a := mustNew(t, "text/plain", compressible)
	same := mustNew(t, "text/html", bytes.Clone(compressible))
	changed := bytes.Clone(compressible)
	changed[len(changed)-1] ^= 1
	different := mustNew(t, "text/plain", changed)

	for _, enc := range []string{Identity, Gzip, Brotli} {
		if a.ETag(enc) != same.ETag(enc) {
			t.Errorf("%s: same content gives %s and %s", enc, a.ETag(enc), same.ETag(enc))
		}
		if a.ETag(enc) == different.ETag(enc) {
			t.Errorf("%s: different content gives the same tag %s", enc, a.ETag(enc))
		}
	}
	if a.Hash == different.Hash {
		t.Errorf("one flipped bit left Hash unchanged: %s", a.Hash)
	}
}

func TestETagMatches(t *testing.T) {
	const tag = `"0123456789abcdef-br"`
	tests := []struct {
		name   string
		header string
		want   bool
	}{
		{"exact", `"0123456789abcdef-br"`, true},
		{"weak prefix", `W/"0123456789abcdef-br"`, true},
		{"surrounding spaces", `  "0123456789abcdef-br"  `, true},
		{"in a list", `"aaaa", "0123456789abcdef-br", "bbbb"`, true},
		{"in a list without spaces", `"aaaa","0123456789abcdef-br"`, true},
		{"weak in a list", `"aaaa", W/"0123456789abcdef-br"`, true},
		{"star", `*`, true},
		{"star with spaces", ` * `, true},
		{"other tag", `"fedcba9876543210-br"`, false},
		{"other encoding of the same content", `"0123456789abcdef-gzip"`, false},
		{"identity tag of the same content", `"0123456789abcdef"`, false},
		{"unquoted", `0123456789abcdef-br`, false},
		{"lower-case weak prefix is not a prefix", `w/"0123456789abcdef-br"`, false},
		{"list without the tag", `"aaaa", W/"bbbb"`, false},
		{"empty", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := etagMatches(tt.header, tag); got != tt.want {
				t.Errorf("etagMatches(%q, %s) = %v, want %v", tt.header, tag, got, tt.want)
			}
		})
	}
}

// --- Serve ---

func newApp(a *Asset) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/asset", func(c *fiber.Ctx) error { return a.Serve(c, cacheControl) })
	return app
}

type served struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, app *fiber.App, method string, header map[string]string) served {
	t.Helper()
	req := httptest.NewRequest(method, "/asset", nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s /asset: %v", method, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s /asset: reading body: %v", method, err)
	}
	return served{status: res.StatusCode, header: res.Header, body: body}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return out
}

func unbrotli(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("brotli: %v", err)
	}
	return out
}

func TestServe(t *testing.T) {
	const contentType = "text/javascript; charset=utf-8"
	a := mustNew(t, contentType, compressible)
	app := newApp(a)
	tests := []struct {
		name           string
		acceptEncoding string
		wantEncoding   string // "" for identity
		decode         func(*testing.T, []byte) []byte
	}{
		{"brotli", "gzip, deflate, br", "br", unbrotli},
		{"gzip", "gzip", "gzip", gunzip},
		{"identity", "", "", func(_ *testing.T, b []byte) []byte { return b }},
		{"identity when all refused", "gzip;q=0, br;q=0", "", func(_ *testing.T, b []byte) []byte { return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, app, http.MethodGet, map[string]string{"Accept-Encoding": tt.acceptEncoding})
			if res.status != http.StatusOK {
				t.Fatalf("status = %d, want 200", res.status)
			}
			if got := res.header.Get("Content-Encoding"); got != tt.wantEncoding {
				t.Errorf("Content-Encoding = %q, want %q", got, tt.wantEncoding)
			}
			if got := res.header.Get("Content-Type"); got != contentType {
				t.Errorf("Content-Type = %q, want %q", got, contentType)
			}
			if got := res.header.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary = %q, want Accept-Encoding", got)
			}
			if got := res.header.Get("Cache-Control"); got != cacheControl {
				t.Errorf("Cache-Control = %q, want %q", got, cacheControl)
			}
			enc := tt.wantEncoding
			if enc == "" {
				enc = Identity
			}
			if got := res.header.Get("ETag"); got != a.ETag(enc) {
				t.Errorf("ETag = %q, want %q", got, a.ETag(enc))
			}
			if got := res.header.Get("Content-Length"); got != strconv.Itoa(len(res.body)) {
				t.Errorf("Content-Length = %q, body is %d bytes", got, len(res.body))
			}
			if !bytes.Equal(res.body, a.body(enc)) {
				t.Errorf("body is %d bytes, want the %d-byte %s form", len(res.body), len(a.body(enc)), enc)
			}
			if got := tt.decode(t, res.body); !bytes.Equal(got, compressible) {
				t.Errorf("decoded body is %d bytes, want the %d raw bytes", len(got), len(compressible))
			}
		})
	}
}

func TestServeIncompressibleIsIdentity(t *testing.T) {
	raw := incompressibleBytes(5)
	a := mustNew(t, "application/octet-stream", raw)
	res := do(t, newApp(a), http.MethodGet, map[string]string{"Accept-Encoding": "gzip, br"})
	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200", res.status)
	}
	if got := res.header.Get("Content-Encoding"); got != "" {
		t.Errorf("Content-Encoding = %q, want none", got)
	}
	if got := res.header.Get("ETag"); got != a.ETag(Identity) {
		t.Errorf("ETag = %q, want %q", got, a.ETag(Identity))
	}
	if !bytes.Equal(res.body, raw) {
		t.Errorf("body = %x, want %x", res.body, raw)
	}
}

func TestServeNotModified(t *testing.T) {
	a := mustNew(t, "text/plain", compressible)
	app := newApp(a)
	tests := []struct {
		name           string
		acceptEncoding string
		ifNoneMatch    string
		wantStatus     int
		wantETag       string
	}{
		{"brotli tag", "br", a.ETag(Brotli), http.StatusNotModified, a.ETag(Brotli)},
		{"gzip tag", "gzip", a.ETag(Gzip), http.StatusNotModified, a.ETag(Gzip)},
		{"identity tag", "", a.ETag(Identity), http.StatusNotModified, a.ETag(Identity)},
		{"weak form of the tag", "br", "W/" + a.ETag(Brotli), http.StatusNotModified, a.ETag(Brotli)},
		{"tag in a list", "br", `"stale", ` + a.ETag(Brotli), http.StatusNotModified, a.ETag(Brotli)},
		{"star", "gzip", "*", http.StatusNotModified, a.ETag(Gzip)},
		{"stale tag", "br", `"0000000000000000-br"`, http.StatusOK, a.ETag(Brotli)},
		{"tag of another encoding", "br", a.ETag(Gzip), http.StatusOK, a.ETag(Brotli)},
		{"identity tag when brotli is picked", "br", a.ETag(Identity), http.StatusOK, a.ETag(Brotli)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, app, http.MethodGet, map[string]string{
				"Accept-Encoding": tt.acceptEncoding,
				"If-None-Match":   tt.ifNoneMatch,
			})
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d", res.status, tt.wantStatus)
			}
			if got := res.header.Get("ETag"); got != tt.wantETag {
				t.Errorf("ETag = %q, want %q", got, tt.wantETag)
			}
			if got := res.header.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary = %q, want Accept-Encoding", got)
			}
			if got := res.header.Get("Cache-Control"); got != cacheControl {
				t.Errorf("Cache-Control = %q, want %q", got, cacheControl)
			}
			if tt.wantStatus == http.StatusNotModified {
				if len(res.body) != 0 {
					t.Errorf("304 body = %q, want empty", res.body)
				}
				if got := res.header.Get("Content-Encoding"); got != "" {
					t.Errorf("304 Content-Encoding = %q, want none", got)
				}
			} else if len(res.body) == 0 {
				t.Error("200 with an empty body")
			}
		})
	}
}

func TestServeHead(t *testing.T) {
	a := mustNew(t, "text/css", compressible)
	app := newApp(a)
	tests := []struct {
		name           string
		acceptEncoding string
		encoding       string
	}{
		{"brotli", "br", Brotli},
		{"gzip", "gzip", Gzip},
		{"identity", "", Identity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, app, http.MethodHead, map[string]string{"Accept-Encoding": tt.acceptEncoding})
			if res.status != http.StatusOK {
				t.Fatalf("HEAD status = %d, want 200", res.status)
			}
			if len(res.body) != 0 {
				t.Errorf("HEAD body is %d bytes, want none", len(res.body))
			}
			if got := res.header.Get("ETag"); got != a.ETag(tt.encoding) {
				t.Errorf("ETag = %q, want %q", got, a.ETag(tt.encoding))
			}
			if got := res.header.Get("Content-Type"); got != "text/css" {
				t.Errorf("Content-Type = %q, want text/css", got)
			}
			wantCE := tt.encoding
			if wantCE == Identity {
				wantCE = ""
			}
			if got := res.header.Get("Content-Encoding"); got != wantCE {
				t.Errorf("Content-Encoding = %q, want %q", got, wantCE)
			}
			if got, want := res.header.Get("Content-Length"), strconv.Itoa(len(a.body(tt.encoding))); got != want {
				t.Errorf("Content-Length = %q, want %q (size of the GET body)", got, want)
			}
		})
	}

	res := do(t, app, http.MethodHead, map[string]string{"Accept-Encoding": "br", "If-None-Match": a.ETag(Brotli)})
	if res.status != http.StatusNotModified || len(res.body) != 0 {
		t.Errorf("conditional HEAD: status %d with %d body bytes, want 304 and none", res.status, len(res.body))
	}
}

func BenchmarkPick(b *testing.B) {
	a := mustNew(b, "text/plain", compressible)
	headers := []string{
		"",
		"gzip, deflate, br, zstd",
		"gzip;q=1.0, identity; q=0.5, *;q=0",
		"br;q=0, gzip",
	}
	for _, h := range headers {
		b.Run(strconv.Quote(h), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a.Pick(h)
			}
		})
	}
}
