package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

// rawResult is what a raw HTTP/1.1 exchange produced.
type rawResult struct {
	status int         // 0: no response before the connection closed
	header http.Header // of the response
	body   map[string]any
	raw    string
	closed bool // the server closed the connection after answering
}

// rawExchange sends req on a new connection (in a goroutine, so a server
// that answers before reading everything does not block the test), reads
// one response and, with checkClose, whether the server then closed the
// connection. wait bounds the whole exchange.
func rawExchange(t *testing.T, addr string, req []byte, wait time.Duration, checkClose bool) rawResult {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(wait))
	go func() { _, _ = conn.Write(req) }()
	br := bufio.NewReader(conn)
	var out rawResult
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		out.closed = !isTimeout(err)
		return out
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	out.status, out.header, out.raw = res.StatusCode, res.Header, string(b)
	_ = json.Unmarshal(b, &out.body)
	if !checkClose {
		return out
	}
	// Closed: EOF or reset on the next read, rather than a timeout.
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = br.ReadByte()
	out.closed = err != nil && !isTimeout(err)
	return out
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func hostAddr(env *servertest.Env) string { return strings.TrimPrefix(env.URL, "http://") }

// consentRequest is a raw POST /v1/consent with the given extra header
// lines and body; Content-Length is set from body unless a header line
// sets it or Transfer-Encoding.
func consentRequest(body string, headers ...string) []byte {
	var b strings.Builder
	b.WriteString("POST /v1/consent HTTP/1.1\r\nHost: x\r\nOrigin: " + testOrigin + "\r\n")
	ct, cl := false, false
	for _, h := range headers {
		lh := strings.ToLower(h)
		ct = ct || strings.HasPrefix(lh, "content-type:")
		cl = cl || strings.HasPrefix(lh, "content-length:") || strings.HasPrefix(lh, "transfer-encoding:")
		b.WriteString(h + "\r\n")
	}
	if !ct {
		b.WriteString("Content-Type: application/json\r\n")
	}
	if !cl {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return []byte(b.String())
}

func rawGet(path string, headers ...string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(append(headers, ""), "\r\n") + "\r\n")
}

