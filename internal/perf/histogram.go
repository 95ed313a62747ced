package perf

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// Histogram counts durations in buckets 1/128 of a power of two wide
// (exact below 256 ns): any percentile it reports is within 0.8% of the
// true value, in constant memory. Its index is a shift and a mask, and
// Record does not allocate.
type Histogram struct {
	mu     sync.Mutex
	counts []uint64
	n      uint64
	max    time.Duration
}

const (
	subBits    = 7 // 128 buckets per power of two
	subBuckets = 1 << subBits
	// histBuckets covers every positive int64: its largest shift is
	// 63-(subBits+1), to which the index adds a value below
	// 2*subBuckets.
	histBuckets = (63-(subBits+1))*subBuckets + 2*subBuckets
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{counts: make([]uint64, histBuckets)} }

// bucketOf is d's bucket: d itself below 2*subBuckets ns, above that
// the top subBits+1 bits of d and how far they were shifted.
func bucketOf(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	v := uint64(d)
	shift := bits.Len64(v) - (subBits + 1)
	if shift <= 0 {
		return int(v)
	}
	return shift*subBuckets + int(v>>shift)
}

// upper is the largest duration bucket i holds (its reported value).
func upper(i int) time.Duration {
	if i < 2*subBuckets {
		return time.Duration(i)
	}
	shift := i/subBuckets - 1
	m := uint64(i%subBuckets + subBuckets)
	return time.Duration((m+1)<<shift - 1)
}

// Record counts one duration.
func (h *Histogram) Record(d time.Duration) {
	h.mu.Lock()
	h.record(d)
	h.mu.Unlock()
}

// RecordAll counts durations under one lock.
func (h *Histogram) RecordAll(ds []time.Duration) {
	h.mu.Lock()
	for _, d := range ds {
		h.record(d)
	}
	h.mu.Unlock()
}

func (h *Histogram) record(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
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
