package proof

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Alg is the only signature algorithm: Ed25519 (RFC 8032).
const Alg = "Ed25519"

// keyPrefix starts the text form of a private key.
const keyPrefix = "ed25519:"

var b64 = base64.RawURLEncoding

// Key statuses in a KeySet.
const (
	StatusCurrent = "current" // signs new receipts and checkpoints
	StatusRetired = "retired" // signed earlier ones; kept for verification
)

// SigningKey is an Ed25519 private key with its key ID. Its String and
// formatted forms never show the secret; Secret does.
type SigningKey struct {
	id   string
	priv ed25519.PrivateKey
}

// NewSigningKey makes a new random key.
func NewSigningKey() (*SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("proof: new key: %w", err)
	}
	return fromPrivate(priv), nil
}

func fromPrivate(priv ed25519.PrivateKey) *SigningKey {
	return &SigningKey{id: KeyID(priv.Public().(ed25519.PublicKey)), priv: priv}
}

// ParseSigningKey reads the text form "ed25519:" + base64url(32-byte
// seed), as Secret writes it (surrounding white space is ignored).
func ParseSigningKey(s string) (*SigningKey, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, keyPrefix)
	if !ok {
		return nil, errors.New(`proof: a signing key starts with "ed25519:" (make one with consentd keys create)`)
	}
	seed, err := b64.DecodeString(rest)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("proof: a signing key is ed25519: followed by 43 base64url characters (a 32-byte seed)")
	}
	return fromPrivate(ed25519.NewKeyFromSeed(seed)), nil
}

// LoadSigningKey reads a key given as its text form or as the path of a
// file holding it (CONSENTD_SIGNING_KEY takes either).
func LoadSigningKey(v string) (*SigningKey, error) {
	if strings.HasPrefix(strings.TrimSpace(v), keyPrefix) {
		return ParseSigningKey(v)
	}
	b, err := os.ReadFile(v)
	if err != nil {
		// The path is not repeated: it may be a mistyped key.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("proof: neither a key (ed25519:...) nor a readable key file: %w", err)
	}
	return ParseSigningKey(string(b))
}

// ID is the key ID (KeyID of the public key).
func (k *SigningKey) ID() string { return k.id }

// Sign signs msg.
func (k *SigningKey) Sign(msg []byte) []byte { return ed25519.Sign(k.priv, msg) }

// Secret is the text form of the private key: keep it secret.
func (k *SigningKey) Secret() string { return keyPrefix + b64.EncodeToString(k.priv.Seed()) }

// Public is the public key entry of this key with the given status.
func (k *SigningKey) Public(status string) PublicKey {
	return PublicKey{KID: k.id, Alg: Alg, Pub: b64.EncodeToString(k.priv.Public().(ed25519.PublicKey)), Status: status}
}

// String names the key without its secret.
func (k *SigningKey) String() string { return "ed25519 signing key " + k.id + " [secret redacted]" }

// GoString is String, so %#v does not print the secret either.
func (k *SigningKey) GoString() string { return k.String() }

// KeyID is the ID of a public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// PublicKey is one entry of a KeySet (and of /.well-known/consentd-keys.json).
type PublicKey struct {
	KID    string `json:"kid"`
	Alg    string `json:"alg"`
	Pub    string `json:"pub"`              // base64url, no padding, 32 bytes
	Status string `json:"status,omitempty"` // StatusCurrent or StatusRetired
}

// Key decodes the public key and checks that KID belongs to it.
func (p PublicKey) Key() (ed25519.PublicKey, error) {
	if p.Alg != Alg {
		return nil, fmt.Errorf("proof: key %s: alg %q, want %s", p.KID, p.Alg, Alg)
	}
	b, err := b64.DecodeString(p.Pub)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("proof: key %s: pub must be 32 bytes in base64url", p.KID)
	}
	if KeyID(b) != p.KID {
		return nil, fmt.Errorf("proof: key %s: kid does not match the public key (want %s)", p.KID, KeyID(b))
	}
	return b, nil
}

// KeySet is a list of public keys: the document served at
// /.well-known/consentd-keys.json and the keys.json of a proof bundle.
type KeySet struct {
	Keys []PublicKey `json:"keys"`
}

// ParseKeySet reads and checks a key set.
func ParseKeySet(b []byte) (KeySet, error) {
	var ks KeySet
	if err := json.Unmarshal(b, &ks); err != nil {
		return ks, fmt.Errorf("proof: key set: %w", err)
	}
	seen := map[string]bool{}
	for _, k := range ks.Keys {
		if _, err := k.Key(); err != nil {
			return ks, err
		}
		if seen[k.KID] {
			return ks, fmt.Errorf("proof: key set lists %s twice", k.KID)
		}
		seen[k.KID] = true
	}
	return ks, nil
}

// Lookup returns the public key with ID kid.
func (ks KeySet) Lookup(kid string) (ed25519.PublicKey, bool) {
	for _, k := range ks.Keys {
		if k.KID == kid {
			pub, err := k.Key()
			return pub, err == nil
		}
	}
	return nil, false
}

// With returns the set with k added, unless its ID is listed already.
func (ks KeySet) With(k PublicKey) KeySet {
	if _, ok := ks.Lookup(k.KID); ok {
		return ks
	}
	return KeySet{Keys: append(append([]PublicKey(nil), ks.Keys...), k)}
}