// TestHostileInput: every kind of hostile request gets a clean 4xx with
// the JSON error (naming the field where one is at fault) or a closed
// connection; never a 5xx; the security headers are on every answer
// (also those fasthttp gives before routing); nothing is written to Redis;
// and the server still serves afterwards.
func TestHostileInput(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	nv := noticeVersion(t, env)
	before := redisKeys(t, env)

	valid := jsonOf(t, validBody(nv))
	withField := func(field, raw string) string { // valid body with one field's JSON replaced by raw
		m := validBody(nv)
		delete(m, field)
		b := jsonOf(t, m)
		return b[:len(b)-1] + `,"` + field + `":` + raw + "}"
	}
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	manyHeaders := func(n int) []string {
		h := make([]string, n)
		for i := range h {
			h[i] = fmt.Sprintf("X-Flood-%d: %s", i, strings.Repeat("v", 8))
		}
		return h
	}
	chunk := strings.Repeat("a", 20000)
	chunked := func(body string) string { return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body) }
	// A proxy that frames by Content-Length sees one request; by
	// Transfer-Encoding the bytes after "0" would be a second one.
	smuggled := "0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

	tests := []struct {
		name   string
		req    []byte
		status int    // 0: the connection may also just be closed
		field  string // the JSON error's field ("" = none expected)
		closes bool   // the server must close the connection
	}{
		// Sizes.
		{"body over the app limit, announced", consentRequest("", "Content-Length: 1000000"), 413, "body", true},
		{"body over the app limit, chunked", consentRequest(fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk), "Transfer-Encoding: chunked"), 413, "body", true},
		{"body over the consent limit", consentRequest(`{"url":"` + strings.Repeat("a", 9000) + `"}`), 413, "body", false},
		{"one header of 10 KiB", consentRequest(valid, "X-Big: "+strings.Repeat("b", 10<<10)), 431, "", true},
		{"header flood, 2000 headers", consentRequest(valid, manyHeaders(2000)...), 431, "", true},
		{"URL of 10 KiB", rawGet("/w/" + strings.Repeat("a", 10<<10) + ".js"), 431, "", true},
		{"query of 10 KiB on the consent route", []byte(strings.Replace(string(consentRequest(valid)), "/v1/consent", "/v1/consent?"+strings.Repeat("q", 10<<10), 1)), 431, "", true},
		// Content types.
		{"text/plain", consentRequest(valid, "Content-Type: text/plain"), 415, "Content-Type", false},
		{"form", consentRequest("site=demo", "Content-Type: application/x-www-form-urlencoded"), 415, "Content-Type", false},
		{"multipart", consentRequest("--x--", "Content-Type: multipart/form-data; boundary=x"), 415, "Content-Type", false},
		{"json look-alike", consentRequest(valid, "Content-Type: application/jsonp"), 415, "Content-Type", false},
		{"unparseable content type", consentRequest(valid, "Content-Type: ;;;/"), 415, "Content-Type", false},
		// Encodings and bytes.
		{"invalid UTF-8", consentRequest(withField("url", "\"https://x.fi/\xff\xfe\"")), 400, "body", false},
		{"overlong UTF-8 encoding of '/'", consentRequest(withField("url", "\"https://x.fi/\xc0\xaf\"")), 400, "body", false},
		{"raw NUL in a string", consentRequest(withField("site", "\"de\x00mo\"")), 400, "body", false},
		{"escaped NUL in url", consentRequest(withField("url", `"https://x.fi/\u0000"`)), 400, "url", false},
		{"escaped NUL in consentId", consentRequest(withField("consentId", `"\u0000"`)), 400, "consentId", false},
		{"NUL in the Origin header", []byte(strings.Replace(string(consentRequest(valid)), "Origin: "+testOrigin, "Origin: "+testOrigin+"\x00.evil", 1)), 403, "Origin", false},
		{"lone surrogate", consentRequest(withField("site", `"\ud800"`)), 400, "site", false},
		{"lone surrogate in url", consentRequest(withField("url", `"https://x.fi/\ud800"`)), 400, "url", false},
		{"lone low surrogate in url", consentRequest(withField("url", `"https://x.fi/\udc00\ud83d\ude00"`)), 400, "url", false},
		// Structure.
		{"10 000 nested arrays", consentRequest(strings.Repeat("[", 10000)), 413, "body", false},
		{"4 000 nested arrays", consentRequest(nested(4000)), 400, "body", false},
		{"nested arrays as a field", consentRequest(withField("site", nested(3000))), 400, "site", false},
		{"nested objects as a choice", consentRequest(withField("choices", `{"necessary":`+strings.Repeat(`{"a":`, 1000)+"1"+strings.Repeat("}", 1000)+`}`)), 400, "choices.necessary", false},
		{"huge number as a field", consentRequest(withField("site", "1e999999999")), 400, "site", false},
		{"huge number as a choice", consentRequest(withField("choices", `{"necessary":1e999999999,"analytics":true,"marketing":false}`)), 400, "choices.necessary", false},
		{"4000-digit number", consentRequest(withField("method", strings.Repeat("9", 4000))), 400, "method", false},
		{"duplicate key", consentRequest(withField("site", `"demo","site":"other"`)), 400, "site", false},
		{"duplicate choice", consentRequest(withField("choices", `{"necessary":true,"analytics":true,"marketing":false,"analytics":false}`)), 400, "choices.analytics", false},
		{"field name in capitals", consentRequest(withField("SITE", `"demo"`)), 400, "SITE", false},
		{"two JSON objects", consentRequest(valid + valid), 400, "body", false},
		{"empty body", consentRequest(""), 400, "body", false},
		// Framing: one way to read the body's length, or a refusal
		// (request smuggling).
		{"Content-Length and Transfer-Encoding", consentRequest(chunked(valid), fmt.Sprintf("Content-Length: %d", len(valid)), "Transfer-Encoding: chunked"), 400, "Transfer-Encoding", true},
		{"Transfer-Encoding before Content-Length", consentRequest(chunked(valid), "Transfer-Encoding: chunked", "Content-Length: 3"), 400, "Transfer-Encoding", true},
		{"Content-Length and Transfer-Encoding, smuggled request", consentRequest(smuggled, fmt.Sprintf("Content-Length: %d", len(smuggled)), "Transfer-Encoding: chunked"), 400, "Transfer-Encoding", true},
		{"Content-Length and Transfer-Encoding on a GET route", []byte(string(rawGet("/healthz", "Content-Length: 5", "Transfer-Encoding: chunked")) + "0\r\n\r\n"), 400, "Transfer-Encoding", true},
		{"Content-Length and Transfer-Encoding, body not chunked", consentRequest("zz\r\n\r\n", "Content-Length: 6", "Transfer-Encoding: chunked"), 400, "Transfer-Encoding", true},
		{"Content-Length and Transfer-Encoding, chunked body over the app limit", consentRequest(chunked(chunk), "Content-Length: 5", "Transfer-Encoding: chunked"), 400, "Transfer-Encoding", true},
		{"Content-Length and Transfer-Encoding: identity", consentRequest(valid, fmt.Sprintf("Content-Length: %d", len(valid)), "Transfer-Encoding: identity"), 400, "Transfer-Encoding", true},
		{"Transfer-Encoding: gzip, chunked", consentRequest(chunked(valid), "Transfer-Encoding: gzip, chunked"), 400, "Transfer-Encoding", true},
		{"Transfer-Encoding: xchunked", consentRequest(chunked(valid), "Transfer-Encoding: xchunked"), 400, "Transfer-Encoding", true},
		{"Transfer-Encoding twice", consentRequest(chunked(valid), "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), 400, "Transfer-Encoding", true},
		{"Content-Length twice, different values", consentRequest(valid+valid, fmt.Sprintf("Content-Length: %d", len(valid)), fmt.Sprintf("Content-Length: %d", 2*len(valid))), 400, "Content-Length", true},
		{"Content-Length twice, same value", consentRequest(valid, fmt.Sprintf("Content-Length: %d", len(valid)), fmt.Sprintf("Content-Length: %d", len(valid))), 400, "Content-Length", true},
		// Not HTTP.
		{"garbage request line", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03<script>\r\n\r\n"), 400, "", true},
		{"bad Content-Length", consentRequest(valid, "Content-Length: -5"), 400, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rawExchange(t, hostAddr(env), tt.req, 10*time.Second, tt.closes)
			if r.status >= 500 {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if r.status == 0 {
				if tt.status != 0 || !r.closed {
					t.Fatalf("no answer (closed %v), want %d", r.closed, tt.status)
				}
				return
			}
			if tt.status != 0 && r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.raw)
			}
			if r.status < 400 {
				t.Fatalf("hostile request accepted: %d %s", r.status, r.raw)
			}
			if msg, _ := r.body["error"].(string); msg == "" || r.body["field"] != nilIfEmpty(tt.field) {
				t.Fatalf("body %s, want {\"error\",\"field\":%q}", r.raw, tt.field)
			}
			if strings.Contains(r.raw, "<script>") || strings.Contains(r.raw, "contents") {
				t.Fatalf("the answer echoes the request: %s", r.raw)
			}
			for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "X-Request-Id", "Cache-Control"} {
				if r.header.Get(h) == "" {
					t.Errorf("no %s: %v", h, r.header)
				}
			}
			if tt.closes && !r.closed {
				t.Fatal("connection left open")
			}
		})
	}

	if after := redisKeys(t, env); !slices.Equal(before, after) {
		t.Fatalf("hostile requests wrote to Redis: keys %v, before %v", after, before)
	}
	if r := post(t, env, valid, nil); r.Status != http.StatusCreated {
		t.Fatalf("a valid post afterwards: %d %s", r.Status, r.Raw)
	}
	// The refusals fasthttp answers before routing are counted too.
	m := do(t, mustReq(t, http.MethodGet, env.URL+"/metrics")).Raw
	for _, code := range []string{"413", "431", "400"} {
		if !strings.Contains(m, `route="rejected"`) || !strings.Contains(grepLines(m, `route="rejected"`), `code="`+code+`"`) {
			t.Errorf("no rejected %s in metrics:\n%s", code, grepLines(m, "rejected"))
		}
	}
}

