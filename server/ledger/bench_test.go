package ledger

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/redisproc"
)

// BenchmarkLedger compares, against one real redis-server in the same run:
//
//	ping:   a PING per op through the same client (the baseline: one Redis round trip);
//	append: a group-committed consent record per op.
//
// Both run with b.RunParallel (GOMAXPROCS×64 goroutines, as many concurrent
// requests would), so the append/ping ratio of ns/op is the cost of a
// durable record relative to the cheapest Redis command.
func BenchmarkLedger(b *testing.B) {
	srv := redisproc.StartT(b, redisproc.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 64})
	defer rdb.Close()
	ctx := context.Background()

	b.Run("ping", func(b *testing.B) {
		b.SetParallelism(64)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := rdb.Ping(ctx).Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("append", func(b *testing.B) {
		obs := &batchLog{}
		l := New(rdb, Options{Observer: obs})
		defer l.Close(ctx)
		b.SetParallelism(64)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.Append(ctx, newRecord("bench")); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		if n := len(obs.sizes); n > 0 {
			b.ReportMetric(float64(b.N)/float64(n), "records/batch")
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	r := newRecord("bench")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}
