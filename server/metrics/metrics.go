// Package metrics holds consentd's Prometheus metrics in a registry of its
// own (no global registration) and serves them in the text format.
package metrics

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/consentd/consentd/server/ledger"
)

// Metrics are the counters and histograms consentd exports.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	batchSize   prometheus.Histogram
	batchTime   prometheus.Histogram
	redisErrors prometheus.Counter
	// notReplicated counts group commits written but not confirmed on
	// the replicas (ledger.ErrNotReplicated).
	notReplicated prometheus.Counter
	reloads       *prometheus.CounterVec
	trimmed       *prometheus.CounterVec
	limited       *prometheus.CounterVec

	// chainConflicts counts site batches chained again (ledger.ConflictObserver).
	chainConflicts *prometheus.CounterVec
	// unverified counts log entries found outside the signed chain.
	unverified *prometheus.CounterVec
}

// New creates the metrics and a registry with Go runtime and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentd_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "consentd_http_request_duration_seconds", Help: "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "consentd_ledger_batch_records", Help: "Records per group commit to Redis.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
		}),
		batchTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "consentd_ledger_batch_duration_seconds", Help: "Time of one group commit to Redis.",
			Buckets: []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1, 3},
		}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "consentd_redis_errors_total", Help: "Group commits that Redis did not acknowledge.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentd_config_reloads_total", Help: "Site config reloads by result (ok, error).",
		}, []string{"result"}),
		trimmed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentd_retention_trimmed_records_total", Help: "Consent records removed from the log by the retention job, by site.",
		}, []string{"site"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentd_rate_limited_total", Help: "Consent posts refused with 429, by the limit reached (address, site, consent_id).",
		}, []string{"limit"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.batchSize, m.batchTime, m.redisErrors, m.reloads, m.trimmed, m.limited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.chainConflicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "consentd_ledger_chain_conflicts_total", Help: "Site batches chained again because another instance moved the chain head first or some records were duplicates, by site.",
	}, []string{"site"})
	m.notReplicated = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "consentd_ledger_not_replicated_total", Help: "Group commits Redis wrote but WAIT did not confirm on --redis-wait-replicas replicas in time (their posts answered 503).",
	})
	m.unverified = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "consentd_unverified_entries_total", Help: "Log entries that are not part of the site's signed chain (not stored by consentd as they are: tampering or damage), by site and where they were met (lookup, export, checkpoint, scans).",
	}, []string{"site", "where"})
	m.reg.MustRegister(m.chainConflicts, m.notReplicated, m.unverified)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Request records one HTTP request.
func (m *Metrics) Request(route, method string, code int, took time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route, method).Observe(took.Seconds())
}

// BatchDone records one group commit (ledger.Observer).
func (m *Metrics) BatchDone(records int, took time.Duration, err error) {
	m.batchSize.Observe(float64(records))
	m.batchTime.Observe(took.Seconds())
	if err != nil {
		m.redisErrors.Inc()
	}
	if errors.Is(err, ledger.ErrNotReplicated) {
		m.notReplicated.Inc()
	}
}

// Reload records a site config reload.
func (m *Metrics) Reload(err error) {
	if err != nil {
		m.reloads.WithLabelValues("error").Inc()
		return
	}
	m.reloads.WithLabelValues("ok").Inc()
}

// Trimmed records n records removed from a site's log by retention.
func (m *Metrics) Trimmed(site string, n int64) {
	m.trimmed.WithLabelValues(site).Add(float64(n))
}

// RateLimited records a request refused by the rate limit named limit.
func (m *Metrics) RateLimited(limit string) {
	m.limited.WithLabelValues(limit).Inc()
}

// Unverified records a log entry of site that is not part of its signed
// chain (ledger.UnverifiedError), met by where: lookup, export,
// checkpoint or scans.
func (m *Metrics) Unverified(site, where string) {
	m.unverified.WithLabelValues(site, where).Inc()
}

// ChainConflict records a site batch that had to be chained again
// (ledger.ConflictObserver).
func (m *Metrics) ChainConflict(site string) {
	m.chainConflicts.WithLabelValues(site).Inc()
}

// CacheFigures are a cache's figures at one moment (WatchNoticeCache).
type CacheFigures struct {
	Entries                              int
	Bytes, Budget, Evicted, Hits, Misses int64
}

// WatchNoticeCache exports the notice cache's figures, read from read at
// each scrape: consentd_notice_cache_entries, _bytes and _budget_bytes
// (gauges) and _evictions_total, _hits_total and _misses_total.
func (m *Metrics) WatchNoticeCache(read func() CacheFigures) {
	gauge := func(name, help string, v func(CacheFigures) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return v(read()) })
	}
	counter := func(name, help string, v func(CacheFigures) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return v(read()) })
	}
	m.reg.MustRegister(
		gauge("consentd_notice_cache_entries", "Notice pages, snapshots and structured notices held in the notice cache.",
			func(f CacheFigures) float64 { return float64(f.Entries) }),
		gauge("consentd_notice_cache_bytes", "Bytes held in the notice cache (raw and compressed forms).",
			func(f CacheFigures) float64 { return float64(f.Bytes) }),
		gauge("consentd_notice_cache_budget_bytes", "The most bytes the notice cache holds (--notice-cache-mb).",
			func(f CacheFigures) float64 { return float64(f.Budget) }),
		counter("consentd_notice_cache_evictions_total", "Notice documents removed from the notice cache to keep to its budget.",
			func(f CacheFigures) float64 { return float64(f.Evicted) }),
		counter("consentd_notice_cache_hits_total", "Requests for a notice document answered from the notice cache.",
			func(f CacheFigures) float64 { return float64(f.Hits) }),
		counter("consentd_notice_cache_misses_total", "Requests for a notice document that rendered it (not in the notice cache).",
			func(f CacheFigures) float64 { return float64(f.Misses) }),
	)
}
