package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/consentd/consentd/server/redisproc"
	"github.com/consentd/consentd/server/servertest"
)

// Two consentd instances serve the same sites from one Redis (a Redis
// Cluster when CONSENTD_TEST_REDIS=cluster), as behind a load balancer:
// decisions posted through both at once are all stored, each once, and
// the look-up and the export of either instance see all of them — also a
// visitor whose decisions went to different instances.
func TestTwoInstancesOneRedis(t *testing.T) {
	tgt := redisproc.StartTargetT(t)
	a, token, _ := adminEnv(t, servertest.Options{Target: &tgt})
	// One deployment, one signing key: each instance serves the records
	// the other signed.
	b, _, _ := adminEnv(t, servertest.Options{Target: &tgt, SigningKey: a.Key})
	// adminEnv made a new token for b's site files: give b a's files.
	copySites(t, a, b)
	nv := noticeVersion(t, a)
	if got := noticeVersion(t, b); got != nv {
		t.Fatalf("the instances publish different notice versions: %s, %s", nv, got)
	}

	const perInstance = 60
	envs := []*servertest.Env{a, b}
	shared := uuid.NewString() // a visitor who decides once through each instance
	var (
		mu      sync.Mutex
		records = map[string]string{} // record ID → consent ID
		errs    []string
		wg      sync.WaitGroup
	)
	for i, env := range envs {
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < perInstance; j += 4 {
					cid := uuid.NewString()
					if j == 0 {
						cid = shared
					}
					body := validBody(nv)
					body["consentId"] = cid
					rid, err := postOnce(env.URL, jsonOf(t, body), fmt.Sprintf("inst%d-%d", i, j))
					mu.Lock()
					if err != nil {
						errs = append(errs, err.Error())
					} else {
						records[rid] = cid
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d posts failed, first: %s", len(errs), errs[0])
	}
	if len(records) != 2*perInstance {
		t.Fatalf("%d distinct receipts, want %d", len(records), 2*perInstance)
	}
	if n := a.Records(t, "demo"); n != 2*perInstance {
		t.Fatalf("XLEN %d, want %d", n, 2*perInstance)
	}

	for _, env := range envs {
		// Look-up: the shared visitor's two decisions, whichever instance answers.
		r := adminGet(t, env.URL+"/v1/sites/demo/consents/"+shared, token)
		recs, _ := r.Body["records"].([]any)
		if r.Status != http.StatusOK || len(recs) != 2 {
			t.Fatalf("%s look-up of the shared visitor: %d, %d records, want 2: %s", env.URL, r.Status, len(recs), r.Raw)
		}
		// Export: every record, each once.
		res := exportGet(t, env.URL+"/v1/sites/demo/consents?format=ndjson", token)
		if res.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(res.Body)
			t.Fatalf("%s export: %d %s", env.URL, res.StatusCode, b)
		}
		seen := map[string]bool{}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			var rec struct {
				RecordID string `json:"record_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("export line %q: %v", sc.Text(), err)
			}
			if seen[rec.RecordID] {
				t.Fatalf("%s export: record %s twice", env.URL, rec.RecordID)
			}
			seen[rec.RecordID] = true
		}
		if len(seen) != len(records) {
			t.Fatalf("%s export: %d records, want %d", env.URL, len(seen), len(records))
		}
		for rid := range records {
			if !seen[rid] {
				t.Fatalf("%s export lacks acknowledged record %s", env.URL, rid)
			}
		}
	}
}

// copySites gives instance b the site files of a and reloads it.
func copySites(t *testing.T, a, b *servertest.Env) {
	t.Helper()
	for _, name := range []string{"demo.yaml", "other.yaml"} {
		src, err := os.ReadFile(filepath.Join(a.SitesDir, name))
		if err != nil {
			t.Fatal(err)
		}
		// a's origin list names a's URL; b keeps its own.
		src = []byte(strings.ReplaceAll(string(src), a.URL, b.URL))
		if err := os.WriteFile(filepath.Join(b.SitesDir, name), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Server.Reload(); err != nil {
		t.Fatalf("reload b: %v", err)
	}
}

// postOnce posts a decision with an Idempotency-Key and returns the
// receipt's record ID.
func postOnce(base, body, key string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/v1/consent", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", testOrigin)
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var rc struct {
		RecordID string `json:"recordId"`
	}
	if res.StatusCode != http.StatusCreated || json.Unmarshal(raw, &rc) != nil || rc.RecordID == "" {
		return "", fmt.Errorf("%s: %d %s", base, res.StatusCode, raw)
	}
	return rc.RecordID, nil
}
