package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentd/consentd/config"
	"github.com/consentd/consentd/server/ledger"
	"github.com/consentd/consentd/server/redisproc"
	"github.com/consentd/consentd/server/servertest"
)

// With --redis-wait-replicas 1 and the replica paused, a consent post is
// answered 503 with Retry-After (the cause logged), though the primary
// stored the record; the widget's retry with the same Idempotency-Key is
// answered 200 with that record once the replica is back.
func TestConsentNotReplicatedIs503(t *testing.T) {
	if redisproc.ClusterMode() {
		t.Skip("replication tests start their own servers: they run in the single-server pass")
	}
	p := redisproc.StartT(t, redisproc.Options{})
	replica := redisproc.StartReplicaT(t, p, redisproc.Options{})
	t.Cleanup(func() { _ = replica.Resume() })
	logs := &servertest.LogBuffer{}
	env := servertest.Start(t, servertest.Options{Redis: p, Log: logs, Config: func(c *config.Config) {
		c.RedisWaitReplicas, c.RedisWaitTimeout = 1, 100*time.Millisecond
	}})
	body := jsonOf(t, validBody(noticeVersion(t, env)))
	h := map[string]string{"Idempotency-Key": "not-replicated-yet"}

	if err := replica.Pause(); err != nil {
		t.Fatal(err)
	}
	r := post(t, env, body, h)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "2" || r.Body["error"] != "consent store unavailable, retry later" {
		t.Fatalf("status %d Retry-After %q body %s", r.Status, r.Header.Get("Retry-After"), r.Raw)
	}
	if !strings.Contains(logs.String(), "not confirmed on 1 replica(s)") {
		t.Fatalf("the 503's cause is not logged:\n%s", logs)
	}
	msgs, err := env.Redis.XRange(context.Background(), ledger.LogKey("demo"), "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("primary log: %d records (%v), want the unacknowledged one", len(msgs), err)
	}
	stored, err := ledger.DecodeEntry(msgs[0].Values)
	if err != nil {
		t.Fatal(err)
	}

	if err := replica.Resume(); err != nil {
		t.Fatal(err)
	}
	r = post(t, env, body, h)
	if r.Status != http.StatusOK || r.Body["duplicate"] != true || r.Body["recordId"] != stored.RecordID || r.Body["receipt"] == nil {
		t.Fatalf("retry: status %d %s, want 200, a duplicate of %s with its receipt", r.Status, r.Raw, stored.RecordID)
	}
}
