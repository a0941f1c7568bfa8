package redisproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartReplica starts a redis-server with options o (as Start) that
// replicates primary (--replicaof), and waits until the initial sync is
// done and primary counts it as an online replica: from then on WAIT on
// primary counts it. o.Dir is required; with o.Dir and o.Port of a stopped
// server, this is that server restarted as a replica (its own data is
// replaced by the primary's).
//
// It sets repl-diskless-sync-delay to 0 on primary (Redis waits 5 s by
// default for more replicas before a full sync).
func StartReplica(ctx context.Context, primary *Server, o Options) (*Server, error) {
	host, port, err := net.SplitHostPort(primary.Addr)
	if err != nil {
		return nil, fmt.Errorf("redisproc: primary address: %w", err)
	}
	prdb := redis.NewClient(&redis.Options{Addr: primary.Addr, MaxRetries: -1})
	defer prdb.Close()
	if err := prdb.ConfigSet(ctx, "repl-diskless-sync-delay", "0").Err(); err != nil {
		return nil, fmt.Errorf("redisproc: primary %s: %w", primary.Addr, err)
	}
	o.Args = append([]string{"--replicaof", host, port}, o.Args...)
	r, err := Start(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := WaitReplicaOnline(ctx, primary, r); err != nil {
		_ = r.Kill()
		return nil, err
	}
	return r, nil
}

// StartReplicaT starts a replica of primary for a test (StartReplica, in a
// fresh temp dir unless o.Dir is set) and stops it when the test ends.
func StartReplicaT(tb testing.TB, primary *Server, o Options) *Server {
	tb.Helper()
	return startT(tb, "redis replica", &o.Dir, func() (*Server, error) { return StartReplica(context.Background(), primary, o) })
}

// WaitReplicaOnline waits (up to 20 s) until replica reports its link to
// primary up with no sync in progress, primary lists it as an online
// replica, and it has acknowledged primary's replication stream once
// (PUBLISH, which is replicated, then WAIT for every online replica): the
// first acknowledgement after a sync can take up to a second (replicas also
// acknowledge once a second), later ones take a round trip.
func WaitReplicaOnline(ctx context.Context, primary, replica *Server) error {
	_, rport, err := net.SplitHostPort(replica.Addr)
	if err != nil {
		return err
	}
	rrdb := redis.NewClient(&redis.Options{Addr: replica.Addr, MaxRetries: -1})
	defer rrdb.Close()
	prdb := redis.NewClient(&redis.Options{Addr: primary.Addr, MaxRetries: -1})
	defer prdb.Close()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for {
		ri, err1 := rrdb.Info(ctx, "replication").Result()
		pi, err2 := prdb.Info(ctx, "replication").Result()
		if err := errors.Join(err1, err2); err != nil {
			last = err.Error()
		} else if !strings.Contains(ri, "master_link_status:up") || !strings.Contains(ri, "master_sync_in_progress:0") {
			last = "replica: " + firstLines(ri, 6)
		} else if n := onlineReplicas(pi, rport); n == 0 {
			last = "primary: " + firstLines(pi, 6)
		} else {
			return warmUp(ctx, prdb, n)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redisproc: replica %s of %s not online within 20s: %s", replica.Addr, primary.Addr, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// onlineReplicas counts the replicas a primary's INFO replication lists as
// online (lines such as
// slave0:ip=127.0.0.1,port=6380,state=online,offset=42,lag=0); 0 when the
// one on port is not among them.
func onlineReplicas(info, port string) int {
	n, mine := 0, false
	for _, line := range strings.Split(info, "\n") {
		if strings.HasPrefix(line, "slave") && strings.Contains(line, "state=online") {
			n++
			mine = mine || strings.Contains(line, ",port="+port+",")
		}
	}
	if !mine {
		return 0
	}
	return n
}

// warmUp sends a replicated command (PUBLISH) and waits until n replicas
// have acknowledged it.
func warmUp(ctx context.Context, primary *redis.Client, n int) error {
	pipe := primary.Pipeline()
	pipe.Publish(ctx, "redisproc:warm-up", "1")
	wait := redis.NewIntCmd(ctx, "wait", n, 10000) // Pipeliner has no Wait method
	_ = pipe.Process(ctx, wait)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redisproc: warm-up WAIT: %w", err)
	}
	if wait.Val() < int64(n) {
		return fmt.Errorf("redisproc: warm-up WAIT: %d of %d replicas acknowledged within 10s", wait.Val(), n)
	}
	return nil
}

// Pause stops the process (SIGSTOP) without closing its connections: it
// answers nothing, and a paused replica acknowledges nothing, as a hung or
// overloaded server. Resume continues it; Stop and Kill work on a paused
// server.
func (s *Server) Pause() error {
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("redisproc: pause: %w", err)
	}
	return nil
}

// Resume continues a paused process (SIGCONT).
func (s *Server) Resume() error {
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return fmt.Errorf("redisproc: resume: %w", err)
	}
	return nil
}
