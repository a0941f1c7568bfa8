package export

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/proof"
	"github.com/consentd/consentd/server/ledger"
)

// Files of a proof bundle (a zip archive; docs/proof.md).
const (
	BundleRecords     = "records.ndjson"   // the NDJSON export of the whole log, receipts included
	BundleKeys        = "keys.json"        // proof.KeySet: the public keys when the bundle was made
	BundleCheckpoints = "checkpoints.json" // {"site":…,"checkpoints":[…]}, oldest first
	BundleNotices     = "notices/"         // notices/<version>.json: each cited notice snapshot, as stored
)

// Checkpoints is the content of checkpoints.json (and the body of
// GET /v1/sites/{site}/checkpoints).
type Checkpoints struct {
	Site        string            `json:"site"`
	Checkpoints []json.RawMessage `json:"checkpoints"`
}

// Bundle writes a proof bundle to w. The keys and checkpoints are written
// first (read before the records, so every checkpoint is covered by
// them), then the records through Records as they are exported, then, in
// Finish, the notice snapshots the records cite. zip entries are written
// with data descriptors, so nothing needs its size in advance: the
// bundle streams with constant memory.
type Bundle struct {
	zw      *zip.Writer
	records io.Writer
	site    string
}

// NewBundle starts a bundle for site with the given public keys and the
// site's checkpoints.
func NewBundle(w io.Writer, site string, keys proof.KeySet, checkpoints []json.RawMessage) (*Bundle, error) {
	b := &Bundle{zw: zip.NewWriter(w), site: site}
	if checkpoints == nil {
		checkpoints = []json.RawMessage{}
	}
	if err := b.file(BundleKeys, keys); err != nil {
		return nil, err
	}
	if err := b.file(BundleCheckpoints, Checkpoints{Site: site, Checkpoints: checkpoints}); err != nil {
		return nil, err
	}
	rw, err := b.zw.CreateHeader(&zip.FileHeader{Name: BundleRecords, Method: zip.Deflate, Modified: time.Now().UTC()})
	if err != nil {
		return nil, fmt.Errorf("export: bundle: %w", err)
	}
	b.records = rw
	return b, nil
}

func (b *Bundle) file(name string, v any) error {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return b.raw(name, append(body, '\n'))
}

func (b *Bundle) raw(name string, body []byte) error {
	f, err := b.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Now().UTC()})
	if err == nil {
		_, err = f.Write(body)
	}
	if err != nil {
		return fmt.Errorf("export: bundle %s: %w", name, err)
	}
	return nil
}

// Records is where the records (NDJSON) go.
func (b *Bundle) Records() io.Writer { return b.records }

// Finish writes the snapshots of the notice versions cited (read from
// c:{site}:notices exactly as stored) and closes the archive. A cited
// version without a snapshot is left out: the verifier reports it.
func (b *Bundle) Finish(ctx context.Context, rdb redis.UniversalClient, cited []string) error {
	for i := 0; i < len(cited); i += 100 {
		chunk := cited[i:min(i+100, len(cited))]
		vals, err := rdb.HMGet(ctx, ledger.NoticeKey(b.site), chunk...).Result()
		if err != nil {
			return fmt.Errorf("%w: read notice snapshots: %w", ledger.ErrUnavailable, err)
		}
		for j, v := range vals {
			if s, ok := v.(string); ok {
				if err := b.raw(BundleNotices+chunk[j]+".json", []byte(s)); err != nil {
					return err
				}
			}
		}
	}
	if err := b.zw.Close(); err != nil {
		return fmt.Errorf("export: bundle: %w", err)
	}
	return nil
}

// WriteBundle writes the proof bundle of site's whole log to w (the
// command `consentd export --format proof`) and returns how many
// decisions and scan records it holds. Entries outside the signed chain
// are handled as Write does.
func WriteBundle(ctx context.Context, rdb redis.UniversalClient, site *site.Site, keys proof.KeySet, now time.Time, w io.Writer, onUnverified func(*ledger.UnverifiedError)) (Counts, error) {
	cps, err := ledger.ReadCheckpoints(ctx, rdb, site.ID)
	if err != nil {
		return Counts{}, err
	}
	b, err := NewBundle(w, site.ID, keys, cps)
	if err != nil {
		return Counts{}, err
	}
	e := New(rdb, site, Query{Format: Proof, To: now.UTC().Truncate(time.Millisecond)}, keys, b.Records())
	e.OnUnverified = onUnverified
	for {
		more, err := e.Next(ctx)
		if err != nil {
			return Counts{e.Count(), e.Scans()}, err
		}
		if !more {
			break
		}
	}
	return Counts{e.Count(), e.Scans()}, b.Finish(ctx, rdb, e.Cited())
}
