package server

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestFailLimiter: 2 failures a minute, so one is given back every 30 s;
// an address with none left is blocked until one is back, and Retry-After
// says when.
func TestFailLimiter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	l := newFailLimiter(2, time.Minute)
	l.now = func() time.Time { return now }
	steps := []struct {
		name    string
		advance time.Duration
		fails   int
		blocked bool
		retryIn time.Duration
	}{
		{"no failure yet", 0, 0, false, 0},
		{"1 failure", 0, 1, false, 0},
		{"2 failures: at the limit", 10 * time.Second, 1, true, 20 * time.Second},
		{"a third of a failure back", 15 * time.Second, 0, true, 5 * time.Second},
		{"one failure back", 6 * time.Second, 0, false, 0},
		{"and used", 0, 1, true, 29 * time.Second},
		{"failures while blocked take nothing more", 0, 3, true, 29 * time.Second},
		{"both back after a minute", time.Minute, 0, false, 0},
		{"two at once", 0, 2, true, 30 * time.Second},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		for range s.fails {
			l.fail("192.0.2.1")
		}
		b, wait := l.blocked("192.0.2.1")
		if b != s.blocked || (wait-s.retryIn).Abs() > time.Millisecond {
			t.Fatalf("%s: blocked=%v for %v, want %v for %v", s.name, b, wait, s.blocked, s.retryIn)
		}
		if b, _ := l.blocked("192.0.2.2"); b {
			t.Fatalf("%s: another address is blocked", s.name)
		}
	}
}

// TestFailLimiterBoundsMemory: a spray of addresses, one failure each,
// and an attacker out of failures; at failLimiterSweep entries a failure
// drops the addresses whose bucket is full again, and only those, and
// the next sweep waits until there are twice as many entries as it kept.
func TestFailLimiterBoundsMemory(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		kept    int
	}{
		{"all live", 5 * time.Second, failLimiterSweep + 1},
		{"spray idle, attacker live", 30 * time.Second, 2}, // the spray's failure is back after 12 s
		{"all idle", 2 * time.Minute, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			l := newFailLimiter(5, time.Minute)
			l.now = func() time.Time { return now }
			for range 5 {
				l.fail("attacker")
			}
			for i := range failLimiterSweep - 1 { // no sweep yet
				l.fail(fmt.Sprint("addr", i))
			}
			now = now.Add(tt.advance)
			l.fail("late") // the sweep, then late's entry
			if len(l.m) != tt.kept {
				t.Fatalf("%d entries kept, want %d", len(l.m), tt.kept)
			}
			if want := max(failLimiterSweep, 2*(tt.kept-1)); l.sweepAt != want {
				t.Fatalf("next sweep at %d entries, want %d", l.sweepAt, want)
			}
			// The attacker kept what it had used: 3 more failures block it
			// unless all 5 were back anyway.
			for range 3 {
				l.fail("attacker")
			}
			if b, _ := l.blocked("attacker"); b != (tt.advance < time.Minute) {
				t.Fatalf("attacker blocked=%v after 3 more failures", b)
			}
		})
	}
}

// TestFailLimiterConcurrent: for go test -race.
func TestFailLimiterConcurrent(t *testing.T) {
	l := newFailLimiter(3, time.Minute)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				key := fmt.Sprint("addr", (g+i)%4)
				if b, _ := l.blocked(key); !b {
					l.fail(key)
				}
			}
		})
	}
	wg.Wait()
	for i := range 4 {
		if b, _ := l.blocked(fmt.Sprint("addr", i)); !b {
			t.Errorf("addr%d is not blocked after thousands of failures", i)
		}
	}
}
