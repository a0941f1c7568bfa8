package asset

// A Cache keeps assets that are made on request (a site's notice pages)
// instead of for as long as their site is loaded: with many sites, most
// of them are seldom asked for, and a budget of bytes bounds what they
// hold.

import (
	"math"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sync/singleflight"
)

// Cache keeps assets made on request up to a budget of bytes, the least
// recently used ones leaving first. It is safe for concurrent use.
type Cache struct {
	budget int64
	flight singleflight.Group

	mu      sync.Mutex
	lru     *simplelru.LRU[string, cached]
	held    int64 // bytes of the assets in lru (cost)
	evicted int64 // assets removed to keep to the budget, since NewCache
	hits    int64 // Gets answered from the cache, since NewCache
	misses  int64 // Gets that made their asset (or joined one making it)
}

type cached struct {
	a    *Asset
	cost int64
}

// NewCache returns a Cache that holds at most budget bytes of assets
// (their raw and compressed forms); 0 or less holds none: every Get
// makes its asset.
func NewCache(budget int64) *Cache {
	lru, _ := simplelru.NewLRU[string, cached](math.MaxInt, nil) // cannot fail: size > 0
	return &Cache{budget: max(budget, 0), lru: lru}
}

// Get returns the asset held under key, or makes it with build (once for
// concurrent calls with one key) and keeps it. An asset larger than the
// whole budget is returned but not kept. Errors of build are returned and
// nothing is kept.
func (c *Cache) Get(key string, build func() (*Asset, error)) (*Asset, error) {
	c.mu.Lock()
	e, ok := c.lru.Get(key)
	if ok {
		c.hits++
	} else {
		c.misses++
	}
	c.mu.Unlock()
	if ok {
		return e.a, nil
	}
	v, err, _ := c.flight.Do(key, func() (any, error) {
		// A call that ended between the look-up above and this one has
		// kept its asset: take it rather than build it again.
		c.mu.Lock()
		e, ok := c.lru.Peek(key)
		c.mu.Unlock()
		if ok {
			return e.a, nil
		}
		a, err := build()
		if err != nil {
			return nil, err
		}
		return c.keep(key, a), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Asset), nil
}

// keep adds a under key, removing the least recently used assets until
// the budget holds, and returns the asset held under key (one made by an
// earlier call that won the race, if any).
func (c *Cache) keep(key string, a *Asset) *Asset {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.lru.Peek(key); ok {
		return e.a
	}
	cost := Cost(a)
	if cost > c.budget {
		return a
	}
	c.lru.Add(key, cached{a: a, cost: cost})
	c.held += cost
	for c.held > c.budget {
		_, old, ok := c.lru.RemoveOldest()
		if !ok {
			break
		}
		c.held -= old.cost
		c.evicted++
	}
	return a
}

// CacheStats are a Cache's figures at one moment.
type CacheStats struct {
	Assets  int   // held
	Bytes   int64 // held (as counted by Cost)
	Budget  int64 // the most Bytes may be
	Evicted int64 // removed to keep to the budget, since NewCache
	Hits    int64 // Gets answered with a held asset, since NewCache
	Misses  int64 // Gets that made their asset, since NewCache
}

// Stats returns what the cache holds now.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Assets: c.lru.Len(), Bytes: c.held, Budget: c.budget, Evicted: c.evicted, Hits: c.hits, Misses: c.misses}
}

// Cost is what a counts against a Cache's budget: its raw bytes and its
// compressed forms, or half the raw size for the forms to come when it
// is not compressed yet (HTML and JSON compress to about a fifth each).
func Cost(a *Asset) int64 {
	raw, gz, br := a.Sizes()
	if !a.Compressed() {
		return int64(raw + raw/2)
	}
	return int64(raw + gz + br)
}
