package perf

import (
	"math"
	"sync"
	"time"
)

// Histogram counts durations in buckets that grow by 2% from 1 µs: any
// percentile it reports is within 1% of the true value, in constant
// memory, and Record does not allocate.
type Histogram struct {
	mu     sync.Mutex
	counts []uint64
	n      uint64
	max    time.Duration
}

const (
	histGrowth  = 1.02
	histBuckets = 1200 // 1 µs × 1.02^1200 is about 2e10 µs: far past any latency
)

var logGrowth = math.Log(histGrowth)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{counts: make([]uint64, histBuckets)} }

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	return min(int(math.Log(us)/logGrowth)+1, histBuckets-1)
}

// upper is the largest duration bucket i holds (its reported value).
func upper(i int) time.Duration {
	return time.Duration(math.Pow(histGrowth, float64(i)) * float64(time.Microsecond))
}

// Record counts one duration.
func (h *Histogram) Record(d time.Duration) {
	h.mu.Lock()
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
	h.mu.Unlock()
}

// Count is the number of durations recorded.
func (h *Histogram) Count() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Quantile returns the q-quantile (0 < q ≤ 1): the upper bound of the
// bucket holding it, never above the largest duration recorded. 0 when
// empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(upper(i), h.max)
		}
	}
	return h.max
}

// Max is the largest duration recorded.
func (h *Histogram) Max() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.max
}

// Latency is a histogram's summary, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
}

// Summary summarizes h.
func (h *Histogram) Summary() Latency {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{P50: ms(h.Quantile(0.5)), P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)), Max: ms(h.Max())}
}
