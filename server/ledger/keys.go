package ledger

import (
	"strconv"
	"time"
)

// Every Redis key consentd writes is built here. All keys of one site
// share the hash tag {site}, so they live in one Redis Cluster slot and
// one Lua script can touch them atomically.

// LogKey is the stream c:{site}:log: one entry per decision, the proof of
// consent. Entry fields: v (format version) and record (the Stored JSON).
// Lifetime: trimmed by age (XTRIM MINID, Ledger.Trim) to the site's
// logRetentionDays by the server's retention job.
func LogKey(site string) string { return "c:{" + site + "}:log" }

// DailyKey is the hash c:{site}:d:{yyyy-mm-dd} (UTC day) of report
// counters: "decisions", "method:<method>", "country:<ISO code|unknown>",
// "mode:<mode|unknown>", "cat:<category>:yes|no" (optional categories).
// Lifetime: CounterTTL days after the day's last decision.
func DailyKey(site, day string) string { return "c:{" + site + "}:d:" + day }

// NoticeKey is the hash c:{site}:notices: notice version → the JSON
// snapshot of the public site config with that version (what visitors
// citing the version were shown). Lifetime: kept forever (small).
func NoticeKey(site string) string { return "c:{" + site + "}:notices" }

// VisitorKey is the hash c:{site}:v:{consentID}: the index of one
// visitor's decisions: one field per decision, named by its stream ID,
// holding its method; a look-up (a visitor's access request) reads the
// decisions from the log by these IDs. Also IdemField per request sent
// with an Idempotency-Key (what a retry is answered with), and "l", the
// consent ID limit's window start and count (append.lua). Lifetime: the
// site's logRetentionDays after the visitor's last decision (it indexes
// the log, which is kept that long).
func VisitorKey(site, consentID string) string { return "c:{" + site + "}:v:" + consentID }

// RateLimitKey is the hash c:{site}:r:{window start, unix ms}: the
// site's rate-limit counters (Limit) of one window, a field each
// (AddrLimitField, SiteLimitField) holding the records counted. Lifetime:
// until the window ends.
func RateLimitKey(site string, windowStart time.Time) string {
	return "c:{" + site + "}:r:" + strconv.FormatInt(windowStart.UnixMilli(), 10)
}

// AddrLimitField is the field of RateLimitKey counting the consent posts
// from one client address. addr is a keyed hash of the address
// (clientip.Resolver.LimitKey), never the address itself.
func AddrLimitField(addr string) string { return "a:" + addr }

// SiteLimitField is the field of RateLimitKey counting the site's posts.
const SiteLimitField = "s"

// IdemField is the field of VisitorKey that holds what a request sent
// with Idempotency-Key key is answered with when retried (idempotency.go).
func IdemField(key string) string { return "i:" + key }

// ScansKey is the sorted set c:{site}:scans: the stream IDs of the site's
// scan records (`consentd scan --record`, docs/scan.md), scored by their
// milliseconds, written by the append script with each one, so they are
// listed without reading the whole log. Only an index: every entry it
// names is read from the log and checked (Ledger.Scans). Lifetime:
// trimmed with the log (Ledger.Trim).
func ScansKey(site string) string { return "c:{" + site + "}:scans" }

// HeadKey is the string c:{site}:head: "<seq> <hash>" of the site's last
// chained record (the chain head). The append script checks it against
// the head a batch was chained on and moves it, in the same atomic call
// that writes the records. Absent: the chain is empty. Lifetime: kept.
func HeadKey(site string) string { return "c:{" + site + "}:head" }

// BatchesKey is the stream c:{site}:batches: one entry per signed batch
// of records (StoredBatch: fields v, seq, kid, time, sig, root, leaves),
// written by the append script with the batch's records, which name it
// (field "b"). Receipts are rebuilt from it (batches.go). Lifetime: trimmed
// with the log (Ledger.Trim keeps the batch of the oldest kept record).
func BatchesKey(site string) string { return "c:{" + site + "}:batches" }

// CheckpointsKey is the list c:{site}:checkpoints: signed checkpoints
// (proof.Checkpoint JSON), oldest first: the chain head (every
// --checkpoint-every records, every --checkpoint-interval, at start and
// at shutdown, whenever it moved) and a "cut" checkpoint before each
// retention trim. Lifetime: kept (a few hundred bytes each).
func CheckpointsKey(site string) string { return "c:{" + site + "}:checkpoints" }

// CheckpointStateKey is the hash c:{site}:checkpoints:last: seq and time
// (unix ms) of the newest head checkpoint, which checkpoint.lua compares
// with so that instances do not write the same head twice. Lifetime: kept.
func CheckpointStateKey(site string) string { return "c:{" + site + "}:checkpoints:last" }

// TurnKey is the string c:{site}:turn: the instance (a random token per
// Ledger) whose site batch lost the race for the chain head last. While
// it is set, only that instance may append to the site, so an instance
// that keeps losing to a faster one gets through on its next attempt.
// Lifetime: until that instance appends, at most TurnTTL.
func TurnKey(site string) string { return "c:{" + site + "}:turn" }

// SyncKey is the string c:{site}:sync, written (SET, the writing instance's
// token) right before each WAIT when Options.WaitReplicas is set. WAIT
// waits for the replication offset of its connection's last command (Redis
// 7.0) or last write (later versions): a batch whose records were all
// duplicates writes nothing, and without this write its WAIT might not
// cover the stored records it answers with, written on another connection.
// Lifetime: syncTTL (10 s).
func SyncKey(site string) string { return "c:{" + site + "}:sync" }
