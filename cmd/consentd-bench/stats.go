package main

// What the processes cost: Redis INFO figures, consentd's batch metric,
// CPU time from /proc.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/procfs"
	"github.com/redis/go-redis/v9"
)

// usedMemory is Redis's used_memory (INFO memory), in bytes.
func usedMemory(ctx context.Context, rdb *redis.Client) int64 {
	return infoInt(ctx, rdb, "memory", "used_memory")
}

// aofRewrites is how many AOF rewrites Redis has started (INFO
// persistence, aof_rewrites, counted when the child is forked). The
// child's CPU counts in Redis's CPU of the run in which it ends.
func aofRewrites(ctx context.Context, rdb *redis.Client) int64 {
	return infoInt(ctx, rdb, "persistence", "aof_rewrites")
}

// infoInt is the integer field of an INFO section, 0 when absent.
func infoInt(ctx context.Context, rdb *redis.Client, section, field string) int64 {
	info, _ := rdb.Info(ctx, section).Result()
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// scriptTime is the time Redis spent in EVALSHA and EVAL since the last
// CONFIG RESETSTAT (INFO commandstats).
func scriptTime(ctx context.Context, rdb *redis.Client) time.Duration {
	stats := commandStats(ctx, rdb)
	return stats["evalsha"].usec + stats["eval"].usec
}

// scriptBreakdown says where the script's time went per stored record:
// each command it ran (calls and time per record), biggest first, and
// the rest of its time (Lua, arguments, replies).
func scriptBreakdown(stats map[string]cmdStat, records int64) string {
	if records <= 0 {
		return "no records"
	}
	script := stats["evalsha"].usec + stats["eval"].usec
	type part struct {
		name  string
		calls float64
		t     time.Duration
	}
	var parts []part
	var inside time.Duration
	for name, c := range stats {
		switch name {
		case "evalsha", "eval", "info", "config|resetstat", "xlen", "ping", "hello", "client|setinfo", "script|load", "wait":
			continue
		}
		parts = append(parts, part{name, float64(c.calls) / float64(records), c.usec / time.Duration(records)})
		inside += c.usec
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].t > parts[j].t })
	var b strings.Builder
	for _, p := range parts {
		if p.t < 50*time.Nanosecond {
			continue
		}
		fmt.Fprintf(&b, "%s %.2f× %v, ", strings.ToUpper(p.name), p.calls, p.t.Round(10*time.Nanosecond))
	}
	fmt.Fprintf(&b, "the rest (Lua, arguments, replies) %v; in all %v", ((script - inside) / time.Duration(records)).Round(10*time.Nanosecond),
		(script / time.Duration(records)).Round(10*time.Nanosecond))
	return b.String()
}

// cmdStat is one command's line of INFO commandstats.
type cmdStat struct {
	calls int64
	usec  time.Duration
}

// perCall is the mean time of one call.
func (c cmdStat) perCall() time.Duration {
	if c.calls == 0 {
		return 0
	}
	return (c.usec / time.Duration(c.calls)).Round(10 * time.Nanosecond)
}

// commandStats reads INFO commandstats (since the last CONFIG RESETSTAT)
// by lower-case command name; the commands a script runs are counted
// under their own names too.
func commandStats(ctx context.Context, rdb *redis.Client) map[string]cmdStat {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil
	}
	out := map[string]cmdStat{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, found := strings.CutPrefix(name, "cmdstat_")
		if !ok || !found {
			continue
		}
		var c cmdStat
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				c.calls = n
			case "usec":
				c.usec = time.Duration(n) * time.Microsecond
			}
		}
		out[name] = c
	}
	return out
}

// batchStats summarizes the ledger's group commits from /metrics.
func batchStats(url string) string {
	res, err := http.Get(url)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var sum, count float64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "consentd_ledger_batch_records_sum "); ok {
			sum, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "consentd_ledger_batch_records_count "); ok {
			count, _ = strconv.ParseFloat(v, 64)
		}
	}
	if count == 0 {
		return "no batches"
	}
	return fmt.Sprintf("%.0f batches, %.1f records per batch on average", count, sum/count)
}

// cpuTimes reads the CPU time of each process from /proc (Linux): user
// and system time, its own and that of its waited-for children (Redis's
// AOF rewrite runs in a child, forked when the AOF has doubled, on the
// same cores); zero where it cannot.
func cpuTimes(pids []int) []time.Duration {
	out := make([]time.Duration, len(pids))
	for i, pid := range pids {
		p, err := procfs.NewProc(pid)
		if err != nil {
			continue
		}
		st, err := p.Stat()
		if err != nil {
			continue
		}
		// In clock ticks (USER_HZ, 100 on Linux), as procfs gives them.
		out[i] = (time.Duration(st.UTime+st.STime) + time.Duration(st.CUTime+st.CSTime)) * 10 * time.Millisecond
	}
	return out
}

// perRequest is the CPU per request between two cpuTimes readings of a
// server's pids: consentd's, then that of every Redis process together.
func perRequest(before, after []time.Duration, requests int64) []time.Duration {
	out := make([]time.Duration, 2) // consentd, every Redis process together
	for i := range before {
		if requests > 0 {
			out[min(i, 1)] += after[i] - before[i]
		}
	}
	for i := range out {
		if requests > 0 {
			out[i] = (out[i] / time.Duration(requests)).Round(100 * time.Nanosecond)
		}
	}
	return out
}
