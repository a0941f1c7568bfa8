package geo

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/consentd/consentd/server/geo/geotest"
)

func testDB(t testing.TB, city bool) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "test.mmdb")
	if err := geotest.Write(p, city); err != nil {
		t.Fatal(err)
	}
	return p
}

// first returns the first address of a CIDR.
func first(t testing.TB, cidr string) netip.Addr {
	t.Helper()
	return netip.MustParsePrefix(cidr).Addr()
}

func TestLocateEveryRange(t *testing.T) {
	for _, city := range []bool{false, true} {
		l, err := New(Options{DBPath: testDB(t, city)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range geotest.Ranges {
			p := netip.MustParsePrefix(r.Network)
			last := p.Addr()
			for i := 0; i < 5; i++ { // a few addresses into the range
				last = last.Next()
			}
			want := Location{Country: r.Country}
			if city {
				want.Subdivision = r.Subdivision
			}
			for _, ip := range []netip.Addr{p.Addr(), last} {
				if got := l.Locate(ip, nil, false); got != want {
					t.Errorf("city=%v %s: %+v, want %+v", city, ip, got, want)
				}
			}
		}
	}
}

func TestLocateUnknownAndHeaders(t *testing.T) {
	l, err := New(Options{DBPath: testDB(t, true), CountryHeader: "CF-IPCountry", SubdivisionHeader: "CF-Region-Code"})
	if err != nil {
		t.Fatal(err)
	}
	fi := first(t, "192.0.2.0/28")
	headers := func(h map[string]string) func(string) string { return func(k string) string { return h[k] } }
	tests := []struct {
		name    string
		ip      netip.Addr
		h       map[string]string
		trusted bool
		want    Location
	}{
		{"unknown IPv4", netip.MustParseAddr("8.8.8.8"), nil, false, Location{}},
		{"unknown IPv6", netip.MustParseAddr("2001:db8:ffff::1"), nil, false, Location{}},
		{"loopback", netip.MustParseAddr("127.0.0.1"), nil, false, Location{}},
		{"invalid address", netip.Addr{}, nil, false, Location{}},
		{"IPv4-mapped IPv6", netip.MustParseAddr("::ffff:192.0.2.1"), nil, false, Location{Country: "FI"}},
		{"header from a trusted proxy", fi, map[string]string{"CF-IPCountry": "us", "CF-Region-Code": "CA"}, true, Location{"US", "CA"}},
		{"subdivision header with country prefix", fi, map[string]string{"CF-IPCountry": "US", "CF-Region-Code": "US-TX"}, true, Location{"US", "TX"}},
		{"header from an untrusted peer is ignored", fi, map[string]string{"CF-IPCountry": "US", "CF-Region-Code": "CA"}, false, Location{Country: "FI"}},
		{"unknown in the header: the database decides", fi, map[string]string{"CF-IPCountry": "XX"}, true, Location{Country: "FI"}},
		{"Tor in the header: the database decides", fi, map[string]string{"CF-IPCountry": "T1"}, true, Location{Country: "FI"}},
		{"garbage subdivision ignored", fi, map[string]string{"CF-IPCountry": "US", "CF-Region-Code": "<script>"}, true, Location{Country: "US"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.Locate(tt.ip, headers(tt.h), tt.trusted); got != tt.want {
				t.Errorf("%+v, want %+v", got, tt.want)
			}
		})
	}
	var nilLocator *Locator
	if got := nilLocator.Locate(fi, nil, false); got != (Location{}) {
		t.Errorf("nil locator: %+v", got)
	}
	none, _ := New(Options{})
	if none.Enabled() || none.Locate(fi, nil, true) != (Location{}) {
		t.Error("a locator without sources must know nothing")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mmdb")
	_ = os.WriteFile(junk, []byte("not a database"), 0o644)
	for _, p := range []string{filepath.Join(dir, "missing.mmdb"), junk} {
		if _, err := New(Options{DBPath: p}); err == nil {
			t.Errorf("%s: no error", p)
		}
	}
}

// TestReloadAndWatch: replacing the file (rename into place) switches to
// the new database; a broken file keeps the old one.
func TestReloadAndWatch(t *testing.T) {
	path := testDB(t, false)
	l, err := New(Options{DBPath: path})
	if err != nil {
		t.Fatal(err)
	}
	ca := first(t, "198.51.100.0/28")
	if got := l.Locate(ca, nil, false); got != (Location{Country: "US"}) {
		t.Fatalf("country database: %+v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Watch(ctx, 10*time.Millisecond)
	time.Sleep(20 * time.Millisecond) // modification times have a coarse grain on some file systems
	if err := geotest.Write(path, true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.Locate(ca, nil, false) != (Location{"US", "CA"}) {
		if time.Now().After(deadline) {
			t.Fatal("the changed file was not picked up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A broken file: Reload fails, the city database stays.
	if err := os.WriteFile(path, []byte("broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Reload(); err == nil {
		t.Fatal("Reload of a broken file: no error")
	}
	if got := l.Locate(ca, nil, false); got != (Location{"US", "CA"}) {
		t.Errorf("after a failed reload: %+v", got)
	}
}

func BenchmarkLocate(b *testing.B) {
	for _, city := range []bool{false, true} {
		name := "country"
		if city {
			name = "city"
		}
		b.Run(name, func(b *testing.B) {
			l, err := New(Options{DBPath: testDB(b, city)})
			if err != nil {
				b.Fatal(err)
			}
			ip := first(b, "198.51.100.0/28")
			b.ReportAllocs()
			for b.Loop() {
				l.Locate(ip, nil, false)
			}
		})
	}
	b.Run("header", func(b *testing.B) {
		l, _ := New(Options{CountryHeader: "CF-IPCountry"})
		h := func(string) string { return "FI" }
		for b.Loop() {
			l.Locate(netip.Addr{}, h, true)
		}
	})
}
