package server

// Reload without signals: the sites directory is checked for added,
// removed or changed site files, and the controllers file for a change
// (--watch-sites), as the GeoIP file is.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/consentd/consentd/config/site"
)

// WatchSites checks the sites directory and the controllers file every
// `every` and reloads them when a site file was added, removed or
// changed, or the controllers file was, once they have stayed the same
// for one more check (an editor's save in
// several writes, or a copy of many files, is one reload). A reload
// keeps unchanged sites as they are (Reload). It returns when ctx ends.
func (s *Server) WatchSites(ctx context.Context, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	seen := s.catalog.Load().dirState
	failed := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := s.configState()
		if cur != seen { // still changing: wait until it settles
			seen = cur
			continue
		}
		if cur == s.catalog.Load().dirState || cur == failed {
			continue
		}
		if err := s.Reload(); err != nil {
			failed = cur // not again until the files change
			s.log.Error("site files changed but the reload failed; keeping the previous configuration", "err", err)
			continue
		}
		s.log.Info("site files changed: reloaded", "sites", s.SiteIDs())
	}
}

// configState is a fingerprint of the configuration files: each site
// file's name, size and modification time ("" when the directory cannot
// be read), then the controllers file's (nothing when there is none).
func (s *Server) configState() string {
	names, err := site.FileNames(s.cfg.SitesDir)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, name := range names {
		fileState(&b, name, filepath.Join(s.cfg.SitesDir, name))
	}
	if path, _ := s.cfg.ControllersPath(); path != "" {
		fileState(&b, "controllers\x00"+path, path)
	}
	return b.String()
}

// fileState writes a file's line of the fingerprint: name, size and
// modification time; nothing when it cannot be read.
func fileState(b *strings.Builder, name, path string) {
	if fi, err := os.Stat(path); err == nil {
		fmt.Fprintf(b, "%s\x00%d\x00%d\n", name, fi.Size(), fi.ModTime().UnixNano())
	}
}
