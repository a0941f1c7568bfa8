package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/redisproc"
	"github.com/consentd/consentd/server/servertest"
)

// buildBinary compiles consentd once for these tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "consentd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestInvalidSettingExitsWithCode2(t *testing.T) {
	bin := buildBinary(t)
	tests := []struct{ env, want string }{
		{"CONSENTD_LISTEN=8080", `consentd: invalid setting: CONSENTD_LISTEN="8080": must be host:port`},
		{"CONSENTD_REDIS_URL=mysql://x", `CONSENTD_REDIS_URL="mysql://x": unknown scheme "mysql"`},
		{"CONSENTD_BATCH_MAX=0", `CONSENTD_BATCH_MAX="0": must be a whole number from 1 to 10000`},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), tt.env)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%s: exit %v, want code 2", tt.env, err)
		}
		if !strings.Contains(string(out), tt.want) {
			t.Errorf("%s: output %q does not contain %q", tt.env, out, tt.want)
		}
	}
}

func TestInvalidSiteStopsStartup(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo.yaml"), []byte("id: demo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--sites-dir", dir, "--listen", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want code 1", err)
	}
	if !strings.Contains(string(out), "demo.yaml: name: required") {
		t.Fatalf("output does not name the file and field: %s", out)
	}
}

func TestHelp(t *testing.T) {
	out, err := exec.Command(buildBinary(t), "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"CONSENTD_LISTEN", "CONSENTD_REDIS_URL", "CONSENTD_SITES_DIR", "CONSENTD_TRUSTED_PROXIES", "CONSENTD_IP_HASH_SECRET"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--help lacks %s", want)
		}
	}
}

// The real binary: serves, reloads on SIGHUP (keeping the old config when
// the new one is invalid) and stops cleanly on SIGTERM.
func TestReloadAndGracefulShutdown(t *testing.T) {
	bin := buildBinary(t)
	rs := redisproc.StartT(t, redisproc.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	site := filepath.Join(dir, "demo.yaml")
	good := servertest.DemoSite(t, "http://"+addr)
	if err := os.WriteFile(site, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs servertest.LogBuffer
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "CONSENTD_LISTEN="+addr, "CONSENTD_REDIS_URL="+rs.URL(), "CONSENTD_SITES_DIR="+dir)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// The identity form's tag: it names the content (a compressed form
	// made in the background has its own tag, and would appear anyway).
	etag := func() string {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/w/demo.js", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", "identity")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return ""
		}
		res.Body.Close()
		return res.Header.Get("ETag")
	}
	waitFor(t, "the server", func() bool { return etag() != "" })
	first := etag()

	if err := os.WriteFile(site, []byte(strings.Replace(good, "id: analytics", "id: necessary", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload error", func() bool {
		return strings.Contains(logs.String(), "reload failed; keeping the previous configuration")
	})
	if !strings.Contains(logs.String(), `categories[1].id: duplicate id \"necessary\"`) {
		t.Errorf("reload error does not name the field:\n%s", logs.String())
	}
	if etag() != first {
		t.Fatal("invalid reload changed the served widget")
	}

	if err := os.WriteFile(site, []byte(strings.Replace(good, "Analytiikka", "Tilastot", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the new widget", func() bool { return etag() != first })

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop within 20s of SIGTERM")
	}
	if !strings.Contains(logs.String(), "stopped cleanly") {
		t.Fatalf("no clean stop in logs:\n%s", logs.String())
	}
}

// `consentd notice check` runs instead of the server: warnings exit 0,
// an invalid file exits 1 with the field named.
func TestNoticeCheckCommand(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	site := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(site, []byte("id: demo\nname: Demo\norigins: [https://www.example.fi]\nlanguages: [en]\npolicyVersion: \"1\"\n"+
		"categories:\n  - {id: necessary, required: true, label: {en: Necessary}, description: {en: Needed.}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "notice", "check", site).CombinedOutput()
	if err != nil {
		t.Fatalf("notice check: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), site+": notice.retention: Art. 13(2)(a): ") {
		t.Fatalf("no retention warning:\n%s", out)
	}
	out, err = exec.Command(bin, "notice", "check", filepath.Join(dir, "missing.yaml")).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("missing file: exit %v, want code 1\n%s", err, out)
	}
}

// The chain head is signed at start-up and at shutdown when it moved, and
// not again when it did not: a restart leaves no window without a
// checkpoint (the interval here is an hour and --checkpoint-every off, so
// only start and shutdown write).
func TestCheckpointsAtStartAndShutdown(t *testing.T) {
	bin := buildBinary(t)
	rs := redisproc.StartT(t, redisproc.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo.yaml"), []byte(servertest.DemoSite(t, base)), 0o644); err != nil {
		t.Fatal(err)
	}
	key, err := proof.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	run := func(posts int) {
		t.Helper()
		var logs servertest.LogBuffer
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "CONSENTD_LISTEN="+addr, "CONSENTD_REDIS_URL="+rs.URL(), "CONSENTD_SITES_DIR="+dir,
			"CONSENTD_SIGNING_KEY="+key.Secret(), "CONSENTD_CHECKPOINT_INTERVAL=1h", "CONSENTD_CHECKPOINT_EVERY=0")
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		waitFor(t, "the server", func() bool {
			res, err := http.Get(base + "/healthz")
			if err == nil {
				res.Body.Close()
			}
			return err == nil && res.StatusCode == http.StatusOK
		})
		nv := servertest.NoticeVersion(t, base, "demo", "fi")
		for i := 0; i < posts; i++ {
			body := `{"site":"demo","method":"custom","language":"fi","noticeVersion":"` + nv +
				`","choices":{"necessary":true,"analytics":true,"marketing":false}}`
			req, _ := http.NewRequest(http.MethodPost, base+"/v1/consent", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", base)
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != http.StatusCreated {
				t.Fatalf("post: %v %v", res, err)
			}
			res.Body.Close()
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil || !strings.Contains(logs.String(), "stopped cleanly") {
			t.Fatalf("stop: %v\n%s", err, logs.String())
		}
	}
	heads := func() []int64 {
		t.Helper()
		vals, err := rdb.LRange(context.Background(), ledger.CheckpointsKey("demo"), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, v := range vals {
			var c proof.Checkpoint
			if err := json.Unmarshal([]byte(v), &c); err != nil {
				t.Fatal(err)
			}
			if err := c.Verify(proof.KeySet{Keys: []proof.PublicKey{key.Public(proof.StatusCurrent)}}); err != nil || c.Kind != proof.KindHead {
				t.Fatalf("checkpoint %s: %v", v, err)
			}
			out = append(out, c.Seq)
		}
		return out
	}
	run(3) // empty chain at start: nothing; 3 records at shutdown: seq 3
	if got := heads(); fmt.Sprint(got) != "[3]" {
		t.Fatalf("after the first run: head checkpoints at %v, want [3]", got)
	}
	run(0) // the head did not move: nothing at start or shutdown
	run(2) // nothing at start; seq 5 at shutdown
	if got := heads(); fmt.Sprint(got) != "[3 5]" {
		t.Fatalf("after three runs: head checkpoints at %v, want [3 5]", got)
	}
}
