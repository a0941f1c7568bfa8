package main

// The processes a run measures: Redis (and its replica), consentd on a
// free port, the demo site.

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
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/redisproc"
)

// rig is what every run needs: wrk, a temp dir, a redis-server with a
// client, and the bench site written to the sites dir.
type rig struct {
	tmp, sitesDir string
	rs            *redisproc.Server
	replica       *redisproc.Server // -replica: a replica of rs; consentd waits for it (WAIT 1)
	rdb           *redis.Client
}

// redisPids are the Redis processes whose CPU counts as Redis's.
func (r *rig) redisPids() []int {
	if r.replica != nil {
		return []int{r.rs.Pid(), r.replica.Pid()}
	}
	return []int{r.rs.Pid()}
}

// newRig sets up a rig; close tears it down.
func newRig(o options) (*rig, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return nil, errors.New("wrk not found: install it (Debian: apt-get install -y wrk) or run make bench")
	}
	tmp, err := os.MkdirTemp("", "consentd-bench-")
	if err != nil {
		return nil, err
	}
	r := &rig{tmp: tmp, sitesDir: filepath.Join(tmp, "sites")}
	r.rs, err = redisproc.Start(context.Background(), redisproc.Options{Dir: filepath.Join(tmp, "redis"), AppendFsync: o.fsync})
	if err == nil && o.replica {
		r.replica, err = redisproc.StartReplica(context.Background(), r.rs, redisproc.Options{Dir: filepath.Join(tmp, "replica"), AppendFsync: o.fsync})
	}
	if err == nil {
		err = writeSite(r.sitesDir)
	}
	if err != nil {
		r.close()
		return nil, err
	}
	r.rdb = redis.NewClient(&redis.Options{Addr: r.rs.Addr})
	return r, nil
}

func (r *rig) close() {
	if r.rdb != nil {
		_ = r.rdb.Close()
	}
	if r.replica != nil {
		_ = r.replica.Stop()
	}
	if r.rs != nil {
		_ = r.rs.Stop()
	}
	_ = os.RemoveAll(r.tmp)
}

// server is one running consentd.
type server struct {
	cmd  *exec.Cmd
	base string
	pids []int // consentd, then the redis-servers (rig.redisPids)
	nv   string
	lua  string // wrk script posting a decision
	done bool
}

