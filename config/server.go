// Package config holds the server settings: Config, from flags and
// CONSENTD_* environment variables, and the Redis URL it names
// (RedisOptions). The per-site files are config/site's (with the privacy
// notice in config/notice); the sites directory is --sites-dir.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/consentd/consentd/proof"
)

// IP handling modes for the ledger: how the visitor's IP is kept in a record.
const (
	// IPTruncate keeps the network part only: /24 for IPv4, /48 for IPv6.
	IPTruncate = "truncate"
	// IPHash keeps a keyed hash (HMAC-SHA-256 with the configured secret).
	IPHash = "hash"
	// IPNone keeps nothing.
	IPNone = "none"
)

// Config is the server configuration. Every field has a flag and a
// CONSENTD_* environment variable; a flag given on the command line wins
// over the environment.
type Config struct {
	Listen   string // address to listen on, host:port
	RedisURL string // redis://, rediss://, unix://, redis+sentinel://, redis+cluster://
	SitesDir string // directory holding one <site>.yaml per site
	// Controllers is the controllers file setting: "auto", "off" or a
	// path (ControllersPath resolves it).
	Controllers       string
	TrustedProxies    []netip.Prefix // peers whose X-Forwarded-For is believed
	IPMode            string         // IPTruncate, IPHash or IPNone
	IPHashSecret      string         // key for IPHash; never logged
	Demo              bool           // serve the demo page at /
	LogLevel          string         // debug, info, warn, error
	LogFormat         string         // text or json
	ShutdownTimeout   time.Duration  // how long graceful shutdown may take
	BatchMax          int            // most records in one group commit
	BatchWorkers      int            // group commits in flight at once
	AppendTimeout     time.Duration  // how long a request waits for its record to be stored
	RateLimit         int            // consent posts per client address (IPv4, IPv6 /64) per site per minute, in Redis; 0 turns the limit off
	SiteRateLimit     int            // consent posts per site per minute, in Redis; 0 turns the limit off
	ConsentIDLimit    int            // consent posts per consent ID per minute, in Redis; 0 turns the limit off
	ReadTimeout       time.Duration  // most time to read one request (headers and body)
	WriteTimeout      time.Duration  // most time to write one response
	IdleTimeout       time.Duration  // most time a keep-alive connection waits for its next request
	AdminFailLimit    int            // failed admin API authentications per client IP per minute
	RetentionInterval time.Duration  // how often the log is trimmed to each site's retention
	GeoIPDB           string         // MaxMind-format country or city database; "" for none
	CountryHeader     string         // country header set by a trusted CDN (e.g. CF-IPCountry); "" for none
	RegionHeader      string         // subdivision header set by a trusted CDN (e.g. CF-Region-Code); "" for none
	GeoIPWatch        time.Duration  // how often the database file is checked for changes
	WatchSites        time.Duration  // how often the sites directory is checked for changes; 0: only SIGHUP reloads
	DebugListen       string         // address for pprof; "" (default) serves none
	// CacheDir keeps built assets (compressed widget bundles and notice
	// pages, by content) so a restart reuses them; "" keeps none.
	CacheDir string
	// NoticeCache is the most bytes of notice pages, snapshots and JSON
	// (with their compressed forms) kept in memory across all sites; the
	// rest is rendered again when asked for. 0 keeps none.
	NoticeCache int64
	// SigningKey signs receipts and checkpoints: "ed25519:…" or a file
	// holding that (consentd keys create). Never logged. "": an ephemeral
	// key (warned at start; docs/proof.md).
	SigningKey string
	// PublicKeysFile lists retired public keys (keys.json format) that stay
	// published after a key rotation; "" for none.
	PublicKeysFile string
	// CheckpointInterval is how often each site's chain head is signed
	// (when it moved); 0: not by time.
	CheckpointInterval time.Duration
	// CheckpointEvery signs a site's chain head whenever it passes a
	// multiple of this many records; 0: not by count.
	CheckpointEvery int
	// RedisWaitReplicas is how many replicas must confirm a batch of
	// records (Redis WAIT) before they are acknowledged; 0: no WAIT.
	RedisWaitReplicas int
	// RedisWaitTimeout is how long a batch waits for RedisWaitReplicas.
	RedisWaitTimeout time.Duration
}

