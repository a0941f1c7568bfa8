package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/export"
	"github.com/consentd/consentd/server/ledger"
)

// exportUsage is the help text of `consentd export`.
const exportUsage = `Usage: consentd export --site ID [--from T] [--to T] [--format csv|ndjson]
                       [--delimiter ,|;] [--method M] [--category C] [--country CC]
                       [--out FILE] [--sites-dir DIR] [--redis-url URL]
       consentd export --site ID --format proof [--keys KEYS.json] --out FILE

export writes a site's consent log (every stored decision, oldest first)
as CSV or NDJSON, read straight from Redis: the same records and columns
as GET /v1/sites/{site}/consents (docs/export.md).

Flags:
  --site ID          the site (required)
  --from T, --to T   RFC 3339 time (2026-11-01T12:00:00Z) or date (2026-11-01,
                     UTC; a date in --to includes that whole day); default:
                     from the first record to now
  --format F         csv (default), ndjson, or proof: a proof bundle (zip) of
                     the whole log with receipts, notice snapshots, public
                     keys and checkpoints, for consentd verify (docs/proof.md);
                     no filters
  --delimiter D      for csv: , (default) or ; (for spreadsheets whose list
                     separator is ;, such as in Finnish or Swedish settings;
                     quote it for the shell: --delimiter ';')
  --keys FILE        the public keys that sign the records (a copy of
                     /.well-known/consentd-keys.json; default: the keys of
                     $CONSENTD_SIGNING_KEY and $CONSENTD_PUBLIC_KEYS, else
                     data/signing.key, the key of make run). Only records of
                     the signed chain are exported; any other stream entry
                     is named on stderr (and in NDJSON and proof exports
                     written as a "not_verified" line). A proof bundle
                     holds these keys.
  --method M         only decisions made by accept_all, reject_all, custom,
                     gpc or withdraw
  --category C       only records where category C was granted (C or C:yes)
                     or denied (C:no)
  --country CC       only records from country CC (ISO code, FI), or unknown
  --out FILE         write to FILE (mode 0600) instead of stdout; the file
                     appears only once the export is complete
  --sites-dir DIR    where the site files are (default $CONSENTD_SITES_DIR
                     or config/sites)
  --redis-url URL    the Redis holding the log (default $CONSENTD_REDIS_URL
                     or redis://127.0.0.1:6390/0, the Redis of make run)

A summary line goes to stderr. Exit status: 0 done, 1 the export failed
(no such site, Redis unreachable or failing part-way: then --out is not
written and stdout is incomplete), 2 usage error.
`

// defaultExportRedis is the Redis `make run` starts.
const defaultExportRedis = "redis://127.0.0.1:6390/0"

// runExport runs `consentd export ARGS...` and returns the exit code.
func runExport(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// go-redis would print its dial failures to stderr too; the command
	// reports the failure itself.
	redis.SetLogger(quietRedis{})
	return exportCmd(ctx, args, stdout, stderr, os.Getenv, time.Now())
}

func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, now time.Time) int {
	fs := flag.NewFlagSet("consentd export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	siteID := fs.String("site", "", "")
	out := fs.String("out", "", "")
	dir := fs.String("sites-dir", "", "")
	redisURL := fs.String("redis-url", "", "")
	keysFile := fs.String("keys", "", "")
	for _, p := range export.Params {
		fs.String(p, "", "")
	}
	if code, done := parseSub(fs, args, "export", exportUsage, stdout, stderr); done {
		return code
	}
	switch {
	case *siteID == "":
		fmt.Fprint(stderr, "consentd export: --site is required\n\n"+exportUsage)
		return 2
	}
	if *dir == "" {
		*dir = getenv(config.EnvName("sites-dir"))
	}
	if *dir == "" {
		*dir = filepath.Join("config", "sites")
	}
	if *redisURL == "" {
		*redisURL = getenv(config.EnvName("redis-url"))
	}
	if *redisURL == "" {
		*redisURL = defaultExportRedis
	}
	target, err := config.RedisOptions(*redisURL)
	if err != nil {
		fmt.Fprintf(stderr, "consentd export: --redis-url: %v\n", err)
		return 2
	}

	// The flags are the HTTP route's parameters: one parser, the same
	// checks and messages.
	values := url.Values{}
	fs.Visit(func(f *flag.Flag) {
		for _, p := range export.Params {
			if f.Name == p {
				values.Set(p, f.Value.String())
			}
		}
	})
	s, err := site.Load(filepath.Join(*dir, *siteID+".yaml"))
	if err != nil {
		fmt.Fprintf(stderr, "consentd export: site %q: %v\n", *siteID, err)
		return 1
	}
	q, err := export.ParseQuery(s, values, now)
	var pe *export.ParamError
	if errors.As(err, &pe) {
		fmt.Fprintf(stderr, "consentd export: --%s: %s\n", pe.Param, pe.Msg)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "consentd export: %v\n", err)
		return 2
	}

	keys, err := exportKeys(*keysFile, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "consentd export: %v\n", err)
		return 2
	}
	unverified := 0
	onUnverified := func(u *ledger.UnverifiedError) {
		unverified++
		fmt.Fprintf(stderr, "consentd export: WARNING: %v (not exported as a record)\n", u)
	}
	rdb := target.Client()
	defer rdb.Close()
	var scans int // scan records written too (NDJSON and proof exports)
	write := func(w io.Writer) (int, error) {
		bw := bufio.NewWriterSize(w, 256<<10)
		var c export.Counts
		var err error
		if q.Format == export.Proof {
			c, err = export.WriteBundle(ctx, rdb, s, keys, now, bw, onUnverified)
		} else {
			c, err = export.Write(ctx, rdb, s, q, keys, bw, onUnverified)
		}
		scans = c.Scans
		if err != nil {
			return c.Decisions, err
		}
		return c.Decisions, bw.Flush()
	}
	start := time.Now()
	if *out == "" {
		n, err := write(stdout)
		if err != nil {
			fmt.Fprintf(stderr, "consentd export: INCOMPLETE: stdout has only part of the export (%d records): %v\n", n, err)
			return 1
		}
		fmt.Fprintf(stderr, "exported %d records%s to stdout in %v%s\n", n, scansNote(scans), time.Since(start).Round(time.Millisecond), unverifiedNote(unverified))
		return 0
	}
	n, err := writeFile(*out, write)
	if err != nil {
		fmt.Fprintf(stderr, "consentd export: %s not written: %v\n", *out, err)
		return 1
	}
	fmt.Fprintf(stderr, "exported %d records%s to %s in %v%s\n", n, scansNote(scans), *out, time.Since(start).Round(time.Millisecond), unverifiedNote(unverified))
	return 0
}

