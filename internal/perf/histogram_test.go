package perf

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestHistogramQuantiles: the histogram's quantiles are within 1% of the
// exact ones over a wide spread of durations, and never above the max.
func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := NewHistogram()
	var all []time.Duration
	for range 100000 {
		d := time.Duration(rng.ExpFloat64() * float64(3*time.Millisecond))
		all = append(all, d)
		h.Record(d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		exact := all[int(q*float64(len(all)))-1]
		got := h.Quantile(q)
		if got < exact*99/100 || got > exact*101/100 {
			t.Errorf("q%.3f: %v, exact %v", q, got, exact)
		}
	}
	if h.Max() != all[len(all)-1] || h.Count() != 100000 {
		t.Fatalf("max %v (want %v), count %d", h.Max(), all[len(all)-1], h.Count())
	}
	if (&Histogram{counts: make([]uint64, histBuckets)}).Quantile(0.5) != 0 {
		t.Fatal("an empty histogram has a median")
	}
}

// TestHistogramBuckets: every duration falls in the bucket whose range
// holds it, buckets are one nanosecond or at most 1/128 of their value
// wide, and the largest duration has a bucket.
func TestHistogramBuckets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(d time.Duration) {
		i := bucketOf(d)
		if i < 0 || i >= histBuckets {
			t.Fatalf("%d: bucket %d out of range", d, i)
		}
		if up := upper(i); up < d || (i > 0 && upper(i-1) >= d) {
			t.Fatalf("%d: bucket %d holds up to %d, the one before up to %d", d, i, up, upper(i-1))
		}
		if w := upper(i) - upper(i-1); i > 0 && w > 1 && float64(w) > float64(d)/128 {
			t.Fatalf("%d: bucket %d is %d wide", d, i, w)
		}
	}
	for d := time.Duration(1); d < 4096; d++ {
		check(d)
	}
	for range 100000 {
		check(time.Duration(rng.Int64() >> rng.IntN(63))) // every magnitude
	}
	check(time.Duration(math.MaxInt64))
	h := NewHistogram()
	h.RecordAll([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond})
	if h.Count() != 3 || h.Max() != 3*time.Millisecond || h.Quantile(0.5) < 2*time.Millisecond || h.Quantile(0.5) > 2*time.Millisecond*101/100 {
		t.Fatalf("RecordAll: count %d, max %v, median %v", h.Count(), h.Max(), h.Quantile(0.5))
	}
}
