package main

import (
	"bufio"
	"bytes"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	goLine := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // prefix
		stderr string
	}{
		{"version", nil, 0, "consentd 0.1.0\n" + goLine + "\n", ""},
		{"help", []string{"--help"}, 0, "Usage: consentd version", ""},
		{"extra argument", []string{"now"}, 2, "", `consentd version: unexpected argument "now"`},
		{"unknown flag", []string{"--short"}, 2, "", "flag provided but not defined: -short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runVersion(tt.args, &out, &errOut)
			if code != tt.code || !strings.HasPrefix(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, stdout starting %q, stderr with %q",
					code, &out, &errOut, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestVersionNames: `consentd version`, `consentd --version` and
// `consentd -version` run the same command.
func TestVersionNames(t *testing.T) {
	for _, name := range []string{"version", "--version", "-version"} {
		sub, ok := subcommands()[name]
		if !ok || reflect.ValueOf(sub).Pointer() != reflect.ValueOf(runVersion).Pointer() {
			t.Errorf("consentd %s does not run the version command", name)
		}
	}
}

func TestVersionText(t *testing.T) {
	head := "consentd 0.1.0\n" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	vcs := func(kv ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{}
		for i := 0; i < len(kv); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return info
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build information", nil, head},
		{"no VCS information (go build -buildvcs=false)", vcs("-compiler", "gc"), head},
		{"revision and time", vcs("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-05T12:25:47Z", "vcs.modified", "false"),
			head + "revision " + rev + " 2026-12-05T12:25:47Z\n"},
		{"uncommitted changes", vcs("vcs.revision", rev, "vcs.time", "2026-12-05T12:25:47Z", "vcs.modified", "true"),
			head + "revision " + rev + " 2026-12-05T12:25:47Z (modified)\n"},
		{"revision only", vcs("vcs.revision", rev), head + "revision " + rev + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionText(tt.info); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestVersionHasChangelogSection: the version the binary prints is the
// newest release in CHANGELOG.md, a section "## <version> (YYYY-MM-DD)".
func TestVersionHasChangelogSection(t *testing.T) {
	f, err := os.Open("../../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "## ") || line == "## Unreleased" {
			continue
		}
		if !strings.HasPrefix(line, "## "+version+" (") {
			t.Fatalf("the newest release in CHANGELOG.md is %q; the version const is %s", line, version)
		}
		return
	}
	t.Fatalf("CHANGELOG.md has no section for %s", version)
}
