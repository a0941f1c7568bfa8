// Package geotest writes small MaxMind-format (GeoIP2) databases for
// tests and trials, with documented address ranges taken from the
// documentation blocks (RFC 5737, RFC 3849), so no real address is ever
// placed anywhere by them. consentd-geotestdb writes one to a file.
package geotest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Range is one network of the test database and where it "is".
type Range struct {
	Network     string // CIDR
	Country     string // ISO 3166-1 alpha-2
	Subdivision string // ISO 3166-2 suffix (CA for California), City databases only
}

// Ranges are the networks of the test databases: an IPv4 and an IPv6
// range per location. Addresses outside them are unknown.
var Ranges = []Range{
	{"192.0.2.0/28", "FI", ""}, {"2001:db8:1::/48", "FI", ""},
	{"192.0.2.16/28", "SE", ""}, {"2001:db8:2::/48", "SE", ""},
	{"192.0.2.32/28", "DE", ""}, {"2001:db8:3::/48", "DE", ""},
	{"192.0.2.48/28", "GB", ""}, {"2001:db8:4::/48", "GB", ""},
	{"192.0.2.64/28", "BR", ""}, {"2001:db8:5::/48", "BR", ""},
	{"192.0.2.80/28", "CH", ""}, {"2001:db8:6::/48", "CH", ""},
	{"198.51.100.0/28", "US", "CA"}, {"2001:db8:10::/48", "US", "CA"},
	{"198.51.100.16/28", "US", "TX"}, {"2001:db8:11::/48", "US", "TX"},
	{"198.51.100.32/28", "US", ""}, {"2001:db8:12::/48", "US", ""},
	{"203.0.113.0/28", "JP", ""}, {"2001:db8:20::/48", "JP", ""},
}

// Build returns a database in the GeoIP2-Country format (city false) or
// the GeoIP2-City format with subdivisions (city true).
func Build(city bool) ([]byte, error) {
	dbType := "GeoIP2-Country"
	if city {
		dbType = "GeoIP2-City"
	}
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		Description:             map[string]string{"en": "consentd test database (documentation address ranges)"},
		Languages:               []string{"en"},
		IncludeReservedNetworks: true, // the documentation ranges are reserved
		RecordSize:              24,
	})
	if err != nil {
		return nil, fmt.Errorf("geotest: %w", err)
	}
	for _, r := range Ranges {
		_, network, err := net.ParseCIDR(r.Network)
		if err != nil {
			return nil, fmt.Errorf("geotest: %s: %w", r.Network, err)
		}
		rec := mmdbtype.Map{
			"country": mmdbtype.Map{
				"iso_code": mmdbtype.String(r.Country),
				"names":    mmdbtype.Map{"en": mmdbtype.String(r.Country)},
			},
		}
		if city && r.Subdivision != "" {
			rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(r.Subdivision)}}
		}
		if err := tree.Insert(network, rec); err != nil {
			return nil, fmt.Errorf("geotest: insert %s: %w", r.Network, err)
		}
	}
	var b bytes.Buffer
	if _, err := tree.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("geotest: %w", err)
	}
	return b.Bytes(), nil
}

// Write writes a test database to path (atomically: a temp file renamed
// into place, as a real database update should be done too).
func Write(path string, city bool) error {
	b, err := Build(city)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".geotest-*")
	if err != nil {
		return fmt.Errorf("geotest: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("geotest: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("geotest: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("geotest: %w", err)
	}
	return nil
}