// scansNote follows the count of decisions in the summary line when the
// export holds scan records too.
func scansNote(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return " and 1 scan record"
	}
	return fmt.Sprintf(" and %d scan records", n)
}

// unverifiedNote ends the summary line when stream entries outside the
// signed chain were met.
func unverifiedNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; WARNING: %d stream entries are not part of the signed chain (named above): see docs/proof.md", n)
}

// writeFile writes path through a temp file next to it (mode 0600: the
// log holds personal data) that is renamed to path only when write
// succeeded and the data is on disk; on failure nothing is left behind.
func writeFile(path string, write func(io.Writer) (int, error)) (n int, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if n, err = write(f); err != nil {
		return n, fmt.Errorf("export incomplete after %d records: %w", n, err)
	}
	if err = f.Sync(); err != nil {
		return n, err
	}
	if err = f.Close(); err != nil {
		return n, err
	}
	return n, os.Rename(f.Name(), path)
}

// quietRedis drops go-redis's internal messages.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// devKeyFile is the signing key make run keeps (cmd/consentd-dev): the
// export's keys when no others are given.
const devKeyFile = "data/signing.key"

// exportKeys are the public keys an export accepts records signed by,
// and a proof bundle made by the command carries: those of --keys, else
// of CONSENTD_SIGNING_KEY (current) and CONSENTD_PUBLIC_KEYS (retired),
// else the key of make run.
func exportKeys(file string, getenv func(string) string) (proof.KeySet, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return proof.KeySet{}, fmt.Errorf("--keys: %w", err)
		}
		ks, err := proof.ParseKeySet(b)
		if err != nil {
			return proof.KeySet{}, fmt.Errorf("--keys: %w", err)
		}
		return ks, nil
	}
	var ks proof.KeySet
	if v := getenv(config.EnvName("signing-key")); v != "" {
		k, err := proof.LoadSigningKey(v)
		if err != nil {
			return ks, fmt.Errorf("%s: %w", config.EnvName("signing-key"), err)
		}
		ks = ks.With(k.Public(proof.StatusCurrent))
	}
	if f := getenv(config.EnvName("public-keys")); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return ks, fmt.Errorf("%s: %w", config.EnvName("public-keys"), err)
		}
		old, err := proof.ParseKeySet(b)
		if err != nil {
			return ks, fmt.Errorf("%s: %w", config.EnvName("public-keys"), err)
		}
		for _, k := range old.Keys {
			k.Status = proof.StatusRetired
			ks = ks.With(k)
		}
	}
	if len(ks.Keys) == 0 {
		if k, err := proof.LoadSigningKey(devKeyFile); err == nil {
			return ks.With(k.Public(proof.StatusCurrent)), nil
		}
		return ks, fmt.Errorf("an export needs the public keys that sign the records (it serves only records of the signed chain): --keys FILE (a copy of /.well-known/consentd-keys.json) or %s (the demo of make run: %s)", config.EnvName("signing-key"), devKeyFile)
	}
	return ks, nil
}
