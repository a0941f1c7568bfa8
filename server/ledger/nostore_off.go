//go:build !consentd_nostore

package ledger

// NoStore is true only in a binary built with the build tag
// consentd_nostore, which answers every Append without writing anything:
// the upper bound that bin/consentd-bench measures for the request path
// alone (docs/performance.md, "The request path alone"). Production
// builds have it false, so the check compiles away.
const NoStore = false
