package server

import (
	"bufio"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func BenchmarkFramingTmp(b *testing.B) {
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
