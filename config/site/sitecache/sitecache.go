// Package sitecache keeps parsed site files in a directory, so that a
// restart of consentd decodes them instead of parsing and checking each
// YAML file again (site.Loader's Cache), and names the code that parsed
// them (ExecutableID).
package sitecache

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/consentd/consentd/config/site"
	"github.com/consentd/consentd/config/yamlfile"
)

// NewLoader returns a site.Loader with the built-in catalogue and, when
// cacheDir is not empty and the executable has a build ID to key it by
// (ExecutableID), a cache of parsed site files in cacheDir/sites. Without
// the cache every start parses every file; that is logged as a warning.
func NewLoader(cacheDir string, log *slog.Logger) (*site.Loader, error) {
	l, err := site.NewLoader()
	if err != nil || cacheDir == "" {
		return l, err
	}
	id, err := ExecutableID()
	if err != nil {
		log.Warn("no parsed-site cache: every start parses every site file", "err", err)
		return l, nil
	}
	c, err := Open(filepath.Join(cacheDir, "sites"), log)
	if err != nil {
		log.Warn("no parsed-site cache: every start parses every site file", "err", err)
		return l, nil
	}
	l.Cache, l.Version = c, id
	return l, nil
}

// Dir is a site.ParsedCache in a directory: one file per key, written
// whole (a temporary file renamed) and checked when read (its content's
// CRC-32C is stored with it), so a damaged file is a miss, never a
// wrong site.
type Dir struct {
	dir  string
	log  *slog.Logger
	used sync.Map // keys found or stored since Open (Prune keeps them)
}

// Open returns the cache in dir, creating dir (0700) if needed. Files
// that cannot be written are logged to log as warnings.
func Open(dir string, log *slog.Logger) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("site cache: %w", err)
	}
	return &Dir{dir: dir, log: log}, nil
}

// suffix names the files of the cache.
const suffix = ".site.json"

// Get returns the bytes stored under key, when they are there whole,
// appended to dst (dst[:0] reuses a buffer).
func (d *Dir) Get(key string, dst []byte) ([]byte, bool) {
	b, err := yamlfile.ReadAppend(dst, filepath.Join(d.dir, key+suffix))
	if err != nil {
		return nil, false
	}
	// The file is the content's CRC-32C (8 hex digits), a newline, the
	// content. A checksum, not a hash: it finds a damaged or truncated
	// file; the directory is consentd's own (docs/configuration.md).
	sum, body, ok := bytes.Cut(b[len(dst):], []byte{'\n'})
	if !ok || len(sum) != 8 {
		return nil, false
	}
	want, err := strconv.ParseUint(string(sum), 16, 32)
	if err != nil || crc32.Checksum(body, castagnoli) != uint32(want) {
		return nil, false
	}
	d.used.Store(key, true)
	return append(b[:len(dst)], body...), true
}

// castagnoli is the CRC-32C table (computed by the CPU where it can:
// a thousand site files' checksums take about a millisecond).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Put stores b under key. A file that cannot be written is logged: it
// only costs a parse on the next start.
func (d *Dir) Put(key string, b []byte) {
	if err := d.put(key, b); err != nil {
		d.log.Warn("site cache not written", "dir", d.dir, "err", err)
		return
	}
	d.used.Store(key, true)
}

// Prune removes the files that this process has neither found nor
// stored and that were written more than age ago: those of site files
// changed since, or of other builds. (Another build's instance sharing
// the directory loses only what it has not written again within age.)
// It returns how many it removed.
func (d *Dir) Prune(age time.Duration, now time.Time) (int, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return 0, fmt.Errorf("site cache: %w", err)
	}
	removed := 0
	for _, e := range entries {
		key, ok := strings.CutSuffix(e.Name(), suffix)
		if !ok {
			continue
		}
		if _, used := d.used.Load(key); used {
			continue
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < age {
			continue
		}
		if err := os.Remove(filepath.Join(d.dir, e.Name())); err == nil {
			removed++
		}
	}
	return removed, nil
}

func (d *Dir) put(key string, b []byte) error {
	f, err := os.CreateTemp(d.dir, key+".*.tmp")
	if err != nil {
		return fmt.Errorf("site cache: %w", err)
	}
	_, err = fmt.Fprintf(f, "%08x\n", crc32.Checksum(b, castagnoli))
	if err == nil {
		_, err = f.Write(b)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(d.dir, key+suffix))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("site cache: %w", err)
	}
	return nil
}

// ExecutableID returns the Go build ID of the running executable: it
// changes whenever the code or its build changes, so a site parsed by
// one build is never taken for one parsed by another. It fails where the
// executable is not an ELF file with a Go build ID note (then a caller
// does without the cache).
func ExecutableID() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("build id: %w", err)
	}
	return buildID(exe)
}

// buildID reads the Go build ID note of the ELF file at path.
func buildID(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("build id: %w", err)
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return "", errors.New("build id: no .note.go.buildid section in " + path)
	}
	note, err := sec.Data()
	if err != nil {
		return "", fmt.Errorf("build id: %w", err)
	}
	// An ELF note: name size, description size, type (4 bytes each, in
	// the file's byte order), the name "Go\x00" padded to 4 bytes, then
	// the description: the build ID.
	if len(note) < 16 {
		return "", errors.New("build id: short note in " + path)
	}
	bo := f.ByteOrder
	nameSize, descSize := bo.Uint32(note[0:4]), bo.Uint32(note[4:8])
	nameEnd := 12 + (int(nameSize)+3)&^3
	if nameSize != 4 || string(note[12:15]) != "Go\x00" || nameEnd+int(descSize) > len(note) {
		return "", errors.New("build id: not a Go build id note in " + path)
	}
	id := string(note[nameEnd : nameEnd+int(descSize)])
	if id == "" {
		return "", errors.New("build id: empty in " + path)
	}
	return id, nil
}
