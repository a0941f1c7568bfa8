package canon

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// RFC 8785 section 3.2.2.2 (the numbers, which are floats, left out).
		{"rfc 8785 strings and literals",
			`{"string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`,
			`{"literals":[null,true,false],"string":"€$\u000f\nA'B\"\\\\\"/"}`},
		// RFC 8785 section 3.2.3: sorting by UTF-16 code units puts the
		// emoji (U+D83D ...) before U+FB33, unlike UTF-8 or code point order.
		{"rfc 8785 sorting",
			`{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",` +
				`"\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`,
			"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\"," +
				"\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"},
		{"short escapes", `"\b\f\n\r\t"`, `"\b\f\n\r\t"`},
		{"other controls lower-case hex", `"\u0001\u001F\u007f"`, "\"\\u0001\\u001f\u007f\""},
		{"no escaping of / < > & U+2028", `"\/<>&\u2028\u2029"`, "\"/<>&\u2028\u2029\""},
		{"integers", `[0, -0, 1, -1, 1.0, 1e2, 9007199254740991, -9007199254740991]`, `[0,0,1,-1,1,100,9007199254740991,-9007199254740991]`},
		{"nested and white space", " { \"b\" : [ ] , \"a\" : { \"d\" : true , \"c\" : null } } ", `{"a":{"c":null,"d":true},"b":[]}`},
		{"record-like", `{"v":2,"choices":{"marketing":false,"analytics":true},"seq":12,"site":"demo"}`,
			`{"choices":{"analytics":true,"marketing":false},"seq":12,"site":"demo","v":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tt.in))
			if err != nil {
				t.Fatalf("Canonicalize(%s): %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("Canonicalize(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			again, err := Canonicalize(got)
			if err != nil || string(again) != string(got) {
				t.Errorf("not idempotent: %s → %s (%v)", got, again, err)
			}
		})
	}
}

func TestCanonicalizeRefuses(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"fraction", `{"a":1.5}`, "integers"},
		{"too large", `9007199254740992`, "integers"},
		{"exponent too large", `1e300`, "integers"},
		{"duplicate member", `{"a":1,"a":2}`, "duplicate member"},
		{"invalid utf-8", "\"\xff\"", "UTF-8"},
		{"trailing data", `{} {}`, "data after"},
		{"not json", `{"a":}`, "canon"},
	}
	for _, tt := range tests {
		_, err := Canonicalize([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := Marshal(map[string]any{"f": 1.5}); err == nil {
		t.Error("Marshal of a float64 did not fail")
	}
	if _, err := AppendInt(nil, MaxInt+1); !errors.Is(err, ErrNumber) {
		t.Errorf("AppendInt(MaxInt+1): %v", err)
	}
}

func TestLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"a", "b", true}, {"b", "a", false}, {"a", "a", false}, {"a", "ab", true}, {"", "a", true},
		{"😀", "\ufb33", true}, // U+1F600 is D83D DE00 in UTF-16: before FB33
		{"\ufb33", "😀", false},
		{"😀", "😁", true},
	}
	for _, tt := range tests {
		if got := Less(tt.a, tt.b); got != tt.want {
			t.Errorf("Less(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	s := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
