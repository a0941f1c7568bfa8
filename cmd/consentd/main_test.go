package main

import (
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

	etag := func() string {
		res, err := http.Get("http://" + addr + "/w/demo.js")
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
