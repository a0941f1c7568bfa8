package redisproc

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ModeEnv is the environment variable that picks the Redis deployment the
// integration tests run against: unset or "single", one redis-server per
// test; "cluster", a 3-master Redis Cluster (make test runs the server and
// ledger packages once in each mode).
const ModeEnv = "CONSENTD_TEST_REDIS"

// ClusterMode reports whether tests run against a Redis Cluster
// (CONSENTD_TEST_REDIS=cluster).
func ClusterMode() bool { return os.Getenv(ModeEnv) == "cluster" }

// Target is the Redis deployment one test runs against: a single server or
// a cluster.
type Target struct {
	// Server is the single redis-server; nil for a cluster.
	Server *Server
	// Cluster is the cluster; nil for a single server.
	Cluster *Cluster
}

// URL is the Redis URL for consentd's --redis-url.
func (t Target) URL() string {
	if t.Cluster != nil {
		return t.Cluster.URL()
	}
	return t.Server.URL()
}

// Client returns a go-redis client for the target with go-redis's default
// retries (for a test's own checks): a *redis.ClusterClient for a cluster
// (whose KEYS asks every master, so a test sees every key), else a
// *redis.Client.
func (t Target) Client() redis.UniversalClient { return t.client(0, 0) }

// FailFastClient is Client with one dial attempt and no command retries,
// as consentd's own client (config.RedisOptions): an outage is an error at
// once.
func (t Target) FailFastClient() redis.UniversalClient { return t.client(1, -1) }

func (t Target) client(dialRetries, maxRetries int) redis.UniversalClient {
	if t.Cluster != nil {
		return allKeys{redis.NewClusterClient(&redis.ClusterOptions{Addrs: t.Cluster.Addrs(), DialerRetries: dialRetries, MaxRetries: maxRetries})}
	}
	return redis.NewClient(&redis.Options{Addr: t.Server.Addr, DialerRetries: dialRetries, MaxRetries: maxRetries})
}

// ServerFor returns the redis-server holding key: the single server, or
// the cluster node serving key's slot (the one to kill to make key
// unavailable).
func (t Target) ServerFor(ctx context.Context, key string) (*Server, error) {
	if t.Cluster == nil {
		return t.Server, nil
	}
	i, err := t.Cluster.NodeFor(ctx, key)
	if err != nil {
		return nil, err
	}
	return t.Cluster.Nodes[i], nil
}

// shared is the cluster a test binary's Main started; StartTargetT hands it
// to every test of the binary after emptying it (a cluster takes seconds to
// form; a test's own redis-server takes milliseconds). It is test support
// only, set once by Main before any test runs.
var shared struct {
	mu      sync.Mutex
	cluster *Cluster
}

// Main runs a test binary's tests; call it from TestMain as
// os.Exit(redisproc.Main(m)). In cluster mode it starts one cluster for the
// whole binary and stops it at the end; otherwise it just runs the tests.
func Main(m *testing.M) int {
	if !ClusterMode() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "consentd-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "redisproc:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	c, err := StartCluster(context.Background(), ClusterOptions{Dir: dir, NodeTimeout: 3 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "redisproc:", err)
		return 1
	}
	shared.mu.Lock()
	shared.cluster = c
	shared.mu.Unlock()
	defer func() { _ = c.Stop() }()
	return m.Run()
}

// StartTargetT starts the Redis a test runs against (see ModeEnv): a fresh
// redis-server, or in cluster mode the binary's shared cluster (Main),
// emptied, with nodes an earlier test killed started again — or a cluster
// of the test's own when the binary has no Main. Missing binaries fail the
// test.
func StartTargetT(tb testing.TB) Target {
	tb.Helper()
	if !ClusterMode() {
		return Target{Server: StartT(tb, Options{})}
	}
	shared.mu.Lock()
	c := shared.cluster
	shared.mu.Unlock()
	if c == nil {
		return Target{Cluster: StartClusterT(tb, ClusterOptions{NodeTimeout: 3 * time.Second})}
	}
	if err := c.reset(context.Background()); err != nil {
		tb.Fatalf("reset the shared redis cluster: %v", err)
	}
	return Target{Cluster: c}
}

// reset restarts nodes that are down, waits for the cluster to be ok and
// empties every node.
func (c *Cluster) reset(ctx context.Context) error {
	for i, n := range c.Nodes {
		select {
		case <-n.Done():
			s, err := n.Restart(ctx)
			if err != nil {
				return err
			}
			c.Nodes[i] = s
		default:
		}
	}
	if err := c.WaitOK(ctx); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
		err := rdb.FlushAll(ctx).Err()
		_ = rdb.Close()
		if err != nil {
			return fmt.Errorf("FLUSHALL on %s: %w", n.Addr, err)
		}
	}
	return nil
}

// allKeys is a cluster client whose KEYS collects the matching keys of
// every master; go-redis sends KEYS to one node only.
type allKeys struct{ *redis.ClusterClient }

// Keys returns the keys matching pattern on every master.
func (c allKeys) Keys(ctx context.Context, pattern string) *redis.StringSliceCmd {
	cmd := redis.NewStringSliceCmd(ctx, "keys", pattern)
	var mu sync.Mutex
	var keys []string
	err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		k, err := n.Keys(ctx, pattern).Result()
		mu.Lock()
		keys = append(keys, k...)
		mu.Unlock()
		return err
	})
	cmd.SetVal(keys)
	cmd.SetErr(err)
	return cmd
}
