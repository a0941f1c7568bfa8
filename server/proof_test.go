package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/proof/audit"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/servertest"
)

// publishedKeys reads /.well-known/consentd-keys.json.
func publishedKeys(t *testing.T, env *servertest.Env) proof.KeySet {
	t.Helper()
	r := get(t, env.URL+"/.well-known/consentd-keys.json", nil)
	if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("keys: %d %v %s", r.Status, r.Header, r.Raw)
	}
	ks, err := proof.ParseKeySet([]byte(r.Raw))
	if err != nil || len(ks.Keys) != 1 || ks.Keys[0].Status != proof.StatusCurrent {
		t.Fatalf("keys %s: %v", r.Raw, err)
	}
	return ks
}

// A visitor's receipt, from a real POST, checks out with the published
// key and belongs to the stored record; a retry gets the same receipt.
func TestReceiptVerifiesWithPublishedKey(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	body := jsonOf(t, validBody(noticeVersion(t, env)))
	h := map[string]string{"Idempotency-Key": "receipt-test"}
	r := post(t, env, body, h)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.Status, r.Raw)
	}
	var resp struct {
		RecordID string          `json:"recordId"`
		Seq      int64           `json:"seq"`
		Hash     string          `json:"hash"`
		Receipt  json.RawMessage `json:"receipt"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &resp); err != nil {
		t.Fatal(err)
	}
	rc, err := proof.ParseReceipt(resp.Receipt)
	if err != nil {
		t.Fatalf("receipt %s: %v", resp.Receipt, err)
	}
	if err := rc.Verify(publishedKeys(t, env)); err != nil {
		t.Fatalf("receipt does not verify with the published key: %v\n%s", err, resp.Receipt)
	}
	stored := env.Redis.XRange(context.Background(), ledger.LogKey("demo"), "-", "+").Val()[0].Values["record"].(string)
	hash, claimed, _, err := proof.RecordHash([]byte(stored))
	if err != nil || hash.String() != claimed || rc.Hash != claimed || resp.Hash != claimed || rc.RecordID != resp.RecordID || rc.Seq != 1 || resp.Seq != 1 {
		t.Fatalf("receipt %+v does not belong to the stored record %s (%v)", rc, stored, err)
	}
	again := post(t, env, body, h)
	var dup struct {
		Receipt json.RawMessage `json:"receipt"`
	}
	_ = json.Unmarshal([]byte(again.Raw), &dup)
	if again.Status != http.StatusOK || string(dup.Receipt) != string(resp.Receipt) {
		t.Fatalf("retry: %d %s", again.Status, again.Raw)
	}
}

// Checkpoints and the proof bundle through HTTP; the bundle verifies.
func TestCheckpointsAndProofBundle(t *testing.T) {
	env, token, _ := adminEnv(t, servertest.Options{})
	nv := noticeVersion(t, env)
	const n = 60
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := validBody(nv)
			b["consentId"] = fmt.Sprintf("3f2b6c1e-8d4a-4b7e-9c0d-%012d", i%45)
			h := map[string]string{"Idempotency-Key": fmt.Sprint("k", i%45)} // 15 retries, some in the same batch
			if r := post(t, env, jsonOf(t, b), h); r.Status != http.StatusCreated && r.Status != http.StatusOK {
				t.Errorf("POST: %d %s", r.Status, r.Raw)
			}
		}()
	}
	wg.Wait()
	env.Server.WriteCheckpoints(context.Background(), time.Minute)
	env.Server.WriteCheckpoints(context.Background(), time.Minute) // the same head: no second one

	r := adminGet(t, env.URL+"/v1/sites/demo/checkpoints", token)
	cps, err := audit.ParseCheckpoints([]byte(r.Raw))
	if r.Status != http.StatusOK || err != nil || len(cps) != 1 || cps[0].Seq != 45 || cps[0].Kind != proof.KindHead {
		t.Fatalf("checkpoints: %d %s %v", r.Status, r.Raw, err)
	}
	keys := publishedKeys(t, env)
	if err := cps[0].Verify(keys); err != nil {
		t.Fatal(err)
	}

	if r := adminGet(t, env.URL+"/v1/sites/demo/consents?format=proof&method=custom", token); r.Status != 400 || r.Body["field"] != "method" {
		t.Fatalf("proof with a filter: %d %s", r.Status, r.Raw)
	}
	res := exportGet(t, env.URL+"/v1/sites/demo/consents?format=proof", token)
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/zip" || !strings.Contains(res.Header.Get("Content-Disposition"), ".proof.zip") {
		t.Fatalf("bundle: %d %v", res.StatusCode, res.Header)
	}
	sum, err := verifyBundle(t, res.Body, keys)
	if err != nil {
		t.Fatalf("bundle does not verify: %v", err)
	}
	if s := sum.Sites["demo"]; sum.Records != 45 || s.LastSeq != 45 || sum.Checkpoints != 1 || sum.Notices != 1 {
		t.Fatalf("summary %s", sum)
	}
}

// verifyBundle saves a proof bundle read from body and verifies it with
// keys and the bundle's own checkpoints and notices, as consentd verify
// does.
func verifyBundle(t *testing.T, body io.Reader, keys proof.KeySet) (*audit.Summary, error) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "b.zip")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := audit.OpenBundle(name)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rc, err := b.Records()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return audit.Verify(rc, audit.Options{Keys: keys, Checkpoints: b.Checkpoints, Notices: b.Notices})
}

// TestCheckpointedLog: a checkpoint that failed is a warning, but one
// ended by the shutdown is not (with many sites every site's ends so).
func TestCheckpointedLog(t *testing.T) {
	var log servertest.LogBuffer
	env := servertest.Start(t, servertest.Options{Log: &log})
	env.Server.Checkpointed("demo", nil, fmt.Errorf("ledger: store unavailable: read the newest record: %w", context.Canceled))
	if strings.Contains(log.String(), "level=WARN") {
		t.Fatalf("a checkpoint ended by the shutdown is a warning:\n%s", log.String())
	}
	env.Server.Checkpointed("demo", nil, fmt.Errorf("ledger: store unavailable: %w", io.ErrUnexpectedEOF))
	if !strings.Contains(log.String(), `level=WARN msg="checkpoint not written; next try at the next interval" site=demo`) {
		t.Fatalf("a failed checkpoint is not a warning:\n%s", log.String())
	}
}
