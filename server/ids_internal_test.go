package server

import (
	"regexp"
	"strings"
	"testing"
)

// TestIDChecks holds isLowerUUID and isVersion to the patterns they
// replace (regexp was a measurable share of a consent request's CPU).
func TestIDChecks(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	versionRE := regexp.MustCompile(`^[0-9a-f]{64}$`)
	hex64 := strings.Repeat("0123456789abcdef", 4)
	tests := []string{
		"", "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f", "3F2B6C1E-8D4A-4B7E-9C0D-2A1B3C4D5E6F",
		"3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6", "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f0",
		"3f2b6c1e8d4a-4b7e-9c0d-2a1b3c4d5e6f0", "3f2b6c1e-8d4a-4b7e-9c0d_2a1b3c4d5e6f",
		"3f2b6c1e-8d4a-4b7e-9c0g-2a1b3c4d5e6f", "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6\n",
		"-3f2b6c1-8d4a-4b7e-9c0d-2a1b3c4d5e6f", "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6\u00e9",
		hex64, strings.ToUpper(hex64), hex64[:63], hex64 + "0", hex64[:63] + "g", hex64[:62] + "é",
		hex64[:63] + "\x00", " " + hex64[1:],
	}
	for _, s := range tests {
		if got, want := isLowerUUID(s), uuidRE.MatchString(s); got != want {
			t.Errorf("isLowerUUID(%q) = %v, want %v", s, got, want)
		}
		if got, want := isVersion(s), versionRE.MatchString(s); got != want {
			t.Errorf("isVersion(%q) = %v, want %v", s, got, want)
		}
	}
}
