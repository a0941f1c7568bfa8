package e2e

import (
	"io"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/servertest"
)

// TestWidgetKeepsVerifiableReceipts: after two decisions the widget holds
// two receipts (consentd.receipts()), oldest first; each checks out
// offline with the key the server publishes and names the stored record
// (ID, hash, chain position).
func TestWidgetKeepsVerifiableReceipts(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx := tab(t)
	run(t, ctx, chromedp.Navigate(env.URL+"/"))
	poll(t, ctx, jsBannerSettled)
	click(t, ctx, "accept-all")
	poll(t, ctx, `consentd.receipts().length === 1`)
	eval[any](t, ctx, `consentd.withdraw()`)
	poll(t, ctx, `consentd.receipts().length === 2`)
	raw := eval[[]string](t, ctx, `consentd.receipts().map(r => JSON.stringify(r))`)

	resp, err := http.Get(env.URL + "/.well-known/consentd-keys.json")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("keys: %d %v", resp.StatusCode, err)
	}
	keys, err := proof.ParseKeySet(body)
	if err != nil {
		t.Fatal(err)
	}
	records := waitRecords(t, env, 2)
	for i, s := range raw {
		r, err := proof.ParseReceipt([]byte(s))
		if err != nil {
			t.Fatalf("receipt %d %s: %v", i, s, err)
		}
		if err := r.Verify(keys); err != nil {
			t.Errorf("receipt %d does not verify with the published key: %v", i, err)
		}
		if r.RecordID != records[i].RecordID || r.Hash != records[i].Hash || r.Seq != records[i].Seq {
			t.Errorf("receipt %d is for %s (seq %d, %s), the record is %s (seq %d, %s)",
				i, r.RecordID, r.Seq, r.Hash, records[i].RecordID, records[i].Seq, records[i].Hash)
		}
	}
	// A receipt claiming another record does not verify: the check is real.
	r, _ := proof.ParseReceipt([]byte(raw[0]))
	r.Hash = records[1].Hash
	if err := r.Verify(keys); err == nil {
		t.Error("a receipt with another record's hash still verifies")
	}
}
