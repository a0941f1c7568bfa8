package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/auth"
	"github.com/consentd/consentd/server/servertest"
)

// controllersEnv starts three sites: demo and other (adminEnv, each with
// a token of its site file) and shop (no token of its own), and a
// controllers file whose token "anna" grants shop and demo, in that
// order. It returns the tokens of demo, other and anna.
func controllersEnv(t *testing.T, o servertest.Options) (env *servertest.Env, demoToken, otherToken, annaToken string) {
	t.Helper()
	annaToken, _ = auth.New()
	o.Sites = func(string) map[string]string {
		return map[string]string{"shop.yaml": servertest.PlainSite("shop", "Shop Oy", "ads")}
	}
	o.Controllers = "tokens:\n  - name: anna\n    hash: " + auth.Hash(annaToken) + "\n    created: \"2026-12-05\"\n    sites: [shop, demo]\n"
	env, demoToken, otherToken = adminEnv(t, o)
	return env, demoToken, otherToken, annaToken
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestControllersFileGrants: a token of the controllers file is admitted
// on every route of each site it lists, and refused (403) on any other;
// the site files' tokens keep granting their own site.
func TestControllersFileGrants(t *testing.T) {
	var log servertest.LogBuffer
	limit := func(c *config.Config) { c.AdminFailLimit = 100 }
	env, demoToken, otherToken, anna := controllersEnv(t, servertest.Options{Log: &log, Config: limit})
	for _, route := range adminRoutes {
		for _, site := range []string{"demo", "shop", "other"} {
			path := strings.Replace(route, "/demo/", "/"+site+"/", 1)
			for _, tt := range []struct {
				name, token string
				status      int
			}{
				{"anna", anna, map[string]int{"demo": admittedStatus(route), "shop": admittedStatus(route), "other": 403}[site]},
				{"demo's site file token", demoToken, map[string]int{"demo": admittedStatus(route), "shop": 403, "other": 403}[site]},
				{"other's site file token", otherToken, map[string]int{"demo": 403, "shop": 403, "other": admittedStatus(route)}[site]},
				{"invalid token", "cdt_" + strings.Repeat("y", 43), 401},
			} {
				t.Run(path+" "+tt.name, func(t *testing.T) {
					if r := adminGet(t, env.URL+path, tt.token); r.Status != tt.status {
						t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Raw)
					}
				})
			}
		}
	}
	if strings.Contains(log.String(), anna) {
		t.Fatal("a token appears in the log")
	}
	if !strings.Contains(log.String(), `msg="admin request" site=shop token=anna`) {
		t.Error("admitted requests are not logged with the token's name")
	}
}

// TestControllersFileReload: the controllers file is read again with the
// sites, by --watch-sites (and SIGHUP, Server.Reload): a token added,
// changed or removed takes effect without a restart; a broken or
// conflicting file keeps the running tokens and says why.
func TestControllersFileReload(t *testing.T) {
	var log servertest.LogBuffer
	env, demoToken, otherToken := adminEnv(t, servertest.Options{Log: &log, Config: func(c *config.Config) { c.AdminFailLimit = 100 }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go env.Server.WatchSites(ctx, 20*time.Millisecond)
	anna, _ := auth.New()
	entry := func(sites string) string {
		return "tokens:\n  - name: anna\n    hash: " + auth.Hash(anna) + "\n    sites: " + sites + "\n"
	}
	waitStatus := func(site, token string, want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := adminGet(t, env.URL+"/v1/sites/"+site+"/stats", token)
			if r.Status == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d, not %d within 10 s: %s", site, r.Status, want, r.Raw)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitStatus("demo", anna, 401)
	// Created: the new token works.
	writeFile(t, env.ControllersFile, entry("[demo]"))
	waitStatus("demo", anna, 200)
	waitStatus("other", anna, 403)
	// Changed: it grants other too.
	writeFile(t, env.ControllersFile, entry("[demo, other]"))
	waitStatus("other", anna, 200)
	// Broken: the running tokens stay, and the log says why.
	writeFile(t, env.ControllersFile, entry("[demo, nosuch]"))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), `tokens[0].sites[1]: \"nosuch\" is not a site`) {
		if time.Now().After(deadline) {
			t.Fatalf("the failed reload is not logged:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitStatus("other", anna, 200)
	// A hash of a site file in the controllers file: refused, naming both
	// places (SIGHUP's path).
	writeFile(t, env.ControllersFile, entry("[other]")+"  - name: dpo\n    hash: "+auth.Hash(demoToken)+"\n    sites: [demo, other]\n")
	err := env.Server.Reload()
	if err == nil || !strings.Contains(err.Error(), env.ControllersFile+": tokens[1].hash: the same token hash is in "+env.SitesDir+"/demo.yaml (adminTokens[0].hash)") {
		t.Fatalf("Reload = %v", err)
	}
	waitStatus("other", demoToken, 403)
	waitStatus("other", otherToken, 200)
	// Removed: the token is gone.
	if err := os.Remove(env.ControllersFile); err != nil {
		t.Fatal(err)
	}
	waitStatus("demo", anna, 401)
	waitStatus("demo", demoToken, 200)
}

// TestControllersFileSetting: a controllers file named by --controllers
// is read and must stay there (a reload without it fails, keeping its
// tokens); with off, a controllers.yaml next to the sites is not read.
func TestControllersFileSetting(t *testing.T) {
	anna, _ := auth.New()
	entry := "tokens:\n  - name: anna\n    hash: " + auth.Hash(anna) + "\n    sites: [demo]\n"
	t.Run("a file of its own", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "access.yaml")
		writeFile(t, path, entry)
		env, _, _ := adminEnv(t, servertest.Options{Config: func(c *config.Config) { c.Controllers = path }})
		if r := adminGet(t, env.URL+"/v1/sites/demo/stats", anna); r.Status != 200 {
			t.Fatalf("anna: %d %s", r.Status, r.Raw)
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := env.Server.Reload(); err == nil || !strings.Contains(err.Error(), "controllers file "+path+" (CONSENTD_CONTROLLERS): not found: create it, or set CONSENTD_CONTROLLERS to auto") {
			t.Fatalf("Reload = %v", err)
		}
		if r := adminGet(t, env.URL+"/v1/sites/demo/stats", anna); r.Status != 200 {
			t.Errorf("anna after the failed reload: %d", r.Status)
		}
	})
	t.Run("off", func(t *testing.T) {
		env, _, _ := adminEnv(t, servertest.Options{Controllers: entry, Config: func(c *config.Config) { c.Controllers = "off" }})
		if r := adminGet(t, env.URL+"/v1/sites/demo/stats", anna); r.Status != 401 {
			t.Errorf("anna with the controllers file off: %d, want 401", r.Status)
		}
	})
}
