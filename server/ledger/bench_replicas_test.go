package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/redisproc"
)

// BenchmarkLedgerWaitReplicas measures what WaitReplicas costs: chained
// appends to a primary with one replica (both on this machine), without
// WAIT and with WAIT 1, in the order ABBA in one run; with 64 appenders
// per core (batches form while one is in Redis) and with one appender (a
// batch per record: every append pays the WAIT round trip in full).
// docs/performance.md has the numbers.
func BenchmarkLedgerWaitReplicas(b *testing.B) {
	p := redisproc.StartT(b, redisproc.Options{})
	redisproc.StartReplicaT(b, p, redisproc.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: p.Addr, PoolSize: 64})
	defer rdb.Close()
	ctx := context.Background()
	for _, appenders := range []int{64, 1} {
		for _, wait := range []int{0, 1, 1, 0} {
			b.Run(fmt.Sprintf("appenders=%d/wait=%d", appenders, wait), func(b *testing.B) {
				obs := &batchLog{}
				l := New(rdb, Options{Observer: obs, WaitReplicas: wait, WaitTimeout: time.Second})
				defer l.Close(ctx)
				appendOne := func() bool {
					if _, err := l.Append(ctx, newRecord("bench")); err != nil {
						b.Error(err)
						return false
					}
					return true
				}
				if appenders == 1 {
					for b.Loop() {
						if !appendOne() {
							return
						}
					}
				} else {
					b.SetParallelism(appenders)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if !appendOne() {
								return
							}
						}
					})
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
				if n := len(obs.sizes); n > 0 {
					b.ReportMetric(float64(b.N)/float64(n), "records/batch")
				}
			})
		}
	}
}
