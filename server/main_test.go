package server_test

import (
	"os"
	"testing"

	"github.com/consentd/consentd/server/redisproc"
)

// TestMain shares one Redis Cluster among the tests when they run in
// cluster mode (CONSENTD_TEST_REDIS=cluster, see redisproc.ModeEnv).
func TestMain(m *testing.M) { os.Exit(redisproc.Main(m)) }
