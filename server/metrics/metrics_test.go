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
			if got := counter(t, m, "consentd_redis_errors_total"); got != tt.redisErrors {
				t.Errorf("consentd_redis_errors_total = %v, want %v", got, tt.redisErrors)
			}
			if got := counter(t, m, "consentd_ledger_not_replicated_total"); got != tt.notConfirmed {
				t.Errorf("consentd_ledger_not_replicated_total = %v, want %v", got, tt.notConfirmed)
			}
		})
	}
}

// counter is the value of the counter name in m's registry.
func counter(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
