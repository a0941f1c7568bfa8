package server_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentd/consentd/server/servertest"
)

// TestWatchSites: with WatchSites running, a site file added to the
// directory is served without a signal, a changed one is rebuilt, and an
// invalid one leaves the running sites in force.
func TestWatchSites(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go env.Server.WatchSites(ctx, 20*time.Millisecond)
	demo, err := os.ReadFile(filepath.Join(env.SitesDir, "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	waitStatus := func(url string, want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			res, err := http.Get(url)
			if err == nil {
				res.Body.Close()
				if res.StatusCode == want {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: not %d within 10 s (%v)", url, want, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Added.
	second := strings.Replace(string(demo), "\nid: demo\n", "\nid: second\n", 1)
	if err := os.WriteFile(filepath.Join(env.SitesDir, "second.yaml"), []byte(second), 0o644); err != nil {
		t.Fatal(err)
	}
	waitStatus(env.URL+"/w/second.js", http.StatusOK)
	// Invalid: the running sites stay.
	if err := os.WriteFile(filepath.Join(env.SitesDir, "second.yaml"), []byte("id: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	waitStatus(env.URL+"/w/second.js", http.StatusOK)
	// Removed (and the broken file with it): the site is gone.
	if err := os.Remove(filepath.Join(env.SitesDir, "second.yaml")); err != nil {
		t.Fatal(err)
	}
	waitStatus(env.URL+"/w/second.js", http.StatusNotFound)
	waitStatus(env.URL+"/w/demo.js", http.StatusOK)
}
