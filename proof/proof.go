// Package proof holds the cryptography of consentd's tamper-evident
// ledger (docs/proof.md): record hashes over the canonical record
// (package canon), the per-batch Merkle tree (RFC 6962 style), Ed25519
// signing keys with their key IDs, signed receipts and signed chain
// checkpoints. It has no Redis or HTTP in it, so the offline verifier
// (package audit, `consentd verify`) uses exactly the same code as the
// server.
package proof

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// CanonVersion is the version of the canonical encoding a record hash is
// computed over; it is stored in every chained record as "cv".
// Version 1: SHA-256 of the RFC 8785 (JCS) form of the stored record JSON
// without its "hash" member.
const CanonVersion = 1

// Genesis is the prev of a site's first record: 64 zeros.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Hash is a SHA-256 digest.
type Hash [32]byte

// String is the lower-case hex form.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// AppendHex appends the lower-case hex form to dst.
func (h Hash) AppendHex(dst []byte) []byte { return hex.AppendEncode(dst, h[:]) }

// ParseHash reads 64 lower-case hex digits.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("proof: hash %q: want 64 hex digits", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return h, fmt.Errorf("proof: hash %q: want lower-case hex", s)
		}
	}
	_, err := hex.Decode(h[:], []byte(s))
	return h, err
}

// leafHash is RFC 6962's leaf hash of a record hash: SHA-256(0x00 ‖ h).
func leafHash(h Hash) Hash {
	var b [33]byte
	copy(b[1:], h[:])
	return sha256.Sum256(b[:])
}

// nodeHash is RFC 6962's interior node: SHA-256(0x01 ‖ l ‖ r).
func nodeHash(l, r Hash) Hash {
	var b [65]byte
	b[0] = 1
	copy(b[1:], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

// Tree is the Merkle tree (RFC 6962 section 2.1 / RFC 9162 section 2.1)
// over the record hashes of one batch. Built bottom-up: at each level a
// last node without a sibling moves up unchanged, which gives the same
// root as RFC 6962's recursive definition (split at the largest power of
// two below n).
type Tree struct {
	levels [][]Hash // levels[0]: leaf hashes; last level: the root alone
}

// NewTree builds the tree over record hashes (at least one).
func NewTree(records []Hash) *Tree {
	level := make([]Hash, len(records))
	for i, h := range records {
		level[i] = leafHash(h)
	}
	t := &Tree{levels: [][]Hash{level}}
	for len(level) > 1 {
		next := make([]Hash, (len(level)+1)/2)
		for i := 0; i < len(level); i += 2 {
			if i+1 < len(level) {
				next[i/2] = nodeHash(level[i], level[i+1])
			} else {
				next[i/2] = level[i]
			}
		}
		t.levels = append(t.levels, next)
		level = next
	}
	return t
}

// Root is the tree's root hash.
func (t *Tree) Root() Hash { return t.levels[len(t.levels)-1][0] }

// Size is the number of leaves.
func (t *Tree) Size() int { return len(t.levels[0]) }

// Path is the audit path (inclusion proof) of leaf i: the sibling hashes
// from the leaf up, as RFC 9162 section 2.1.3.1 defines them.
func (t *Tree) Path(i int) []Hash {
	var path []Hash
	for _, level := range t.levels[:len(t.levels)-1] {
		if s := i ^ 1; s < len(level) {
			path = append(path, level[s])
		}
		i /= 2
	}
	return path
}

// RootFromPath computes the root from a record hash, its leaf index, the
// tree size and its audit path (RFC 9162 section 2.1.3.2). An error means
// the path cannot belong to such a tree.
func RootFromPath(record Hash, index, size int, path []Hash) (Hash, error) {
	if index < 0 || size < 1 || index >= size {
		return Hash{}, fmt.Errorf("proof: leaf index %d outside a tree of %d", index, size)
	}
	fn, sn := index, size-1
	r := leafHash(record)
	for _, p := range path {
		if sn == 0 {
			return Hash{}, errors.New("proof: audit path too long")
		}
		if fn&1 == 1 || fn == sn {
			r = nodeHash(p, r)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			r = nodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return Hash{}, errors.New("proof: audit path too short")
	}
	return r, nil
}
