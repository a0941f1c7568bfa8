package ledger

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
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
	benchAppend(b, rdb, "append")
}

// benchAppend measures group-committed appends, chained and signed.
func benchAppend(b *testing.B, rdb redis.UniversalClient, name string) {
	ctx := context.Background()
	b.Run(name, func(b *testing.B) {
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

// BenchmarkChainBatch is the chaining work of one site batch in the
// batcher: each record's hash over its canonical JSON, the Merkle tree,
// one Ed25519 signature and every receipt (prepare), per batch size.
func BenchmarkChainBatch(b *testing.B) {
	for _, n := range []int{1, 24, 256} {
		b.Run(fmt.Sprint("records=", n), func(b *testing.B) {
			l := &Ledger{opts: Options{}, heads: map[string]chainHead{}}
			l.key, _ = proof.NewSigningKey()
			g := &siteBatch{site: "bench"}
			for range n {
				r := newRecord("bench")
				p, _ := r.encodeParts(nil)
				_ = p.prehash()
				g.items = append(g.items, &pending{rec: r, parts: p})
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := l.prepare(g); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}

// BenchmarkEncodeParts is the caller's share: the canonical record JSON.
func BenchmarkEncodeParts(b *testing.B) {
	r := newRecord("bench")
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		if _, err := r.encodeParts(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
