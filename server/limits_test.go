package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/redisproc"
	"github.com/consentd/consentd/server/servertest"
)

// limitPost is one consent post in a rate-limit scenario.
type limitPost struct {
	instance  int    // which of the two consentd instances gets it
	addr      string // client address (X-Forwarded-For from the trusted loopback proxy)
	consentID string // "" = let the server make one
	status    int    // expected status
	limit     string // for 429: "address", "site" or "consent_id" (which message)
}

const (
	idA = "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f"
	idB = "4a3c7d2f-9e5b-4c8f-8d1e-3b2c4d5e6f70"
)

// TestConsentLimits runs each scenario against two consentd instances
// sharing one Redis: every limit holds across instances. The limits are
// 2 per address, 4 per site and 2 per consent ID; each scenario starts
// with no counters (they are deleted between scenarios, with the visitor
// hashes, where the ledger counts decisions per consent ID).
func TestConsentLimits(t *testing.T) {
	tests := []struct {
		name  string
		posts []limitPost
	}{
		{"per address, across instances", []limitPost{
			{0, "198.51.100.7", idA, 201, ""},
			{1, "198.51.100.7", idB, 201, ""},
			{0, "198.51.100.7", "", 429, "address"},
			{1, "198.51.100.7", "", 429, "address"},
			{1, "198.51.100.8", "", 201, ""}, // the next address has its own counter
		}},
		{"IPv6 counts per /64", []limitPost{
			{0, "2001:db8:1:2::1", "", 201, ""},
			{1, "2001:db8:1:2:ffff::99", "", 201, ""},
			{0, "2001:db8:1:2::abcd", "", 429, "address"}, // same /64
			{1, "2001:db8:1:3::1", "", 201, ""},           // next /64
		}},
		{"IPv4-mapped IPv6 is the IPv4 address", []limitPost{
			{0, "::ffff:198.51.100.7", "", 201, ""},
			{1, "198.51.100.7", "", 201, ""},
			{0, "::ffff:198.51.100.7", "", 429, "address"},
		}},
		{"per site, across instances and addresses", []limitPost{
			{0, "198.51.100.1", "", 201, ""},
			{1, "198.51.100.2", "", 201, ""},
			{0, "2001:db8::1", "", 201, ""},
			{1, "198.51.100.4", "", 201, ""},
			{0, "198.51.100.5", "", 429, "site"},
			{1, "198.51.100.1", "", 429, "site"},
		}},
		{"per consent ID, across instances and addresses", []limitPost{
			{0, "198.51.100.1", idA, 201, ""},
			{1, "198.51.100.2", idA, 201, ""},
			{0, "198.51.100.3", idA, 429, "consent_id"},
			{1, "198.51.100.3", idB, 201, ""}, // another visitor
			{0, "198.51.100.4", "", 201, ""},  // a new visitor (server-made ID) is not capped by ID; site 4/4: the refusal did not count
		}},
		{"a refused post counts nowhere", []limitPost{
			{0, "198.51.100.1", "", 201, ""},
			{1, "198.51.100.1", "", 201, ""},        // site 2/4
			{0, "198.51.100.1", "", 429, "address"}, // not counted for the site
			{1, "198.51.100.2", "", 201, ""},
			{0, "198.51.100.2", "", 201, ""}, // site 4/4: had the refusal counted, this would be 429
			{1, "198.51.100.3", "", 429, "site"},
		}},
	}
	envs := twoInstances(t, func(c *config.Config) { c.RateLimit, c.SiteRateLimit, c.ConsentIDLimit = 2, 4, 2 })
	nv := noticeVersion(t, envs[0])
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			awayFromWindowEdge()
			for _, pattern := range []string{"c:{demo}:r:*", "c:{demo}:v:*"} {
				if keys := envs[0].Redis.Keys(ctx, pattern).Val(); len(keys) > 0 {
					envs[0].Redis.Del(ctx, keys...)
				}
			}
			for j, p := range tt.posts {
				m := validBody(nv)
				m["consentId"] = p.consentID
				if p.consentID == "" {
					delete(m, "consentId")
				}
				r := post(t, envs[p.instance], jsonOf(t, m), map[string]string{"X-Forwarded-For": p.addr})
				if r.Status != p.status {
					t.Fatalf("post %d (%+v): %d %s", j, p, r.Status, r.Raw)
				}
				if p.status == http.StatusTooManyRequests {
					checkTooMany(t, r, p.limit)
				}
			}
			checkNoRawAddress(t, envs[0], tt.posts)
		})
	}
}

// awayFromWindowEdge waits, when the current minute (the limits' window,
// aligned to the clock) has less than 3 s left, for the next one: a
// scenario then runs within one window.
func awayFromWindowEdge() {
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < 3*time.Second {
		time.Sleep(left + 10*time.Millisecond)
	}
}

