package proof

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consentd/consentd/proof/canon"
)

// ReceiptVersion is the version of the receipt format and of the signed
// batch message.
const ReceiptVersion = 1

// TimeFormat is how signing times are written: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// BatchMessage is the byte string a batch signature covers: six lines
// joined by "\n" (no final newline), a domain separator first so that no
// other consentd signature can be taken for it:
//
//	consentd-batch-v1
//	kid=<key ID>
//	site=<site ID>
//	size=<records in the batch>
//	root=<Merkle root, 64 hex>
//	time=<signing time, RFC 3339 UTC ms>
func BatchMessage(kid, site string, size int, root Hash, at string) []byte {
	b := make([]byte, 0, 180)
	b = append(b, "consentd-batch-v1\nkid="...)
	b = append(b, kid...)
	b = append(b, "\nsite="...)
	b = append(b, site...)
	b = append(b, "\nsize="...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, "\nroot="...)
	b = root.AppendHex(b)
	b = append(b, "\ntime="...)
	return append(b, at...)
}

// Batch is one signed batch: the Merkle tree over its record hashes and
// the signature of its root.
type Batch struct {
	KID  string
	Site string
	Time string // signing time, TimeFormat
	Tree *Tree
	Sig  []byte

	// The parts of every receipt that are the same for the whole batch,
	// and the hex of every tree node, made once, by the first receipt
	// (AppendReceipt is called once per record; a batch only verified
	// makes none).
	ready                       bool
	kidPart, rootPart, tailPart []byte
	hexNodes                    [][]byte // per level: 64 hex digits per node
}

// SignBatch builds the tree over the record hashes and signs its root.
func SignBatch(k *SigningKey, site string, at time.Time, records []Hash) *Batch {
	t := NewTree(records)
	when := at.UTC().Format(TimeFormat)
	sig := k.Sign(BatchMessage(k.ID(), site, t.Size(), t.Root(), when))
	return newBatch(k.ID(), site, when, sig, t)
}

// OpenBatch rebuilds a signed batch from what is stored of it (StoredBatch):
// key ID, site, signing time, signature and the record hashes, in order.
// It does not check the signature (Receipt.Verify does, with the public
// keys); it only makes the receipts that SignBatch made.
func OpenBatch(kid, site, at string, sig []byte, records []Hash) (*Batch, error) {
	if len(records) == 0 {
		return nil, errors.New("proof: a batch without records")
	}
	return newBatch(kid, site, at, sig, NewTree(records)), nil
}

func newBatch(kid, site, at string, sig []byte, t *Tree) *Batch {
	return &Batch{KID: kid, Site: site, Time: at, Tree: t, Sig: sig}
}

// prepare makes the receipt parts common to the batch, once.
func (b *Batch) prepare() {
	if b.ready {
		return
	}
	b.ready = true
	t := b.Tree
	b.kidPart = canon.AppendString(append([]byte(nil), `,"kid":`...), b.KID)
	b.kidPart = append(b.kidPart, `,"path":[`...)
	b.rootPart = append(append(append([]byte(nil), `,"root":"`...), t.Root().String()...), `","seq":`...)
	tail := append([]byte(nil), `,"sig":"`...)
	tail = b64.AppendEncode(tail, b.Sig)
	tail = append(tail, `","site":`...)
	tail = canon.AppendString(tail, b.Site)
	tail = append(tail, `,"size":`...)
	tail = strconv.AppendInt(tail, int64(t.Size()), 10)
	tail = append(tail, `,"time":"`...)
	tail = append(tail, b.Time...)
	tail = append(tail, `","v":`...)
	tail = strconv.AppendInt(tail, ReceiptVersion, 10)
	b.tailPart = append(tail, '}')
	for _, level := range t.levels[:len(t.levels)-1] {
		h := make([]byte, 0, 64*len(level))
		for _, n := range level {
			h = n.AppendHex(h)
		}
		b.hexNodes = append(b.hexNodes, h)
	}
}

// SigString is the batch signature as receipts write it (base64url, no
// padding).
func (b *Batch) SigString() string { return b64.EncodeToString(b.Sig) }

// ParseSig reads a signature written by SigString.
func ParseSig(s string) ([]byte, error) {
	sig, err := b64.DecodeString(s)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("proof: malformed signature %q", s)
	}
	return sig, nil
}

// ReceiptSize is an upper bound of the length of a receipt of the batch
// (for callers that allocate once per batch).
func (b *Batch) ReceiptSize(recordID string) int {
	b.prepare()
	return 120 + len(recordID)*2 + len(b.kidPart) + len(b.rootPart) + len(b.tailPart) + 67*len(b.hexNodes)
}

