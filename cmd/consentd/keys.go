package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/proof"
)

// keysUsage is the help text of `consentd keys`.
const keysUsage = `Usage: consentd keys create [--out FILE]
       consentd keys public [--signing-key KEY|FILE]

create makes a new Ed25519 signing key for receipts and checkpoints
(docs/proof.md). Without --out it prints the private key as the line
CONSENTD_SIGNING_KEY=ed25519:... (keep it secret: whoever has it can sign
receipts), then the public key entry. With --out it writes the private
key to FILE (mode 0600; an existing file is never overwritten) and prints
only the public key: set CONSENTD_SIGNING_KEY=FILE.

public prints the public key entry of a signing key (default
$CONSENTD_SIGNING_KEY). After a rotation, put the old key's entry in the
--public-keys file ({"keys":[entry, ...]}) so it stays published as
retired and older receipts stay verifiable.

Exit status: 0 done, 1 the key could not be written or read, 2 usage error.
`

// runKeys runs `consentd keys ARGS...` and returns the exit code.
func runKeys(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "consentd keys: missing command\n\n"+keysUsage)
		return 2
	}
	switch args[0] {
	case "create":
		return keysCreate(args[1:], stdout, stderr)
	case "public":
		return keysPublic(args[1:], stdout, stderr, os.Getenv)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, keysUsage)
		return 0
	}
	fmt.Fprintf(stderr, "consentd keys: unknown command %q\n\n%s", args[0], keysUsage)
	return 2
}

func keysCreate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("consentd keys create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "")
	if code, done := parseSub(fs, args, "keys create", keysUsage, stdout, stderr); done {
		return code
	}
	k, err := proof.NewSigningKey()
	if err != nil {
		fmt.Fprintf(stderr, "consentd keys create: %v\n", err)
		return 1
	}
	pub, _ := json.Marshal(k.Public(""))
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = fmt.Fprintln(f, k.Secret())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "consentd keys create: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "# signing key %s written to %s: set %s=%s\n%s\n", k.ID(), *out, config.EnvName("signing-key"), *out, pub)
		return 0
	}
	fmt.Fprintf(stdout, "# signing key %s: keep this line secret\n%s=%s\n# its public key (served at /.well-known/consentd-keys.json):\n%s\n",
		k.ID(), config.EnvName("signing-key"), k.Secret(), pub)
	return 0
}

func keysPublic(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("consentd keys public", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	v := fs.String("signing-key", "", "")
	if code, done := parseSub(fs, args, "keys public", keysUsage, stdout, stderr); done {
		return code
	}
	if *v == "" {
		*v = getenv(config.EnvName("signing-key"))
	}
	if *v == "" {
		fmt.Fprintf(stderr, "consentd keys public: no key: give --signing-key or set %s\n", config.EnvName("signing-key"))
		return 2
	}
	k, err := proof.LoadSigningKey(*v)
	if err != nil {
		fmt.Fprintf(stderr, "consentd keys public: %v\n", err)
		return 1
	}
	pub, _ := json.Marshal(k.Public(proof.StatusRetired))
	fmt.Fprintf(stdout, "%s\n", pub)
	return 0
}
