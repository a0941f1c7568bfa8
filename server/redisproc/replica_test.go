package redisproc_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/redisproc"
)

// A replica gets the primary's writes; WAIT counts it while it runs and not
// while it is paused; a Sentinel promotes it when the primary is killed,
// and a failover client follows.
func TestReplicaAndSentinel(t *testing.T) {
	ctx := context.Background()
	p := redisproc.StartT(t, redisproc.Options{})
	r := redisproc.StartReplicaT(t, p, redisproc.Options{})
	prdb := redis.NewClient(&redis.Options{Addr: p.Addr, MaxRetries: -1})
	defer prdb.Close()
	rrdb := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer rrdb.Close()

	pipe := prdb.Pipeline()
	pipe.Set(ctx, "k", "1", 0)
	wait := redis.NewIntCmd(ctx, "wait", 1, 5000) // Pipeliner has no Wait method
	_ = pipe.Process(ctx, wait)
	if _, err := pipe.Exec(ctx); err != nil || wait.Val() != 1 {
		t.Fatalf("SET + WAIT 1: %d %v, want 1 replica", wait.Val(), err)
	}
	if v, err := rrdb.Get(ctx, "k").Result(); err != nil || v != "1" {
		t.Fatalf("replica GET k: %q %v", v, err)
	}

	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	pipe = prdb.Pipeline()
	pipe.Set(ctx, "k", "2", 0)
	wait = redis.NewIntCmd(ctx, "wait", 1, 100)
	_ = pipe.Process(ctx, wait)
	if _, err := pipe.Exec(ctx); err != nil || wait.Val() != 0 {
		t.Fatalf("WAIT with the replica paused: %d %v, want 0 replicas", wait.Val(), err)
	}
	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}

	s := redisproc.StartSentinelT(t, redisproc.SentinelOptions{Primary: p, FailoverTimeout: 2 * time.Second})
	if err := s.WaitReplicas(ctx, 1); err != nil {
		t.Fatal(err)
	}
	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: []string{s.Addr}, MaxRetries: -1})
	defer fc.Close()
	if err := fc.Set(ctx, "k", "3", 0).Err(); err != nil {
		t.Fatalf("SET through the failover client: %v", err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	addr, err := s.WaitFailover(ctx, p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if addr != r.Addr {
		t.Fatalf("new primary %s, want the replica %s", addr, r.Addr)
	}
	var v string
	for range 100 { // the failover client's pooled connections to the killed primary fail first
		if v, err = fc.Get(ctx, "k").Result(); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || v != "3" {
		t.Fatalf("GET through the failover client after the failover: %q %v", v, err)
	}
}
