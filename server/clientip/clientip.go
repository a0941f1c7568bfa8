// Package clientip finds a visitor's IP address behind trusted reverse
// proxies and reduces it to what the ledger may keep: a truncated network
// (/24, /48) or a keyed hash, never the raw address.
package clientip

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/netip"
	"strings"
	"sync"
)

// Resolver resolves and anonymizes client addresses. It is safe for
// concurrent use; use it through the pointer New returns.
type Resolver struct {
	trusted []netip.Prefix
	mode    string // "truncate", "hash" or "none"
	secret  []byte
	// macs holds HMAC-SHA-256 states keyed with secret: a reset one
	// costs no key schedule and no allocation (BenchmarkLimitKey).
	macs sync.Pool
}

// keyedHash returns the first 16 bytes, in hex, of HMAC-SHA-256 keyed
// with the secret over data.
func (r *Resolver) keyedHash(data []byte) string {
	m, ok := r.macs.Get().(hash.Hash)
	if ok {
		m.Reset()
	} else {
		m = hmac.New(sha256.New, r.secret)
	}
	m.Write(data)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	r.macs.Put(m)
	return hex.EncodeToString(sum[:16])
}

// New returns a Resolver. Only peers inside trusted may set
// X-Forwarded-For. mode is "truncate", "hash" (needs secret) or "none".
func New(trusted []netip.Prefix, mode, secret string) *Resolver {
	return &Resolver{trusted: trusted, mode: mode, secret: []byte(secret)}
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Trusted reports whether a is one of the trusted proxy ranges.
func (r *Resolver) Trusted(a netip.Addr) bool { return r.isTrusted(a.WithZone("").Unmap()) }

// Client returns the client's address. peer is the address of the TCP
// peer; xff is the X-Forwarded-For header value. The header is used only
// when the peer is a trusted proxy, and then read from the right, skipping
// further trusted proxies: the first untrusted hop is the client. Entries
// left of it could have been written by anyone and are ignored.
func (r *Resolver) Client(peer netip.Addr, xff string) netip.Addr {
	peer = peer.WithZone("").Unmap()
	if xff == "" || !r.isTrusted(peer) {
		return peer
	}
	client := peer
	hops := strings.Split(xff, ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue // "a, , b" or a trailing comma
		}
		a, ok := parseHop(hop)
		if !ok {
			return client // a trusted proxy passed on garbage: stop at the last good hop
		}
		client = a
		if !r.isTrusted(client) {
			return client
		}
	}
	return client
}

// parseHop reads one X-Forwarded-For entry: an address, optionally with a
// port ("198.51.100.7:443", "[2001:db8::5]:443") or brackets; zones are dropped.
func parseHop(hop string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(hop); err == nil {
		return a.WithZone("").Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(hop); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	if strings.HasPrefix(hop, "[") && strings.HasSuffix(hop, "]") {
		if a, err := netip.ParseAddr(hop[1 : len(hop)-1]); err == nil {
			return a.WithZone("").Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// Anonymize reduces an address to what the ledger stores: in truncate
// mode the /24 (IPv4) or /48 (IPv6) network address, in hash mode the
// first 16 bytes of HMAC-SHA-256(secret, address) in hex, in none mode "".
func (r *Resolver) Anonymize(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	a = a.Unmap()
	switch r.mode {
	case "none":
		return ""
	case "hash":
		return r.keyedHash(a.AsSlice())
	}
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.Addr().String()
}

// LimitPrefix is the network a rate limit counts an address under: the
// address itself for IPv4, its /64 for IPv6 (one subscriber or host
// usually holds a whole /64 and can pick any address in it).
func LimitPrefix(a netip.Addr) netip.Prefix {
	a = a.WithZone("").Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	if err != nil { // the invalid address: all such requests share one counter
		return netip.Prefix{}
	}
	return p
}

// LimitKey names an address's rate-limit counter without revealing the
// address: the first 16 bytes, in hex, of HMAC-SHA-256 keyed with the IP
// hash secret (empty when not set) over "ratelimit" and LimitPrefix(a).
// The same on every instance that shares the secret. Without a secret an
// IPv4 key can be reversed by trying every address; counters live for one
// window only.
func (r *Resolver) LimitKey(a netip.Addr) string {
	var buf [64]byte
	b, _ := LimitPrefix(a).AppendBinary(append(buf[:0], "ratelimit\x00"...))
	return r.keyedHash(b)
}
