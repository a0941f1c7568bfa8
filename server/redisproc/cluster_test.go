package redisproc_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/redisproc"
)

// A real 3-master cluster: keys spread over the nodes, a killed node comes
// back on its port with its data and slots.
func TestCluster(t *testing.T) {
	ctx := context.Background()
	c := redisproc.StartClusterT(t, redisproc.ClusterOptions{})
	if len(c.Nodes) != 3 {
		t.Fatalf("%d nodes, want 3", len(c.Nodes))
	}
	opt, err := redis.ParseClusterURL("redis" + c.URL()[len("redis+cluster"):])
	if err != nil {
		t.Fatalf("URL %s: %v", c.URL(), err)
	}
	if len(opt.Addrs) != 3 {
		t.Fatalf("URL %s names %d nodes", c.URL(), len(opt.Addrs))
	}
	rdb := redis.NewClusterClient(opt)
	defer rdb.Close()

	used := map[int]bool{}
	for i := 0; i < 30; i++ {
		key := fmt.Sprintf("c:{site%d}:log", i)
		if err := rdb.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
		n, err := c.NodeFor(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		used[n] = true
	}
	if len(used) != 3 {
		t.Fatalf("30 sites landed on %d nodes, want all 3", len(used))
	}

	key := "c:{site0}:log"
	n, _ := c.NodeFor(ctx, key)
	_ = c.Nodes[n].Kill()
	if err := rdb.Get(ctx, key).Err(); err == nil {
		t.Fatal("GET on a killed node's slot succeeded")
	}
	if _, err := c.Restart(ctx, n); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Get(ctx, key).Result(); err != nil || v != "0" {
		t.Fatalf("after restart: %q %v, want the value from the AOF", v, err)
	}
}
