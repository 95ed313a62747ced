package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// Metrics is a node's registry and the series it counts as things
// happen.
type Metrics struct {
	Registry *prometheus.Registry
	Requests *Requests
	fsync    prometheus.Observer
	late     *lateCollector
}

// New returns, for a node serving the APIs served accepts (nil: every
// API), a registry with the Go runtime's and the process's series,
// the request and fsync series, and a collector over the sources that
// SetSources provides once the node has built its components.
func New(served func(protocol.APIKey) bool) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	fsync := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "sluice_log_fsync_duration_seconds",
		Help:    "Time of each log sync's segment fdatasyncs (one group commit).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
	reg.MustRegister(fsync)
	m := &Metrics{Registry: reg, Requests: NewRequests(reg, served), fsync: fsync, late: &lateCollector{descs: newCollector(Sources{})}}
	reg.MustRegister(m.late)
	return m
}

// ObserveSync records one log sync's fdatasync time (storage's OnSync).
func (m *Metrics) ObserveSync(d time.Duration) { m.fsync.Observe(d.Seconds()) }

// SetSources gives the collector the node's components; call it once,
// before serving.
func (m *Metrics) SetSources(s Sources) { m.late.c.Store(newCollector(s)) }

// lateCollector collects over the sources set after registration;
// nothing until then.
type lateCollector struct {
	descs *collector
	c     atomic.Pointer[collector]
}

func (l *lateCollector) Describe(ch chan<- *prometheus.Desc) { l.descs.describeAll(ch) }

func (l *lateCollector) Collect(ch chan<- prometheus.Metric) {
	if c := l.c.Load(); c != nil {
		c.Collect(ch)
	}
}
