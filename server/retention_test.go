package server_test

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

// TestRetentionTrimsExactlyWhatIsOlder places entries around the cutoff
// of the demo site's logRetentionDays (1095) and trims once.
func TestRetentionTrimsExactlyWhatIsOlder(t *testing.T) {
	var log servertest.LogBuffer
	env := servertest.Start(t, servertest.Options{Log: &log})
	ctx := context.Background()
	now := time.Now()
	cutoff := now.AddDate(0, 0, -1095).UnixMilli()
	key := ledger.LogKey("demo")
	ids := map[string]bool{ // stream ID → kept?
		strconv.FormatInt(cutoff-86_400_000, 10) + "-0":                  false, // a day too old
		strconv.FormatInt(cutoff-1, 10) + "-0":                           false, // one millisecond too old
		strconv.FormatInt(cutoff, 10) + "-0":                             true,  // exactly at the cutoff
		strconv.FormatInt(cutoff, 10) + "-1":                             true,
		strconv.FormatInt(now.AddDate(0, 0, -10).UnixMilli(), 10) + "-0": true,
	}
	order := make([]string, 0, len(ids))
	for id := range ids {
		order = append(order, id)
	}
	sort.Slice(order, func(i, j int) bool { return streamIDLess(order[i], order[j]) }) // XADD needs rising IDs
	for _, id := range order {
		if err := env.Redis.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: id, Values: []any{"v", "1", "record", "{}"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if r := post(t, env, jsonOf(t, validBody(noticeVersion(t, env))), nil); r.Status != 201 {
		t.Fatalf("post: %d", r.Status)
	}
	env.Server.TrimLogs(ctx, now)

	left, err := env.Redis.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]bool{}
	for _, e := range left {
		kept[e.ID] = true
	}
	for id, want := range ids {
		if kept[id] != want {
			t.Errorf("entry %s kept=%v, want %v", id, kept[id], want)
		}
	}
	if len(left) != 4 { // three kept above + the fresh decision
		t.Errorf("%d entries left, want 4", len(left))
	}
	if !strings.Contains(log.String(), `msg="retention: trimmed consent log" site=demo records=2`) {
		t.Errorf("trim not logged:\n%s", log.String())
	}
	// Trimming again removes nothing (several instances may run the job).
	env.Server.TrimLogs(ctx, now)
	if n := env.Records(t, "demo"); n != 4 {
		t.Errorf("second trim: %d left", n)
	}
}

// streamIDLess orders stream IDs "<ms>-<seq>" numerically.
func streamIDLess(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	ai, _ := strconv.ParseInt(am, 10, 64)
	bi, _ := strconv.ParseInt(bm, 10, 64)
	if ai != bi {
		return ai < bi
	}
	return as < bs
}