// TestChunkedPost: a body framed by Transfer-Encoding: chunked alone (no
// Content-Length) is read and stored, and the connection stays open; the
// framing refusals of TestHostileInput do not catch it.
func TestChunkedPost(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	valid := jsonOf(t, validBody(noticeVersion(t, env)))
	body := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(valid), valid)
	r := rawExchange(t, hostAddr(env), consentRequest(body, "Transfer-Encoding: chunked"), 10*time.Second, true)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", r.status, r.raw)
	}
	if r.closed {
		t.Fatal("connection closed after a valid chunked post")
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// redisKeys lists every key once the site's notice snapshots (saved in the
// background at start) are there.
func redisKeys(t *testing.T, env *servertest.Env) []string {
	t.Helper()
	ctx := context.Background()
	for i := 0; env.Redis.Exists(ctx, ledger.NoticeKey("demo")).Val() == 0; i++ {
		if i > 100 {
			t.Fatal("notice snapshots never saved")
		}
		time.Sleep(50 * time.Millisecond)
	}
	keys := env.Redis.Keys(ctx, "*").Val()
	slices.Sort(keys)
	return keys
}

// TestSlowClients: a client that sends too slowly, or holds a connection
// without sending, is cut off once the configured timeout has passed. The
// bound checked is generous (timeout + 4 s): this proves the connection
// is closed by the server, not how fast.
func TestSlowClients(t *testing.T) {
	const timeout = time.Second
	env := servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = timeout, timeout, timeout
	}})
	nv := noticeVersion(t, env)
	valid := string(consentRequest(jsonOf(t, validBody(nv))))
	headerEnd := strings.Index(valid, "\r\n\r\n") + 4
	bound := timeout + 4*time.Second

	tests := []struct {
		name  string
		first string        // sent at once
		drip  string        // then sent one byte at a time
		every time.Duration // between drip bytes
	}{
		{"silent connection", "", "", 0},
		{"slowloris: headers that never end", "POST /v1/consent HTTP/1.1\r\nHost: x\r\n", strings.Repeat("X-Slow: 1\r\n", 1000), 100 * time.Millisecond},
		{"slow body", valid[:headerEnd], valid[headerEnd:], 300 * time.Millisecond},
		{"half a request line", "GET /heal", "", 0},
		{"only empty lines (skipped, as HTTP/1.1 allows)", "\r\n\r\n\r\n", "", 0},
	}
	t.Run("clients that send too slowly", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				slowClient(t, hostAddr(env), tt.first, tt.drip, tt.every, bound)
			})
		}
	})

	t.Run("idle keep-alive connection", func(t *testing.T) {
		conn, err := net.Dial("tcp", hostAddr(env))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(bound + 5*time.Second))
		if _, err := conn.Write(rawGet("/healthz")); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != 200 || res.Close {
			t.Fatalf("healthz on keep-alive: %v %v", res, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		start := time.Now()
		_, err = br.ReadByte()
		if isTimeout(err) || time.Since(start) > bound {
			t.Fatalf("idle connection still open after %v (%v)", time.Since(start).Round(time.Millisecond), err)
		}
	})

	t.Run("client that does not read", func(t *testing.T) {
		// Pipelined widget requests, never read: once the socket buffers
		// are full the server's write blocks and --write-timeout ends it.
		conn, err := net.Dial("tcp", hostAddr(env))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		tc := conn.(*net.TCPConn)
		_ = tc.SetReadBuffer(4 << 10)
		const n = 3000 // × ≈ 10 KB of JavaScript each
		go func() {
			req := rawGet("/w/demo.js")
			for i := 0; i < n; i++ {
				if _, err := conn.Write(req); err != nil {
					return
				}
			}
		}()
		time.Sleep(timeout + 2*time.Second) // not reading
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		got, err := io.Copy(io.Discard, conn) // drain until closed
		if isTimeout(err) {
			t.Fatalf("never closed (read %d bytes)", got)
		}
		if got >= n*10000 {
			t.Fatalf("read %d bytes: the server wrote every answer, want it to give up", got)
		}
	})

	if r := post(t, env, jsonOf(t, validBody(nv)), nil); r.Status != http.StatusCreated {
		t.Fatalf("a valid post afterwards: %d %s", r.Status, r.Raw)
	}
}

// slowClient sends first, then drip one byte every interval, and checks
// that the server closes the connection (answering 408 at most) within
// bound.
func slowClient(t *testing.T, addr, first, drip string, every, bound time.Duration) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_ = conn.SetDeadline(start.Add(bound + 5*time.Second))
	if _, err := io.WriteString(conn, first); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; i < len(drip); i++ {
			select {
			case <-stop:
				return
			case <-time.After(every):
			}
			if _, err := conn.Write([]byte{drip[i]}); err != nil {
				return
			}
		}
	}()
	got, err := io.ReadAll(conn) // until the server closes
	took := time.Since(start)
	if isTimeout(err) {
		t.Fatalf("still open after %v", took.Round(time.Millisecond))
	}
	if took > bound {
		t.Fatalf("closed after %v, want within %v", took.Round(time.Millisecond), bound)
	}
	if len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 408") {
		t.Fatalf("answer %q, want none or 408", got)
	}
}
