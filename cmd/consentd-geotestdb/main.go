// Command consentd-geotestdb writes a small GeoIP2-format database whose
// networks are documentation address ranges (server/geo/geotest.Ranges:
// FI, SE, DE, GB, BR, CH, US-CA, US-TX, US, JP), to try regional policies
// without a real database:
//
//	go run ./cmd/consentd-geotestdb -out data/geo-test.mmdb -city
//	CONSENTD_GEOIP_DB=data/geo-test.mmdb make run
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/consentd/consentd/server/geo/geotest"
)

func main() {
	out := flag.String("out", "geo-test.mmdb", "file to write")
	city := flag.Bool("city", false, "GeoIP2-City format with subdivisions (US states) instead of GeoIP2-Country")
	flag.Parse()
	if err := geotest.Write(*out, *city); err != nil {
		fmt.Fprintln(os.Stderr, "consentd-geotestdb:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "wrote %s; ranges:\n", *out)
	for _, r := range geotest.Ranges {
		where := r.Country
		if *city && r.Subdivision != "" {
			where += "-" + r.Subdivision
		}
		fmt.Fprintf(os.Stderr, "  %-18s %s\n", r.Network, where)
	}
}
