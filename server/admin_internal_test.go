package server

import (
	"fmt"
	"testing"
	"time"
)

func TestFailLimiterWindow(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	l := newFailLimiter(2, time.Minute)
	l.now = func() time.Time { return now }
	steps := []struct {
		advance time.Duration
		fail    bool
		blocked bool
	}{
		{0, false, false},
		{0, true, false},               // 1 failure
		{10 * time.Second, true, true}, // 2 failures: at the limit
		{40 * time.Second, false, true},
		{10 * time.Second, false, false}, // the window (from the first failure) is over
		{0, true, false},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if s.fail {
			l.fail("192.0.2.1")
		}
		if b, _ := l.blocked("192.0.2.1"); b != s.blocked {
			t.Fatalf("step %d: blocked=%v, want %v", i, b, s.blocked)
		}
		if b, _ := l.blocked("192.0.2.2"); b {
			t.Fatalf("step %d: another address is blocked", i)
		}
	}
}

func TestFailLimiterBoundsMemory(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	l := newFailLimiter(5, time.Minute)
	l.now = func() time.Time { return now }
	for i := 0; i < 10001; i++ {
		l.fail(fmt.Sprint("addr", i))
	}
	now = now.Add(2 * time.Minute)
	l.fail("late")
	if len(l.m) != 1 {
		t.Fatalf("%d entries kept, want only the live one", len(l.m))
	}
}
