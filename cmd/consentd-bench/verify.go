package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/proof/audit"
	"github.com/consentd/consentd/server/export"
	"github.com/consentd/consentd/server/ledger"
)

// verifyLog exports the demo site's whole log as a proof bundle, as
// `consentd export --format proof` does, and checks it offline as
// `consentd verify` does, with the bench's public key: after a run, every
// record the load stored must be unchanged, chained, signed and covered
// by the checkpoints the server wrote. It prints verify's summary and how
// long each step took.
func verifyLog(ctx context.Context, rdb *redis.Client, sitesDir, tmp string) error {
	s, err := site.Load(filepath.Join(sitesDir, "demo.yaml"))
	if err != nil {
		return err
	}
	k, err := proof.LoadSigningKey(benchKey)
	if err != nil {
		return err
	}
	keys := proof.KeySet{Keys: []proof.PublicKey{k.Public(proof.StatusCurrent)}}
	name := filepath.Join(tmp, "demo.proof.zip")
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer os.Remove(name)
	unverified := 0
	start := time.Now()
	c, err := export.WriteBundle(ctx, rdb, s, keys, time.Now(), f, func(*ledger.UnverifiedError) { unverified++ })
	n := c.Decisions
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("proof bundle: %w", err)
	}
	st, _ := os.Stat(name)
	exported := time.Since(start)

	start = time.Now()
	b, err := audit.OpenBundle(name)
	if err != nil {
		return err
	}
	defer b.Close()
	rc, err := b.Records()
	if err != nil {
		return err
	}
	defer rc.Close()
	sum, err := audit.Verify(rc, audit.Options{Keys: keys, Checkpoints: b.Checkpoints, Notices: b.Notices})
	if err != nil {
		return fmt.Errorf("consentd verify of the bundle after the run: %w", err)
	}
	fmt.Printf("\nproof bundle of the whole log: %d records, %.0f MB, exported in %v, verified in %v; entries outside the signed chain: %d\n%s",
		n, float64(st.Size())/1e6, exported.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), unverified, sum)
	if unverified > 0 {
		return fmt.Errorf("%d log entries are not part of the signed chain", unverified)
	}
	return nil
}
