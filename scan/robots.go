package scan

import (
	"bufio"
	"bytes"
	"strings"
)

// UserAgent is the product token robots.txt groups can name to give the
// scan rules of its own (User-agent: consentd-scan).
const UserAgent = "consentd-scan"

// Robots is a parsed robots.txt (RFC 9309).
type Robots struct {
	groups []robotsGroup
	// Sitemaps are the Sitemap: lines, as written.
	Sitemaps []string
}

type robotsGroup struct {
	agents []string // lower case
	rules  []robotsRule
}

type robotsRule struct {
	allow bool
	path  string
}

// ParseRobots reads robots.txt. Unknown lines are ignored, as the RFC
// asks; an empty or unreadable file allows everything.
func ParseRobots(data []byte) *Robots {
	r := &Robots{}
	var cur *robotsGroup
	inAgents := false // the previous record was a user-agent line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 512*1024)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		switch key {
		case "user-agent":
			if !inAgents || cur == nil {
				r.groups = append(r.groups, robotsGroup{})
				cur = &r.groups[len(r.groups)-1]
			}
			cur.agents = append(cur.agents, strings.ToLower(val))
			inAgents = true
		case "allow", "disallow":
			inAgents = false
			if cur == nil || val == "" { // "Disallow:" allows everything
				continue
			}
			cur.rules = append(cur.rules, robotsRule{allow: key == "allow", path: val})
		case "sitemap":
			r.Sitemaps = append(r.Sitemaps, val)
		default:
			inAgents = false
		}
	}
	return r
}

// Allowed reports whether agent may fetch path (with its query): the
// rules of the groups naming agent, else those of the groups for *; the
// longest matching rule decides, Allow on a tie; /robots.txt always.
func (r *Robots) Allowed(agent, path string) bool {
	if r == nil || path == "/robots.txt" {
		return true
	}
	agent = strings.ToLower(agent)
	rules, ok := r.rulesFor(func(a string) bool { return a == agent })
	if !ok {
		rules, _ = r.rulesFor(func(a string) bool { return a == "*" })
	}
	best, allow := -1, true
	for _, rule := range rules {
		if !robotsMatch(rule.path, path) {
			continue
		}
		if n := len(rule.path); n > best || (n == best && rule.allow) {
			best, allow = n, rule.allow
		}
	}
	return allow
}

// rulesFor joins the rules of every group that names a matching agent;
// found is false when no group does.
func (r *Robots) rulesFor(match func(agent string) bool) (rules []robotsRule, found bool) {
	for _, g := range r.groups {
		for _, a := range g.agents {
			if match(a) {
				rules = append(rules, g.rules...)
				found = true
				break
			}
		}
	}
	return rules, found
}

// robotsMatch matches a rule path, where * is any text and a final $
// ends the path, against the start of path.
func robotsMatch(pattern, path string) bool {
	anchored := strings.HasSuffix(pattern, "$")
	pattern = strings.TrimSuffix(pattern, "$")
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(path, parts[0]) {
		return false
	}
	rest := path[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 && anchored {
			return strings.HasSuffix(rest, p)
		}
		j := strings.Index(rest, p)
		if j < 0 {
			return false
		}
		rest = rest[j+len(p):]
	}
	return !anchored || rest == ""
}
