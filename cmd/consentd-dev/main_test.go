package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/consentd/consentd/server/servertest"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitFor(t *testing.T, what string, out *servertest.LogBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; output:\n%s", what, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWrapperReloads: under make run (this wrapper), SIGHUP sent to the
// wrapper reloads consentd and stops nothing, an edited site file is
// reloaded by itself, and SIGTERM stops consentd, then Redis.
func TestWrapperReloads(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	dir := t.TempDir()
	consentd, wrapper := filepath.Join(dir, "consentd"), filepath.Join(dir, "consentd-dev")
	for bin, pkg := range map[string]string{consentd: "../consentd", wrapper: "."} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	demo, err := os.ReadFile(filepath.Join("..", "..", "config", "sites", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sites := filepath.Join(dir, "sites")
	if err := os.MkdirAll(sites, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sites, "demo.yaml"), demo, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := exec.Command(wrapper, "-consentd", consentd, "-data", filepath.Join(dir, "redis"), "-redis-port", strconv.Itoa(freePort(t)))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CONSENTD_LISTEN="+addr, "CONSENTD_SITES_DIR="+sites, "CONSENTD_CACHE_DIR=off", "CONSENTD_REDIS_URL=",
		"CONSENTD_SIGNING_KEY=", "CONSENTD_WATCH_SITES=")
	out := &servertest.LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitFor(t, "consentd to answer", out, func() bool {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil && res.StatusCode == http.StatusOK
	})

	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload on SIGHUP", out, func() bool { return strings.Contains(out.String(), "msg=reloaded") })
	select {
	case err := <-exited:
		t.Fatalf("the wrapper exited on SIGHUP: %v\n%s", err, out)
	default:
	}

	edited := strings.Replace(string(demo), "\nconsentExpiryDays: 365\n", "\nconsentExpiryDays: 300\n", 1)
	if err := os.WriteFile(filepath.Join(sites, "demo.yaml"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload of the edited file", out, func() bool { return strings.Contains(out.String(), "site files changed: reloaded") })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("wrapper: %v\n%s", err, out)
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("the wrapper did not stop\n%s", out)
	}
	if !strings.Contains(out.String(), "Redis stopped") {
		t.Fatalf("Redis not stopped:\n%s", out)
	}
}
