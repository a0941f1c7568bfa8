package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated means Redis executed a batch but WAIT did not report
// Options.WaitReplicas replicas having it within Options.WaitTimeout.
// Append wraps it together with ErrUnavailable: the record may be stored
// on the primary (the chain head moved), but it is not acknowledged, since
// a failover could lose it. The client retries with its idempotency key
// and gets the stored receipt as a duplicate once the replicas confirm it.
var ErrNotReplicated = errors.New("ledger: not replicated")

// errClusterWait refuses WaitReplicas on a Redis Cluster client: a keyless
// WAIT in a cluster pipeline goes to a random node, not to the master that
// ran the script. config.Load refuses the combination at start-up.
var errClusterWait = errors.New("WaitReplicas is not supported on a Redis Cluster: WAIT would not reach the master of the site's slot")

// syncTTL is how long SyncKey lives.
const syncTTL = 10 * time.Second

// waitDefaults completes the replica options: WaitTimeout defaults to 1 s
// and is at least 1 ms (WAIT with 0 would block for ever); ExecTimeout
// leaves WAIT its time and 2 s for the scripts.
func waitDefaults(o Options) Options {
	if o.WaitReplicas <= 0 {
		o.WaitReplicas = 0
		return o
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = time.Second
	}
	o.WaitTimeout = max(o.WaitTimeout, time.Millisecond)
	o.ExecTimeout = max(o.ExecTimeout, o.WaitTimeout+2*time.Second)
	return o
}

// refuseWait answers every group with errClusterWait, sending nothing,
// when WaitReplicas is set on a Redis Cluster client.
func (l *Ledger) refuseWait(ctx context.Context, groups []*siteBatch) bool {
	if l.opts.WaitReplicas == 0 {
		return false
	}
	if _, cluster := l.rdb.(interface {
		MasterForKey(context.Context, string) (*redis.Client, error)
	}); !cluster {
		return false
	}
	for _, g := range groups {
		g.cmd = redis.NewCmd(ctx)
		g.cmd.SetErr(errClusterWait)
	}
	return true
}

// addWait ends the pipeline with a write of SyncKey and WAIT: the groups'
// records count as acknowledged only if WaitReplicas replicas have
// everything up to the connection's replication offset. The write moves
// that offset past every record the scripts found already stored
// (duplicates), which may have been written on another connection; a
// script that writes nothing moves it only on Redis 7.0.
func (l *Ledger) addWait(ctx context.Context, pipe redis.Pipeliner, groups []*siteBatch) {
	if l.opts.WaitReplicas == 0 || len(groups) == 0 {
		return
	}
	pipe.Set(ctx, SyncKey(groups[0].site), l.token, syncTTL)
	// Pipeliner has no Wait method; the pipeline's read timeout (the
	// client's ReadTimeout) must exceed WaitTimeout.
	cmd := redis.NewIntCmd(ctx, "wait", l.opts.WaitReplicas, l.opts.WaitTimeout.Milliseconds())
	_ = pipe.Process(ctx, cmd)
	for _, g := range groups {
		g.replicas = cmd
	}
}

// replicated reports whether the WAIT after g's script call confirmed it
// on WaitReplicas replicas: nil when it did, or without WaitReplicas.
func (l *Ledger) replicated(g *siteBatch) error {
	want := int64(l.opts.WaitReplicas)
	if want == 0 {
		return nil
	}
	if g.replicas == nil {
		return fmt.Errorf("%w: no WAIT was sent", ErrNotReplicated)
	}
	n, err := g.replicas.Result()
	if err != nil {
		return fmt.Errorf("%w: not confirmed on %d replica(s): WAIT: %w", ErrNotReplicated, want, err)
	}
	if n < want {
		return fmt.Errorf("%w: not confirmed on %d replica(s) within %s (WAIT reported %d)",
			ErrNotReplicated, want, l.opts.WaitTimeout, n)
	}
	return nil
}
