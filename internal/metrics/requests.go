package metrics

import (
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// maxAPIKey bounds the API keys resolved in advance; requests of keys
// above it are not served and never observed.
const maxAPIKey = 128

// Requests counts the requests a server answers: implements
// server.Observer.
type Requests struct {
	count    [maxAPIKey]prometheus.Counter
	duration [maxAPIKey]prometheus.Observer
	errors   *prometheus.CounterVec

	plans sync.Map // reflect.Type → *errPlan
}

// NewRequests registers the request series with reg, with a series
// from the start for each API served (nil: every API).
func NewRequests(reg prometheus.Registerer, served func(protocol.APIKey) bool) *Requests {
	count := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_requests_total", Help: "Requests answered, by API.",
	}, []string{"api"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sluice_request_duration_seconds",
		Help:    "Time from a request's arrival to its response written, by API (long polls included).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"api"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_request_errors_total",
		Help: "Error codes in responses, by API and Kafka error name: each partition's or resource's error counts once, as Kafka's ErrorsPerSec.",
	}, []string{"api", "error"})
	reg.MustRegister(count, duration, errs)
	r := &Requests{errors: errs}
	for _, info := range protocol.APIs() {
		if int(info.Key) < maxAPIKey && (served == nil || served(info.Key)) {
			r.count[info.Key] = count.WithLabelValues(info.Name)
			r.duration[info.Key] = duration.WithLabelValues(info.Name)
		}
	}
	return r
}

// ObserveRequest counts a request of key answered in d with resp.
func (r *Requests) ObserveRequest(key protocol.APIKey, d time.Duration, resp protocol.Message) {
	if key < 0 || int(key) >= maxAPIKey || r.count[key] == nil {
		return
	}
	// The duration first: a scrape that sees the request counted then
	// sees its duration too.
	r.duration[key].Observe(d.Seconds())
	r.count[key].Inc()
	if resp == nil {
		return
	}
	v := reflect.ValueOf(resp)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return
	}
	v = v.Elem()
	r.plan(v.Type()).walk(v, func(code int16) {
		info, _ := protocol.LookupAPI(key)
		r.errors.WithLabelValues(info.Name, protocol.ErrorCode(code).Name()).Inc()
	})
}

// errPlan is where a response type keeps its error codes: an ErrorCode
// field, and the nested structs and slices of structs to search.
type errPlan struct {
	code     int // field index of ErrorCode, or -1
	children []errChild
}

type errChild struct {
	field int
	slice bool
	plan  *errPlan
}

func (r *Requests) plan(t reflect.Type) *errPlan {
	if p, ok := r.plans.Load(t); ok {
		return p.(*errPlan)
	}
	p := buildPlan(t, map[reflect.Type]*errPlan{})
	r.plans.Store(t, p)
	return p
}

// buildPlan maps t's error codes; seen breaks cycles.
func buildPlan(t reflect.Type, seen map[reflect.Type]*errPlan) *errPlan {
	if p, ok := seen[t]; ok {
		return p
	}
	p := &errPlan{code: -1}
	seen[t] = p
	for i := range t.NumField() {
		f := t.Field(i)
		switch {
		case f.Name == "ErrorCode" && f.Type.Kind() == reflect.Int16:
			p.code = i
		case f.Type.Kind() == reflect.Struct:
			if c := buildPlan(f.Type, seen); !c.empty() {
				p.children = append(p.children, errChild{field: i, plan: c})
			}
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			if c := buildPlan(f.Type.Elem(), seen); !c.empty() {
				p.children = append(p.children, errChild{field: i, slice: true, plan: c})
			}
		}
	}
	return p
}

func (p *errPlan) empty() bool { return p.code < 0 && len(p.children) == 0 }

// walk calls fn with every non-zero error code in v.
func (p *errPlan) walk(v reflect.Value, fn func(int16)) {
	if p.code >= 0 {
		if c := int16(v.Field(p.code).Int()); c != 0 {
			fn(c)
		}
	}
	for _, ch := range p.children {
		f := v.Field(ch.field)
		if !ch.slice {
			ch.plan.walk(f, fn)
			continue
		}
		for i := range f.Len() {
			ch.plan.walk(f.Index(i), fn)
		}
	}
}
