package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is consentd's release, the one place it is written; CHANGELOG.md
// has a section for it (TestVersionHasChangelogSection).
const version = "0.1.0"

// versionUsage is the help text of `consentd version`.
const versionUsage = `Usage: consentd version
       consentd --version

Prints the consentd version, the Go version and platform it was built
with, and the VCS revision it was built from when the build recorded one
(go build inside a git checkout does; "(modified)" marks uncommitted
changes).

Exit status: 0 done, 2 usage error.
`

// runVersion runs `consentd version` (also `consentd --version`).
func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("consentd version", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if code, done := parseSub(fs, args, "version", versionUsage, stdout, stderr); done {
		return code
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprint(stdout, versionText(info))
	return 0
}

// versionText is what `consentd version` prints, given the binary's build
// information (nil when there is none):
//
//	consentd 0.1.0
//	go1.26.0 linux/amd64
//	revision 0123abc… 2026-12-05T12:25:47Z (modified)
//
// The revision line is left out when the build recorded no revision.
func versionText(info *debug.BuildInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "consentd %s\n%s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if info == nil {
		return b.String()
	}
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	if rev := vcs["vcs.revision"]; rev != "" {
		b.WriteString("revision " + rev)
		if t := vcs["vcs.time"]; t != "" {
			b.WriteString(" " + t)
		}
		if vcs["vcs.modified"] == "true" {
			b.WriteString(" (modified)")
		}
		b.WriteString("\n")
	}
	return b.String()
}
