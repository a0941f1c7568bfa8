// Command consentd-dev is what `make run` starts: a redis-server with AOF
// on and its data under ./data/redis (unless CONSENTD_REDIS_URL points
// elsewhere), then consentd serving the demo site. Ctrl-C stops consentd
// first (it drains its pending writes), then Redis.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/redisproc"
)

// DevKeyFile is the demo's signing key, made on the first run and kept, so
// receipts and exports stay verifiable across restarts; consentd export
// and verify read it by default too.
const DevKeyFile = "data/signing.key"

// devKey makes the signing key file unless it exists.
func devKey(name string) error {
	if _, err := os.Stat(name); err == nil {
		return nil
	}
	k, err := proof.NewSigningKey()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if _, err := fmt.Fprintln(f, k.Secret()); err != nil {
		_ = f.Close()
		return fmt.Errorf("signing key: %w", err)
	}
	fmt.Fprintf(os.Stderr, "consentd-dev: made the demo's signing key %s (kid %s)\n", name, k.ID())
	return f.Close()
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "consentd-dev: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	bin := flag.String("consentd", "bin/consentd", "path of the consentd binary to run")
	dataDir := flag.String("data", "data/redis", "Redis data directory (AOF)")
	port := flag.Int("redis-port", envInt("CONSENTD_DEV_REDIS_PORT", 6390), "loopback port for the development Redis (env CONSENTD_DEV_REDIS_PORT)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env := os.Environ()
	if url := os.Getenv("CONSENTD_REDIS_URL"); url != "" {
		fmt.Fprintf(os.Stderr, "consentd-dev: using CONSENTD_REDIS_URL; not starting Redis\n")
	} else {
		rs, err := redisproc.Start(ctx, redisproc.Options{Dir: *dataDir, Port: *port})
		if err != nil {
			return fmt.Errorf("start Redis on 127.0.0.1:%d (set CONSENTD_DEV_REDIS_PORT to use another port): %w", *port, err)
		}
		defer func() {
			if err := rs.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "consentd-dev: %v\n", err)
			}
			fmt.Fprintf(os.Stderr, "consentd-dev: Redis stopped; data kept in %s\n", rs.Dir)
		}()
		fmt.Fprintf(os.Stderr, "consentd-dev: Redis on %s, AOF in %s  (try: redis-cli -p %d XRANGE 'c:{demo}:log' - +)\n", rs.Addr, rs.Dir, *port)
		env = append(env, "CONSENTD_REDIS_URL="+rs.URL())
	}
	if os.Getenv("CONSENTD_SIGNING_KEY") == "" {
		if err := devKey(DevKeyFile); err != nil {
			return err
		}
		env = append(env, "CONSENTD_SIGNING_KEY="+DevKeyFile)
	}
	if os.Getenv("CONSENTD_LISTEN") == "" {
		env = append(env, "CONSENTD_LISTEN=127.0.0.1:8080")
	}
	env = append(env, "CONSENTD_DEMO=true")
	if os.Getenv("CONSENTD_WATCH_SITES") == "" {
		env = append(env, "CONSENTD_WATCH_SITES=1s") // an edited site file is live a second later
	}

	cmd := exec.Command(*bin, flag.Args()...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (run make build first): %w", *bin, err)
	}
	fmt.Fprintf(os.Stderr, "consentd-dev: demo site at http://localhost:8080/  — Ctrl-C stops consentd, then Redis; site files reload when they change (or kill -HUP %d)\n", os.Getpid())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// SIGHUP to this wrapper is for consentd (reload), not for us.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for waiting := true; waiting; {
		select {
		case err := <-done:
			return exitErr(err)
		case <-hup:
			_ = cmd.Process.Signal(syscall.SIGHUP)
		case <-ctx.Done():
			waiting = false
		}
	}
	// The terminal's Ctrl-C reaches consentd too; signal it anyway in case
	// only this process was told to stop.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		return exitErr(err)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return errors.New("consentd did not stop within 30s; killed")
	}
}

func exitErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == -1 {
		return nil // ended by the signal we forwarded
	}
	if err != nil {
		return fmt.Errorf("consentd: %w", err)
	}
	return nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
