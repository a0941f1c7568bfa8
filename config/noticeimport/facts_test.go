package noticeimport

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// A fixture is a notice in testdata (.txt, .md, .html, or .docx.src,
// built into a .docx by writeDocx) with the facts it contains listed in
// a .facts file of the same name, one per line:
//
//	controllers[0].businessId = 2345678-1     the field holds exactly this
//	security ~ lukitussa tilassa              the field contains this
//	? sources[0] = Asiakas itse               a known gap: counted, not failing
//
// A path names a field of the notice as in /n/{site}.json (without the
// language: a text's only translation is its value); "\n" is a newline;
// a list is compared as its values joined with ", ".

type fact struct {
	line      int
	path, op  string
	want      string
	knownMiss bool
}

type fixture struct {
	name, source string
	facts        []fact
}

// fixtures reads testdata/*.facts and finds each one's source.
func fixtures(t *testing.T) []fixture {
	t.Helper()
	files, err := filepath.Glob("testdata/*.facts")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var out []fixture
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".facts")
		fx := fixture{name: name}
		for _, ext := range []string{".txt", ".md", ".html", ".docx.src"} {
			if _, err := os.Stat(filepath.Join("testdata", name+ext)); err == nil {
				fx.source = filepath.Join("testdata", name+ext)
			}
		}
		if fx.source == "" {
			t.Fatalf("%s: no source file", f)
		}
		fx.facts = readFacts(t, f)
		out = append(out, fx)
	}
	return out
}

var factLine = regexp.MustCompile(`^(\?\s*)?([A-Za-z][\w.\[\]-]*)\s+([=~])\s?(.*)$`)

func readFacts(t *testing.T, path string) []fact {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []fact
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := factLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%s:%d: not a fact: %q", path, n, line)
		}
		out = append(out, fact{line: n, knownMiss: m[1] != "", path: m[2], op: m[3], want: strings.ReplaceAll(m[4], `\n`, "\n")})
	}
	return out
}

// load returns a fixture's bytes and the name to import it under
// (.docx.src is built into a .docx).
func (fx fixture) load(t *testing.T) (name string, data []byte) {
	t.Helper()
	data, err := os.ReadFile(fx.source)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(fx.source, ".docx.src") {
		return strings.TrimSuffix(fx.source, ".src"), writeDocx(t, string(data))
	}
	return fx.source, data
}

// importFixture imports a fixture with the default options.
func importFixture(t *testing.T, fx fixture) *Result {
	t.Helper()
	name, data := fx.load(t)
	res, err := Import(context.Background(), name, data, Options{})
	if err != nil {
		t.Fatalf("%s: %v", fx.source, err)
	}
	return res
}

// valueAt returns the value at a path of the notice's JSON, as text.
func valueAt(doc any, path string) (string, bool) {
	cur := doc
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.Index(part, "["); i >= 0 {
			n, err := strconv.Atoi(strings.Trim(part[i:], "[]"))
			if err != nil {
				return "", false
			}
			name, idx = part[:i], n
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[name]; !ok {
			return "", false
		}
		if idx >= 0 {
			l, ok := cur.([]any)
			if !ok || idx >= len(l) {
				return "", false
			}
			cur = l[idx]
		}
	}
	return asText(cur), true
}

// asText writes a JSON value as a fact compares it.
func asText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = asText(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		if len(x) == 1 {
			for _, e := range x {
				return asText(e)
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return fmt.Sprint(keys)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// check reports whether a fact holds in the notice's JSON, and what the
// field holds.
func (f fact) check(doc any) (ok bool, got string) {
	got, found := valueAt(doc, f.path)
	if !found && f.want != "" {
		return false, "(no such field)"
	}
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if f.op == "~" {
		return strings.Contains(norm(got), norm(f.want)), got
	}
	if strings.Contains(f.want, "\n") {
		return got == f.want, got
	}
	return norm(got) == norm(f.want), got
}

// noticeJSON is the draft's notice as generic JSON.
func noticeJSON(t *testing.T, res *Result) any {
	t.Helper()
	b, err := json.Marshal(res.Site.Notice)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}
