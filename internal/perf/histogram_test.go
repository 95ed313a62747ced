package perf

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestHistogramQuantiles: the histogram's quantiles are within 2% of the
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
		if got < exact*98/100 || got > exact*102/100 {
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
