package scan

import (
	_ "embed"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// entryHostsYAML is the built-in table of the catalogue entries' hosts
// (patterns_hosts.yaml).
//
//go:embed patterns_hosts.yaml
var entryHostsYAML []byte

// EntryHosts maps a service catalogue entry's name to the hosts its tags
// contact: "host" (and its subdomains) or "host/path" (a * in the path
// matches any text; the path matches as a prefix).
type EntryHosts map[string][]string

// hostPattern is the host part a table line may have: lowercase labels
// with at least one dot.
var hostPattern = regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)+$`)

// BuiltinEntryHosts returns the embedded table (patterns_hosts.yaml).
func BuiltinEntryHosts() (EntryHosts, error) {
	return ParseEntryHosts(entryHostsYAML)
}

// ParseEntryHosts reads a host table and checks every host.
func ParseEntryHosts(data []byte) (EntryHosts, error) {
	var h EntryHosts
	if err := yaml.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("entry hosts: %w", err)
	}
	for name, hosts := range h {
		for _, p := range hosts {
			host, _, _ := strings.Cut(p, "/")
			if !hostPattern.MatchString(host) {
				return nil, fmt.Errorf("entry hosts: %s: %q: expected a lowercase host name, optionally with a path (www.googletagmanager.com/gtag/js)", name, p)
			}
		}
	}
	return h, nil
}

// address is a host (and path) the scan saw: a request, a script or
// response that set a cookie, or a cookie's domain (no path).
type address struct{ host, path string }

func (a address) String() string { return a.host + a.path }

// Seen returns the first address that matches a host of entry name, and
// whether there is one.
func (h EntryHosts) Seen(name string, addrs []address) (address, bool) {
	for _, p := range h[name] {
		for _, a := range addrs {
			if hostMatches(p, a) {
				return a, true
			}
		}
	}
	return address{}, false
}

// hostMatches reports whether a table line p matches a: the host or a
// subdomain of it, and with a path, a path that starts with it.
func hostMatches(p string, a address) bool {
	host, path, withPath := strings.Cut(p, "/")
	if a.host != host && !strings.HasSuffix(a.host, "."+host) {
		return false
	}
	return !withPath || MatchName("/"+path+"*", a.path)
}

// addresses are the hosts and paths the report saw: every pass's
// third-party requests and their initiators, what set each cookie, and
// each cookie's domain; sorted, each once.
func (r *Report) addresses() []address {
	seen := map[address]bool{}
	add := func(raw string) {
		if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
			seen[address{strings.ToLower(u.Hostname()), u.EscapedPath()}] = true
		}
	}
	for _, p := range r.Passes {
		for _, h := range p.ThirdParty {
			add(h.URL)
			add(h.Initiator)
		}
		for _, c := range p.Cookies {
			if d := strings.ToLower(strings.TrimPrefix(c.Domain, ".")); d != "" {
				seen[address{host: d}] = true
			}
			for _, s := range c.SetBy {
				add(s.URL)
				add(s.Via)
			}
		}
	}
	out := make([]address, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
