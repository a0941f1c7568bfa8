package ledger

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentd/consentd/proof"
)

// TestAppendCallMatchesScript pins appendCall.encode to append.lua's
// header comment: each fixed KEYS[i] and ARGV[i] the header names is
// where encode puts the value of that name, and the variable sections
// follow in the order the header gives.
func TestAppendCallMatchesScript(t *testing.T) {
	c := &appendCall{site: "s", counterTTL: 400 * time.Second, visitorTTL: 95 * time.Second,
		head: chainHead{seq: 7}, after: chainHead{seq: 9, hash: proof.Hash{1}}, token: "tok", turnTTL: 200 * time.Millisecond,
		window: time.Minute, now: time.UnixMilli(1764930000123),
		batch:     batchFields{seq: 8, kid: "kid", time: "t", sig: "sig", root: "root", leaves: []byte("leaves")},
		snapshots: []string{"v1", "{}"},
		counters:  []Limit{{Field: "s", Max: 100}},
		rateStart: time.UnixMilli(1764930000000), rateEnd: time.UnixMilli(1764930060000),
		days: []*dayCounts{{day: "2026-12-05", fields: []string{"decisions"}, counts: map[string]int{"decisions": 2}}},
		records: []appendRecord{
			{consentID: "c1", idemKey: "k1", idemPrefix: "p1", stored: []byte("r1"), method: "custom", limit: 10, counters: []int{1}},
			{consentID: "c2", stored: []byte("r2"), method: "gpc"},
			{stored: []byte("r3"), scan: true},
		}}
	keys, args := c.encode()

	// What each name in the header stands for in c.
	wantArg := map[string]any{
		"number of records": 3, "number of notice snapshots": 1, "number of daily counter hashes": 1,
		"daily counter TTL (s)": "400", "visitor hash TTL (s)": "95",
		"the head the batch was chained on": c.head.String(), "the head after the batch": c.after.String(),
		"this instance's token": "tok", "turn TTL (ms)": int64(200), "consent ID limit window (ms)": int64(60000),
		"now (unix ms)": int64(1764930000123), "number of rate-limit counters": 1,
		"the rate-limit window's end (unix ms)": int64(1764930060000),
	}
	wantKey := map[string]string{
		"c:{site}:log": LogKey("s"), "c:{site}:notices": NoticeKey("s"), "c:{site}:head": HeadKey("s"),
		"c:{site}:turn": TurnKey("s"), "c:{site}:batches": BatchesKey("s"),
	}
	header := appendLua[:strings.Index(appendLua, "\nlocal ")]
	argLine := regexp.MustCompile(`(?m)^-- ARGV\[(\d+)\]\s+(.+)$`)
	keyLine := regexp.MustCompile(`(?m)^-- KEYS\[(\d+)\]\s+\S+\s+(\S+)`)
	seen := 0
	for _, m := range argLine.FindAllStringSubmatch(header, -1) {
		i, _ := strconv.Atoi(m[1])
		for name, v := range wantArg {
			if strings.HasPrefix(m[2], name) {
				seen++
				if fmt.Sprint(args[i-1]) != fmt.Sprint(v) {
					t.Errorf("ARGV[%d] (%s) = %v, want %v", i, name, args[i-1], v)
				}
			}
		}
	}
	if seen != len(wantArg) {
		t.Errorf("the header names %d of the %d fixed arguments", seen, len(wantArg))
	}
	for _, m := range keyLine.FindAllStringSubmatch(header, -1) {
		i, _ := strconv.Atoi(m[1])
		if want, ok := wantKey[m[2]]; !ok || keys[i-1] != want {
			t.Errorf("KEYS[%d] (%s) = %q, want %q", i, m[2], keys[i-1], want)
		}
	}
	// ARGV[14..19]: the signed batch, in the order the header lists.
	if !strings.Contains(header, "ARGV[14..19] the signed batch: seq of its first record, key ID, signing time, signature,\n--          Merkle root, the records' hashes") {
		t.Error("the header no longer describes ARGV[14..19] as encode writes them")
	}
	if got := fmt.Sprint(args[13:19]); got != fmt.Sprint([]any{int64(8), "kid", "t", "sig", "root", []byte("leaves")}) {
		t.Errorf("ARGV[14..19] = %v", got)
	}
	// Then: snapshot pairs; per rate-limit counter: limit, window ms; per
	// day: nfields, (field, increment) pairs; per record: record JSON,
	// Idempotency-Key, idempotency value prefix, method,
	// consent ID limit, n and n counter indexes. Keys: the day hashes, the
	// counters, then per record its visitor hash.
	for _, section := range []string{
		"then per rate-limit counter: its field in the window's hash, limit;\n-- then per daily counter hash",
		"then per record: record JSON, Idempotency-Key (\"\" without one), idempotency value prefix,\n--   method, consent ID limit (0: not limited), n, then n rate-limit counter indexes",
		"-- then ARGV[3] daily counter hashes c:{site}:d:{day}\n-- then the rate-limit window's hash c:{site}:r:{window start ms}",
		"its visitor hash c:{site}:v:{consentId}; for a scan record, the scans\n--   index c:{site}:scans instead",
		"A scan record (docs/proof.md) has method ''",
	} {
		if !strings.Contains(header, section) {
			t.Errorf("the header no longer says %q as encode writes it", section)
		}
	}
	if got, want := fmt.Sprint(args[19:]), fmt.Sprint([]any{"v1", "{}", "s", 100, 1, "decisions", 2,
		[]byte("r1"), "k1", "p1", "custom", 10, 1, 1, []byte("r2"), "", "", "gpc", 0, 0, []byte("r3"), "", "", "", 0, 0}); got != want {
		t.Errorf("variable sections:\n got %s\nwant %s", got, want)
	}
	if got, want := fmt.Sprint(keys[5:]), fmt.Sprint([]string{DailyKey("s", "2026-12-05"), "c:{s}:r:1764930000000", VisitorKey("s", "c1"),
		VisitorKey("s", "c2"), ScansKey("s")}); got != want {
		t.Errorf("variable keys:\n got %s\nwant %s", got, want)
	}
}