// envPrefix is put in front of every environment variable name.
const envPrefix = "CONSENTD_"

// option describes one setting: its flag name, the help text and how to
// parse it into the Config.
type option struct {
	name  string // flag name; the variable is CONSENTD_ + upper snake case
	def   string
	usage string
	set   func(c *Config, v string) error
}

// EnvName returns the environment variable that sets the flag name.
func EnvName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func options() []option {
	return []option{
		{"listen", ":8080", "address to listen on (host:port)", func(c *Config, v string) error {
			if _, _, err := splitHostPort(v); err != nil {
				return err
			}
			c.Listen = v
			return nil
		}},
		{"redis-url", "redis://127.0.0.1:6379/0", "Redis to store the ledger in: redis://[user:pass@]host:port/db, rediss:// (TLS), unix:///path.sock, " +
			"redis+sentinel://host:port?addr=host2:port&master_name=NAME, redis+cluster://host:port?addr=host2:port", func(c *Config, v string) error {
			if _, err := RedisOptions(v); err != nil {
				return err
			}
			c.RedisURL = v
			return nil
		}},
		{"redis-wait-replicas", "0", "replicas that must have each consent record (Redis WAIT after every batch) before it is acknowledged; " +
			"fewer within --redis-wait-timeout: 503, and the widget's retry is answered once they do (0 = do not wait; not with redis+cluster)",
			intSetter(0, 64, func(c *Config, n int) { c.RedisWaitReplicas = n })},
		{"redis-wait-timeout", "1s", "how long a batch waits for --redis-wait-replicas replicas (Go duration, at least 1ms; shorter than --append-timeout and the Redis read timeout)", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Millisecond {
				return errors.New("must be a Go duration of at least 1ms such as 500ms or 1s")
			}
			c.RedisWaitTimeout = d
			return nil
		}},
		{"sites-dir", "config/sites", "directory with one <site-id>.yaml file per site", func(c *Config, v string) error {
			if v == "" {
				return errors.New("must be a directory path")
			}
			c.SitesDir = v
			return nil
		}},
		{"controllers", "auto", "the controllers file: admin tokens that each grant the sites they list (docs/configuration.md#controllers-file); " +
			"auto: " + ControllersFileName + " next to the sites directory, when it exists; off: none", func(c *Config, v string) error {
			if v == "" {
				return errors.New(`must be a file path, "auto" or "off"`)
			}
			c.Controllers = v
			return nil
		}},
		{"trusted-proxies", "", "comma-separated IPs or CIDR ranges of reverse proxies whose X-Forwarded-For is trusted (empty: none)", func(c *Config, v string) error {
			p, err := ParsePrefixes(v)
			c.TrustedProxies = p
			return err
		}},
		{"ip-mode", IPTruncate, "how a visitor's IP is kept in the ledger: truncate (/24, /48), hash (HMAC with --ip-hash-secret) or none", func(c *Config, v string) error {
			switch v {
			case IPTruncate, IPHash, IPNone:
				c.IPMode = v
				return nil
			}
			return errors.New(`must be "truncate", "hash" or "none"`)
		}},
		{"ip-hash-secret", "", "secret key for --ip-mode=hash, at least 32 characters (prefer the environment variable; never logged)", func(c *Config, v string) error {
			if v != "" && len(v) < 32 {
				return errors.New("must be at least 32 characters")
			}
			c.IPHashSecret = v
			return nil
		}},
		{"demo", "false", "serve the demo page at / (for make run)", boolSetter(func(c *Config, b bool) { c.Demo = b })},
		{"log-level", "info", "log level: debug, info, warn or error", func(c *Config, v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return errors.New(`must be "debug", "info", "warn" or "error"`)
		}},
		{"log-format", "text", "log format: text or json", func(c *Config, v string) error {
			if v != "text" && v != "json" {
				return errors.New(`must be "text" or "json"`)
			}
			c.LogFormat = v
			return nil
		}},
		{"shutdown-timeout", "15s", "how long a graceful shutdown may take (Go duration)", durationSetter(func(c *Config, d time.Duration) { c.ShutdownTimeout = d })},
		{"batch-max", "256", "most consent records written to Redis in one group commit (1-10000)", intSetter(1, 10000, func(c *Config, n int) { c.BatchMax = n })},
		{"batch-workers", "1", "group commits in flight at once (1-64); one gives the largest batches", intSetter(1, 64, func(c *Config, n int) { c.BatchWorkers = n })},
		{"admin-fail-limit", "10", "most failed admin API sign-ins (401/403) per client IP per minute, per instance; more get 429", intSetter(1, 10000, func(c *Config, n int) { c.AdminFailLimit = n })},
		{"rate-limit", "600", "most consent posts per client address (an IPv4 address or an IPv6 /64) per site per minute, shared by every instance through Redis (0 = no limit)", intSetter(0, 100000000, func(c *Config, n int) { c.RateLimit = n })},
		{"site-rate-limit", "60000", "most consent posts per site per minute, shared by every instance through Redis (0 = no limit)", intSetter(0, 100000000, func(c *Config, n int) { c.SiteRateLimit = n })},
		{"consent-id-limit", "10", "most consent posts per consent ID per minute, shared by every instance through Redis (0 = no limit)", intSetter(0, 1000000, func(c *Config, n int) { c.ConsentIDLimit = n })},
		{"read-timeout", "10s", "most time a client may take to send one request, headers and body; then the connection is closed (Go duration)", durationSetter(func(c *Config, d time.Duration) { c.ReadTimeout = d })},
		{"write-timeout", "10s", "most time a response may take to be sent; then the connection is closed (Go duration)", durationSetter(func(c *Config, d time.Duration) { c.WriteTimeout = d })},
		{"idle-timeout", "60s", "most time a keep-alive connection may wait for its next request (Go duration)", durationSetter(func(c *Config, d time.Duration) { c.IdleTimeout = d })},
		{"debug-listen", "", "address for Go pprof profiling, e.g. 127.0.0.1:6060 (default: off; never expose it publicly)", func(c *Config, v string) error {
			if v != "" {
				if _, _, err := splitHostPort(v); err != nil {
					return err
				}
			}
			c.DebugListen = v
			return nil
		}},
		{"retention-interval", "1h", "how often each site's consent log is trimmed to its logRetentionDays (Go duration)", durationSetter(func(c *Config, d time.Duration) { c.RetentionInterval = d })},
		{"geoip-db", "", "MaxMind-format country or city database (GeoLite2-Country/City, DB-IP lite, GeoIP2) for the visitor's region; empty = none (every visitor opt-in)", func(c *Config, v string) error { c.GeoIPDB = v; return nil }},
		{"country-header", "", "request header with the visitor's ISO country set by your CDN (e.g. CF-IPCountry); believed only from --trusted-proxies", headerSetter(func(c *Config, v string) { c.CountryHeader = v })},
		{"region-header", "", "request header with the visitor's ISO 3166-2 subdivision set by your CDN (e.g. CF-Region-Code); believed only from --trusted-proxies", headerSetter(func(c *Config, v string) { c.RegionHeader = v })},
		{"cache-dir", "auto", "directory for compressed widget bundles and notice pages, kept by content so a restart reuses them: a path, auto (the user's cache directory, e.g. ~/.cache/consentd) or off", func(c *Config, v string) error {
			switch v {
			case "off":
				c.CacheDir = ""
			case "auto":
				c.CacheDir = ""
				if d, err := os.UserCacheDir(); err == nil {
					c.CacheDir = filepath.Join(d, "consentd")
				}
			case "":
				return errors.New(`must be a directory, "auto" or "off"`)
			default:
				c.CacheDir = v
			}
			return nil
		}},
		{"notice-cache-mb", "16", "MiB of rendered notice pages, snapshots and JSON (with their compressed forms) kept in memory across all sites, the least recently used leaving first; others are rendered again when asked for (0-65536; 0 = none kept)",
			intSetter(0, 65536, func(c *Config, n int) { c.NoticeCache = int64(n) << 20 })},
		{"watch-sites", "0s", "how often the sites directory is checked for changed, added or removed files, which reload the sites (Go duration; 0 = only on SIGHUP; consentd-dev uses 1s)", offDurationSetter(func(c *Config, d time.Duration) { c.WatchSites = d })},
		{"geoip-watch", "1m", "how often the --geoip-db file is checked for changes and reloaded (Go duration)", durationSetter(func(c *Config, d time.Duration) { c.GeoIPWatch = d })},
		{"append-timeout", "5s", "how long a consent request waits for Redis before answering 503 (Go duration)", durationSetter(func(c *Config, d time.Duration) { c.AppendTimeout = d })},
		{"signing-key", "", "Ed25519 key that signs receipts and checkpoints: ed25519:<base64url seed> or a file holding it, from consentd keys create (prefer the environment variable; never logged; empty: an ephemeral key, for development only)", func(c *Config, v string) error {
			if v != "" {
				if _, err := proof.LoadSigningKey(v); err != nil {
					return err
				}
			}
			c.SigningKey = v
			return nil
		}},
		{"public-keys", "", "JSON file of earlier public keys ({\"keys\":[…]}, as /.well-known/consentd-keys.json) that stay published as retired after a key rotation", func(c *Config, v string) error {
			if v != "" {
				b, err := os.ReadFile(v)
				if err != nil {
					return err
				}
				if _, err := proof.ParseKeySet(b); err != nil {
					return err
				}
			}
			c.PublicKeysFile = v
			return nil
		}},
		{"checkpoint-interval", "10m", "how often each site's chain head is signed and kept as a checkpoint when it moved (Go duration; 0 = not by time); also at start and shutdown", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return errors.New("must be a Go duration such as 10m, or 0 for no checkpoints by time")
			}
			c.CheckpointInterval = d
			return nil
		}},
		{"checkpoint-every", "1000", "sign a site's chain head as a checkpoint whenever it grows by this many records (1-1000000; 0 = not by count)",
			intSetter(0, 1000000, func(c *Config, n int) { c.CheckpointEvery = n })},
	}
}

