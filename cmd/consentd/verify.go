package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/proof/audit"
)

// verifyUsage is the help text of `consentd verify`.
const verifyUsage = `Usage: consentd verify FILE [--keys KEYS.json] [--checkpoints CPS.json] [--notices DIR]
                       [--report REPORT.json]...

verify checks an export of the consent log offline (docs/proof.md): every
record's hash, every link of the hash chain, seq continuity, every
receipt and batch signature, the checkpoints, and that each cited notice
version has its snapshot. Scan records (consentd scan --record) are
checked like decisions and listed. FILE is a proof bundle (.proof.zip,
from format=proof or consentd export --format proof) or an NDJSON export.

Flags:
  --keys FILE         the public keys ({"keys":[...]}), e.g. a saved copy of
                      https://HOST/.well-known/consentd-keys.json. Required
                      for NDJSON; a bundle brings its own keys.json, used
                      when --keys is not given (then compare the key IDs
                      printed with the ones the controller published)
  --checkpoints FILE  checkpoints (GET /v1/sites/{site}/checkpoints) to check
                      the records against; for a bundle, replaces its
                      checkpoints.json (use copies published or escrowed
                      elsewhere)
  --notices DIR       notice snapshots <version>.json, for an NDJSON export
  --report FILE       a scan's report.json: once the export verifies, check
                      that a scan record of it has the report's SHA-256 and
                      summarises it (site, times, pages, counts); repeatable

Exit status: 0 everything verified (a summary is printed), 1 a problem:
the first bad record is named (line, record ID, seq) with what is wrong,
or a report is not the one recorded; 2 usage error or unreadable input.
`

// runVerify runs `consentd verify ARGS...` and returns the exit code.
func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("consentd verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	keysFile := fs.String("keys", "", "")
	cpsFile := fs.String("checkpoints", "", "")
	noticesDir := fs.String("notices", "", "")
	var reports []string
	fs.Func("report", "", func(v string) error { reports = append(reports, v); return nil })
	// The file may come before or after the flags.
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, verifyUsage)
			return 0
		}
		fmt.Fprintf(stderr, "consentd verify: %v\n\n%s", err, verifyUsage)
		return 2
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "consentd verify: unexpected argument %q\n\n%s", fs.Arg(0), verifyUsage)
		return 2
	}
	if file == "" {
		fmt.Fprint(stderr, "consentd verify: which file? give an export or a proof bundle\n\n"+verifyUsage)
		return 2
	}
	reportBodies := make([][]byte, len(reports))
	for i, r := range reports {
		b, err := os.ReadFile(r)
		if err != nil {
			fmt.Fprintf(stderr, "consentd verify: --report: %v\n", err)
			return 2
		}
		reportBodies[i] = b
	}
	var o audit.Options
	if *keysFile != "" {
		b, err := os.ReadFile(*keysFile)
		if err == nil {
			o.Keys, err = proof.ParseKeySet(b)
		}
		if err != nil {
			fmt.Fprintf(stderr, "consentd verify: --keys: %v\n", err)
			return 2
		}
	}
	if *cpsFile != "" {
		b, err := os.ReadFile(*cpsFile)
		if err == nil {
			o.Checkpoints, err = audit.ParseCheckpoints(b)
		}
		if err != nil {
			fmt.Fprintf(stderr, "consentd verify: --checkpoints: %v\n", err)
			return 2
		}
	}
	if *noticesDir != "" {
		n, err := readNotices(*noticesDir)
		if err != nil {
			fmt.Fprintf(stderr, "consentd verify: --notices: %v\n", err)
			return 2
		}
		o.Notices = n
	}
	isBundle, err := audit.IsBundle(file)
	if err != nil {
		fmt.Fprintf(stderr, "consentd verify: %v\n", err)
		return 2
	}
	var records io.ReadCloser
	if isBundle {
		b, err := audit.OpenBundle(file)
		if err != nil {
			fmt.Fprintf(stderr, "consentd verify: %v\n", err)
			return 2
		}
		defer b.Close()
		if *keysFile == "" {
			o.Keys = b.Keys
			fmt.Fprintf(stdout, "keys: taken from the bundle's keys.json; compare the key IDs below with those the controller publishes\n")
		}
		if *cpsFile == "" {
			o.Checkpoints = b.Checkpoints
		}
		if *noticesDir == "" {
			o.Notices = b.Notices
		}
		o.Site = b.Site // a bundle is of one site: a record of another was moved
		if records, err = b.Records(); err != nil {
			fmt.Fprintf(stderr, "consentd verify: %v\n", err)
			return 2
		}
	} else {
		if *keysFile == "" {
			fmt.Fprint(stderr, "consentd verify: --keys is required for an NDJSON export\n\n"+verifyUsage)
			return 2
		}
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintf(stderr, "consentd verify: %v\n", err)
			return 2
		}
		records = f
	}
	defer records.Close()
	sum, err := audit.Verify(records, o)
	var p *audit.Problem
	if errors.As(err, &p) {
		fmt.Fprintf(stderr, "consentd verify: %s: FAILED: %s\n", file, p)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "consentd verify: %s: %v\n", file, err)
		return 2
	}
	fmt.Fprint(stdout, sum)
	for i, body := range reportBodies {
		sr, err := sum.CheckReport(body)
		if err != nil {
			fmt.Fprintf(stderr, "consentd verify: %s: FAILED: %v\n", reports[i], err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: the report of scan record seq %d of site %s (record %s, recorded %s): SHA-256 %s\n",
			reports[i], sr.Seq, sr.Site, sr.RecordID, sr.Time, sr.Scan.ReportSHA256)
	}
	return 0
}

// readNotices reads DIR/<version>.json files.
func readNotices(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || len(name) != 64+5 || name[64:] != ".json" {
			continue
		}
		b, err := os.ReadFile(dir + string(os.PathSeparator) + name)
		if err != nil {
			return nil, err
		}
		out[name[:64]] = b
	}
	return out, nil
}
