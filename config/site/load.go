package site

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/consentd/consentd/catalogue"
	"github.com/consentd/consentd/config/field"
	"github.com/consentd/consentd/config/yamlfile"
	"github.com/go-json-experiment/json"
)

// Loader reads site files, resolving their services written as
// {use: NAME} from a service catalogue.
type Loader struct {
	Catalogue *catalogue.Catalogue

	// Cache, when set with Version, keeps every site file LoadDir parses
	// and checks, so a restart decodes it instead of parsing it again
	// (0.2 ms where parsing and checking take 1.6 ms for the demo's
	// file; docs/performance.md).
	Cache ParsedCache
	// Version names the code that parses and checks site files (the
	// executable's build ID: sitecache.ExecutableID). A cached site is
	// used only by the same Version, with the same catalogue, for a file
	// of the same name and bytes. Empty: Cache is not used.
	Version string

	catalogueVersion sync.Once
	catVersion       string
}

// ParsedCache keeps parsed site files (their JSON) by key.
type ParsedCache interface {
	// Get returns what Put stored under key, if it still has it,
	// appended to dst (which the caller reuses once it has decoded it).
	Get(key string, dst []byte) ([]byte, bool)
	// Put stores b under key; a failure only costs a parse next time.
	Put(key string, b []byte)
}

// NewLoader returns a Loader with the catalogue built into consentd.
func NewLoader() (*Loader, error) {
	cat, err := catalogue.Builtin()
	if err != nil {
		return nil, err
	}
	return &Loader{Catalogue: cat}, nil
}

// Load reads, parses and validates one site file with the built-in
// catalogue (Loader.Load).
func Load(path string) (*Site, error) {
	l, err := NewLoader()
	if err != nil {
		return nil, err
	}
	return l.Load(path)
}

// Parse parses and validates a site file's contents with the built-in
// catalogue (Loader.Parse).
func Parse(path string, data []byte) (*Site, error) {
	l, err := NewLoader()
	if err != nil {
		return nil, err
	}
	return l.Parse(path, data)
}

// LoadDir loads every site file in dir with the built-in catalogue
// (Loader.LoadDir).
func LoadDir(dir string) (Sites, error) { return LoadDirReusing(dir, nil) }

// LoadDirReusing is LoadDir for a reload with the built-in catalogue
// (Loader.LoadDirReusing).
func LoadDirReusing(dir string, prev Sites) (Sites, error) {
	l, err := NewLoader()
	if err != nil {
		return nil, err
	}
	return l.LoadDirReusing(dir, prev)
}

// Load reads, parses and validates one site file. Errors name the
// file, the field path and what is expected; all problems found are
// reported at once (joined with errors.Join).
func (l *Loader) Load(path string) (*Site, error) {
	data, err := yamlfile.Read(path)
	if err != nil {
		return nil, err
	}
	return l.Parse(path, data)
}

// Parse parses and validates a site file's contents; path is used in
// error messages and to check that the id matches the file name.
// Services written as {use: NAME} are filled from the catalogue, and the
// notice's recipients and transfers from the entries they use.
func (l *Loader) Parse(path string, data []byte) (*Site, error) {
	var s Site
	if err := yamlfile.Decode(path, data, &s); err != nil {
		if errors.Is(err, yamlfile.ErrEmpty) {
			return nil, fmt.Errorf("%s: file is empty: expected a site definition (id, name, origins, languages, categories)", path)
		}
		return nil, err
	}
	s.File, s.digest = path, sha256.Sum256(data)
	used, err := s.resolveServices(l.Catalogue)
	if err != nil {
		return nil, err
	}
	s.applyDefaults()
	s.fillNotice(used)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// LoadDir loads every *.yaml and *.yml file in dir. It fails if any file
// is invalid (reporting every bad file), if two files share an id or an
// admin token hash, or if there is no site at all.
func (l *Loader) LoadDir(dir string) (Sites, error) { return l.LoadDirReusing(dir, nil) }

// LoadDirReusing is LoadDir for a reload: a file whose bytes are those a
// site of prev was parsed from gives that same *Site (not parsed or
// checked again), so a caller can keep what it built from it. Sites are
// never modified once loaded. The files are read and parsed in parallel
// (one worker per CPU); what is reported, and in which order, does not
// depend on it.
func (l *Loader) LoadDirReusing(dir string, prev Sites) (Sites, error) {
	names, err := FileNames(dir)
	if err != nil {
		return nil, err
	}
	byFile := make(map[string]*Site, len(prev))
	for _, s := range prev {
		byFile[s.File] = s
	}
	loaded := l.loadFiles(dir, names, byFile)
	sites := Sites{}
	var errs []error
	tokens := map[string]tokenPlace{}
	for _, f := range loaded {
		if f.err != nil {
			errs = append(errs, f.err)
			continue
		}
		s := f.site
		if prev, dup := sites[s.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: id: duplicate site id %q (also in %s)", s.File, s.ID, prev.File))
			continue
		}
		sites[s.ID] = s
		errs = append(errs, sharedTokens(s, tokens)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(sites) == 0 {
		return nil, fmt.Errorf("sites directory %s: no site files (*.yaml): expected at least one, e.g. config/sites/demo.yaml", dir)
	}
	return sites, nil
}

// loaded is one site file's outcome in LoadDirReusing.
type loaded struct {
	site *Site
	err  error
}

// loadFiles loads dir's files names in parallel, in their order: a file
// whose digest is that of its site in byFile gives that site, one in
// l.Cache is decoded from it, and the others are parsed (and put there).
func (l *Loader) loadFiles(dir string, names []string, byFile map[string]*Site) []loaded {
	out := make([]loaded, len(names))
	workers := min(runtime.GOMAXPROCS(0), len(names))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var bufs buffers // the worker's, for file after file
			for i := int(next.Add(1) - 1); i < len(names); i = int(next.Add(1) - 1) {
				path := filepath.Join(dir, names[i])
				out[i].site, out[i].err = l.loadFile(path, byFile[path], &bufs)
			}
		})
	}
	wg.Wait()
	return out
}

