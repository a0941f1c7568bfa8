package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"
)

// publicKeys serves GET /.well-known/consentd-keys.json: the public keys
// that verify receipts and checkpoints (the current one and the retired
// ones). Public and cacheable for an hour.
func (s *Server) publicKeys(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return c.JSON(s.ledger.PublicKeys())
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
	cps, err := s.ledger.Checkpoints(ctx, e.site.ID)
	if err != nil {
		return s.storeError(e.site.ID, err)
	}
	if cps == nil {
		cps = []json.RawMessage{}
	}
	return c.JSON(checkpointsResponse{Site: e.site.ID, Checkpoints: cps})
}

// RunCheckpoints signs every site's chain head now and then every
// interval, until ctx ends. Instances share the work: each interval one
// instance per site writes the checkpoint (ledger.Checkpoint takes a lock
// in Redis), and none is written when the head has not moved.
func (s *Server) RunCheckpoints(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.WriteCheckpoints(ctx, interval, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// WriteCheckpoints writes this interval's checkpoint of every site.
func (s *Server) WriteCheckpoints(ctx context.Context, interval time.Duration, now time.Time) {
	for _, id := range s.SiteIDs() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cp, err := s.ledger.Checkpoint(cctx, id, interval, now)
		cancel()
		if err != nil {
			s.log.Warn("checkpoint not written; next try at the next interval", "site", id, "err", err)
			continue
		}
		if cp != nil {
			s.log.Info("checkpoint", "site", id, "seq", cp.Seq, "head", cp.Head, "kid", cp.KID)
		}
	}
}
