package server

import (
	"bufio"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestFramingError: framingError and the HeaderReceived hook on headers
// as fasthttp parses them. A body length that can be read one way only
// passes untouched; anything else is refused, naming the header, and the
// hook reads no body for it. The refused headers are all ones fasthttp
// itself accepts (it keeps one length and drops the rest).
func TestFramingError(t *testing.T) {
	tests := []struct {
		name   string
		header string // header lines after the request line
		field  string // "" = accepted
	}{
		{"no body", "Host: x\r\n", ""},
		{"Content-Length", "Content-Length: 5\r\n", ""},
		{"chunked", "Transfer-Encoding: chunked\r\n", ""},
		{"chunked in capitals", "transfer-encoding: CHUNKED\r\n", ""},
		{"Content-Length and Transfer-Encoding", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding"},
		{"Transfer-Encoding and Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "Transfer-Encoding"},
		{"header names in other case", "content-length: 5\r\nTRANSFER-ENCODING: chunked\r\n", "Transfer-Encoding"},
		{"identity", "Transfer-Encoding: identity\r\n", "Transfer-Encoding"},
		{"identity and Content-Length", "Transfer-Encoding: identity\r\nContent-Length: 5\r\n", "Transfer-Encoding"},
		{"gzip", "Transfer-Encoding: gzip\r\n", "Transfer-Encoding"},
		{"gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding"},
		{"chunked, chunked", "Transfer-Encoding: chunked, chunked\r\n", "Transfer-Encoding"},
		{"empty value", "Transfer-Encoding: \r\n", "Transfer-Encoding"},
		{"trailing tab", "Transfer-Encoding: chunked\t\r\n", "Transfer-Encoding"},
		{"folded value", "Transfer-Encoding: chunked\r\n x\r\n", "Transfer-Encoding"},
		{"twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding"},
		{"Content-Length twice, different", "Content-Length: 5\r\nContent-Length: 6\r\n", "Content-Length"},
		{"Content-Length twice, same", "Content-Length: 5\r\nContent-Length: 5\r\n", "Content-Length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h fasthttp.RequestHeader
			raw := "POST /v1/consent HTTP/1.1\r\n" + tt.header + "\r\n"
			if err := h.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
				t.Fatalf("fasthttp refuses the header itself: %v", err)
			}
			length := h.ContentLength()
			err := framingError(&h)
			skipAmbiguousBody(&h)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if h.ContentLength() != length || h.ConnectionClose() {
					t.Fatalf("the hook changed the request: length %d (was %d), close %v", h.ContentLength(), length, h.ConnectionClose())
				}
				return
			}
			ae, ok := err.(*APIError)
			if !ok || ae.Code != 400 || ae.Field != tt.field {
				t.Fatalf("error %#v, want 400 %q", err, tt.field)
			}
			// The hook reads no body for it and closes the connection.
			if h.ContentLength() != 0 || !h.ConnectionClose() {
				t.Fatalf("after the hook: length %d, close %v; want 0, true", h.ContentLength(), h.ConnectionClose())
			}
			// What refuseAmbiguousFraming scans again: the same answer.
			if again := framingError(&h); again == nil || again.(*APIError).Field != tt.field {
				t.Fatalf("after the hook: %v", again)
			}
		})
	}
}

// BenchmarkFramingError is the cost framingError adds to a typical
// consent post (every request pays it, in fasthttp's HeaderReceived hook).
func BenchmarkFramingError(b *testing.B) {
	var h fasthttp.RequestHeader
	raw := "POST /v1/consent HTTP/1.1\r\nHost: consent.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36\r\nAccept: */*\r\nAccept-Language: fi,en;q=0.8\r\nAccept-Encoding: gzip, deflate, br\r\nContent-Type: application/json\r\nContent-Length: 300\r\nOrigin: https://www.oppimo.fi\r\nReferer: https://www.oppimo.fi/\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Site: cross-site\r\nConnection: keep-alive\r\n\r\n"
	_ = h.Read(bufio.NewReader(strings.NewReader(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if framingError(&h) != nil {
			b.Fatal()
		}
	}
}
