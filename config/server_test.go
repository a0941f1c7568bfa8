package config

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":8080" || c.SitesDir != "config/sites" || c.IPMode != IPTruncate || c.BatchMax != 256 || c.AppendTimeout != 5*time.Second {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.RateLimit != 600 || c.SiteRateLimit != 60000 || c.ConsentIDLimit != 10 {
		t.Fatalf("unexpected limit defaults: %+v", c)
	}
	if c.ReadTimeout != 10*time.Second || c.WriteTimeout != 10*time.Second || c.IdleTimeout != time.Minute {
		t.Fatalf("unexpected timeout defaults: %+v", c)
	}
	if c.NoticeCache != 16<<20 {
		t.Fatalf("notice cache %d bytes, want 16 MiB", c.NoticeCache)
	}
}

func TestLoadPrecedence(t *testing.T) {
	env := envOf(map[string]string{"CONSENTD_LISTEN": "127.0.0.1:9000", "CONSENTD_LOG_LEVEL": "debug"})
	c, err := Load([]string{"--listen", "127.0.0.1:9100"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9100" {
		t.Errorf("flag should win over env, got %s", c.Listen)
	}
	if c.LogLevel != "debug" {
		t.Errorf("env should win over default, got %s", c.LogLevel)
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad listen env", nil, map[string]string{"CONSENTD_LISTEN": "8080"}, `CONSENTD_LISTEN="8080": must be host:port`},
		{"bad listen flag", []string{"--listen=x:99999"}, nil, `--listen="x:99999": must be host:port with a port`},
		{"bad redis scheme", nil, map[string]string{"CONSENTD_REDIS_URL": "http://x"}, `CONSENTD_REDIS_URL="http://x": unknown scheme "http"`},
		{"sentinel without master", nil, map[string]string{"CONSENTD_REDIS_URL": "redis+sentinel://h:26379"}, "master_name"},
		{"password redacted", nil, map[string]string{"CONSENTD_REDIS_URL": "redis://u:hunter2@h:1/0?bogus=1"}, "xxxxx"},
		{"query password redacted", nil, map[string]string{"CONSENTD_REDIS_URL": "redis+sentinel://s:1?master_name=m&password=hunter2&bogus=1"}, "password=xxxxx"},
		{"unparseable URL not echoed", nil, map[string]string{"CONSENTD_REDIS_URL": "redis://:hunter2@host:abc/0"}, "[unparseable URL]"},
		{"notice cache too large", []string{"--notice-cache-mb=70000"}, nil, `--notice-cache-mb="70000": must be a whole number from 0 to 65536`},
		{"bad proxy", nil, map[string]string{"CONSENTD_TRUSTED_PROXIES": "10.0.0.0/8,nope"}, `CONSENTD_TRUSTED_PROXIES="10.0.0.0/8,nope": "nope": must be an IP address or CIDR range`},
		{"bad ip mode", nil, map[string]string{"CONSENTD_IP_MODE": "raw"}, `CONSENTD_IP_MODE="raw": must be "truncate", "hash" or "none"`},
		{"hash without secret", nil, map[string]string{"CONSENTD_IP_MODE": "hash"}, "CONSENTD_IP_HASH_SECRET: must be set when CONSENTD_IP_MODE=hash"},
		{"short secret is redacted", nil, map[string]string{"CONSENTD_IP_HASH_SECRET": "short"}, `CONSENTD_IP_HASH_SECRET="[redacted]": must be at least 32 characters`},
		{"bad duration", nil, map[string]string{"CONSENTD_SHUTDOWN_TIMEOUT": "soon"}, "CONSENTD_SHUTDOWN_TIMEOUT=\"soon\": must be a positive Go duration"},
		{"bad batch", []string{"--batch-max", "0"}, nil, "--batch-max=\"0\": must be a whole number from 1 to 10000"},
		{"bad bool", nil, map[string]string{"CONSENTD_DEMO": "yes please"}, "CONSENTD_DEMO=\"yes please\": must be true or false"},
		{"stray argument", []string{"serve"}, nil, `unexpected argument "serve"`},
		{"negative rate limit", nil, map[string]string{"CONSENTD_RATE_LIMIT": "-1"}, `CONSENTD_RATE_LIMIT="-1": must be a whole number from 0 to 1000000`},
		{"bad site rate limit", nil, map[string]string{"CONSENTD_SITE_RATE_LIMIT": "lots"}, `CONSENTD_SITE_RATE_LIMIT="lots": must be a whole number from 0 to 100000000`},
		{"bad consent id limit", []string{"--consent-id-limit=1.5"}, nil, `--consent-id-limit="1.5": must be a whole number from 0 to 1000000`},
		{"zero read timeout", nil, map[string]string{"CONSENTD_READ_TIMEOUT": "0s"}, `CONSENTD_READ_TIMEOUT="0s": must be a positive Go duration`},
		{"bad write timeout", nil, map[string]string{"CONSENTD_WRITE_TIMEOUT": "10"}, `CONSENTD_WRITE_TIMEOUT="10": must be a positive Go duration`},
		{"bad idle timeout", []string{"--idle-timeout", "-1m"}, nil, `--idle-timeout="-1m": must be a positive Go duration`},
		{"bad wait replicas", nil, map[string]string{"CONSENTD_REDIS_WAIT_REPLICAS": "-1"}, `CONSENTD_REDIS_WAIT_REPLICAS="-1": must be a whole number from 0 to 64`},
		{"sub-millisecond wait timeout", []string{"--redis-wait-timeout", "500us"}, nil, `--redis-wait-timeout="500us": must be a Go duration of at least 1ms`},
		{"wait on a cluster", nil, map[string]string{"CONSENTD_REDIS_URL": "redis+cluster://:hunter2@n1:7000?addr=n2:7001", "CONSENTD_REDIS_WAIT_REPLICAS": "1"},
			`CONSENTD_REDIS_WAIT_REPLICAS=1: not supported with a Redis Cluster (CONSENTD_REDIS_URL="redis+cluster://:xxxxx@n1:7000?addr=n2%3A7001")`},
		{"wait as long as a request", []string{"--redis-wait-replicas", "1", "--redis-wait-timeout", "5s"}, nil,
			"CONSENTD_REDIS_WAIT_TIMEOUT=5s: must be shorter than CONSENTD_APPEND_TIMEOUT (5s)"},
		{"wait as long as a read", nil, map[string]string{"CONSENTD_REDIS_URL": "redis://h:1/0?read_timeout=500ms", "CONSENTD_REDIS_WAIT_REPLICAS": "2", "CONSENTD_REDIS_WAIT_TIMEOUT": "500ms"},
			"CONSENTD_REDIS_WAIT_TIMEOUT=500ms: must be shorter than the Redis read timeout (500ms; read_timeout in CONSENTD_REDIS_URL)"},
		{"empty controllers flag", []string{"--controllers="}, nil, `--controllers="": must be a file path, "auto" or "off"`},
		{"controllers file among the site files", []string{"--sites-dir", "/etc/consentd/sites/", "--controllers", "/etc/consentd/sites/controllers.yaml"}, nil,
			`CONSENTD_CONTROLLERS="/etc/consentd/sites/controllers.yaml": must not be in the sites directory /etc/consentd/sites/, where every .yaml file is a site file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, envOf(tt.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("secret leaked into error: %v", err)
			}
		})
	}
}

// The replica wait: off by default; on with one primary or Sentinel; the
// timeout may be as long as the Redis URL's read timeout allows; a Cluster
// may be used without it.
func TestLoadWaitReplicas(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		replicas int
		timeout  time.Duration
	}{
		{"default", nil, 0, time.Second},
		{"one primary", map[string]string{"CONSENTD_REDIS_WAIT_REPLICAS": "1"}, 1, time.Second},
		{"sentinel", map[string]string{"CONSENTD_REDIS_URL": "redis+sentinel://s1:26379?master_name=m", "CONSENTD_REDIS_WAIT_REPLICAS": "2", "CONSENTD_REDIS_WAIT_TIMEOUT": "250ms"}, 2, 250 * time.Millisecond},
		{"long read timeout", map[string]string{"CONSENTD_REDIS_URL": "redis://h:1/0?read_timeout=10s", "CONSENTD_APPEND_TIMEOUT": "20s", "CONSENTD_REDIS_WAIT_REPLICAS": "1", "CONSENTD_REDIS_WAIT_TIMEOUT": "8s"}, 1, 8 * time.Second},
		{"cluster without wait", map[string]string{"CONSENTD_REDIS_URL": "redis+cluster://n1:7000", "CONSENTD_REDIS_WAIT_TIMEOUT": "30s"}, 0, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, envOf(tt.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.RedisWaitReplicas != tt.replicas || c.RedisWaitTimeout != tt.timeout {
				t.Fatalf("wait %d replicas for %s, want %d for %s", c.RedisWaitReplicas, c.RedisWaitTimeout, tt.replicas, tt.timeout)
			}
		})
	}
}

// The controllers file: controllers.yaml next to the sites directory,
// read when it exists (auto); none (off); or a file that must exist.
func TestControllersPath(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		path     string
		required bool
	}{
		{"default", nil, "config/controllers.yaml", false},
		{"auto next to another sites directory", []string{"--sites-dir", "/etc/consentd/sites/", "--controllers", "auto"}, "/etc/consentd/controllers.yaml", false},
		{"sites in the working directory", []string{"--sites-dir", "."}, "../controllers.yaml", false},
		{"off", []string{"--controllers", "off"}, "", false},
		{"a file", []string{"--controllers", "/etc/consentd/access.yaml"}, "/etc/consentd/access.yaml", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, envOf(nil), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if path, required := c.ControllersPath(); path != tt.path || required != tt.required {
				t.Errorf("ControllersPath() = %q, %v; want %q, %v", path, required, tt.path, tt.required)
			}
		})
	}
}

func TestHelpDocumentsEveryVariable(t *testing.T) {
	var out strings.Builder
	_, err := Load([]string{"--help"}, envOf(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("want flag.ErrHelp, got %v", err)
	}
	for _, o := range options() {
		if !strings.Contains(out.String(), EnvName(o.name)) || !strings.Contains(out.String(), "-"+o.name) {
			t.Errorf("--help does not document %s / --%s", EnvName(o.name), o.name)
		}
	}
}

func TestRedisOptionsKinds(t *testing.T) {
	tests := []struct{ url, kind string }{
		{"redis://127.0.0.1:6379/0", "single"},
		{"rediss://user:pw@redis.example:6380/1", "single"},
		{"unix:///run/redis.sock", "single"},
		{"redis+sentinel://s1:26379?master_name=mymaster&addr=s2:26379", "sentinel"},
		{"redis+cluster://n1:7000?addr=n2:7001&addr=n3:7002", "cluster"},
	}
	for _, tt := range tests {
		got, err := RedisOptions(tt.url)
		if err != nil {
			t.Errorf("%s: %v", tt.url, err)
			continue
		}
		if got.Kind != tt.kind {
			t.Errorf("%s: kind %s, want %s", tt.url, got.Kind, tt.kind)
		}
		c := got.Client()
		_ = c.Close()
	}
}

func TestParsePrefixes(t *testing.T) {
	p, err := ParsePrefixes("10.0.0.0/8, 192.168.1.7 ,::1")
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 3 || p[1].Bits() != 32 || p[2].Bits() != 128 {
		t.Fatalf("got %v", p)
	}
}
