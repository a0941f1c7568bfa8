package ledger

// The call of append.lua: its keys and arguments for one site batch.

import (
	_ "embed"
	"time"
)

//go:embed append.lua
var appendLua string

// appendCall is one call of append.lua for one site batch: every key and
// argument the script takes, named. encode writes them in the order of
// the script's header comment (TestAppendCallMatchesScript pins the two
// together).
type appendCall struct {
	site       string
	counterTTL time.Duration // the daily counter hashes' lifetime
	visitorTTL time.Duration // the visitor hashes' lifetime: the site's log retention
	head       chainHead     // the head the batch was chained on
	after      chainHead     // the head after the batch
	token      string        // this instance (TurnKey)
	turnTTL    time.Duration
	window     time.Duration // the consent ID limit's window
	now        time.Time     // when the batch is sent (the limits' clock)
	rateStart  time.Time     // the rate-limit window holding now (RateLimitKey)
	rateEnd    time.Time
	batch      batchFields
	snapshots  []string       // notice version, snapshot JSON pairs to write (HSETNX)
	counters   []Limit        // the distinct rate-limit counters of the records (by Field)
	counterAt  map[string]int // Field → 1-based index in counters
	days       []*dayCounts
	records    []appendRecord
}

// batchFields are the stored fields of the signed batch (StoredBatch).
type batchFields struct {
	seq            int64 // of its first record
	kid, time, sig string
	root           string
	leaves         []byte // the records' hashes, hex, concatenated
}

// appendRecord is one record of an appendCall.
type appendRecord struct {
	consentID  string
	idemKey    string // "" without an Idempotency-Key
	idemPrefix string // Record.idemPrefix, "" without an Idempotency-Key
	stored     []byte // the record's stored JSON
	method     string // "" for a scan record
	scan       bool   // a scan record: its key is the scans index, not a visitor hash
	limit      int    // decisions per window for its consent ID; 0: not limited
	counters   []int  // its rate-limit counters: 1-based indexes into appendCall.counters
}

// encode returns the script's KEYS and ARGV.
func (c *appendCall) encode() (keys []string, args []any) {
	nfields := 0
	for _, d := range c.days {
		nfields += len(d.fields)
	}
	keys = make([]string, 0, 6+len(c.days)+len(c.records))
	keys = append(keys, LogKey(c.site), NoticeKey(c.site), HeadKey(c.site), TurnKey(c.site), BatchesKey(c.site))
	for _, d := range c.days {
		keys = append(keys, DailyKey(c.site, d.day))
	}
	keys = append(keys, RateLimitKey(c.site, c.rateStart))
	args = make([]any, 0, 19+len(c.snapshots)+2*len(c.counters)+len(c.days)+2*nfields+8*len(c.records))
	args = append(args, len(c.records), len(c.snapshots)/2, len(c.days), seconds(c.counterTTL),
		seconds(c.visitorTTL), c.head.String(), c.after.String(), c.token, c.turnTTL.Milliseconds(),
		c.window.Milliseconds(), c.now.UnixMilli(), len(c.counters), c.rateEnd.UnixMilli(),
		c.batch.seq, c.batch.kid, c.batch.time, c.batch.sig, c.batch.root, c.batch.leaves)
	for _, s := range c.snapshots {
		args = append(args, s)
	}
	for _, l := range c.counters {
		args = append(args, l.Field, l.Max)
	}
	for _, d := range c.days {
		args = append(args, len(d.fields))
		for _, f := range d.fields {
			args = append(args, f, d.counts[f])
		}
	}
	for _, r := range c.records {
		if r.scan {
			keys = append(keys, ScansKey(c.site))
		} else {
			keys = append(keys, VisitorKey(c.site, r.consentID))
		}
		args = append(args, r.stored, r.idemKey, r.idemPrefix, r.method, r.limit, len(r.counters))
		for _, i := range r.counters {
			args = append(args, i)
		}
	}
	return keys, args
}

// appendCall is the script call of a prepared site batch.
func (l *Ledger) appendCall(g *siteBatch) *appendCall {
	pol := l.Policy(g.site)
	now := time.Now()
	rateStart, rateEnd := rateWindow(now, l.opts.RateWindow)
	c := &appendCall{site: g.site, counterTTL: pol.CounterTTL, visitorTTL: pol.RetentionTTL,
		head: g.head, after: g.after, token: l.token, turnTTL: TurnTTL, window: l.opts.ConsentIDWindow, now: now,
		rateStart: rateStart, rateEnd: rateEnd,
		batch: newBatchFields(g.batch, g.head.seq+1, g.hashes), snapshots: g.snaps, days: countDays(g.items),
		records: make([]appendRecord, len(g.items))}
	for i, p := range g.items {
		r := p.rec
		if r.Scan != nil {
			c.records[i] = appendRecord{stored: g.stored[i], scan: true}
			continue
		}
		c.records[i] = appendRecord{consentID: r.ConsentID, stored: g.stored[i], method: r.Method}
		if r.LimitConsentID {
			c.records[i].limit = l.opts.ConsentIDLimit
		}
		for _, lim := range r.Limits {
			c.records[i].counters = append(c.records[i].counters, c.counter(lim))
		}
		if r.IdempotencyKey != "" {
			c.records[i].idemKey, c.records[i].idemPrefix = r.IdempotencyKey, r.idemPrefix()
		}
	}
	return c
}

// dayCounts is what a batch adds to one day's report counters.
type dayCounts struct {
	day    string
	fields []string // in the order first met
	counts map[string]int
}

// countDays sums the counters of the batch's records per UTC day (a
// batch spans two days at most around midnight), so the script runs one
// HINCRBY per counter and day rather than one per record and counter.
func countDays(items []*pending) []*dayCounts {
	var days []*dayCounts
	for _, p := range items {
		if len(p.counters) == 0 {
			continue // a scan record: no day's counters
		}
		var d *dayCounts
		for _, x := range days {
			if x.day == p.day {
				d = x
				break
			}
		}
		if d == nil {
			d = &dayCounts{day: p.day, counts: make(map[string]int, 2*len(p.counters))}
			days = append(days, d)
		}
		for _, f := range p.counters {
			if d.counts[f] == 0 {
				d.fields = append(d.fields, f)
			}
			d.counts[f]++
		}
	}
	return days
}

// counter returns the 1-based index of lim's counter in c.counters,
// adding it on first use (records share counters by Field).
func (c *appendCall) counter(lim Limit) int {
	if i, ok := c.counterAt[lim.Field]; ok {
		return i
	}
	if c.counterAt == nil {
		c.counterAt = map[string]int{}
	}
	c.counters = append(c.counters, lim)
	c.counterAt[lim.Field] = len(c.counters)
	return len(c.counters)
}
