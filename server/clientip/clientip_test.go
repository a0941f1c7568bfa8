package clientip

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

var trusted = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.1/32"),
	netip.MustParsePrefix("fd00::/8"),
}

const secret = "0123456789abcdef0123456789abcdef"

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestClient(t *testing.T) {
	r := New(trusted, "truncate", "")
	tests := []struct {
		name string
		peer string
		xff  string
		want string
	}{
		// Peers outside the trusted ranges cannot set the client address.
		{"untrusted peer, no header", "198.51.100.7", "", "198.51.100.7"},
		{"untrusted peer, spoofed header", "198.51.100.7", "203.0.113.1", "198.51.100.7"},
		{"untrusted peer, spoofed trusted-looking header", "198.51.100.7", "10.1.2.3", "198.51.100.7"},
		{"127.0.0.2 is outside 127.0.0.1/32", "127.0.0.2", "203.0.113.1", "127.0.0.2"},
		{"::1 is not 127.0.0.1", "::1", "203.0.113.1", "::1"},
		{"11.0.0.1 is outside 10.0.0.0/8", "11.0.0.1", "203.0.113.1", "11.0.0.1"},
		{"fe80::1 is outside fd00::/8", "fe80::1", "203.0.113.1", "fe80::1"},

		// A trusted peer with no header is itself the client.
		{"trusted peer, empty header", "10.0.0.1", "", "10.0.0.1"},
		{"loopback peer, empty header", "127.0.0.1", "", "127.0.0.1"},

		// A trusted peer's header is read from the right.
		{"trusted peer, one hop", "10.0.0.1", "198.51.100.7", "198.51.100.7"},
		{"loopback peer, one hop", "127.0.0.1", "198.51.100.7", "198.51.100.7"},
		{"rightmost untrusted hop wins", "10.0.0.1", "203.0.113.1, 198.51.100.7, 10.1.2.3", "198.51.100.7"},
		{"left entries are ignored", "10.0.0.1", "10.9.9.9, 203.0.113.1, 198.51.100.7", "198.51.100.7"},
		{"all hops trusted: leftmost", "10.0.0.1", "10.1.1.1, 10.2.2.2, 127.0.0.1", "10.1.1.1"},
		{"single trusted hop", "10.0.0.1", "10.1.1.1", "10.1.1.1"},
		{"spaces around entries", "10.0.0.1", "  203.0.113.1 ,198.51.100.7  ,  10.1.2.3  ", "198.51.100.7"},
		{"no spaces", "10.0.0.1", "203.0.113.1,198.51.100.7,10.1.2.3", "198.51.100.7"},
		{"tab around entry", "10.0.0.1", "\t198.51.100.7\t", "198.51.100.7"},

		// Garbage stops the walk; the last address that parsed is returned.
		// When the rightmost entry is garbage that is the trusted peer itself.
		{"garbage rightmost", "10.0.0.1", "198.51.100.7, nonsense", "10.0.0.1"},
		{"garbage behind a trusted hop", "10.0.0.1", "nonsense, 10.1.2.3", "10.1.2.3"},
		{"garbage left of the client is never read", "10.0.0.1", "nonsense, 198.51.100.7", "198.51.100.7"},
		{"header is only garbage", "10.0.0.1", "unknown", "10.0.0.1"},
		{"trailing comma", "10.0.0.1", "198.51.100.7,", "198.51.100.7"},
		{"empty entry between trusted hops", "10.0.0.1", "198.51.100.7,,10.1.2.3", "198.51.100.7"},
		{"header of only spaces", "10.0.0.1", "   ", "10.0.0.1"},
		{"address with port", "10.0.0.1", "198.51.100.7:443", "198.51.100.7"},
		{"bracketed IPv6 with port", "10.0.0.1", "[2001:db8::5]:8443", "2001:db8::5"},
		{"IPv6 zone dropped", "10.0.0.1", "198.51.100.7, fe80::1%eth0", "fe80::1"},
		{"empty middle entry", "10.0.0.1", "198.51.100.7, , 10.1.2.3", "198.51.100.7"},
		{"bracketed IPv6", "10.0.0.1", "[2001:db8::5]", "2001:db8::5"},

		// IPv6 peers and hops.
		{"untrusted IPv6 peer, spoofed header", "2001:db8::1", "203.0.113.1", "2001:db8::1"},
		{"trusted IPv6 peer, IPv6 hop", "fd00::1", "2001:db8::5", "2001:db8::5"},
		{"trusted IPv6 peer, IPv4 hop", "fd00::1", "198.51.100.7", "198.51.100.7"},
		{"trusted IPv4 peer, IPv6 hop", "10.0.0.1", "2001:db8::5", "2001:db8::5"},
		{"IPv6 chain", "fd00::1", "2001:db8::9, 2001:db8::5, fd12::3", "2001:db8::5"},
		{"mixed chain", "fd00::1", "2001:db8::9, 198.51.100.7, fd12::3, 10.4.4.4", "198.51.100.7"},
		{"all IPv6 hops trusted", "fd00::1", "fd12::3, fdff::4", "fd12::3"},

		// IPv4-mapped IPv6 addresses count as the IPv4 address, and come back unmapped.
		{"mapped trusted peer", "::ffff:10.0.0.1", "198.51.100.7", "198.51.100.7"},
		{"mapped trusted peer, no header", "::ffff:10.0.0.1", "", "10.0.0.1"},
		{"mapped untrusted peer", "::ffff:198.51.100.7", "203.0.113.1", "198.51.100.7"},
		{"mapped loopback peer", "::ffff:127.0.0.1", "203.0.113.1", "203.0.113.1"},
		{"mapped trusted hop is skipped", "10.0.0.1", "198.51.100.7, ::ffff:10.1.2.3", "198.51.100.7"},
		{"mapped client hop", "10.0.0.1", "::ffff:198.51.100.7", "198.51.100.7"},
		{"mapped leftmost of all-trusted", "10.0.0.1", "::ffff:10.1.1.1, 10.2.2.2", "10.1.1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Client(addr(tt.peer), tt.xff)
			if want := addr(tt.want); got != want {
				t.Errorf("Client(%s, %q) = %s, want %s", tt.peer, tt.xff, got, want)
			}
			if got.Is4In6() {
				t.Errorf("Client(%s, %q) = %s is still IPv4-mapped", tt.peer, tt.xff, got)
			}
		})
	}
}

