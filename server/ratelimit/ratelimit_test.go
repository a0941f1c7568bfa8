package ratelimit_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/ratelimit"
	"github.com/consentd/consentd/server/redisproc"
)

func newLimiter(t *testing.T) (*ratelimit.Limiter, *redis.Client, *redisproc.Server) {
	t.Helper()
	rs := redisproc.StartT(t, redisproc.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return ratelimit.New(rdb), rdb, rs
}

func TestTake(t *testing.T) {
	ctx := context.Background()
	type step struct {
		counters []ratelimit.Counter
		blocked  int // want Result.Blocked
		count    int // want Result.Count
	}
	ip := func(limit int) ratelimit.Counter {
		return ratelimit.Counter{Key: "t:{s}:ip", Limit: limit, Window: time.Minute}
	}
	site := func(limit int) ratelimit.Counter {
		return ratelimit.Counter{Key: "t:{s}:site", Limit: limit, Window: time.Minute}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"counts up to the limit, then refuses", []step{
			{[]ratelimit.Counter{ip(2)}, -1, 1},
			{[]ratelimit.Counter{ip(2)}, -1, 2},
			{[]ratelimit.Counter{ip(2)}, 0, 2},
			{[]ratelimit.Counter{ip(2)}, 0, 2},
		}},
		{"the first counter at its limit refuses; nothing is counted", []step{
			{[]ratelimit.Counter{ip(5), site(1)}, -1, 1},
			{[]ratelimit.Counter{ip(5), site(1)}, 1, 1},
			{[]ratelimit.Counter{ip(5), site(1)}, 1, 1},
			// the refused requests did not count for the IP: 1 so far, this is 2
			{[]ratelimit.Counter{ip(5)}, -1, 2},
		}},
		{"limit 1", []step{
			{[]ratelimit.Counter{ip(1)}, -1, 1},
			{[]ratelimit.Counter{ip(1)}, 0, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _, _ := newLimiter(t)
			for i, s := range tt.steps {
				r, err := l.Take(ctx, s.counters)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if r.Blocked != s.blocked || r.Count != s.count || r.Admitted() != (s.blocked < 0) {
					t.Fatalf("step %d: %+v, want blocked %d count %d", i, r, s.blocked, s.count)
				}
				if r.Reset <= 0 || r.Reset > time.Minute {
					t.Fatalf("step %d: reset %v, want (0, 1m]", i, r.Reset)
				}
			}
		})
	}
}

func TestTakeWindowExpires(t *testing.T) {
	ctx := context.Background()
	l, rdb, _ := newLimiter(t)
	c := []ratelimit.Counter{{Key: "t:{s}:a", Limit: 1, Window: time.Hour}, {Key: "t:{s}:b", Limit: 1, Window: 30 * time.Minute}}
	if r, err := l.Take(ctx, c); err != nil || !r.Admitted() {
		t.Fatalf("%+v %v", r, err)
	}
	for key, want := range map[string]time.Duration{"t:{s}:a": time.Hour, "t:{s}:b": 30 * time.Minute} {
		if ttl := rdb.PTTL(ctx, key).Val(); ttl <= want-time.Minute || ttl > want {
			t.Fatalf("%s expires in %v, want its window %v", key, ttl, want)
		}
	}
	// The window ending is the key expiring: delete it instead of waiting.
	if r, _ := l.Take(ctx, c); r.Admitted() {
		t.Fatal("admitted over the limit")
	}
	rdb.Del(ctx, "t:{s}:a", "t:{s}:b")
	if r, err := l.Take(ctx, c); err != nil || !r.Admitted() || r.Count != 1 {
		t.Fatalf("after the window: %+v %v", r, err)
	}
	// A counter left without an expiry (written by something else) gets one.
	rdb.Set(ctx, "t:{s}:a", 5, 0)
	if r, _ := l.Take(ctx, c); r.Admitted() || r.Reset != time.Hour {
		t.Fatalf("counter without expiry: %+v", r)
	}
	if ttl := rdb.PTTL(ctx, "t:{s}:a").Val(); ttl <= 0 {
		t.Fatalf("still no expiry: %v", ttl)
	}
}

// TestTakeConcurrent: many clients at once (as from many instances) never
// get more than the limit admitted.
func TestTakeConcurrent(t *testing.T) {
	ctx := context.Background()
	l, _, _ := newLimiter(t)
	const limit, clients, each = 50, 16, 10
	var mu sync.Mutex
	admitted := 0
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				r, err := l.Take(ctx, []ratelimit.Counter{{Key: "t:{s}:c", Limit: limit, Window: time.Minute}})
				if err != nil {
					t.Error(err)
					return
				}
				if r.Admitted() {
					mu.Lock()
					admitted++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if admitted != limit {
		t.Fatalf("admitted %d of %d, want exactly %d", admitted, clients*each, limit)
	}
}

func TestTakeErrors(t *testing.T) {
	ctx := context.Background()
	l, _, rs := newLimiter(t)
	if _, err := l.Take(ctx, nil); !errors.Is(err, ratelimit.ErrNoCounters) {
		t.Fatalf("no counters: %v", err)
	}
	if _, err := l.Take(ctx, []ratelimit.Counter{{Key: "k", Limit: 0, Window: time.Minute}}); err == nil {
		t.Fatal("limit 0 accepted")
	}
	if _, err := l.Take(ctx, []ratelimit.Counter{{Key: "k", Limit: 1}}); err == nil {
		t.Fatal("window 0 accepted")
	}
	_ = rs.Kill()
	if _, err := l.Take(ctx, []ratelimit.Counter{{Key: "k", Limit: 1, Window: time.Minute}}); err == nil {
		t.Fatal("no error with Redis down")
	}
}

// TestTakeAfterScriptFlush: a Redis that lost its script cache (restart,
// failover) gets the script again, and the request is counted once.
func TestTakeAfterScriptFlush(t *testing.T) {
	ctx := context.Background()
	l, rdb, _ := newLimiter(t)
	c := []ratelimit.Counter{{Key: "t:{s}:f", Limit: 5, Window: time.Minute}}
	for want := 1; want <= 3; want++ {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		r, err := l.Take(ctx, c)
		if err != nil || r.Count != want {
			t.Fatalf("after SCRIPT FLUSH: %+v %v, want count %d", r, err, want)
		}
	}
}

func TestTakeContextEnds(t *testing.T) {
	l, _, _ := newLimiter(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Take(ctx, []ratelimit.Counter{{Key: "t:{s}:x", Limit: 1, Window: time.Minute}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// TestTakeConcurrentMixed: concurrent calls with shared and own counters,
// batched together, behave as if sent one by one: each address admits at
// most its limit, the site exactly its limit, and the counters in Redis
// hold exactly the admitted calls (a refused call counts nowhere).
func TestTakeConcurrentMixed(t *testing.T) {
	ctx := context.Background()
	l, rdb, _ := newLimiter(t)
	const clients, each, addrLimit, siteLimit = 16, 10, 3, 40
	var mu sync.Mutex
	perAddr := map[int]int{}
	total := 0
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counters := []ratelimit.Counter{
				{Key: "t:{s}:a:" + strconv.Itoa(c), Limit: addrLimit, Window: time.Minute},
				{Key: "t:{s}:site", Limit: siteLimit, Window: time.Minute},
			}
			for range each {
				r, err := l.Take(ctx, counters)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Admitted() {
					mu.Lock()
					perAddr[c]++
					total++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if total != siteLimit {
		t.Fatalf("admitted %d, want the site limit %d", total, siteLimit)
	}
	sum := 0
	for c, n := range perAddr {
		if n > addrLimit {
			t.Fatalf("address %d admitted %d times, limit %d", c, n, addrLimit)
		}
		stored, _ := rdb.Get(ctx, "t:{s}:a:"+strconv.Itoa(c)).Int()
		if stored != n {
			t.Fatalf("address %d: counter %d, admitted %d", c, stored, n)
		}
		sum += n
	}
	if site, _ := rdb.Get(ctx, "t:{s}:site").Int(); site != siteLimit || sum != siteLimit {
		t.Fatalf("site counter %d, addresses %d, want %d", site, sum, siteLimit)
	}
}
