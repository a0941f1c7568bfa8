package lifetime

import (
	"testing"
	"time"
)

func TestApprox(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"session", 0, true},
		{"30min", 30 * time.Minute, true},
		{"24h", 24 * time.Hour, true},
		{"365d", 365 * day, true},
		{"2y", 2 * year, true},
		{"24mo", 2 * year, true},
		{"99999d", 99999 * day, true},
		{"0d", 0, false},
		{"013mo", 0, false},
		{"13 mo", 0, false},
		{"2 weeks", 0, false},
		{"100000d", 0, false},
		{"", 0, false},
	} {
		got, ok := Approx(tc.in)
		if got != tc.want || ok != tc.ok || Valid(tc.in) != tc.ok {
			t.Errorf("Approx(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSame(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"2y", "24mo", true},
		{"13mo", "395d", true},
		{"1y", "365d", true},
		{"13mo", "2y", false},
		{"session", "session", true},
		{"session", "30min", false},
		{"30min", "1h", false},
		{"1d", "24h", true},
		{"x", "x", true},
		{"x", "1d", false},
	} {
		if got := Same(tc.a, tc.b); got != tc.want {
			t.Errorf("Same(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
