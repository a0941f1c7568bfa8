package redisproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterOptions configures a Redis Cluster of masters on loopback.
type ClusterOptions struct {
	// Dir holds one data directory per node (node-0, node-1, ...). Required.
	Dir string
	// Masters is the number of master nodes (no replicas); default 3, the
	// smallest cluster redis-cli --cluster create accepts.
	Masters int
	// AppendFsync is each node's appendfsync, as in Options.
	AppendFsync string
	// NodeTimeout is cluster-node-timeout: how long a node may be
	// unreachable before the others mark it failed. Default 5 s.
	NodeTimeout time.Duration
	// Args are extra redis-server arguments for every node.
	Args []string
}

// Cluster is a running Redis Cluster: each node a redis-server with
// cluster-enabled yes on its own loopback port, the 16384 slots spread over
// them by redis-cli --cluster create.
type Cluster struct {
	// Nodes are the masters, in the order they were started.
	Nodes []*Server
}

// StartCluster starts the nodes, joins them into a cluster with redis-cli
// --cluster create and waits until every node reports cluster_state:ok.
func StartCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	if o.Dir == "" {
		return nil, errors.New("redisproc: ClusterOptions.Dir is required")
	}
	if o.Masters == 0 {
		o.Masters = 3
	}
	if o.Masters < 3 {
		return nil, errors.New("redisproc: a cluster needs at least 3 masters")
	}
	if o.NodeTimeout == 0 {
		o.NodeTimeout = 5 * time.Second
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		if _, statErr := os.Stat("/usr/bin/redis-cli"); statErr != nil {
			return nil, errors.New("redis-cli not found on PATH: install it (Debian: apt-get install -y redis-tools)")
		}
		cli = "/usr/bin/redis-cli"
	}
	c := &Cluster{}
	for i := 0; i < o.Masters; i++ {
		n, err := startNode(ctx, filepath.Join(o.Dir, "node-"+strconv.Itoa(i)), o)
		if err != nil {
			_ = c.Kill()
			return nil, err
		}
		c.Nodes = append(c.Nodes, n)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(cctx, cli, args...).CombinedOutput(); err != nil {
		_ = c.Kill()
		return nil, fmt.Errorf("redisproc: redis-cli --cluster create: %w: %s", err, out)
	}
	if err := c.WaitOK(ctx); err != nil {
		_ = c.Kill()
		return nil, err
	}
	return c, nil
}

// startNode starts one cluster-enabled redis-server. The cluster bus gets
// its own free port (cluster-port), since port+10000 may not exist.
func startNode(ctx context.Context, dir string, o ClusterOptions) (*Server, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		bus, err := freePort()
		if err != nil {
			return nil, err
		}
		if bus == port {
			continue
		}
		args := []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(abs, "nodes.conf"),
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-node-timeout", strconv.FormatInt(o.NodeTimeout.Milliseconds(), 10),
		}
		s, err := Start(ctx, Options{Dir: abs, Port: port, AppendFsync: o.AppendFsync, Args: append(args, o.Args...)})
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	return nil, lastErr
}

// Addrs are the nodes' host:port addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// URL returns the redis+cluster:// URL (config.RedisOptions) naming every
// node as a seed.
func (c *Cluster) URL() string {
	addrs := c.Addrs()
	u := "redis+cluster://" + addrs[0]
	for i, a := range addrs[1:] {
		if i == 0 {
			u += "?addr=" + a
		} else {
			u += "&addr=" + a
		}
	}
	return u
}

// WaitOK waits (up to 30 s) until every node reports cluster_state:ok and
// sees every slot served.
func (c *Cluster) WaitOK(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for {
		ok := true
		for _, n := range c.Nodes {
			info, err := clusterInfo(ctx, n.Addr)
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
				ok, last = false, fmt.Sprintf("%s: %v %q", n.Addr, err, firstLines(info, 3))
				break
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redisproc: cluster not ok within 30s: %s", last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// NodeFor returns the index of the node serving key's hash slot.
func (c *Cluster) NodeFor(ctx context.Context, key string) (int, error) {
	for _, n := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr, DialTimeout: time.Second, MaxRetries: -1})
		slot, err := rdb.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			_ = rdb.Close()
			continue
		}
		slots, err := rdb.ClusterSlots(ctx).Result()
		_ = rdb.Close()
		if err != nil {
			continue
		}
		for _, r := range slots {
			if int64(r.Start) <= slot && slot <= int64(r.End) && len(r.Nodes) > 0 {
				for i, m := range c.Nodes {
					if sameAddr(m.Addr, r.Nodes[0].Addr) {
						return i, nil
					}
				}
			}
		}
		return 0, fmt.Errorf("redisproc: no node of the cluster serves slot %d of %q", slot, key)
	}
	return 0, errors.New("redisproc: no cluster node answers")
}

// Restart starts node i again on its port and data dir (after its Kill or
// Stop), as Server.Restart does, and waits until the cluster is ok again.
func (c *Cluster) Restart(ctx context.Context, i int) (*Server, error) {
	s, err := c.Nodes[i].Restart(ctx)
	if err != nil {
		return nil, err
	}
	c.Nodes[i] = s
	if err := c.WaitOK(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Stop stops every node (SIGTERM, AOF flushed).
func (c *Cluster) Stop() error {
	var errs []error
	for _, n := range c.Nodes {
		errs = append(errs, n.Stop())
	}
	return errors.Join(errs...)
}

// Kill stops every node at once with SIGKILL.
func (c *Cluster) Kill() error {
	for _, n := range c.Nodes {
		_ = n.Kill()
	}
	return nil
}

// StartClusterT starts a cluster for a test in a fresh temp dir and stops
// it when the test ends. Missing redis-server or redis-cli fails the test.
func StartClusterT(tb testing.TB, o ClusterOptions) *Cluster {
	tb.Helper()
	return startT(tb, "redis cluster", &o.Dir, func() (*Cluster, error) { return StartCluster(context.Background(), o) })
}

func clusterInfo(ctx context.Context, addr string) (string, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return rdb.ClusterInfo(ctx).Result()
}

func sameAddr(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	norm := func(h string) string {
		if h == "" || h == "localhost" {
			return "127.0.0.1"
		}
		return h
	}
	return pa == pb && norm(ha) == norm(hb)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " ")
}
