package ledger

// Every Redis key consentd writes is built here. All keys of one site
// share the hash tag {site}, so they live in one Redis Cluster slot and
// one Lua script can touch them atomically.

// LogKey is the stream c:{site}:log: one entry per decision, the proof of
// consent. Entry fields: v (format version) and record (the Stored JSON).
// Lifetime: trimmed by age (XTRIM MINID, Ledger.Trim) to the site's
// logRetentionDays by the server's retention job.
func LogKey(site string) string { return "c:{" + site + "}:log" }

// VisitorKey is the hash c:{site}:v:{consentID}: the latest decision of
// one visitor, fields stream_id and record (the Stored JSON). Lifetime:
// expires consentExpiryDays after the visitor's last decision.
func VisitorKey(site, consentID string) string { return "c:{" + site + "}:v:" + consentID }

// DailyKey is the hash c:{site}:d:{yyyy-mm-dd} (UTC day) of report
// counters: "decisions", "method:<method>", "country:<ISO code|unknown>",
// "mode:<mode|unknown>", "cat:<category>:yes|no" (optional categories).
// Lifetime: CounterTTL days after the day's last decision.
func DailyKey(site, day string) string { return "c:{" + site + "}:d:" + day }

// IdemKey is the string c:{site}:i:{key}: the receipt of a request sent
// with an Idempotency-Key, so a retried request is stored once. Lifetime:
// IdempotencyTTL.
func IdemKey(site, key string) string { return "c:{" + site + "}:i:" + key }

// NoticeKey is the hash c:{site}:notices: notice version → the JSON
// snapshot of the public site config with that version (what visitors
// citing the version were shown). Lifetime: kept forever (small).
func NoticeKey(site string) string { return "c:{" + site + "}:notices" }

// HistoryKey is the list c:{site}:h:{consentID}: the stream IDs of every
// decision of one visitor, oldest first, for look-ups (a visitor's access
// request). Lifetime: the site's logRetentionDays after the visitor's last
// decision.
func HistoryKey(site, consentID string) string { return "c:{" + site + "}:h:" + consentID }
