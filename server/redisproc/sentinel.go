package redisproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelOptions configures a Redis Sentinel (redis-server --sentinel)
// that monitors one primary.
type SentinelOptions struct {
	// Dir holds sentinel.conf, which Sentinel rewrites as it learns about
	// replicas and failovers, and sentinel.log. Required.
	Dir string
	// Primary is the primary to monitor. Required.
	Primary *Server
	// MasterName is the name clients ask for (master_name in a
	// redis+sentinel:// URL); default "consentd".
	MasterName string
	// Quorum is how many Sentinels must agree that the primary is down;
	// default 1.
	Quorum int
	// DownAfter is down-after-milliseconds: how long the primary may not
	// answer before it counts as down; default 2 s. Sentinel reconnects to
	// an instance at most once a second (and resets its link to a newly
	// promoted primary), so below about 1.5 s it can take a healthy new
	// primary for down and fail over again.
	DownAfter time.Duration
	// FailoverTimeout is failover-timeout; default 5 s.
	FailoverTimeout time.Duration
	// Binary is the redis-server path; default: found on PATH.
	Binary string
}

// Sentinel is a running Redis Sentinel on a loopback port.
type Sentinel struct {
	// Addr is host:port on the loopback interface.
	Addr string
	// Dir holds its configuration file and log.
	Dir string
	// MasterName is the name of the monitored primary.
	MasterName string

	proc *Server
}

// StartSentinel writes a configuration file into o.Dir and starts a
// Sentinel on a free loopback port that monitors o.Primary, and waits
// until it answers PING and names the primary.
func StartSentinel(ctx context.Context, o SentinelOptions) (*Sentinel, error) {
	if o.Dir == "" || o.Primary == nil {
		return nil, errors.New("redisproc: SentinelOptions.Dir and Primary are required")
	}
	if o.MasterName == "" {
		o.MasterName = "consentd"
	}
	if o.Quorum == 0 {
		o.Quorum = 1
	}
	if o.DownAfter == 0 {
		o.DownAfter = 2 * time.Second
	}
	if o.FailoverTimeout == 0 {
		o.FailoverTimeout = 5 * time.Second
	}
	bin, err := binary(o.Binary)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("redisproc: sentinel dir: %w", err)
	}
	host, pport, err := net.SplitHostPort(o.Primary.Addr)
	if err != nil {
		return nil, fmt.Errorf("redisproc: primary address: %w", err)
	}
	conf := filepath.Join(abs, "sentinel.conf")
	logPath := filepath.Join(abs, "sentinel.log")
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		text := strings.Join([]string{
			"bind 127.0.0.1",
			"port " + strconv.Itoa(port),
			"dir " + abs,
			"logfile " + logPath,
			"daemonize no",
			fmt.Sprintf("sentinel monitor %s %s %s %d", o.MasterName, host, pport, o.Quorum),
			fmt.Sprintf("sentinel down-after-milliseconds %s %d", o.MasterName, o.DownAfter.Milliseconds()),
			fmt.Sprintf("sentinel failover-timeout %s %d", o.MasterName, o.FailoverTimeout.Milliseconds()),
			fmt.Sprintf("sentinel parallel-syncs %s 1", o.MasterName),
			"",
		}, "\n")
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return nil, fmt.Errorf("redisproc: write sentinel.conf: %w", err)
		}
		p, err := spawn(ctx, bin, []string{conf, "--sentinel"}, abs, logPath, Options{Dir: abs, Port: port, Binary: bin})
		if err != nil {
			lastErr = err
			if strings.Contains(err.Error(), "in use") {
				continue
			}
			return nil, err
		}
		s := &Sentinel{Addr: p.Addr, Dir: abs, MasterName: o.MasterName, proc: p}
		if _, err := s.Master(ctx); err != nil {
			_ = p.Kill()
			return nil, err
		}
		return s, nil
	}
	return nil, lastErr
}

// StartSentinelT starts a Sentinel for a test (StartSentinel, in a fresh
// temp dir unless o.Dir is set) and stops it when the test ends.
func StartSentinelT(tb testing.TB, o SentinelOptions) *Sentinel {
	tb.Helper()
	return startT(tb, "redis sentinel", &o.Dir, func() (*Sentinel, error) { return StartSentinel(context.Background(), o) })
}

// URL returns the redis+sentinel:// URL of database 0 of the monitored
// primary, as CONSENTD_REDIS_URL takes it (config.RedisOptions).
func (s *Sentinel) URL() string {
	return "redis+sentinel://" + s.Addr + "/0?master_name=" + s.MasterName
}

// Stop stops the Sentinel (SIGTERM) and waits for it.
func (s *Sentinel) Stop() error { return s.proc.Stop() }

// Kill stops the Sentinel at once (SIGKILL).
func (s *Sentinel) Kill() error { return s.proc.Kill() }

func (s *Sentinel) client() *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second})
}

// Master returns the address (host:port) the Sentinel names as the
// primary: where clients asking it connect.
func (s *Sentinel) Master(ctx context.Context) (string, error) {
	c := s.client()
	defer c.Close()
	a, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
	if err != nil {
		return "", fmt.Errorf("redisproc: sentinel %s: master %s: %w", s.Addr, s.MasterName, err)
	}
	if len(a) != 2 {
		return "", fmt.Errorf("redisproc: sentinel %s: master %s: unexpected reply %q", s.Addr, s.MasterName, a)
	}
	return net.JoinHostPort(a[0], a[1]), nil
}

// WaitReplicas waits (up to 30 s) until the Sentinel sees the primary up
// and at least n replicas it could promote (connected, link to the primary
// up, not down): a failover is possible from then on.
func (s *Sentinel) WaitReplicas(ctx context.Context, n int) error {
	c := s.client()
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for {
		m, err := c.Master(ctx, s.MasterName).Result()
		if err != nil {
			last = err.Error()
		} else if m["flags"] != "master" {
			last = "primary flags " + m["flags"]
		} else {
			rs, err := c.Replicas(ctx, s.MasterName).Result()
			ok := 0
			for _, r := range rs {
				if r["flags"] == "slave" && r["master-link-status"] == "ok" {
					ok++
				}
			}
			last = fmt.Sprintf("%d of %d replicas ready (%v): %v", ok, len(rs), err, rs)
			if err == nil && ok >= n {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redisproc: sentinel %s: not ready within 30s: %s", s.Addr, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitFailover waits (up to 60 s) until the Sentinel names another primary
// than old (host:port) and that server answers as a primary (role master);
// it returns the new primary's address.
func (s *Sentinel) WaitFailover(ctx context.Context, old string) (string, error) {
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for {
		addr, err := s.Master(ctx)
		switch {
		case err != nil:
			last = err.Error()
		case sameAddr(addr, old):
			last = "still " + addr
		default:
			rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
			role, err := rdb.Do(ctx, "ROLE").Slice()
			_ = rdb.Close()
			if err == nil && len(role) > 0 && role[0] == "master" {
				return addr, nil
			}
			last = fmt.Sprintf("%s: ROLE %v %v", addr, role, err)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("redisproc: sentinel %s: no failover from %s within 60s: %s", s.Addr, old, last)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
