package proof

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"
)

// mth is RFC 6962's recursive definition of the Merkle tree hash.
func mth(leaves []Hash) Hash {
	if len(leaves) == 1 {
		return leafHash(leaves[0])
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return nodeHash(mth(leaves[:k]), mth(leaves[k:]))
}

func hashes(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		out[i] = sha256.Sum256([]byte(fmt.Sprint("record ", i)))
	}
	return out
}

func TestTreeMatchesRFC6962AndPathsVerify(t *testing.T) {
	for n := 1; n <= 70; n++ {
		leaves := hashes(n)
		tree := NewTree(leaves)
		if tree.Root() != mth(leaves) {
			t.Fatalf("size %d: root differs from RFC 6962 MTH", n)
		}
		for i := range leaves {
			root, err := RootFromPath(leaves[i], i, n, tree.Path(i))
			if err != nil || root != tree.Root() {
				t.Fatalf("size %d leaf %d: %v", n, i, err)
			}
			if n > 1 {
				if root, err := RootFromPath(leaves[(i+1)%n], i, n, tree.Path(i)); err == nil && root == tree.Root() {
					t.Fatalf("size %d leaf %d: another leaf verified", n, i)
				}
			}
		}
	}
	// A known value: the root of one leaf is SHA-256(0x00 ‖ h).
	h := hashes(1)[0]
	want := sha256.Sum256(append([]byte{0}, h[:]...))
	if NewTree([]Hash{h}).Root() != want {
		t.Error("single-leaf root")
	}
}

func TestReceiptVerify(t *testing.T) {
	k, err := NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	keys := KeySet{Keys: []PublicKey{k.Public(StatusCurrent)}}
	leaves := hashes(5)
	b := SignBatch(k, "demo", time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), leaves)
	raw := b.AppendReceipt(nil, 3, "rec-3", leaves[3], 42)
	r, err := ParseReceipt(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(keys); err != nil {
		t.Fatalf("Verify: %v\n%s", err, raw)
	}
	other, _ := NewSigningKey()
	tests := []struct {
		name   string
		change func(r *Receipt)
		keys   KeySet
		want   string
	}{
		{"other hash", func(r *Receipt) { r.Hash = leaves[2].String() }, keys, "does not lead"},
		{"other index", func(r *Receipt) { r.Index = 2 }, keys, "does not lead"},
		{"other site", func(r *Receipt) { r.Site = "other" }, keys, "bad signature"},
		{"other time", func(r *Receipt) { r.Time = "2026-11-23T12:00:00.001Z" }, keys, "bad signature"},
		{"forged sig", func(r *Receipt) { r.Sig = strings.Repeat("A", 86) }, keys, "bad signature"},
		{"unknown key", func(r *Receipt) {}, KeySet{Keys: []PublicKey{other.Public(StatusCurrent)}}, "not in the key set"},
	}
	for _, tt := range tests {
		c := *r
		tt.change(&c)
		if err := c.Verify(tt.keys); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestSigningKeyText(t *testing.T) {
	k, _ := NewSigningKey()
	k2, err := ParseSigningKey(" " + k.Secret() + "\n")
	if err != nil || k2.ID() != k.ID() || len(k.ID()) != 16 {
		t.Fatalf("round trip: %v %s %s", err, k2, k)
	}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(s, k.Secret()[8:]) {
			t.Fatalf("secret printed: %s", s)
		}
	}
	for _, bad := range []string{"", "ed25519:", "ed25519:abc", "rsa:xyz"} {
		if _, err := ParseSigningKey(bad); err == nil {
			t.Errorf("ParseSigningKey(%q) accepted", bad)
		}
	}
	pub := k.Public(StatusRetired)
	pub.KID = "0000000000000000"
	if _, err := (KeySet{Keys: []PublicKey{pub}}).Lookup(pub.KID); err {
		t.Error("a key whose kid does not match was used")
	}
}

func TestCheckpoint(t *testing.T) {
	k, _ := NewSigningKey()
	keys := KeySet{Keys: []PublicKey{k.Public(StatusCurrent)}}
	c := SignCheckpoint(k, KindCut, "demo", 9, hashes(1)[0].String(), time.Now())
	if err := c.Verify(keys); err != nil {
		t.Fatal(err)
	}
	c.Seq = 10
	if err := c.Verify(keys); err == nil {
		t.Fatal("changed checkpoint verified")
	}
}

func BenchmarkSignBatch(b *testing.B) {
	k, _ := NewSigningKey()
	for _, n := range []int{1, 24, 256} {
		leaves := hashes(n)
		b.Run(fmt.Sprint("records=", n), func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			for b.Loop() {
				batch := SignBatch(k, "demo", time.Now(), leaves)
				for i := range leaves {
					buf = batch.AppendReceipt(buf[:0], i, "01a2085a-3039-7340-bcdb-211a651c5adc", leaves[i], 1)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}

func BenchmarkVerifyReceipt(b *testing.B) {
	k, _ := NewSigningKey()
	keys := KeySet{Keys: []PublicKey{k.Public(StatusCurrent)}}
	leaves := hashes(24)
	r, _ := ParseReceipt(SignBatch(k, "demo", time.Now(), leaves).AppendReceipt(nil, 5, "x", leaves[5], 1))
	for b.Loop() {
		if err := r.Verify(keys); err != nil {
			b.Fatal(err)
		}
	}
}