func boolSetter(f func(*Config, bool)) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		f(c, b)
		return nil
	}
}

func durationSetter(f func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("must be a positive Go duration such as 500ms, 5s or 1m")
		}
		f(c, d)
		return nil
	}
}

// offDurationSetter accepts a Go duration, or 0 for off.
func offDurationSetter(f func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errors.New("must be a Go duration such as 1s or 10m, or 0 for off")
		}
		f(c, d)
		return nil
	}
}

// headerSetter accepts an HTTP header name (letters, digits, '-') or "".
func headerSetter(f func(*Config, string)) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, r := range v {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return errors.New("must be an HTTP header name such as CF-IPCountry")
			}
		}
		f(c, v)
		return nil
	}
}

func intSetter(lo, hi int, f func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		f(c, n)
		return nil
	}
}

// Load parses the server configuration from args (without the program
// name) and the environment function getenv (os.Getenv in production).
// Usage goes to out. An invalid value is an error naming the flag or the
// variable it came from and what is expected. flag.ErrHelp is returned
// for -h / --help.
func Load(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("consentd", flag.ContinueOnError)
	fs.SetOutput(out)
	opts := options()
	values := make(map[string]*string, len(opts))
	for _, o := range opts {
		values[o.name] = fs.String(o.name, "", fmt.Sprintf("%s (env %s, default %q)", o.usage, EnvName(o.name), o.def))
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: consentd [flags]\n\nconsentd serves the consent widget, records decisions in Redis and reloads site files on SIGHUP.\nEvery flag can also be set with the environment variable named after it.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (see consentd --help)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	var c Config
	for _, o := range opts {
		v, source := o.def, ""
		if env := getenv(EnvName(o.name)); env != "" {
			v, source = env, EnvName(o.name)
		}
		if given[o.name] {
			v, source = *values[o.name], "--"+o.name
		}
		if err := o.set(&c, v); err != nil {
			if source == "" {
				source = "default of --" + o.name
			}
			return Config{}, fmt.Errorf("%s=%q: %w", source, redactSecret(o.name, v), err)
		}
	}
	if c.IPMode == IPHash && c.IPHashSecret == "" {
		return Config{}, fmt.Errorf("%s: must be set when %s=hash", EnvName("ip-hash-secret"), EnvName("ip-mode"))
	}
	if err := checkWait(c); err != nil {
		return Config{}, err
	}
	if p, _ := c.ControllersPath(); p != "" && filepath.Clean(filepath.Dir(p)) == filepath.Clean(c.SitesDir) {
		return Config{}, fmt.Errorf("%s=%q: must not be in the sites directory %s, where every .yaml file is a site file", EnvName("controllers"), c.Controllers, c.SitesDir)
	}
	return c, nil
}

// ControllersFileName is the controllers file looked for next to the
// sites directory when --controllers is auto.
const ControllersFileName = "controllers.yaml"

// ControllersPath resolves the controllers file setting: the file to
// read ("" for none) and whether it must exist. "auto" (the default) is
// controllers.yaml in the sites directory's parent (config/controllers.yaml
// next to config/sites), read when it exists, so creating it later and
// reloading takes effect; "off" is none; any other value is that file,
// which must exist.
func (c Config) ControllersPath() (path string, required bool) {
	return ControllersPath(c.Controllers, c.SitesDir)
}

// ControllersPath resolves a --controllers setting for the sites
// directory sitesDir (Config.ControllersPath; also for subcommands that
// read the settings from the environment only).
func ControllersPath(setting, sitesDir string) (path string, required bool) {
	switch setting {
	case "off":
		return "", false
	case "auto", "":
		return filepath.Join(sitesDir, "..", ControllersFileName), false
	}
	return setting, true
}

// checkWait checks the replica wait against the settings it depends on:
// the kind of Redis deployment and the timeouts around it.
func checkWait(c Config) error {
	if c.RedisWaitReplicas == 0 {
		return nil
	}
	replicas, timeout := EnvName("redis-wait-replicas"), EnvName("redis-wait-timeout")
	t, err := RedisOptions(c.RedisURL)
	if err != nil {
		return fmt.Errorf("%s: %w", EnvName("redis-url"), err)
	}
	if t.Kind == "cluster" {
		return fmt.Errorf("%s=%d: not supported with a Redis Cluster (%s=%q): WAIT would not reach the master of each site's slot; "+
			"set %s=0, or use one primary or Sentinel (docs/deploy.md)", replicas, c.RedisWaitReplicas, EnvName("redis-url"), RedactURL(c.RedisURL), replicas)
	}
	if c.RedisWaitTimeout >= c.AppendTimeout {
		return fmt.Errorf("%s=%s: must be shorter than %s (%s), which a consent request waits in all", timeout, c.RedisWaitTimeout, EnvName("append-timeout"), c.AppendTimeout)
	}
	if rt := t.ReadTimeout(); rt > 0 && c.RedisWaitTimeout >= rt {
		return fmt.Errorf("%s=%s: must be shorter than the Redis read timeout (%s; read_timeout in %s), which bounds the batch and its WAIT", timeout, c.RedisWaitTimeout, rt, EnvName("redis-url"))
	}
	return nil
}

// LoadFromOS is Load with the process's arguments and environment.
func LoadFromOS() (Config, error) {
	return Load(os.Args[1:], os.Getenv, os.Stderr)
}

func redactSecret(name, v string) string {
	if strings.Contains(name, "secret") || name == "signing-key" {
		return "[redacted]"
	}
	if name == "redis-url" {
		return RedactURL(v)
	}
	return v
}

// RedactURL returns u with every password replaced (userinfo and a
// password query parameter), for logs and errors. A URL that does not
// parse is not echoed at all.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "[unparseable URL]"
	}
	if p.User != nil {
		if _, ok := p.User.Password(); ok {
			p.User = url.UserPassword(p.User.Username(), "xxxxx")
		}
	}
	q := p.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	if len(q) > 0 {
		p.RawQuery = q.Encode()
	}
	return p.String()
}

// ParsePrefixes parses a comma-separated list of IP addresses and CIDR
// ranges. A bare address is a single-host range.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, fmt.Errorf("%q: must be an IP address or CIDR range such as 10.0.0.0/8", part)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("%q: must be an IP address or CIDR range such as 10.0.0.0/8", part)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func splitHostPort(v string) (string, int, error) {
	i := strings.LastIndex(v, ":")
	if i < 0 {
		return "", 0, errors.New("must be host:port, for example :8080 or 127.0.0.1:8080")
	}
	port, err := strconv.Atoi(v[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return "", 0, errors.New("must be host:port with a port from 0 to 65535")
	}
	return v[:i], port, nil
}
