// Package redisproc starts and stops a real redis-server process on a
// loopback port. Tests, the development runner (make run) and the
// benchmark use it; production connects to a Redis run by the operator.
package redisproc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configures a redis-server process.
type Options struct {
	// Dir holds the AOF and RDB files and the log. Required.
	Dir string
	// Port to listen on; 0 picks a free loopback port.
	Port int
	// AppendFsync is "everysec" (default), "always" or "no". AOF is always on.
	AppendFsync string
	// Binary is the redis-server path; default: found on PATH.
	Binary string
	// Args are extra redis-server arguments, e.g. "--maxmemory", "10mb".
	Args []string
}

// Server is a running redis-server.
type Server struct {
	// Addr is host:port on the loopback interface.
	Addr string
	// Dir is the data directory.
	Dir string

	opts    Options // as started, with the port chosen (see Restart)
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
	once    sync.Once
}

// URL returns the redis:// URL of database 0.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// ErrNotInstalled means there is no redis-server binary.
var ErrNotInstalled = errors.New("redis-server not found on PATH: install it (Debian: apt-get install -y redis-server)")

// Start starts redis-server and waits until it answers PING. With Port 0
// it picks a free port, retrying if another process takes it first.
func Start(ctx context.Context, o Options) (*Server, error) {
	bin, err := binary(o.Binary)
	if err != nil {
		return nil, err
	}
	if o.Dir == "" {
		return nil, errors.New("redisproc: Options.Dir is required")
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("redisproc: data dir: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := o.Port
		if port == 0 {
			p, err := freePort()
			if err != nil {
				return nil, err
			}
			port = p
		}
		s, err := start(ctx, bin, port, o)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if o.Port != 0 || !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	return nil, lastErr
}

// binary returns bin, or the redis-server found on PATH when bin is "".
func binary(bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		// Debian installs it in /usr/bin, which a minimal PATH may lack.
		if _, statErr := os.Stat("/usr/bin/redis-server"); statErr != nil {
			return "", ErrNotInstalled
		}
		p = "/usr/bin/redis-server"
	}
	return p, nil
}

func start(ctx context.Context, bin string, port int, o Options) (*Server, error) {
	fsync := o.AppendFsync
	if fsync == "" {
		fsync = "everysec"
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(abs, "redis.log")
	args := []string{
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--dir", abs,
		"--appendonly", "yes",
		"--appendfsync", fsync,
		"--save", "",
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--logfile", logPath,
	}
	args = append(args, o.Args...)
	o.Port = port
	return spawn(ctx, bin, args, abs, logPath, o)
}

// spawn runs bin with args (a redis-server or a Sentinel listening on
// 127.0.0.1:o.Port) and waits until it answers PING.
func spawn(ctx context.Context, bin string, args []string, abs, logPath string, o Options) (*Server, error) {
	port := o.Port
	cmd := exec.Command(bin, args...)
	// Own process group: a Ctrl-C in the terminal goes to the parent, which
	// then stops Redis in order (after consentd has drained).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("redisproc: start %s: %w", bin, err)
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: abs, opts: o, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(s.Addr) == nil {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("redisproc: redis-server exited during start-up (%v): %s", s.waitErr, s.tailLog())
		case <-ctx.Done():
			_ = s.Kill()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Kill()
			return nil, fmt.Errorf("redisproc: redis-server did not answer PING within 10s: %s", s.tailLog())
		}
	}
}

// Stop asks redis-server to shut down (SIGTERM: it flushes the AOF) and
// waits for it, killing it after 10 s.
func (s *Server) Stop() error {
	var err error
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused process (Pause) must run to handle SIGTERM
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
			err = errors.New("redisproc: redis-server did not stop within 10s; killed")
		}
	})
	return err
}

// Kill stops redis-server at once with SIGKILL, as a crash would.
func (s *Server) Kill() error {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
	return nil
}

// Restart starts a new redis-server with the same options, port and data
// dir as s (after Kill or Stop): what an operator's restart looks like to
// clients. The AOF brings back what was written.
func (s *Server) Restart(ctx context.Context) (*Server, error) {
	select {
	case <-s.done:
	default:
		return nil, errors.New("redisproc: Restart: the server is still running")
	}
	return Start(ctx, s.opts)
}

// Pid is the redis-server process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

func (s *Server) tailLog() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log)"
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redisproc: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// StartT starts a redis-server for a test in a fresh temp dir and stops it
// when the test ends. A missing redis-server fails the test (it does not
// skip: CI must never pass by testing nothing).
func StartT(tb testing.TB, o Options) *Server {
	tb.Helper()
	return startT(tb, "redis-server", &o.Dir, func() (*Server, error) { return Start(context.Background(), o) })
}

// startT is what every Start…T does around its start: the data in a fresh
// temp dir unless *dir is set, the test failed (not skipped) when start
// fails, and what was started stopped when the test ends.
func startT[S interface{ Stop() error }](tb testing.TB, what string, dir *string, start func() (S, error)) S {
	tb.Helper()
	if *dir == "" {
		*dir = tb.TempDir()
	}
	s, err := start()
	if err != nil {
		tb.Fatalf("start %s: %v", what, err)
	}
	tb.Cleanup(func() { _ = s.Stop() })
	return s
}