func (s *server) stop() {
	if s.done {
		return
	}
	s.done = true
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// startServer starts the consentd binary bin on a free port.
func startServer(o options, bin string, r *rig) (*server, error) {
	rs, sitesDir, tmp := r.rs, r.sitesDir, r.tmp
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"CONSENTD_LISTEN="+addr,
		"CONSENTD_REDIS_URL="+rs.URL(),
		"CONSENTD_SITES_DIR="+sitesDir,
		"CONSENTD_RATE_LIMIT=0",      // one load generator, one IP: the per-IP limit would measure itself
		"CONSENTD_SITE_RATE_LIMIT=0", // and the per-site limit would cap the run
		"CONSENTD_LOG_LEVEL=error",
		"CONSENTD_CHECKPOINT_INTERVAL=0",
		"CONSENTD_SIGNING_KEY="+benchKey,
		// As behind a reverse proxy: wrk's posts carry X-Forwarded-For
		// (-idempotency: a new client address per post).
		"CONSENTD_TRUSTED_PROXIES=127.0.0.1",
	)
	if r.replica != nil {
		cmd.Env = append(cmd.Env, "CONSENTD_REDIS_WAIT_REPLICAS=1")
	}
	if o.limits { // check every limit on every post, too high to refuse any (later entries win)
		// With -idempotency each post has its own client address, so the
		// address limit may stay within what every consentd version accepts
		// (-compare with an older binary); without, one address sends all.
		addrLimit := "100000000"
		if o.idempotency {
			addrLimit = "1000000"
		}
		cmd.Env = append(cmd.Env, "CONSENTD_RATE_LIMIT="+addrLimit, "CONSENTD_SITE_RATE_LIMIT=100000000", "CONSENTD_CONSENT_ID_LIMIT=1000000")
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (run make build first): %w", bin, err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, pids: append([]int{cmd.Process.Pid}, r.redisPids()...)}
	if err := waitReady(s.base + "/readyz"); err != nil {
		s.stop()
		return nil, err
	}
	if s.nv, err = noticeVersion(s.base, "demo", "fi"); err != nil {
		s.stop()
		return nil, err
	}
	s.lua = filepath.Join(tmp, "consent.lua")
	body, _ := json.Marshal(map[string]any{
		"site":          "demo",
		"choices":       map[string]bool{"necessary": true, "analytics": true, "marketing": false},
		"method":        "custom",
		"noticeVersion": s.nv,
		"language":      "fi",
		"url":           "https://bench.example/page",
	})
	lua := fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Origin\"] = %q\nwrk.headers[\"User-Agent\"] = \"consentd-bench\"\n",
		string(body), benchOrigin)
	if o.idempotency {
		// As the widget sends a visitor's first decision: a new consent ID
		// and a new Idempotency-Key per request (unique across runs and
		// wrk threads: a random prefix per script load and a counter).
		lua += fmt.Sprintf(widgetLua, string(body[:1]))
		lua += fmt.Sprintf("local rest = %q\n", string(body[1:]))
		lua += widgetRequestLua
	}
	if err := os.WriteFile(s.lua, []byte(lua), 0o644); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// widgetLua starts the wrk script that sends each post as a widget sends
// a visitor's first decision (the body's first byte is the %s). The
// prefix of its consent IDs comes from /dev/urandom: wrk runs started in
// the same second must not send the same IDs (they would be answered as
// duplicates of each other).
const widgetLua = `
local urandom = assert(io.open("/dev/urandom", "rb"))
local prefix = urandom:read(4):gsub(".", function(c) return string.format("%%02x", c:byte()) end)
urandom:close()
local open = %q
`

// widgetRequestLua makes wrk send a new consent ID (a lowercase UUID) in
// the body, a new Idempotency-Key and a new client address (in
// X-Forwarded-For, as a reverse proxy sends it: each visitor has their
// own address, so each post has its own address rate-limit counter) with
// every request.
const widgetRequestLua = `
local n = 0
request = function()
  n = n + 1
  local id = string.format("%s-0000-4000-8000-%012x", prefix, n)
  wrk.headers["Idempotency-Key"] = id
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format(nil, nil, nil, open .. '"consentId":"' .. id .. '",' .. rest)
end
`

// benchKey is a fixed signing key for the bench (a test key: never use it).
const benchKey = "ed25519:YmVuY2htYXJrLWtleS1ub3QtZm9yLXByb2R1Y3Rpb24"

const benchOrigin = "https://bench.example"

// writeSite writes the demo site with the bench origin.
func writeSite(dir string) error {
	src, err := os.ReadFile(filepath.Join("config", "sites", "demo.yaml"))
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	s := string(src)
	start, end := strings.Index(s, "origins:\n"), strings.Index(s, "languages:")
	if start < 0 || end < start {
		return errors.New("config/sites/demo.yaml: origins block not found")
	}
	s = s[:start] + "origins:\n  - " + benchOrigin + "\n" + s[end:]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "demo.yaml"), []byte(s), 0o644)
}

// noticeVersion asks the running server for a site's notice version in lang.
func noticeVersion(base, site, lang string) (string, error) {
	resp, err := http.Get(base + "/n/" + site + ".json")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var n struct {
		Versions map[string]string `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&n); err != nil {
		return "", fmt.Errorf("GET /n/%s.json: %w", site, err)
	}
	if n.Versions[lang] == "" {
		return "", fmt.Errorf("GET /n/%s.json: no %s version", site, lang)
	}
	return n.Versions[lang], nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitReady(url string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready within 15s", url)
}
