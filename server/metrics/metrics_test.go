package metrics

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/consentd/consentd/server/ledger"
)

func TestBatchDoneCountsErrors(t *testing.T) {
	tests := []struct {
		name                      string
		err                       error
		redisErrors, notConfirmed float64
	}{
		{"acknowledged", nil, 0, 0},
		{"redis failed", errors.New("connection refused"), 1, 0},
		{"written, not confirmed on the replicas", fmt.Errorf("%w: %w", ledger.ErrUnavailable, ledger.ErrNotReplicated), 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			m.BatchDone(24, time.Millisecond, tt.err)
			if got := value(t, m, "consentd_redis_errors_total"); got != tt.redisErrors {
				t.Errorf("consentd_redis_errors_total = %v, want %v", got, tt.redisErrors)
			}
			if got := value(t, m, "consentd_ledger_not_replicated_total"); got != tt.notConfirmed {
				t.Errorf("consentd_ledger_not_replicated_total = %v, want %v", got, tt.notConfirmed)
			}
		})
	}
}

// TestWatchNoticeCache: each scrape reads the cache's figures anew.
func TestWatchNoticeCache(t *testing.T) {
	m := New()
	f := CacheFigures{Entries: 3, Bytes: 9000, Budget: 16 << 20, Evicted: 2, Hits: 40, Misses: 5}
	m.WatchNoticeCache(func() CacheFigures { return f })
	for round := range 2 {
		for name, want := range map[string]float64{
			"consentd_notice_cache_entries": float64(f.Entries), "consentd_notice_cache_bytes": float64(f.Bytes),
			"consentd_notice_cache_budget_bytes": float64(f.Budget), "consentd_notice_cache_evictions_total": float64(f.Evicted),
			"consentd_notice_cache_hits_total": float64(f.Hits), "consentd_notice_cache_misses_total": float64(f.Misses),
		} {
			if got := value(t, m, name); got != want {
				t.Errorf("round %d: %s = %v, want %v", round, name, got, want)
			}
		}
		f.Hits, f.Bytes = 41, 12000
	}
}

// value is the value of the counter or gauge name in m's registry.
func value(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			if g := f.GetMetric()[0].GetGauge(); g != nil {
				return g.GetValue()
			}
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
