package audit

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/consentd/consentd/proof"
)

// Files of a proof bundle, as server/export writes them.
const (
	bundleRecords     = "records.ndjson"
	bundleKeys        = "keys.json"
	bundleCheckpoints = "checkpoints.json"
	bundleNotices     = "notices/"
)

// IsBundle reports whether the file at name is a zip archive.
func IsBundle(name string) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	return n == 4 && string(magic[:]) == "PK\x03\x04", nil
}

// Bundle is an opened proof bundle.
type Bundle struct {
	zr          *zip.ReadCloser
	records     *zip.File
	Keys        proof.KeySet       // keys.json
	Checkpoints []proof.Checkpoint // checkpoints.json
	// Site is the site the bundle is of (checkpoints.json's "site"): every
	// record must be of it (Options.Site).
	Site    string
	Notices map[string][]byte // notices/<version>.json
}

// OpenBundle opens a proof bundle and reads everything but the records.
func OpenBundle(name string) (*Bundle, error) {
	zr, err := zip.OpenReader(name)
	if err != nil {
		return nil, fmt.Errorf("%s: not a proof bundle: %w", name, err)
	}
	b := &Bundle{zr: zr, Notices: map[string][]byte{}}
	for _, f := range zr.File {
		switch {
		case f.Name == bundleRecords:
			b.records = f
		case f.Name == bundleKeys:
			body, err := readFile(f)
			if err == nil {
				b.Keys, err = proof.ParseKeySet(body)
			}
			if err != nil {
				zr.Close()
				return nil, fmt.Errorf("%s: %s: %w", name, f.Name, err)
			}
		case f.Name == bundleCheckpoints:
			body, err := readFile(f)
			if err == nil {
				b.Checkpoints, err = ParseCheckpoints(body)
			}
			if err == nil {
				var doc struct {
					Site string `json:"site"`
				}
				if json.Unmarshal(body, &doc) == nil {
					b.Site = doc.Site
				}
			}
			if err != nil {
				zr.Close()
				return nil, fmt.Errorf("%s: %s: %w", name, f.Name, err)
			}
		case strings.HasPrefix(f.Name, bundleNotices) && strings.HasSuffix(f.Name, ".json"):
			body, err := readFile(f)
			if err != nil {
				zr.Close()
				return nil, fmt.Errorf("%s: %s: %w", name, f.Name, err)
			}
			b.Notices[strings.TrimSuffix(path.Base(f.Name), ".json")] = body
		}
	}
	if b.records == nil {
		zr.Close()
		return nil, fmt.Errorf("%s: no %s in the bundle", name, bundleRecords)
	}
	return b, nil
}

// Records opens records.ndjson.
func (b *Bundle) Records() (io.ReadCloser, error) { return b.records.Open() }

// Close closes the archive.
func (b *Bundle) Close() error { return b.zr.Close() }

func readFile(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > 64<<20 {
		return nil, errors.New("larger than 64 MB")
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// ParseCheckpoints reads checkpoints as GET /v1/sites/{site}/checkpoints
// answers them ({"site":…,"checkpoints":[…]}) or as a plain JSON array.
func ParseCheckpoints(body []byte) ([]proof.Checkpoint, error) {
	body = bytes.TrimSpace(body)
	var out []proof.Checkpoint
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, fmt.Errorf("checkpoints: %w", err)
		}
		return out, nil
	}
	var doc struct {
		Checkpoints []proof.Checkpoint `json:"checkpoints"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	return doc.Checkpoints, nil
}
