package main

// consentd scan --record: the scan's summary signed into the site's chain
// as a scan record (docs/scan.md, "--record"; docs/proof.md, "Scan
// records").

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/proof/evidence"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/notice"
	"github.com/consentd/consentd/widget"
)

// scanRecording is where --record writes: the Redis holding the site's
// chain and the key that signs the record.
type scanRecording struct {
	rdb      redis.UniversalClient
	redisURL string // for messages: redacted
	key      *proof.SigningKey
	// loseAnswer, in tests, turns the ledger's answer to a stored record
	// into an error, as a connection lost after Redis ran the append does.
	loseAnswer bool
}

// newScanRecording resolves --record's settings as the server and
// consentd export do: --redis-url, else $CONSENTD_REDIS_URL, else the
// Redis of make run; --signing-key, else $CONSENTD_SIGNING_KEY, else the
// key of make run (data/signing.key). It checks that Redis answers, so a
// scan that could not be recorded is not run. The caller closes rdb.
func newScanRecording(ctx context.Context, redisURL, signingKey string, getenv func(string) string) (*scanRecording, error) {
	if redisURL == "" {
		redisURL = getenv(config.EnvName("redis-url"))
	}
	if redisURL == "" {
		redisURL = defaultExportRedis
	}
	target, err := config.RedisOptions(redisURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %w", err)
	}
	if signingKey == "" {
		signingKey = getenv(config.EnvName("signing-key"))
	}
	if signingKey == "" {
		if _, err := os.Stat(devKeyFile); err != nil {
			return nil, fmt.Errorf("--record needs the key the server signs with, so that the record is part of its signed chain: --signing-key KEY|FILE or %s (make run: %s)",
				config.EnvName("signing-key"), devKeyFile)
		}
		signingKey = devKeyFile
	}
	key, err := proof.LoadSigningKey(signingKey)
	if err != nil {
		return nil, fmt.Errorf("--signing-key: %w", err)
	}
	rec := &scanRecording{rdb: target.Client(), redisURL: config.RedactURL(redisURL), key: key}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rec.rdb.Ping(pctx).Err(); err != nil {
		_ = rec.rdb.Close()
		return nil, fmt.Errorf("--record: Redis at %s does not answer: %w", rec.redisURL, err)
	}
	return rec, nil
}

// record signs the summary of report (report.json's bytes, as written)
// into the chain of site s as a scan record, with the notice versions and
// consent version of the site file, and returns its Ack and summary. The
// notice snapshots are stored with it (as the server stores those that
// decisions cite), so a proof bundle holds them.
func (rec *scanRecording) record(ctx context.Context, s *site.Site, report []byte, now time.Time) (ledger.Ack, *evidence.Scan, error) {
	id, sum, err := evidence.FromReport(report)
	if err != nil {
		return ledger.Ack{}, nil, err
	}
	if id != s.ID {
		return ledger.Ack{}, nil, fmt.Errorf("report.json is of site %q, not %q", id, s.ID)
	}
	sum.Consentd = version
	sum.ConsentVersion = s.ConsentVersionOf()
	set, err := notice.Snapshots(s, widget.Strings)
	if err != nil {
		return ledger.Ack{}, nil, fmt.Errorf("the site's notice: %w", err)
	}
	led := ledger.New(rec.rdb, ledger.Options{Signer: rec.key})
	defer func() { _ = led.Close(context.Background()) }()
	sum.NoticeVersions = make(map[string]string, len(set.Docs))
	for lang, d := range set.Docs {
		sum.NoticeVersions[lang] = d.Version
		led.RegisterNotice(s.ID, d.Version, d.Snapshot)
	}
	rid, err := uuid.NewV7()
	if err != nil {
		return ledger.Ack{}, nil, err
	}
	ack, err := led.Append(ctx, ledger.ScanRecord(s.ID, rid.String(), now, &sum))
	if err == nil && rec.loseAnswer {
		err = errors.New("read tcp: i/o timeout (the answer was lost)")
	}
	if err != nil {
		// The answer may be lost after Redis stored the record, or the
		// ledger may still write it (it took it before ctx ended): wait
		// for what it took, then look for the record, so that it is
		// reported as recorded exactly when it is stored, and a scan run
		// again is not recorded twice.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = led.Close(dctx) // a drain cut short: the look-up tells
		cancel()
		found, ok, ferr := findScan(ctx, led, s.ID, rid.String())
		switch {
		case ok:
			return found, &sum, nil
		case ferr != nil:
			return ledger.Ack{}, nil, fmt.Errorf("%w; whether the record (ID %s) was stored is not known: the look-up failed too (%w); GET /v1/sites/%s/scans lists it if it was",
				err, rid, ferr, s.ID)
		}
		return ledger.Ack{}, nil, err
	}
	return ack, &sum, nil
}

// findScan looks for the scan record with recordID among the newest of
// site's scan records, after an append whose answer was an error.
func findScan(ctx context.Context, led *ledger.Ledger, site, recordID string) (ledger.Ack, bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	page, err := led.Scans(ctx, site, 10, "")
	if err != nil {
		return ledger.Ack{}, false, err
	}
	for _, e := range page.Entries {
		if e.Record.RecordID == recordID {
			t, _ := time.Parse(time.RFC3339Nano, e.Record.Time)
			return ledger.Ack{RecordID: recordID, Time: t, StreamID: e.StreamID, Seq: e.Record.Seq, Hash: e.Record.Hash, Receipt: e.Receipt}, true, nil
		}
	}
	return ledger.Ack{}, false, nil
}

// printRecorded tells where the scan record is and how to check it.
func printRecorded(w io.Writer, site string, ack ledger.Ack, sum *evidence.Scan, kid, reportPath string) {
	fmt.Fprintf(w, "\nrecorded the scan in the proof chain of site %s: seq %d, record %s, hash %s, signed by key %s\n",
		site, ack.Seq, ack.RecordID, ack.Hash, kid)
	fmt.Fprintf(w, "  report.json SHA-256 %s; check it later with: consentd verify BUNDLE --report %s\n", sum.ReportSHA256, reportPath)
}

// errNotRecorded marks a scan whose files were written but whose record
// could not be stored.
var errNotRecorded = errors.New("the scan was not recorded")
