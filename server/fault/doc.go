// Package fault holds consentd's fault tests: the real consentd binary
// (built once per test run) and real redis-server processes on free
// loopback ports, killed with SIGKILL in the middle of a load of
// concurrent consent posts. The tests check what a failure may never do:
// answer 500, crash, leak goroutines, lose an acknowledged record, store a
// record twice or write half of one.
//
// go test ./server/fault runs each fault once, in a few seconds; with
// -long (make bench) the loads last longer and the faults repeat.
package fault
