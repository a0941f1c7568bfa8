package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/auth"
)

// tokenUsage is the help text of `consentd token`.
const tokenUsage = `Usage: consentd token create --site ID [--site ID ...] [--name NAME]
                             [--sites-dir DIR] [--controllers FILE]

create makes a new admin API token. It prints the token once (store it,
e.g. in a password manager: it cannot be shown again) and the lines to
paste, which keep only the token's SHA-256:

  - for one site, into the site file (adminTokens);
  - for several sites (--site a --site b), into the controllers file
    (tokens), where one entry grants every site it lists.

Then reload consentd (kill -HUP, or wait for --watch-sites). To revoke a
token, delete its lines and reload.

Flags:
  --site ID            a site the token grants (required; repeat it for
                       several sites)
  --name NAME          whose or what the token is, shown in logs
                       (default "admin")
  --sites-dir DIR      where the site files are, to check that each site
                       exists (default $CONSENTD_SITES_DIR or config/sites)
  --controllers FILE   the controllers file to name (default
                       $CONSENTD_CONTROLLERS, else controllers.yaml next
                       to the sites directory); given, even one site gets
                       a controllers file entry

Exit status: 0 done, 1 a site does not exist, 2 usage error.
`

// siteList is the repeatable --site flag.
type siteList []string

func (l *siteList) String() string { return strings.Join(*l, ",") }

func (l *siteList) Set(id string) error {
	if slices.Contains(*l, id) {
		return fmt.Errorf("site %q given twice", id)
	}
	*l = append(*l, id)
	return nil
}

// runToken runs `consentd token ARGS...` and returns the exit code.
func runToken(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "consentd token: missing command\n\n"+tokenUsage)
		return 2
	}
	switch args[0] {
	case "create":
		return runTokenCreate(args[1:], stdout, stderr, time.Now())
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, tokenUsage)
		return 0
	}
	fmt.Fprintf(stderr, "consentd token: unknown command %q\n\n%s", args[0], tokenUsage)
	return 2
}

func runTokenCreate(args []string, stdout, stderr io.Writer, now time.Time) int {
	fs := flag.NewFlagSet("consentd token create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var sites siteList
	fs.Var(&sites, "site", "")
	name := fs.String("name", "admin", "")
	dir := fs.String("sites-dir", "", "")
	ctlFile := fs.String("controllers", "", "")
	if code, done := parseSub(fs, args, "token create", tokenUsage, stdout, stderr); done {
		return code
	}
	switch {
	case len(sites) == 0:
		fmt.Fprint(stderr, "consentd token create: --site is required\n\n"+tokenUsage)
		return 2
	case *name == "" || len(*name) > 64:
		fmt.Fprint(stderr, "consentd token create: --name must be 1 to 64 characters\n")
		return 2
	}
	if *dir == "" {
		*dir = os.Getenv(config.EnvName("sites-dir"))
	}
	if *dir == "" {
		*dir = filepath.Join("config", "sites")
	}
	entry := len(sites) > 1 || *ctlFile != "" // a controllers file entry, not site file lines
	if *ctlFile == "" {
		*ctlFile, _ = config.ControllersPath(os.Getenv(config.EnvName("controllers")), *dir)
	}
	if entry && *ctlFile == "" {
		fmt.Fprintf(stderr, "consentd token create: a token for several sites is declared in the controllers file, which %s=off turns off\n", config.EnvName("controllers"))
		return 2
	}
	for _, id := range sites {
		if _, err := site.Load(filepath.Join(*dir, id+".yaml")); err != nil {
			fmt.Fprintf(stderr, "consentd token create: site %q: %v\n", id, err)
			return 1
		}
	}
	token, err := auth.New()
	if err != nil {
		fmt.Fprintf(stderr, "consentd token create: %v\n", err)
		return 1
	}
	quoted := make([]string, len(sites))
	for i, id := range sites {
		quoted[i] = fmt.Sprintf("%q", id)
	}
	lines := fmt.Sprintf("  - name: %q\n    hash: %s\n    created: \"%s\"\n", *name, auth.Hash(token), now.UTC().Format("2006-01-02"))
	if !entry {
		fmt.Fprintf(stdout, "Admin token for site %s (shown only now; store it safely):\n\n  %s\n\nAdd to %s, then reload consentd (kill -HUP <pid>):\n\nadminTokens:\n%s",
			quoted[0], token, filepath.Join(*dir, sites[0]+".yaml"), lines)
		return 0
	}
	lines += "    sites: [" + strings.Join(quoted, ", ") + "]\n"
	var where string
	switch b, err := os.ReadFile(*ctlFile); {
	case err != nil:
		where, lines = "Create "+*ctlFile+" with these lines", "tokens:\n"+lines
	case tokensKey.Match(b):
		where = "Add under tokens: in " + *ctlFile
	default:
		where, lines = "Add to "+*ctlFile, "tokens:\n"+lines
	}
	plural := map[bool]string{false: "site", true: "sites"}[len(sites) > 1]
	fmt.Fprintf(stdout, "Admin token for %s %s (shown only now; store it safely):\n\n  %s\n\n%s, then reload consentd (kill -HUP <pid>):\n\n%s",
		plural, strings.Join(quoted, ", "), token, where, lines)
	return 0
}

// tokensKey is the controllers file's block-style tokens: line, under
// which a new entry goes.
var tokensKey = regexp.MustCompile(`(?m)^tokens:[ \t]*(#.*)?$`)
