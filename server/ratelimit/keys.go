package ratelimit

// The rate-limit counters checked by POST /v1/consent: each a string
// holding a request count, created by the first request of a window.
// Lifetime: the window (one minute). A site's other keys are in
// server/ledger/keys.go; all carry the {site} hash tag.

// AddrKey is the string c:{site}:r:a:{addr}: posts to the site from one
// client address. addr is clientip.Resolver.LimitKey of the address (a
// keyed hash of the IPv4 address or IPv6 /64, never the address itself).
func AddrKey(site, addr string) string { return "c:{" + site + "}:r:a:" + addr }

// SiteKey is the string c:{site}:r:s: posts to the site.
func SiteKey(site string) string { return "c:{" + site + "}:r:s" }
