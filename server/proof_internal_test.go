package server

import (
	"encoding/json"
	"testing"
)

// The hand-written response JSON is what encoding/json writes.
func TestConsentResponseJSON(t *testing.T) {
	for _, r := range []consentResponse{
		{RecordID: "01a2085a-3039-7340-bcdb-211a651c5adc", ConsentID: "3f2b6c1e-8d4a-4b7e-9c0d-2a1b3c4d5e6f", Time: "2026-11-23T12:20:58.041Z", NoticeVersion: "2d22"},
		{RecordID: "r", ConsentID: "c", Time: "t", NoticeVersion: "n", Duplicate: true, Seq: 42, Hash: "ab",
			Receipt: json.RawMessage(`{"hash":"ab","index":0,"path":["cd"],"v":1}`)},
	} {
		want, _ := json.Marshal(r)
		if got := r.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON\n got %s\nwant %s", got, want)
		}
	}
}
