package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/server/auth"
)

// tokenUsage is the help text of `consentd token`.
const tokenUsage = `Usage: consentd token create --site ID [--name NAME] [--sites-dir DIR]

create makes a new admin API token for a site. It prints the token once
(store it, e.g. in a password manager: it cannot be shown again) and the
lines to add to the site file, which keeps only the token's SHA-256.
Then reload consentd (kill -HUP). To revoke a token, delete its lines
and reload.

Flags:
  --site ID         the site the token is for (required)
  --name NAME       what the token is for, shown in logs (default "admin")
  --sites-dir DIR   where the site files are, to check that the site
                    exists (default $CONSENTD_SITES_DIR or config/sites)

Exit status: 0 done, 1 the site does not exist, 2 usage error.
`

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
	siteID := fs.String("site", "", "")
	name := fs.String("name", "admin", "")
	dir := fs.String("sites-dir", "", "")
	if code, done := parseSub(fs, args, "token create", tokenUsage, stdout, stderr); done {
		return code
	}
	switch {
	case *siteID == "":
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
	file := filepath.Join(*dir, *siteID+".yaml")
	if _, err := site.Load(file); err != nil {
		fmt.Fprintf(stderr, "consentd token create: site %q: %v\n", *siteID, err)
		return 1
	}
	token, err := auth.New()
	if err != nil {
		fmt.Fprintf(stderr, "consentd token create: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, `Admin token for site %q (shown only now; store it safely):

  %s

Add to %s, then reload consentd (kill -HUP <pid>):

adminTokens:
  - name: %q
    hash: %s
    created: "%s"
`, *siteID, token, file, *name, auth.Hash(token), now.UTC().Format("2006-01-02"))
	return 0
}