// AppendReceipt appends the receipt of record i (its record ID and hash,
// its seq) as canonical JSON (see Receipt).
func (b *Batch) AppendReceipt(dst []byte, i int, recordID string, hash Hash, seq int64) []byte {
	b.prepare()
	dst = append(dst, `{"hash":"`...)
	dst = hash.AppendHex(dst)
	dst = append(dst, `","index":`...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, b.kidPart...)
	first := true
	for _, level := range b.hexNodes {
		if s := i ^ 1; s < len(level)/64 {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, '"')
			dst = append(dst, level[s*64:s*64+64]...)
			dst = append(dst, '"')
		}
		i /= 2
	}
	dst = append(dst, `],"recordId":`...)
	dst = canon.AppendString(dst, recordID)
	dst = append(dst, b.rootPart...)
	dst = strconv.AppendInt(dst, seq, 10)
	return append(dst, b.tailPart...)
}

// Receipt is the proof that one record was committed: its hash is leaf
// Index of a Merkle tree of Size leaves whose Root the server signed.
// Anyone with the public key KID checks it offline (Verify); the record
// itself, hashed (RecordHash), must give Hash.
type Receipt struct {
	V        int      `json:"v"`
	KID      string   `json:"kid"`
	Site     string   `json:"site"`
	RecordID string   `json:"recordId"`
	Seq      int64    `json:"seq"`
	Hash     string   `json:"hash"`
	Index    int      `json:"index"`
	Size     int      `json:"size"`
	Path     []string `json:"path"`
	Root     string   `json:"root"`
	Time     string   `json:"time"`
	Sig      string   `json:"sig"`
}

// Errors of Receipt.Verify and Checkpoint.Verify.
var (
	ErrUnknownKey = errors.New("signed with a key that is not in the key set")
	ErrBadSig     = errors.New("bad signature")
)

// Verify checks the receipt against the key set: the audit path leads
// from Hash to Root, and Sig is KID's signature of the batch message.
func (r *Receipt) Verify(keys KeySet) error {
	if err := r.VerifyPath(); err != nil {
		return err
	}
	return r.VerifySig(keys)
}

// VerifyPath checks that the audit path leads from Hash to Root.
func (r *Receipt) VerifyPath() error {
	if r.V != ReceiptVersion {
		return fmt.Errorf("receipt version %d, want %d", r.V, ReceiptVersion)
	}
	h, err := ParseHash(r.Hash)
	if err != nil {
		return err
	}
	path := make([]Hash, len(r.Path))
	for i, p := range r.Path {
		if path[i], err = ParseHash(p); err != nil {
			return err
		}
	}
	root, err := RootFromPath(h, r.Index, r.Size, path)
	if err != nil {
		return err
	}
	if root.String() != r.Root {
		return errors.New("the audit path does not lead to the signed root")
	}
	return nil
}

// BatchKey identifies the signed batch message of the receipt (every
// signed field and the signature): receipts with the same key need their
// signature checked once.
func (r *Receipt) BatchKey() string {
	return r.KID + " " + r.Site + " " + strconv.Itoa(r.Size) + " " + r.Root + " " + r.Time + " " + r.Sig
}

// VerifySig checks Sig, KID's signature of the batch message (Root as
// given: VerifyPath ties it to Hash).
func (r *Receipt) VerifySig(keys KeySet) error {
	root, err := ParseHash(r.Root)
	if err != nil {
		return err
	}
	sig, err := b64.DecodeString(r.Sig)
	if err != nil {
		return fmt.Errorf("%w on the batch root (kid %s)", ErrBadSig, r.KID)
	}
	return verifyBatchSig(keys, r.KID, r.Site, r.Size, root, r.Time, sig)
}

// Verify checks the batch's signature of its tree's root against the key
// set: what every receipt of the batch relies on.
func (b *Batch) Verify(keys KeySet) error {
	return verifyBatchSig(keys, b.KID, b.Site, b.Tree.Size(), b.Tree.Root(), b.Time, b.Sig)
}

func verifyBatchSig(keys KeySet, kid, site string, size int, root Hash, at string, sig []byte) error {
	pub, ok := keys.Lookup(kid)
	if !ok {
		return fmt.Errorf("%w (kid %s)", ErrUnknownKey, kid)
	}
	if !ed25519.Verify(pub, BatchMessage(kid, site, size, root, at), sig) {
		return fmt.Errorf("%w on the batch root (kid %s)", ErrBadSig, kid)
	}
	return nil
}

// RecordHash computes the hash of a stored record (its JSON, with or
// without a "hash" member, and with any export-only members listed in
// drop removed): SHA-256 of the canonical JSON of the record without
// "hash". It returns the hash and the record's own "hash" value ("" if
// none).
func RecordHash(recordJSON []byte, drop ...string) (computed Hash, claimed string, fields map[string]any, err error) {
	v, err := canon.Parse(recordJSON)
	if err != nil {
		return Hash{}, "", nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Hash{}, "", nil, errors.New("a record is a JSON object")
	}
	claimed, _ = m["hash"].(string)
	rest := make(map[string]any, len(m))
	for k, x := range m {
		if k != "hash" && !slices.Contains(drop, k) {
			rest[k] = x
		}
	}
	b, err := canon.Marshal(rest)
	if err != nil {
		return Hash{}, "", nil, err
	}
	return sum(b), claimed, m, nil
}

// ParseReceipt decodes a receipt.
func ParseReceipt(b []byte) (*Receipt, error) {
	var r Receipt
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	return &r, nil
}
