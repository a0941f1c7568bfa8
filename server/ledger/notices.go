package ledger

// The notice registry: the snapshot each notice version stands for,
// written to Redis once and kept there (docs/notice.md). The process
// keeps a snapshot only until it is written; then it keeps the version,
// so registering it again writes nothing.

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

type snapshot struct {
	json    string // until written; then ""
	written bool
}

// setWritten marks s as stored in Redis and lets its bytes go.
func (s *snapshot) setWritten() {
	s.written, s.json = true, ""
}

// RegisterNotice records the snapshot (public site config JSON) that a
// notice version stands for. It is written to Redis (HSETNX, never
// overwritten) together with the next batch of records for the site, so
// every stored record's notice version can be resolved to its content.
func (l *Ledger) RegisterNotice(site, version string, snapshotJSON []byte) {
	l.noticeMu.Lock()
	defer l.noticeMu.Unlock()
	m := l.notices[site]
	if m == nil {
		m = map[string]*snapshot{}
		l.notices[site] = m
	}
	if _, ok := m[version]; !ok {
		m[version] = &snapshot{json: string(snapshotJSON)}
	}
}

// Notice returns the snapshot a notice version stands for: from this
// process's registrations not yet written, else from Redis (where every
// written version is kept). ok is false when neither knows the version.
func (l *Ledger) Notice(ctx context.Context, site, version string) (snapshotJSON []byte, ok bool, err error) {
	l.noticeMu.Lock()
	var held []byte
	if s := l.notices[site][version]; s != nil && !s.written {
		held = []byte(s.json)
	}
	l.noticeMu.Unlock()
	if held != nil {
		return held, true, nil
	}
	b, err := l.rdb.HGet(ctx, NoticeKey(site), version).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: read notice snapshot: %w", ErrUnavailable, err)
	}
	return b, true, nil
}

// SaveNotices writes the site's registered snapshots that are not yet in
// Redis (HSETNX: a stored snapshot is never overwritten). The server calls
// it when it loads a site, so a version is kept from the moment it can be
// shown; the append script writes them too, with the first record citing
// them, in case Redis was unreachable at load.
func (l *Ledger) SaveNotices(ctx context.Context, site string) error {
	l.noticeMu.Lock()
	var versions, bodies []string
	for v, s := range l.notices[site] {
		if !s.written {
			versions = append(versions, v)
			bodies = append(bodies, s.json)
		}
	}
	l.noticeMu.Unlock()
	if len(versions) == 0 {
		return nil
	}
	pipe := l.rdb.Pipeline()
	for i, v := range versions {
		pipe.HSetNX(ctx, NoticeKey(site), v, bodies[i])
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("%w: save notice snapshots of %s: %w", ErrUnavailable, site, err)
	}
	l.noticeMu.Lock()
	for _, v := range versions {
		l.notices[site][v].setWritten()
	}
	l.noticeMu.Unlock()
	return nil
}

func (l *Ledger) noticesWritten(g *siteBatch) {
	if len(g.snaps) == 0 {
		return
	}
	l.noticeMu.Lock()
	for i := 0; i < len(g.snaps); i += 2 {
		if s := l.notices[g.site][g.snaps[i]]; s != nil {
			s.setWritten()
		}
	}
	l.noticeMu.Unlock()
}