// TestConsentLimitsOff: with every limit 0 nothing is counted.
func TestConsentLimitsOff(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Config: func(c *config.Config) { c.RateLimit, c.SiteRateLimit, c.ConsentIDLimit = 0, 0, 0 }})
	body := jsonOf(t, validBody(noticeVersion(t, env)))
	for range 12 {
		if r := post(t, env, body, nil); r.Status != http.StatusCreated || r.Header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("%d %v %s", r.Status, r.Header, r.Raw)
		}
	}
	if keys := env.Redis.Keys(context.Background(), "c:{demo}:r:*").Val(); len(keys) != 0 {
		t.Fatalf("limits off, counters written: %v", keys)
	}
}

// twoInstances starts one Redis and two consentd on it, both trusting the
// loopback peer's X-Forwarded-For (so a test can pick client addresses).
func twoInstances(t *testing.T, cfg func(*config.Config)) [2]*servertest.Env {
	rs := redisproc.StartT(t, redisproc.Options{})
	o := servertest.Options{Redis: rs, Config: func(c *config.Config) {
		c.TrustedProxies, _ = config.ParsePrefixes("127.0.0.1")
		cfg(c)
	}}
	return [2]*servertest.Env{servertest.Start(t, o), servertest.Start(t, o)}
}

func checkTooMany(t *testing.T, r response, limit string) {
	t.Helper()
	msg := map[string]string{
		"address":    "too many requests from this address, retry later",
		"site":       "too many requests for this site, retry later",
		"consent_id": "too many decisions for this consent ID, retry later",
	}[limit]
	field, _ := r.Body["field"].(string)
	if r.Body["error"] != msg || (limit == "consent_id") != (field == "consentId") || (limit != "consent_id" && field != "") {
		t.Fatalf("429 body %s, want error %q", r.Raw, msg)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After %q, want 1-60 seconds", r.Header.Get("Retry-After"))
	}
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Access-Control-Allow-Origin") != testOrigin {
		t.Fatalf("429 headers %v", r.Header)
	}
}

// checkNoRawAddress: the counters' keys do not hold client addresses.
func checkNoRawAddress(t *testing.T, env *servertest.Env, posts []limitPost) {
	t.Helper()
	keys := strings.Join(env.Redis.Keys(context.Background(), "*").Val(), " ")
	for _, p := range posts {
		if strings.Contains(keys, p.addr) || strings.Contains(keys, strings.TrimPrefix(p.addr, "::ffff:")) {
			t.Fatalf("a Redis key holds the address %s: %s", p.addr, keys)
		}
	}
}

// TestConsentLimitHeaders: an admitted post says how much of the address
// limit is left; the counter's key expires with its window.
func TestConsentLimitHeaders(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Config: func(c *config.Config) { c.RateLimit = 5 }})
	body := jsonOf(t, validBody(noticeVersion(t, env)))
	awayFromWindowEdge()
	for i := 1; i <= 2; i++ {
		r := post(t, env, body, nil)
		if r.Status != http.StatusCreated {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		reset, _ := strconv.Atoi(r.Header.Get("X-RateLimit-Reset"))
		if r.Header.Get("X-RateLimit-Limit") != "5" || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(5-i) || reset < 1 || reset > 60 {
			t.Fatalf("post %d: X-RateLimit-* %v", i, r.Header)
		}
	}
	ctx := context.Background()
	keys := env.Redis.Keys(ctx, "c:{demo}:r:*").Val()
	if len(keys) != 1 { // the window's counters: address and site (the consent ID's count is in the visitor hash)
		t.Fatalf("counters %v", keys)
	}
	for _, k := range keys {
		if ttl := env.Redis.PTTL(ctx, k).Val(); ttl <= 0 || ttl.Seconds() > 60 {
			t.Fatalf("%s expires in %v", k, ttl)
		}
	}
	if k := ledger.RateLimitKey("demo", time.Now()); !strings.HasPrefix(k, "c:{demo}:") {
		t.Fatalf("%s: counters must share the site's hash tag", k)
	}
}

// TestConsentLimitsRedisDown: with Redis down a post over its limits is
// refused 503 by the store (the limits are counted in the same script),
// never 429 or 500.
func TestConsentLimitsRedisDown(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Config: func(c *config.Config) { c.RateLimit, c.SiteRateLimit, c.ConsentIDLimit = 1, 1, 1 }})
	body := jsonOf(t, validBody(noticeVersion(t, env)))
	if r := post(t, env, body, nil); r.Status != http.StatusCreated {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	_ = env.RedisSrv.Kill()
	for range 3 {
		if r := post(t, env, body, nil); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("Redis down: %d %s", r.Status, r.Raw)
		}
	}
}
