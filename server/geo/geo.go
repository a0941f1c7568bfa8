// Package geo finds a visitor's country (and, with a City database, the
// subdivision such as a US state) from a MaxMind-format database opened
// with geoip2-golang, or from a country header set by a trusted CDN. The
// database is read into memory once and swapped whole on reload, so
// lookups never wait and never see a half-written file.
package geo

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/geoip2-golang/v2"
)

// Location is where a visitor is, as ISO codes; empty when unknown.
type Location struct {
	Country     string // ISO 3166-1 alpha-2, e.g. "US"
	Subdivision string // ISO 3166-2 suffix, e.g. "CA" (California); City databases and headers only
}

// Options configure a Locator.
type Options struct {
	// DBPath is a GeoLite2/GeoIP2/DB-IP country or city database (.mmdb);
	// "" for none.
	DBPath string
	// CountryHeader (e.g. CF-IPCountry) and SubdivisionHeader (e.g.
	// CF-Region-Code) name request headers a CDN sets. They are believed
	// only from trusted proxies. "" for none.
	CountryHeader, SubdivisionHeader string
	Logger                           *slog.Logger
}

// Locator answers where a visitor is. Safe for concurrent use.
type Locator struct {
	opts Options
	log  *slog.Logger
	db   atomic.Pointer[database]
	mu   sync.Mutex // serialises reloads
}

type database struct {
	r       *geoip2.Reader
	city    bool // has subdivisions
	kind    string
	modTime time.Time
	size    int64
}

// New opens the database, if one is configured. An unreadable file or one
// that is not a country or city database is an error.
func New(o Options) (*Locator, error) {
	l := &Locator{opts: o, log: o.Logger}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if o.DBPath != "" {
		db, err := open(o.DBPath)
		if err != nil {
			return nil, err
		}
		l.db.Store(db)
	}
	return l, nil
}

// Enabled reports whether the locator has any source (database or header):
// without one every location is unknown.
func (l *Locator) Enabled() bool {
	return l != nil && (l.opts.DBPath != "" || l.opts.CountryHeader != "")
}

// Headers are the request headers the location may depend on (for Vary).
func (l *Locator) Headers() []string {
	var h []string
	for _, n := range []string{l.opts.CountryHeader, l.opts.SubdivisionHeader} {
		if n != "" {
			h = append(h, n)
		}
	}
	return h
}

func open(path string) (*database, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("geoip database: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geoip database: %w", err)
	}
	r, err := geoip2.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("geoip database %s: not a MaxMind DB file: %w", path, err)
	}
	kind := r.Metadata().DatabaseType
	db := &database{r: r, kind: kind, modTime: st.ModTime(), size: st.Size()}
	switch {
	case strings.Contains(kind, "City") || strings.Contains(kind, "Enterprise"):
		db.city = true
	case strings.Contains(kind, "Country"):
	default:
		return nil, fmt.Errorf("geoip database %s: type %q: expected a country or city database (GeoLite2-Country, GeoLite2-City, DB-IP country/city lite)", path, kind)
	}
	return db, nil
}

// Reload reads the database file again. On failure the database in use
// stays and the error is returned.
func (l *Locator) Reload() error {
	if l.opts.DBPath == "" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	db, err := open(l.opts.DBPath)
	if err != nil {
		return err
	}
	l.db.Store(db) // the old reader is garbage once in-flight lookups finish: no mmap, nothing to close
	l.log.Info("geoip database loaded", "path", l.opts.DBPath, "type", db.kind, "bytes", db.size)
	return nil
}

// Watch reloads the database when its file changes (size or
// modification time), checking every interval until ctx ends. Replace the
// file by renaming a new one into place.
func (l *Locator) Watch(ctx context.Context, every time.Duration) {
	if l.opts.DBPath == "" {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := os.Stat(l.opts.DBPath)
		cur := l.db.Load()
		if err != nil || cur == nil || (st.ModTime().Equal(cur.modTime) && st.Size() == cur.size) {
			continue
		}
		if err := l.Reload(); err != nil {
			l.log.Error("geoip database changed but cannot be read; keeping the previous one", "err", err)
		}
	}
}

// Locate returns where the client is. Header values count only when
// trustedPeer (the TCP peer is a trusted proxy); otherwise, and when the
// header is absent or says unknown, the database decides. ip is the
// client address as resolved through trusted proxies.
func (l *Locator) Locate(ip netip.Addr, header func(string) string, trustedPeer bool) Location {
	if l == nil {
		return Location{}
	}
	if trustedPeer && l.opts.CountryHeader != "" {
		if c := strings.ToUpper(strings.TrimSpace(header(l.opts.CountryHeader))); isCountry(c) {
			loc := Location{Country: c}
			if l.opts.SubdivisionHeader != "" {
				s := strings.ToUpper(strings.TrimSpace(header(l.opts.SubdivisionHeader)))
				s = strings.TrimPrefix(s, c+"-")
				if isSubdivision(s) {
					loc.Subdivision = s
				}
			}
			return loc
		}
	}
	db := l.db.Load()
	if db == nil || !ip.IsValid() {
		return Location{}
	}
	ip = ip.Unmap()
	if db.city {
		rec, err := db.r.City(ip)
		if err != nil || !isCountry(rec.Country.ISOCode) {
			return Location{}
		}
		loc := Location{Country: rec.Country.ISOCode}
		if len(rec.Subdivisions) > 0 && isSubdivision(rec.Subdivisions[0].ISOCode) {
			loc.Subdivision = rec.Subdivisions[0].ISOCode
		}
		return loc
	}
	rec, err := db.r.Country(ip)
	if err != nil || !isCountry(rec.Country.ISOCode) {
		return Location{}
	}
	return Location{Country: rec.Country.ISOCode}
}

// isCountry accepts two upper-case letters, except the codes CDNs use
// for "unknown" (XX) and Tor (T1).
func isCountry(c string) bool {
	return len(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c != "XX"
}

func isSubdivision(s string) bool {
	if len(s) < 1 || len(s) > 3 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