// buffers are a loading worker's read buffers: a site file and a
// cached site are read into them and copied out by parsing or decoding,
// so they serve file after file (half the garbage of a start).
type buffers struct{ file, cached []byte }

// loadFile loads one site file: prev when the file's bytes are those it
// was parsed from, else from l.Cache, else parsed.
func (l *Loader) loadFile(path string, prev *Site, bufs *buffers) (*Site, error) {
	data, err := yamlfile.ReadAppend(bufs.file[:0], path)
	if err != nil {
		return nil, err
	}
	bufs.file = data
	digest := sha256.Sum256(data)
	if prev != nil && prev.digest == digest {
		return prev, nil
	}
	key := l.cacheKey(path, digest)
	if s := l.cached(key, bufs); s != nil {
		s.File, s.digest = path, digest
		return s, nil
	}
	s, err := l.Parse(path, data)
	if err != nil {
		return nil, err
	}
	if key != "" {
		if b, err := json.Marshal(s, cacheJSON...); err == nil {
			l.Cache.Put(key, b)
		}
	}
	return s, nil
}

// FileNames returns the names of the site files in dir (*.yaml and *.yml,
// not hidden), sorted.
func FileNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("sites directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// tokenPlace is where an admin token hash is declared: file and field.
type tokenPlace struct{ file, field string }

// sharedTokens refuses each admin token hash of s that an earlier site
// file declares: a token of a site file grants its site only, and a
// token for several sites is declared once, in the controllers file
// (config/controllers). seen maps each hash to where it was first
// declared; sharedTokens adds those of s.
func sharedTokens(s *Site, seen map[string]tokenPlace) []error {
	var errs []error
	for i, t := range s.AdminTokens {
		p := fmt.Sprintf("adminTokens[%d].hash", i)
		if prev, dup := seen[t.Hash]; dup {
			errs = append(errs, &field.Error{File: s.File, Field: p, Msg: fmt.Sprintf(
				"the same token hash is in %s (%s): a token in a site file grants that site only; "+
					"to give one token several sites, declare it once in the controllers file with the sites it grants (consentd token create --site %s --site …)",
				prev.file, prev.field, s.ID)})
			continue
		}
		seen[t.Hash] = tokenPlace{file: s.File, field: p}
	}
	return errs
}

// cacheKey is the key of the site file at path with the given digest in
// l.Cache: the SHA-256 of l.Version, the catalogue's version, the file's
// name (a site's id must match it) and its digest. "" when l.Cache is
// not used.
func (l *Loader) cacheKey(path string, digest [sha256.Size]byte) string {
	if l.Cache == nil || l.Version == "" {
		return ""
	}
	l.catalogueVersion.Do(func() {
		if l.Catalogue != nil {
			l.catVersion = catalogue.Version(l.Catalogue.Entries())
		}
	})
	h := sha256.New()
	for _, part := range []string{"consentd site 1", l.Version, l.catVersion, filepath.Base(path)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(digest[:])
	return hex.EncodeToString(h.Sum(nil))
}

// cached returns the site stored under key in l.Cache, or nil.
func (l *Loader) cached(key string, bufs *buffers) *Site {
	if key == "" {
		return nil
	}
	b, ok := l.Cache.Get(key, bufs.cached[:0])
	if !ok {
		return nil
	}
	bufs.cached = b
	var s Site
	if err := json.Unmarshal(b, &s, cacheJSON...); err != nil {
		return nil
	}
	return &s
}

// cacheJSON are the options of a site's JSON in the cache: it decodes to
// exactly the Site that was encoded (TestCacheRoundTrip), nil slices and
// maps included. The JSON v2 decoder takes about half the time of
// encoding/json's for the demo's site (0.19 ms against 0.35 ms).
var cacheJSON = []json.Options{json.FormatNilSliceAsNull(true), json.FormatNilMapAsNull(true)}
