package ledger

// The chain head of each site and the turn-taking between instances
// racing for it (docs/proof.md, "One chain per site, many instances").

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/consentd/consentd/proof"
)

// TurnTTL bounds how long an instance that lost the race for a chain head
// keeps the turn (TurnKey) when its retry does not come.
const TurnTTL = 200 * time.Millisecond

// lockSites holds the commit lock of every site of the batch, in order
// (no deadlock between workers): the workers of one process never race
// each other for a chain head.
func (l *Ledger) lockSites(groups []*siteBatch) (unlock func()) {
	sites := make([]string, len(groups))
	for i, g := range groups {
		sites[i] = g.site
	}
	sort.Strings(sites)
	locks := make([]*sync.Mutex, len(sites))
	l.headMu.Lock()
	for i, s := range sites {
		m := l.siteMu[s]
		if m == nil {
			m = &sync.Mutex{}
			l.siteMu[s] = m
		}
		locks[i] = m
	}
	l.headMu.Unlock()
	for _, m := range locks {
		m.Lock()
	}
	return func() {
		for _, m := range locks {
			m.Unlock()
		}
	}
}

// chainHead is a site's last record: its seq and hash.
type chainHead struct {
	seq  int64
	hash proof.Hash
}

func (h chainHead) String() string { return strconv.FormatInt(h.seq, 10) + " " + h.hash.String() }

// parseHead reads "<seq> <hash>" (the head key's value).
func parseHead(s string) (chainHead, error) {
	seq, hash, ok := strings.Cut(s, " ")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 0 {
		return chainHead{}, fmt.Errorf("ledger: malformed chain head %q", s)
	}
	h, err := proof.ParseHash(hash)
	if err != nil {
		return chainHead{}, fmt.Errorf("ledger: malformed chain head %q: %w", s, err)
	}
	return chainHead{seq: n, hash: h}, nil
}

func (l *Ledger) forgetHead(site string) {
	l.headMu.Lock()
	delete(l.heads, site)
	l.headMu.Unlock()
}
