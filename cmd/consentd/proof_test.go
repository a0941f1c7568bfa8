package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/redisproc"
	"github.com/consentd/consentd/server/servertest"
)

// startConsentd starts the binary on a free port with env and returns
// its base URL.
func startConsentd(t *testing.T, bin string, env ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs servertest.LogBuffer
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), "CONSENTD_LISTEN="+addr), env...)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("consentd %s log:\n%s", addr, logs.String())
		}
	})
	base := "http://" + addr
	waitFor(t, "consentd at "+addr, func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	return base
}

// Two consentd processes append to the same site on the same Redis at
// once, with overlapping idempotency keys: one valid chain, no gaps, every
// key stored once; the proof bundle made by `consentd export` verifies
// with the keys the servers publish.
func TestTwoProcessesOneChain(t *testing.T) {
	bin := buildBinary(t)
	rs := redisproc.StartT(t, redisproc.Options{})
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "signing.key")
	if out, err := exec.Command(bin, "keys", "create", "--out", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	sites := filepath.Join(dir, "sites")
	_ = os.Mkdir(sites, 0o755)
	if err := os.WriteFile(filepath.Join(sites, "demo.yaml"), []byte(servertest.DemoSite(t, "https://consent.example")), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"CONSENTD_REDIS_URL=" + rs.URL(), "CONSENTD_SITES_DIR=" + sites, "CONSENTD_SIGNING_KEY=" + keyFile,
		"CONSENTD_RATE_LIMIT=0", "CONSENTD_SITE_RATE_LIMIT=0", "CONSENTD_LOG_LEVEL=warn"}
	a := startConsentd(t, bin, env...)
	b := startConsentd(t, bin, env...)

	var n struct {
		Versions map[string]string `json:"versions"`
	}
	res, err := http.Get(a + "/n/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(res.Body).Decode(&n)
	res.Body.Close()

	// a gets keys 0..599, b keys 300..899: 900 distinct decisions.
	const per, overlap, workers = 600, 300, 8
	var stored, dups atomic.Int64
	var wg sync.WaitGroup
	for p, base := range []string{a, b} {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < per; i += workers {
					k := p*overlap + i
					body := fmt.Sprintf(`{"site":"demo","consentId":"3f2b6c1e-8d4a-4b7e-9c0d-%012d","choices":{"necessary":true,"analytics":%v,"marketing":false},"method":"custom","noticeVersion":%q,"language":"fi"}`,
						k, k%2 == 0, n.Versions["fi"])
					req, _ := http.NewRequest(http.MethodPost, base+"/v1/consent", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Origin", "https://www.oppimo.fi")
					req.Header.Set("Idempotency-Key", fmt.Sprint("key-", k))
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					raw, _ := io.ReadAll(res.Body)
					res.Body.Close()
					switch res.StatusCode {
					case 201:
						stored.Add(1)
					case 200:
						dups.Add(1)
					default:
						t.Errorf("POST %s: %d %s", base, res.StatusCode, raw)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	if n := servertest.Records(t, rdb, "demo"); stored.Load() != 900 || dups.Load() != 300 || n != 900 {
		t.Fatalf("201: %d, 200: %d, XLEN %d; want 900, 300, 900", stored.Load(), dups.Load(), n)
	}
	head := rdb.Get(context.Background(), ledger.HeadKey("demo")).Val()
	if !strings.HasPrefix(head, "900 ") {
		t.Fatalf("head %q", head)
	}
	for _, base := range []string{a, b} {
		res, err := http.Get(base + "/metrics")
		if err == nil {
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for _, l := range strings.Split(string(raw), "\n") {
				if strings.HasPrefix(l, "consentd_ledger_chain_conflicts_total") {
					t.Logf("%s: %s", base, l)
				}
			}
		}
	}

	// The published keys, saved as an auditor would.
	res, err = http.Get(b + "/.well-known/consentd-keys.json")
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := io.ReadAll(res.Body)
	res.Body.Close()
	keysFile := filepath.Join(dir, "keys.json")
	_ = os.WriteFile(keysFile, keys, 0o644)

	bundle := filepath.Join(dir, "demo.proof.zip")
	cmd := exec.Command(bin, "export", "--site", "demo", "--format", "proof", "--out", bundle, "--sites-dir", sites, "--redis-url", rs.URL())
	cmd.Env = append(os.Environ(), "CONSENTD_SIGNING_KEY="+keyFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "verify", bundle, "--keys", keysFile).CombinedOutput()
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "OK: 900 records") || !strings.Contains(string(out), "seq 1 to 900") {
		t.Fatalf("verify summary:\n%s", out)
	}
	t.Logf("consentd verify:\n%s", out)

	// One deleted record: exit 1 naming it.
	rdb.XDel(context.Background(), ledger.LogKey("demo"), rdb.XRangeN(context.Background(), ledger.LogKey("demo"), "-", "+", 500).Val()[499].ID)
	bad := filepath.Join(dir, "bad.proof.zip")
	cmd = exec.Command(bin, "export", "--site", "demo", "--format", "proof", "--out", bad, "--sites-dir", sites, "--redis-url", rs.URL(), "--keys", keysFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "verify", bad, "--keys", keysFile).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "line 500") || !strings.Contains(string(out), "seq 500 missing") {
		t.Fatalf("verify of a log with a deleted record: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
