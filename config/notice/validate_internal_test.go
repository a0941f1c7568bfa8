package notice

import "testing"

func TestYTunnusCheckDigit(t *testing.T) {
	tests := []struct {
		digits string
		check  byte
		ok     bool
	}{
		{"1234567", '1', true}, // sum 153, remainder 10: 11-10
		{"0010000", '1', true}, // sum 10, remainder 10
		{"1572860", '0', true}, // remainder 0: check digit 0
		{"0000000", '0', true}, // remainder 0
		{"0000001", '9', true}, // sum 2: 11-2
		{"2000000", '8', true}, // sum 14, remainder 3: 11-3
		{"0737546", '2', true}, // remainder 9: 11-9
		{"9999999", '2', true}, // sum 405, remainder 9
		{"1000008", 0, false},  // remainder 1: no valid ID starts so
		{"0000006", 0, false},  // sum 12, remainder 1
	}
	for _, tt := range tests {
		check, ok := yTunnusCheckDigit(tt.digits)
		if ok != tt.ok || (ok && check != tt.check) {
			t.Errorf("yTunnusCheckDigit(%s) = %q, %v; want %q, %v", tt.digits, check, ok, tt.check, tt.ok)
		}
	}
}
