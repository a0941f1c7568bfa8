package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/ledger"
)

// proofOptions loads the signing key and the retired public keys. With
// no key configured the ledger signs with an ephemeral key, and a warning
// says that its receipts cannot be verified once the process is gone.
func proofOptions(cfg config.Config, log *slog.Logger) (ledger.Options, error) {
	var o ledger.Options
	if cfg.SigningKey != "" {
		k, err := proof.LoadSigningKey(cfg.SigningKey)
		if err != nil {
			return o, fmt.Errorf("%s: %w", config.EnvName("signing-key"), err)
		}
		o.Signer = k
	} else {
		k, err := proof.NewSigningKey()
		if err != nil {
			return o, err
		}
		o.Signer = k
		log.Warn("no signing key set: receipts and checkpoints are signed with an ephemeral key that is gone at exit, so they cannot be verified later; create one with consentd keys create and set "+config.EnvName("signing-key"),
			"kid", k.ID())
	}
	if cfg.PublicKeysFile != "" {
		b, err := os.ReadFile(cfg.PublicKeysFile)
		if err != nil {
			return o, fmt.Errorf("%s: %w", config.EnvName("public-keys"), err)
		}
		ks, err := proof.ParseKeySet(b)
		if err != nil {
			return o, fmt.Errorf("%s: %w", config.EnvName("public-keys"), err)
		}
		o.RetiredKeys = ks.Keys
	}
	log.Info("signing receipts", "kid", o.Signer.ID(), "retired_keys", len(o.RetiredKeys))
	return o, nil
}
