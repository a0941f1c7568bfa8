package server

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/ledger"
)

// ProofStore signs and lists checkpoints and publishes the keys that
// verify receipts, checkpoints and exports.
type ProofStore interface {
	PublicKeys() proof.KeySet
	Checkpoint(ctx context.Context, site string, minGap time.Duration, now time.Time) (*proof.Checkpoint, error)
	Checkpoints(ctx context.Context, site string) ([]json.RawMessage, error)
}

// publicKeys serves GET /.well-known/consentd-keys.json: the public keys
// that verify receipts and checkpoints (the current one and the retired
// ones). Public and cacheable for an hour.
func (s *Server) publicKeys(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return c.JSON(s.proofs.PublicKeys())
}

// checkpointsResponse is the body of GET /v1/sites/{site}/checkpoints.
type checkpointsResponse struct {
	Site        string            `json:"site"`
	Checkpoints []json.RawMessage `json:"checkpoints"`
}

// siteCheckpoints serves GET /v1/sites/{site}/checkpoints: every signed
// checkpoint of the site's chain, oldest first (admin token).
func (s *Server) siteCheckpoints(c *fiber.Ctx) error {
	e, ok := s.site(c.Params("site"))
	if !ok {
		return &APIError{Code: fiber.StatusNotFound, Field: "site", Msg: "unknown site"}
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
	defer cancel()
	cps, err := s.proofs.Checkpoints(ctx, e.site.ID)
	if err != nil {
		return s.storeError(e.site.ID, err)
	}
	if cps == nil {
		cps = []json.RawMessage{}
	}
	return c.JSON(checkpointsResponse{Site: e.site.ID, Checkpoints: cps})
}

// RunCheckpoints signs every site's chain head now (when it moved since
// the newest checkpoint) and then every interval, until ctx ends.
// Instances share the work: ledger.Checkpoint writes a head once, and not
// within half an interval of the newest head checkpoint, whichever
// instance wrote that. interval 0: only now.
func (s *Server) RunCheckpoints(ctx context.Context, interval time.Duration) {
	s.WriteCheckpoints(ctx, 0)
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.WriteCheckpoints(ctx, interval/2)
	}
}

// WriteCheckpoints signs the chain head of every site whose head moved
// since its newest checkpoint, unless that checkpoint is younger than
// minGap (0: whenever the head moved; at start and shutdown).
func (s *Server) WriteCheckpoints(ctx context.Context, minGap time.Duration) {
	for _, id := range s.SiteIDs() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cp, err := s.proofs.Checkpoint(cctx, id, minGap, time.Now())
		cancel()
		s.Checkpointed(id, cp, err)
	}
}

// Checkpointed logs a checkpoint written (cp), or why none could be
// (err); nil and nil: none was needed. The ledger calls it for the
// checkpoints it writes every --checkpoint-every records.
func (s *Server) Checkpointed(site string, cp *proof.Checkpoint, err error) {
	var ue *ledger.UnverifiedError
	switch {
	case errors.As(err, &ue):
		s.metrics.Unverified(site, "checkpoint")
		s.log.Error("checkpoint not written: the newest log entry is not part of the signed chain", "site", site, "stream_id", ue.StreamID, "reason", ue.Reason)
	case errors.Is(err, context.Canceled):
		// Shutting down: every site's pending checkpoint ends so, and a
		// warning per site would bury the log of a stop.
		s.log.Debug("checkpoint not written: shutting down", "site", site)
	case err != nil:
		s.log.Warn("checkpoint not written; next try at the next interval", "site", site, "err", err)
	case cp != nil:
		s.log.Info("checkpoint", "site", site, "seq", cp.Seq, "head", cp.Head, "kid", cp.KID)
	}
}
