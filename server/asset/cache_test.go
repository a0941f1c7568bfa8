package asset

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// page is a compressed asset of about n bytes, different for each name.
func page(t *testing.T, name string, n int) *Asset {
	t.Helper()
	return mustNew(t, "text/html; charset=utf-8", []byte(name+strings.Repeat(" consentd notice page", n/21)))
}

// TestCacheBudget: the cache keeps what fits its budget, the least
// recently used asset leaving first; what is made again after it left is
// the same, byte for byte.
func TestCacheBudget(t *testing.T) {
	a, b, c := page(t, "a", 4000), page(t, "b", 4000), page(t, "c", 4000)
	assets := map[string]*Asset{"a": a, "b": b, "c": c}
	c2 := NewCache(Cost(a) + Cost(b)) // two of the three fit
	made := map[string]int{}
	get := func(key string) *Asset {
		t.Helper()
		got, err := c2.Get(key, func() (*Asset, error) {
			made[key]++
			return mustNew(t, assets[key].ContentType, bytes.Clone(assets[key].Raw())), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	steps := []struct {
		get         string
		wantMade    map[string]int // after this step
		wantEvicted int64
	}{
		{"a", map[string]int{"a": 1}, 0},
		{"b", map[string]int{"a": 1, "b": 1}, 0},
		{"a", map[string]int{"a": 1, "b": 1}, 0},         // held: a is now the most recent
		{"c", map[string]int{"a": 1, "b": 1, "c": 1}, 1}, // b leaves, not a
		{"a", map[string]int{"a": 1, "b": 1, "c": 1}, 1},
		{"b", map[string]int{"a": 1, "b": 2, "c": 1}, 2}, // made again; c leaves
	}
	for i, st := range steps {
		got := get(st.get)
		want := assets[st.get]
		if !bytes.Equal(got.Raw(), want.Raw()) || got.ETag(Brotli) != want.ETag(Brotli) || !bytes.Equal(got.body(Brotli), want.body(Brotli)) {
			t.Fatalf("step %d: %s differs from the asset first made", i, st.get)
		}
		for k, n := range st.wantMade {
			if made[k] != n {
				t.Fatalf("step %d: %s made %d times, want %d", i, k, made[k], n)
			}
		}
		if s := c2.Stats(); s.Evicted != st.wantEvicted || s.Bytes > Cost(a)+Cost(b) || s.Assets != min(i+1, 2) {
			t.Fatalf("step %d: %+v; want %d evicted, at most the budget, %d held", i, s, st.wantEvicted, min(i+1, 2))
		}
		misses := int64(0)
		for _, n := range st.wantMade {
			misses += int64(n)
		}
		if s := c2.Stats(); s.Misses != misses || s.Hits != int64(i+1)-misses || s.Budget != Cost(a)+Cost(b) {
			t.Fatalf("step %d: %+v; want %d misses, %d hits, budget %d", i, s, misses, int64(i+1)-misses, Cost(a)+Cost(b))
		}
	}
}

// TestCacheEdges: an asset larger than the budget is served and not
// kept, as is every asset with a budget of 0; a failed make keeps
// nothing.
func TestCacheEdges(t *testing.T) {
	big := page(t, "big", 8000)
	tests := []struct {
		name   string
		budget int64
		make   func() (*Asset, error)
		err    bool
	}{
		{"larger than the budget", Cost(big) - 1, func() (*Asset, error) { return big, nil }, false},
		{"budget 0", 0, func() (*Asset, error) { return big, nil }, false},
		{"make fails", 1 << 20, func() (*Asset, error) { return nil, errors.New("render failed") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCache(tt.budget)
			for range 2 {
				a, err := c.Get("k", tt.make)
				if (err != nil) != tt.err || (!tt.err && a != big) {
					t.Fatalf("Get: %v, %v", a, err)
				}
			}
			if s := c.Stats(); s.Assets != 0 || s.Bytes != 0 {
				t.Fatalf("kept %+v", s)
			}
		})
	}
}

// TestCacheMakesOnce: concurrent requests for one key make it once.
func TestCacheMakesOnce(t *testing.T) {
	c := NewCache(1 << 20)
	a := page(t, "a", 4000)
	var made atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := c.Get("a", func() (*Asset, error) {
				made.Add(1)
				<-release
				return a, nil
			})
			if err != nil || got != a {
				t.Errorf("Get: %v, %v", got, err)
			}
		})
	}
	close(release)
	wg.Wait()
	if n := made.Load(); n != 1 {
		t.Fatalf("made %d times, want 1", n)
	}
}