func TestClientWithoutTrustedProxies(t *testing.T) {
	for _, r := range []*Resolver{New(nil, "truncate", ""), New([]netip.Prefix{}, "hash", secret)} {
		for _, peer := range []string{"10.0.0.1", "127.0.0.1", "fd00::1", "198.51.100.7"} {
			if got := r.Client(addr(peer), "203.0.113.1"); got != addr(peer) {
				t.Errorf("no trusted proxies: Client(%s, ...) = %s, want the peer", peer, got)
			}
		}
	}
}

func TestClientTrustAllIPv4(t *testing.T) {
	r := New([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, "truncate", "")
	// Every IPv4 hop is trusted, so the leftmost one is the client; IPv6 is not covered.
	if got, want := r.Client(addr("198.51.100.7"), "203.0.113.1, 192.0.2.1"), addr("203.0.113.1"); got != want {
		t.Errorf("Client = %s, want %s", got, want)
	}
	if got, want := r.Client(addr("198.51.100.7"), "203.0.113.1, 2001:db8::5, 192.0.2.1"), addr("2001:db8::5"); got != want {
		t.Errorf("Client = %s, want %s", got, want)
	}
}

func TestClientInvalidPeer(t *testing.T) {
	r := New(trusted, "truncate", "")
	if got := r.Client(netip.Addr{}, "198.51.100.7"); got.IsValid() {
		t.Errorf("Client(zero Addr, ...) = %s, want the zero Addr", got)
	}
}

func TestAnonymizeTruncate(t *testing.T) {
	r := New(trusted, "truncate", "")
	tests := []struct {
		ip   string
		want string
	}{
		{"198.51.100.7", "198.51.100.0"},
		{"198.51.100.0", "198.51.100.0"},
		{"198.51.100.255", "198.51.100.0"},
		{"10.1.2.3", "10.1.2.0"},
		{"0.0.0.0", "0.0.0.0"},
		{"255.255.255.255", "255.255.255.0"},
		{"::ffff:198.51.100.7", "198.51.100.0"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1::"},
		{"2001:db8:1::", "2001:db8:1::"},
		{"2001:db8:1:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::"},
		{"2001:db8::1", "2001:db8::"},
		{"fd12:3456:789a:1::1", "fd12:3456:789a::"},
		{"::1", "::"},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := r.Anonymize(addr(tt.ip)); got != tt.want {
				t.Errorf("Anonymize(%s) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}

func TestAnonymizeHash(t *testing.T) {
	r := New(trusted, "hash", secret)
	isHash := regexp.MustCompile(`^[0-9a-f]{32}$`)
	ips := []string{"198.51.100.7", "198.51.100.8", "10.1.2.3", "2001:db8::1", "2001:db8::2", "::1"}
	seen := map[string]string{}
	for _, ip := range ips {
		a := addr(ip)
		h := r.Anonymize(a)
		if !isHash.MatchString(h) {
			t.Errorf("Anonymize(%s) = %q, want 32 lower-case hex digits", ip, h)
		}
		if again := r.Anonymize(a); again != h {
			t.Errorf("Anonymize(%s) is not stable: %q then %q", ip, h, again)
		}
		if again := New(trusted, "hash", secret).Anonymize(a); again != h {
			t.Errorf("Anonymize(%s) differs between resolvers with the same secret: %q and %q", ip, h, again)
		}
		if other := New(trusted, "hash", secret+"x").Anonymize(a); other == h {
			t.Errorf("Anonymize(%s) = %q under two different secrets", ip, h)
		}
		if strings.Contains(h, a.String()) || strings.Contains(h, hex.EncodeToString(a.AsSlice())) {
			t.Errorf("Anonymize(%s) = %q contains the address", ip, h)
		}
		if prev, dup := seen[h]; dup {
			t.Errorf("Anonymize(%s) = Anonymize(%s) = %q", ip, prev, h)
		}
		seen[h] = ip
	}
}

func TestAnonymizeHashIsHMACOfAddressBytes(t *testing.T) {
	r := New(trusted, "hash", secret)
	tests := []struct {
		ip    string
		bytes []byte
	}{
		{"198.51.100.7", []byte{198, 51, 100, 7}},
		{"::ffff:198.51.100.7", []byte{198, 51, 100, 7}}, // mapped: hashed as IPv4
		{"2001:db8::1", addr("2001:db8::1").AsSlice()},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			m := hmac.New(sha256.New, []byte(secret))
			m.Write(tt.bytes)
			want := hex.EncodeToString(m.Sum(nil)[:16])
			if got := r.Anonymize(addr(tt.ip)); got != want {
				t.Errorf("Anonymize(%s) = %q, want %q", tt.ip, got, want)
			}
		})
	}
}

func TestAnonymizeNone(t *testing.T) {
	r := New(trusted, "none", secret)
	for _, ip := range []string{"198.51.100.7", "::ffff:198.51.100.7", "2001:db8::1"} {
		if got := r.Anonymize(addr(ip)); got != "" {
			t.Errorf("none mode: Anonymize(%s) = %q, want \"\"", ip, got)
		}
	}
}

func TestAnonymizeInvalidAddr(t *testing.T) {
	for _, mode := range []string{"truncate", "hash", "none"} {
		if got := New(trusted, mode, secret).Anonymize(netip.Addr{}); got != "" {
			t.Errorf("%s mode: Anonymize(zero Addr) = %q, want \"\"", mode, got)
		}
	}
}

func TestAnonymizeNeverReturnsTheFullAddress(t *testing.T) {
	ips := []string{"198.51.100.7", "::ffff:198.51.100.7", "2001:db8:1:2:3:4:5:6"}
	for _, mode := range []string{"truncate", "hash", "none"} {
		r := New(trusted, mode, secret)
		for _, ip := range ips {
			a := addr(ip)
			got := r.Anonymize(a)
			if got == a.String() || got == a.Unmap().String() {
				t.Errorf("%s mode: Anonymize(%s) = %q is the address itself", mode, ip, got)
			}
		}
	}
}

func TestClientThenAnonymize(t *testing.T) {
	r := New(trusted, "truncate", "")
	client := r.Client(addr("::ffff:10.0.0.1"), "203.0.113.1, ::ffff:198.51.100.77, 10.1.2.3")
	if got, want := r.Anonymize(client), "198.51.100.0"; got != want {
		t.Errorf("Anonymize(Client(...)) = %q, want %q", got, want)
	}
}

func TestLimitKey(t *testing.T) {
	r := New(nil, "truncate", "")
	keyed := New(nil, "hash", strings.Repeat("k", 32))
	tests := []struct {
		name   string
		a, b   string
		same   bool
		prefix string // LimitPrefix(a)
	}{
		{"IPv4 is its own counter", "198.51.100.7", "198.51.100.8", false, "198.51.100.7/32"},
		{"IPv4-mapped IPv6 counts as IPv4", "::ffff:198.51.100.7", "198.51.100.7", true, "198.51.100.7/32"},
		{"one IPv6 /64 shares a counter", "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true, "2001:db8:1:2::/64"},
		{"another /64 does not", "2001:db8:1:2::1", "2001:db8:1:3::1", false, "2001:db8:1:2::/64"},
		{"zones are ignored", "fe80::1%eth0", "fe80::2", true, "fe80::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := netip.MustParseAddr(tt.a), netip.MustParseAddr(tt.b)
			if p := LimitPrefix(a).String(); p != tt.prefix {
				t.Errorf("LimitPrefix(%s) = %s, want %s", tt.a, p, tt.prefix)
			}
			for _, res := range []*Resolver{r, keyed} {
				ka, kb := res.LimitKey(a), res.LimitKey(b)
				if (ka == kb) != tt.same {
					t.Errorf("LimitKey(%s) = %s, LimitKey(%s) = %s, same = %v, want %v", tt.a, ka, tt.b, kb, ka == kb, tt.same)
				}
				if len(ka) != 32 || strings.Contains(ka, strings.Split(tt.a, "%")[0]) {
					t.Errorf("LimitKey(%s) = %q: want 32 hex digits, not the address", tt.a, ka)
				}
			}
			if r.LimitKey(a) == keyed.LimitKey(a) {
				t.Error("the secret does not change the key")
			}
			if keyed.LimitKey(a) == keyed.Anonymize(a) {
				t.Error("the limit key equals the stored hash")
			}
		})
	}
	if k := r.LimitKey(netip.Addr{}); len(k) != 32 {
		t.Errorf("invalid address: %q", k)
	}
}

// BenchmarkLimitKey: the address limit's key, made once per consent post.
func BenchmarkLimitKey(b *testing.B) {
	r := New(nil, "truncate", "secret")
	a := netip.MustParseAddr("198.51.100.7")
	b.ReportAllocs()
	for b.Loop() {
		_ = r.LimitKey(a)
	}
}
