// Package ratelimit counts requests against limits that hold across every
// consentd instance: fixed-window counters in Redis, checked and counted
// by a Lua script (limit.lua) in one round trip per request.
//
// Requests that arrive while a round trip is in flight are sent together
// in the next one, the way the ledger batches records: no waiting under
// light load; under heavy load one script call per hash slot checks a
// whole batch in order, reading and writing each distinct counter once.
//
// A window starts with the first request a counter sees and lasts Window;
// the counter then expires. Fixed windows are cheap (one small string per
// counter) and exact within a window; a client may fit up to twice the
// limit into a span of one window that straddles two windows.
package ratelimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed limit.lua
var limitLua string

var limitScript = redis.NewScript(limitLua)

// Counter is one limit: at most Limit requests per Window under Key.
type Counter struct {
	// Key is the Redis key of the counter. All keys of one Take must be in
	// the same Redis Cluster hash slot (share a hash tag such as {site}).
	Key string
	// Limit is the most requests per window; at least 1.
	Limit int
	// Window is how long a window lasts; at least a millisecond.
	Window time.Duration
}

// Result is the outcome of Take.
type Result struct {
	// Blocked is the index of the first counter at its limit, or -1 when
	// the request is admitted (and then counted by every counter).
	Blocked int
	// Count is the number of requests in the current window of counter
	// Blocked, or of the first counter when admitted (this one included).
	Count int
	// Reset is how long until that counter's window ends.
	Reset time.Duration
}

// Admitted reports whether the request is within every limit.
func (r Result) Admitted() bool { return r.Blocked < 0 }

// Limiter checks and counts requests in Redis. It is safe for concurrent
// use and needs no Close: its sender goroutine runs only while calls are
// queued.
type Limiter struct {
	rdb redis.UniversalClient

	mu      sync.Mutex
	queue   []*call
	sending bool // a sender goroutine is running
}

// call is one Take waiting for its answer.
type call struct {
	counters []Counter
	res      [3]int64 // blocked position (0: admitted), count, ms left
	err      error
	done     chan struct{}
}

// maxBatch bounds the script calls sent in one pipeline.
const maxBatch = 256

// sendTimeout bounds one pipeline round trip. A caller's own context may
// end sooner: it then stops waiting, and the answer is dropped.
const sendTimeout = 3 * time.Second

// New returns a Limiter on rdb (a *redis.Client, *redis.ClusterClient or
// any redis.UniversalClient).
func New(rdb redis.UniversalClient) *Limiter { return &Limiter{rdb: rdb} }

// ErrNoCounters is returned by Take when given no counter.
var ErrNoCounters = errors.New("ratelimit: no counters")

// Take checks every counter and, if none is at its limit, counts the
// request in all of them, atomically: a refused request is not counted
// anywhere. All keys must share a hash tag ({site}). An error means Redis
// did not answer (or ctx ended first); the caller decides whether to admit
// the request.
func (l *Limiter) Take(ctx context.Context, counters []Counter) (Result, error) {
	if len(counters) == 0 {
		return Result{}, ErrNoCounters
	}
	for _, c := range counters {
		if c.Limit < 1 || c.Window < time.Millisecond {
			return Result{}, fmt.Errorf("ratelimit: counter %s: limit %d, window %s: need a limit of at least 1 and a window of at least 1ms", c.Key, c.Limit, c.Window)
		}
	}
	c := &call{counters: counters, done: make(chan struct{})}
	l.enqueue(c)
	select {
	case <-c.done:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("ratelimit: %w", ctx.Err())
	}
	if c.err != nil {
		return Result{}, fmt.Errorf("ratelimit: %w", c.err)
	}
	v := c.res
	if v[0] < 0 || v[0] > int64(len(counters)) {
		return Result{}, fmt.Errorf("ratelimit: unexpected script answer %v", v)
	}
	return Result{Blocked: int(v[0]) - 1, Count: int(v[1]), Reset: time.Duration(max(v[2], 0)) * time.Millisecond}, nil
}

// enqueue queues c and starts a sender unless one is running.
func (l *Limiter) enqueue(c *call) {
	l.mu.Lock()
	l.queue = append(l.queue, c)
	start := !l.sending
	l.sending = true
	l.mu.Unlock()
	if start {
		go l.send()
	}
}

// send sends what is queued, one pipeline at a time, until the queue is
// empty.
func (l *Limiter) send() {
	for {
		l.mu.Lock()
		n := min(len(l.queue), maxBatch)
		if n == 0 {
			l.sending = false
			l.mu.Unlock()
			return
		}
		batch := make([]*call, n)
		copy(batch, l.queue)
		l.queue = append(l.queue[:0], l.queue[n:]...)
		l.mu.Unlock()
		l.exec(batch)
	}
}

// group is the calls of a batch whose keys share a hash tag: one script
// call.
type group struct {
	calls []*call
	keys  []string
	index map[string]int // key → its 1-based position in keys
	args  []any
	cmd   *redis.Cmd
}

// exec sends a batch: one script call per hash tag, all in one pipeline
// (EVALSHA; the groups that got NOSCRIPT did not run and are sent again
// with EVAL), and hands each call its answer.
func (l *Limiter) exec(batch []*call) {
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	byTag := map[string]*group{}
	var groups []*group
	for _, c := range batch {
		tag := hashTag(c.counters[0].Key)
		g := byTag[tag]
		if g == nil {
			g = &group{args: []any{0}, index: map[string]int{}}
			byTag[tag] = g
			groups = append(groups, g)
		}
		g.add(c)
	}
	run := func(load bool, which []*group) {
		pipe := l.rdb.Pipeline()
		for _, g := range which {
			if load {
				g.cmd = limitScript.Eval(ctx, pipe, g.keys, g.args...)
			} else {
				g.cmd = limitScript.EvalSha(ctx, pipe, g.keys, g.args...)
			}
		}
		_, _ = pipe.Exec(ctx) // errors stay on each command
	}
	run(false, groups)
	var again []*group
	for _, g := range groups {
		if err := g.cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			again = append(again, g)
		}
	}
	if len(again) > 0 {
		run(true, again)
	}
	for _, g := range groups {
		v, err := g.cmd.Int64Slice()
		if err == nil && len(v) != 3*len(g.calls) {
			err = fmt.Errorf("unexpected script answer: %d numbers for %d calls", len(v), len(g.calls))
		}
		for i, c := range g.calls {
			if c.err = err; err == nil {
				copy(c.res[:], v[3*i:])
			}
			close(c.done)
		}
	}
}

// add appends c's counters to the script arguments (limit.lua), each key
// once in KEYS.
func (g *group) add(c *call) {
	g.calls = append(g.calls, c)
	g.args[0] = len(g.calls)
	g.args = append(g.args, len(c.counters))
	for _, k := range c.counters {
		idx, ok := g.index[k.Key]
		if !ok {
			g.keys = append(g.keys, k.Key)
			idx = len(g.keys)
			g.index[k.Key] = idx
		}
		g.args = append(g.args, idx, k.Limit, k.Window.Milliseconds())
	}
}

// hashTag is the part of key Redis Cluster hashes: the text between the
// first { and the next }, if not empty; else the whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}
