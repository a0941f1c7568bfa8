package proof

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Checkpoint kinds.
const (
	// KindHead signs the chain head at a time: the site's log had Seq
	// records and the last one's hash was Head.
	KindHead = "head"
	// KindCut is written by the retention job before it trims: Seq and
	// Head are those of the last record it removes, so the chain stays
	// verifiable from the oldest kept record (its prev is Head).
	KindCut = "cut"
)

// Checkpoint is a signed statement about a site's hash chain.
type Checkpoint struct {
	V    int    `json:"v"`
	Kind string `json:"kind"`
	KID  string `json:"kid"`
	Site string `json:"site"`
	Seq  int64  `json:"seq"`
	Head string `json:"head"`
	Time string `json:"time"`
	Sig  string `json:"sig"`
}

// CheckpointMessage is the byte string a checkpoint signature covers,
// seven lines joined by "\n":
//
//	consentd-checkpoint-v1
//	kind=<head|cut>
//	kid=<key ID>
//	site=<site ID>
//	seq=<seq of the record Head is the hash of; 0 for an empty chain>
//	head=<64 hex>
//	time=<RFC 3339 UTC ms>
func CheckpointMessage(c *Checkpoint) []byte {
	b := make([]byte, 0, 200)
	b = append(b, "consentd-checkpoint-v1\nkind="...)
	b = append(b, c.Kind...)
	b = append(b, "\nkid="...)
	b = append(b, c.KID...)
	b = append(b, "\nsite="...)
	b = append(b, c.Site...)
	b = append(b, "\nseq="...)
	b = strconv.AppendInt(b, c.Seq, 10)
	b = append(b, "\nhead="...)
	b = append(b, c.Head...)
	b = append(b, "\ntime="...)
	return append(b, c.Time...)
}

// SignCheckpoint makes a signed checkpoint.
func SignCheckpoint(k *SigningKey, kind, site string, seq int64, head string, at time.Time) *Checkpoint {
	c := &Checkpoint{V: 1, Kind: kind, KID: k.ID(), Site: site, Seq: seq, Head: head, Time: at.UTC().Format(TimeFormat)}
	c.Sig = b64.EncodeToString(k.Sign(CheckpointMessage(c)))
	return c
}

// Verify checks the checkpoint's signature against the key set.
func (c *Checkpoint) Verify(keys KeySet) error {
	if c.V != 1 || (c.Kind != KindHead && c.Kind != KindCut) {
		return fmt.Errorf("checkpoint: unknown version %d or kind %q", c.V, c.Kind)
	}
	if _, err := ParseHash(c.Head); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	pub, ok := keys.Lookup(c.KID)
	if !ok {
		return fmt.Errorf("checkpoint: %w (kid %s)", ErrUnknownKey, c.KID)
	}
	sig, err := b64.DecodeString(c.Sig)
	if err != nil || !ed25519.Verify(pub, CheckpointMessage(c), sig) {
		return fmt.Errorf("checkpoint: %w (kid %s)", ErrBadSig, c.KID)
	}
	return nil
}

// Marshal is the checkpoint's JSON.
func (c *Checkpoint) Marshal() []byte {
	b, _ := json.Marshal(c)
	return b
}

func sum(b []byte) Hash { return sha256.Sum256(b) }

// Sum is SHA-256.
func Sum(b []byte) Hash { return sum(b) }
