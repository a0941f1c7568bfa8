package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/proof/audit"
	"github.com/consentd/consentd/server/export"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/redisproc"
)

var demoSite = &site.Site{ID: "demo", Categories: []site.Category{{ID: "necessary", Required: true}, {ID: "analytics"}, {ID: "marketing"}}}

// chain is a real chain made through the ledger on a real Redis.
type chain struct {
	rdb      *redis.Client
	led      *ledger.Ledger
	key      *proof.SigningKey
	versions []string
	snaps    map[string][]byte
}

func newChain(t testing.TB, rng *rand.Rand) *chain {
	t.Helper()
	srv := redisproc.StartT(t, redisproc.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	key, err := proof.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.New(rdb, ledger.Options{Signer: key, BatchMax: 1 + rng.IntN(40)})
	t.Cleanup(func() { _ = led.Close(context.Background()) })
	c := &chain{rdb: rdb, led: led, key: key, snaps: map[string][]byte{}}
	for _, lang := range []string{"fi", "en"} {
		snap := []byte(`{"lang":"` + lang + `","html":"<p>notice</p>"}`)
		v := proof.Sum(snap).String()
		c.versions = append(c.versions, v)
		c.snaps[v] = snap
		led.RegisterNotice("demo", v, snap)
	}
	return c
}

// appendRandom appends n random decisions from several goroutines at once
// (so batches of many sizes form), some with idempotency keys sent twice.
func (c *chain) appendRandom(t testing.TB, rng *rand.Rand, n int) {
	t.Helper()
	recs := make([]*ledger.Record, n)
	for i := range recs {
		rid, _ := uuid.NewV7()
		r := &ledger.Record{Site: "demo", RecordID: rid.String(), ConsentID: uuid.NewString(), Time: time.Now().UTC(),
			NoticeVersion: c.versions[rng.IntN(len(c.versions))], PolicyVersion: "2026-11-01", Method: ledger.MethodCustom,
			Choices:  map[string]bool{"necessary": true, "analytics": rng.IntN(2) == 0, "marketing": rng.IntN(2) == 0},
			Language: "fi", URL: "https://www.example.fi/" + fmt.Sprint(rng.IntN(100)), UserAgent: fmt.Sprintf("ua \"%d\" ä\u2028", i), IP: "192.0.2.0"}
		if rng.IntN(3) == 0 {
			r.IdempotencyKey = fmt.Sprint("k-", i)
		}
		recs[i] = r
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 1+rng.IntN(32))
	for _, r := range recs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			first, err := c.led.Append(context.Background(), r)
			if err != nil {
				t.Error(err)
				return
			}
			if r.IdempotencyKey != "" { // the retry of a lost answer
				again := *r
				rid, _ := uuid.NewV7()
				again.RecordID = rid.String()
				dup, err := c.led.Append(context.Background(), &again)
				if err != nil || !dup.Duplicate || dup.RecordID != first.RecordID || !bytes.Equal(dup.Receipt, first.Receipt) {
					t.Errorf("retry: %+v %v, first %+v", dup, err, first)
				}
			}
		}()
	}
	wg.Wait()
}

