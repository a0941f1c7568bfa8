package server

import (
	"errors"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/consentd/consentd/config/region"
	"github.com/consentd/consentd/config/site"
)

// FuzzConsentRequest feeds arbitrary bodies through the decoder and the
// checks of POST /v1/consent: they must never panic, and every refusal
// must be a 4xx APIError naming what is wrong (never a 500).
func FuzzConsentRequest(f *testing.F) {
	_, file, _, _ := runtime.Caller(0)
	s, err := site.Load(filepath.Join(filepath.Dir(file), "..", "config", "sites", "demo.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	e := &siteEntry{site: s}
	for _, seed := range consentSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeConsent(body)
		if err == nil {
			if key, bad := refKeyProblem(body); bad {
				t.Fatalf("accepted, but key %q is given twice or misspelled", key)
			}
			_, err = buildRecord(e, &consentInput{req: req}, recordContext{ip: "192.0.2.0", mode: region.ModeOptIn})
		}
		if err == nil {
			return
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code < 400 || ae.Code > 499 || ae.Msg == "" || ae.Field == "" {
			t.Fatalf("refusal is not a 4xx with a field: %#v (%v)", ae, err)
		}
	})
}

// consentSeeds are the seed bodies of FuzzConsentRequest, also used by
// FuzzDecodeDifferential.
var consentSeeds = []string{
	`{"site":"demo","consentId":"3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f","choices":{"necessary":true,"analytics":true,"marketing":false},"method":"custom","noticeVersion":"` + zeros64 + `","language":"fi","url":"https://www.oppimo.fi/a?b=c#d"}`,
	`{"site":"demo","choices":{"necessary":true,"analytics":false,"marketing":false},"method":"reject_all","noticeVersion":"` + zeros64 + `","language":"sv","url":"http://x"}`,
	`{"choices":{"necessary":"yes"}}`, `[]`, `{}`, `{"site":1}`, `{"a":{"b":{"c":[[[[[[]]]]]]}}}`, "\xff\xfe",
	`{"site":"demo","url":"javascript:alert(1)"}`, `{"site":"demo"} {"x":1}`,
	`{"site":"demo","site":"x"}`, `{"SITE":"demo"}`, `{"choices":{"a":true,"\u0061":false}}`, `{"url":"\u0000"}`,
	`{"site":1e999999}`, `{"choices":{"necessary":-0.0e-99999}}`, "{\"site\":\"de\x00mo\"}",
}

const zeros64 = "0000000000000000000000000000000000000000000000000000000000000000"
