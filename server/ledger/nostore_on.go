//go:build consentd_nostore

package ledger

// NoStore is true in this build (tag consentd_nostore): Append answers
// without writing anything. For bin/consentd-bench only; such a binary
// stores no proof of consent and must never be deployed.
const NoStore = true