// bundle exports the chain as a proof bundle and opens it.
func (c *chain) bundle(t testing.TB) *audit.Bundle {
	t.Helper()
	var buf bytes.Buffer
	if _, err := export.WriteBundle(context.Background(), c.rdb, demoSite, c.led.PublicKeys(), time.Now().Add(time.Second), &buf, nil); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "demo.proof.zip")
	if err := os.WriteFile(name, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := audit.OpenBundle(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func lines(t testing.TB, b *audit.Bundle) []string {
	t.Helper()
	rc, err := b.Records()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(rc)
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

func options(b *audit.Bundle) audit.Options {
	return audit.Options{Keys: b.Keys, Checkpoints: b.Checkpoints, Notices: b.Notices}
}

func verify(ls []string, o audit.Options) (*audit.Summary, error) {
	return audit.Verify(strings.NewReader(strings.Join(ls, "\n")+"\n"), o)
}

// seed returns a random seed, logged so that a failure can be replayed
// (AUDIT_SEED=n go test ...).
func seed(t *testing.T) *rand.Rand {
	s := uint64(time.Now().UnixNano())
	if v := os.Getenv("AUDIT_SEED"); v != "" {
		fmt.Sscan(v, &s)
	}
	t.Logf("seed %d (AUDIT_SEED=%d to replay)", s, s)
	return rand.New(rand.NewPCG(s, s))
}

func TestRandomAppendsVerifyAndTamperingIsFound(t *testing.T) {
	rng := seed(t)
	c := newChain(t, rng)
	n := 30 + rng.IntN(150)
	c.appendRandom(t, rng, n)
	if _, err := c.led.Checkpoint(context.Background(), "demo", time.Minute, time.Now()); err != nil {
		t.Fatal(err)
	}
	b := c.bundle(t)
	ls := lines(t, b)
	if len(ls) != n {
		t.Fatalf("%d records exported, %d appended", len(ls), n)
	}
	sum, err := verify(ls, options(b))
	if err != nil {
		t.Fatalf("untouched export: %v", err)
	}
	if s := sum.Sites["demo"]; s.FirstSeq != 1 || s.LastSeq != int64(n) || sum.Checkpoints != 1 || sum.Notices != 2 || sum.Keys[c.key.ID()] != n {
		t.Fatalf("summary %+v %+v", sum, s)
	}

	i := 1 + rng.IntN(n-3) // a record in the middle (never the first or last two)
	other, _ := proof.NewSigningKey()
	replaced := map[string][]byte{}
	for v := range b.Notices {
		replaced[v] = b.Notices[v]
	}
	replaced[c.versions[0]] = []byte(`{"lang":"fi","html":"<p>another notice</p>"}`)
	tests := []struct {
		name   string
		tamper func(ls []string, o *audit.Options) []string
		kind   string
		line   int
		seq    int64
		msg    string
	}{
		{"change a choice", func(ls []string, _ *audit.Options) []string {
			l := ls[i]
			if strings.Contains(l, `"analytics":true`) {
				l = strings.Replace(l, `"analytics":true`, `"analytics":false`, 1)
			} else {
				l = strings.Replace(l, `"analytics":false`, `"analytics":true`, 1)
			}
			ls[i] = l
			return ls
		}, audit.Edited, i + 1, int64(i + 1), "a field was changed"},
		{"delete a record", func(ls []string, _ *audit.Options) []string {
			return append(ls[:i:i], ls[i+1:]...)
		}, audit.Deleted, i + 1, int64(i + 2), fmt.Sprintf("seq %d missing", i+1)},
		{"delete the first record", func(ls []string, _ *audit.Options) []string { return ls[1:] },
			audit.Deleted, 1, 2, "records 1 to 1 are missing"},
		{"swap two records", func(ls []string, _ *audit.Options) []string {
			ls[i], ls[i+1] = ls[i+1], ls[i]
			return ls
		}, audit.Reordered, i + 1, int64(i + 2), fmt.Sprintf("seq %d comes before seq %d", i+2, i+1)},
		{"replace a notice snapshot", func(ls []string, o *audit.Options) []string {
			o.Notices = replaced
			return ls
		}, audit.Notice, 0, 0, "notices/" + c.versions[0] + ".json"},
		{"drop a notice snapshot", func(ls []string, o *audit.Options) []string {
			o.Notices = map[string][]byte{c.versions[1]: c.snaps[c.versions[1]]}
			return ls
		}, audit.Notice, firstCiting(ls, c.versions[0]), -1, "no snapshot"},
		{"forge a signature", func(ls []string, _ *audit.Options) []string {
			ls[i] = forgeSig(t, ls[i], other)
			return ls
		}, audit.Signature, i + 1, int64(i + 1), "bad signature"},
		{"unknown key", func(ls []string, o *audit.Options) []string {
			o.Keys = proof.KeySet{Keys: []proof.PublicKey{other.Public(proof.StatusCurrent)}}
			o.Checkpoints = nil
			return ls
		}, audit.UnknownKey, 1, 1, c.key.ID()},
		{"truncate the head", func(ls []string, _ *audit.Options) []string { return ls[:n-2] },
			audit.Truncated, n - 2, int64(n - 2), fmt.Sprintf("had %d records", n)},
		{"a format-1 record before seq 1", func(ls []string, _ *audit.Options) []string {
			return append([]string{v1Line}, ls...)
		}, audit.Malformed, 1, -1, "not covered by a signed batch"},
		{"a format-1 record in the middle", func(ls []string, _ *audit.Options) []string {
			return append(append(ls[:i:i], v1Line), ls[i:]...)
		}, audit.Malformed, i + 1, -1, "not covered by a signed batch"},
		{"a chained record without its receipt", func(ls []string, _ *audit.Options) []string {
			ls[i] = dropReceipt(t, ls[i])
			return ls
		}, audit.Receipt, i + 1, int64(i + 1), "no receipt"},
		{"an entry the server found outside the chain", func(ls []string, _ *audit.Options) []string {
			ls[i] = `{"not_verified":"its batch 1-1 signed another hash for seq 7","record":"{}","stream_id":"1-1"}`
			return ls
		}, audit.Unverified, i + 1, -1, "stream entry 1-1 as not part of the signed chain: its batch 1-1 signed another hash"},
		{"replace a record, hash recomputed", func(ls []string, _ *audit.Options) []string {
			ls[i] = rehash(t, strings.Replace(ls[i], `"ip":"192.0.2.0"`, `"ip":"192.0.2.1"`, 1))
			return ls
		}, audit.Receipt, i + 1, int64(i + 1), "the receipt is for hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(b)
			ls := tt.tamper(append([]string(nil), ls...), &o)
			_, err := verify(ls, o)
			p, ok := err.(*audit.Problem)
			if !ok {
				t.Fatalf("not found: %v", err)
			}
			if p.Kind != tt.kind || p.Line != tt.line || (tt.seq >= 0 && p.Seq != tt.seq) || !strings.Contains(p.Error(), tt.msg) {
				t.Fatalf("got %q (kind %s, line %d, seq %d)\nwant kind %s, line %d, seq %d, containing %q", p, p.Kind, p.Line, p.Seq, tt.kind, tt.line, tt.seq, tt.msg)
			}
			t.Log(p)
		})
	}
}

// v1Line is a record of format 1 (no hash, seq or receipt), as an
// attacker would write one.
const v1Line = `{"choices":{"analytics":true,"marketing":true,"necessary":true},"consent_id":"3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f","country":"","ip":"","language":"fi","method":"accept_all","mode":"opt-in","notice_version":"ab12","policy_version":"x","record_id":"forged","site":"demo","time":"2026-11-23T10:00:00.000Z","url":"","user_agent":"","v":1,"stream_id":"1-0"}`

// dropReceipt removes a line's receipt.
func dropReceipt(t *testing.T, line string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	return strings.Replace(line, `"receipt":`+string(m["receipt"])+`,`, "", 1)
}

// The summary says how many records lie after the newest checkpoint: the
// window in which removing records at the end would not be noticed.
func TestUnprotectedWindow(t *testing.T) {
	rng := seed(t)
	c := newChain(t, rng)
	c.appendRandom(t, rng, 30)
	if _, err := c.led.Checkpoint(context.Background(), "demo", 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	c.appendRandom(t, rng, 7)
	b := c.bundle(t)
	sum, err := verify(lines(t, b), options(b))
	if err != nil {
		t.Fatal(err)
	}
	// (appendRandom's idempotency keys repeat between calls: a few of the
	// 7 are duplicates.)
	s := sum.Sites["demo"]
	if s.Checkpointed != 30 || s.LastSeq <= 30 || s.Unprotected() != s.LastSeq-30 ||
		!strings.Contains(sum.String(), fmt.Sprintf("%d records after the newest checkpoint (seq 30)", s.LastSeq-30)) {
		t.Fatalf("summary %+v\n%s", s, sum)
	}
	o := options(b)
	o.Checkpoints = nil
	sum, err = verify(lines(t, b), o)
	if err != nil || !strings.Contains(sum.String(), "no checkpoint given") {
		t.Fatalf("without checkpoints: %v\n%v", err, sum)
	}
}

func firstCiting(ls []string, version string) int {
	for i, l := range ls {
		if strings.Contains(l, `"notice_version":"`+version+`"`) {
			return i + 1
		}
	}
	return 0
}

// forgeSig signs the line's batch message with another key under the
// real key ID.
func forgeSig(t *testing.T, line string, k *proof.SigningKey) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	rc, err := proof.ParseReceipt(m["receipt"])
	if err != nil {
		t.Fatal(err)
	}
	root, _ := proof.ParseHash(rc.Root)
	forged := k.Sign(proof.BatchMessage(rc.KID, rc.Site, rc.Size, root, rc.Time))
	return strings.Replace(line, rc.Sig, b64(forged), 1)
}

// rehash recomputes a line's record hash after an edit.
func rehash(t *testing.T, line string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	h, claimed, _, err := proof.RecordHash([]byte(line), "receipt", "stream_id")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(line, `"hash":"`+claimed+`"`, `"hash":"`+h.String()+`"`, 1)
}

func b64(b []byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var out strings.Builder
	for i := 0; i < len(b); i += 3 {
		var n uint32
		k := min(3, len(b)-i)
		for j := 0; j < 3; j++ {
			n <<= 8
			if j < k {
				n |= uint32(b[i+j])
			}
		}
		for j := 0; j < k+1; j++ {
			out.WriteByte(alphabet[(n>>(18-6*j))&63])
		}
	}
	return out.String()
}

// Retention trims the oldest records; the cut checkpoint it writes keeps
// the rest verifiable, and without it the start is reported.
func TestTrimKeepsChainVerifiable(t *testing.T) {
	rng := seed(t)
	c := newChain(t, rng)
	c.appendRandom(t, rng, 40)
	time.Sleep(5 * time.Millisecond)
	cut := time.Now()
	time.Sleep(5 * time.Millisecond)
	c.appendRandom(t, rng, 20)
	n, err := c.led.Trim(context.Background(), "demo", cut)
	if err != nil || n != 40 {
		t.Fatalf("Trim = %d, %v", n, err)
	}
	b := c.bundle(t)
	sum, err := verify(lines(t, b), options(b))
	if err != nil {
		t.Fatalf("after trim: %v", err)
	}
	if s := sum.Sites["demo"]; s.FirstSeq != 41 || s.Anchor != "cut checkpoint at seq 40" {
		t.Fatalf("summary %+v", s)
	}
	o := options(b)
	o.Checkpoints = nil
	_, err = verify(lines(t, b), o)
	if p, ok := err.(*audit.Problem); !ok || p.Kind != audit.Deleted || p.Line != 1 || p.Seq != 41 {
		t.Fatalf("without the cut checkpoint: %v", err)
	}
}

// BenchmarkVerify verifies an export of 5 000 records made through the
// ledger (batches of up to 40), as consentd verify reads a bundle.
func BenchmarkVerify(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := newChain(b, rng)
	c.appendRandom(b, rng, 5000)
	bundle := c.bundle(b)
	ls := lines(b, bundle)
	o := options(bundle)
	b.ResetTimer()
	for b.Loop() {
		if _, err := verify(ls, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ls)*b.N)/b.Elapsed().Seconds(), "records/s")
}
