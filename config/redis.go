package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisTarget is a parsed CONSENTD_REDIS_URL: which kind of deployment it
// names and how to connect to it.
type RedisTarget struct {
	Kind     string // "single", "sentinel" or "cluster"
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// RedisOptions parses a Redis URL. Accepted forms:
//
//	redis://[user:pass@]host:port[/db]        one server
//	rediss://...                              one server over TLS
//	unix:///path/to/redis.sock[?db=N]         one server over a Unix socket
//	redis+sentinel://[user:pass@]host:port[/db]?master_name=NAME[&addr=host2:port]
//	rediss+sentinel://...                     Sentinel, TLS to the servers
//	redis+cluster://[user:pass@]host:port[?addr=host2:port...]
//	rediss+cluster://...                      Cluster over TLS
//
// Query parameters are go-redis option names in snake case (dial_timeout,
// pool_size, ...).
func RedisOptions(raw string) (RedisTarget, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return RedisTarget{}, errors.New("must be a URL such as redis://127.0.0.1:6379/0")
	}
	base, kind, _ := strings.Cut(u.Scheme, "+")
	if base != "redis" && base != "rediss" && base != "unix" {
		return RedisTarget{}, fmt.Errorf("unknown scheme %q: must be redis, rediss, unix, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster", u.Scheme)
	}
	plain := base + strings.TrimPrefix(raw, u.Scheme)
	switch kind {
	case "":
		o, err := redis.ParseURL(plain)
		if err != nil {
			return RedisTarget{}, fmt.Errorf("invalid Redis URL: %w", err)
		}
		tune(&o.DialerRetries, &o.DialTimeout, &o.MaxRetries)
		return RedisTarget{Kind: "single", single: o}, nil
	case "sentinel":
		o, err := redis.ParseFailoverURL(plain)
		if err != nil {
			return RedisTarget{}, fmt.Errorf("invalid Sentinel URL: %w", err)
		}
		if o.MasterName == "" {
			return RedisTarget{}, errors.New("a Sentinel URL needs ?master_name=NAME")
		}
		tune(&o.DialerRetries, &o.DialTimeout, &o.MaxRetries)
		return RedisTarget{Kind: "sentinel", failover: o}, nil
	case "cluster":
		o, err := redis.ParseClusterURL(plain)
		if err != nil {
			return RedisTarget{}, fmt.Errorf("invalid Cluster URL: %w", err)
		}
		tune(&o.DialerRetries, &o.DialTimeout, &o.MaxRetries)
		return RedisTarget{Kind: "cluster", cluster: o}, nil
	}
	return RedisTarget{}, fmt.Errorf("unknown scheme %q: must be redis, rediss, unix, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster", u.Scheme)
}

// tune makes an unreachable Redis fail fast: a request should get its 503
// in well under a second, not after go-redis's default dial retries.
func tune(dialRetries *int, dialTimeout *time.Duration, maxRetries *int) {
	if *dialRetries == 0 {
		*dialRetries = 1
	}
	if *dialTimeout == 0 {
		*dialTimeout = 2 * time.Second
	}
	if *maxRetries == 0 {
		*maxRetries = -1 // a failed batch is answered 503 and retried by the client with its idempotency key
	}
}

// Client connects to the target. The client is lazy: it does not dial
// until the first command.
func (t RedisTarget) Client() redis.UniversalClient {
	switch t.Kind {
	case "sentinel":
		return redis.NewFailoverClient(t.failover)
	case "cluster":
		return redis.NewClusterClient(t.cluster)
	default:
		return redis.NewClient(t.single)
	}
}

// ReadTimeout is the client's read timeout: read_timeout from the URL, or
// go-redis's default (5 s); 0 when the URL turns it off (-1 or -2). A
// pipeline's replies are read within it, WAIT included.
func (t RedisTarget) ReadTimeout() time.Duration {
	var d time.Duration
	switch {
	case t.single != nil:
		d = t.single.ReadTimeout
	case t.failover != nil:
		d = t.failover.ReadTimeout
	case t.cluster != nil:
		d = t.cluster.ReadTimeout
	}
	switch {
	case d == 0:
		return 5 * time.Second
	case d < 0:
		return 0
	}
	return d
}
