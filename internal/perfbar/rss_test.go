package perfbar

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/perf"
)

// TestBrokerMemoryFlat runs a durable single node under a steady
// produce-and-consume load for SLUICE_PERF_RSS_MINUTES (default 10) and
// requires its resident set at the end to be at most 1.2× what it was
// after the first minute's warm-up. Retention keeps deleting segments
// meanwhile, so the log's own size stays bounded. SLUICE_PERF_RSS=1.
func TestBrokerMemoryFlat(t *testing.T) {
	if os.Getenv("SLUICE_PERF_RSS") == "" {
		t.Skip("SLUICE_PERF_RSS=1 runs the ten-minute memory measurement")
	}
	total := time.Duration(envInt("SLUICE_PERF_RSS_MINUTES", 10)) * time.Minute
	warm := time.Minute
	rate := float64(envInt("SLUICE_PERF_RSS_RATE", 50_000))
	s := startSluice(t, t.TempDir(), "log.retention.check.interval.ms=5000")
	ctx, cancel := context.WithTimeout(context.Background(), total+5*time.Minute)
	defer cancel()

	type point struct {
		at  time.Duration
		rss int64
	}
	var points []point
	start := time.Now()
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if v, err := rss(s.pid()); err == nil {
				points = append(points, point{time.Since(start), v})
			}
		}
	}()
	r, err := perf.E2E(ctx, perf.Options{Bootstrap: []string{s.addr}, Topic: "rss", Create: true, Partitions: 16,
		Configs:    map[string]string{"segment.bytes": "16777216", "retention.bytes": "67108864"},
		RecordSize: 1024, Rate: rate, Duration: total, Acks: "all", Idempotent: true, Linger: 10 * time.Millisecond})
	final, ferr := rss(s.pid())
	close(done)
	<-sampled
	if err != nil || ferr != nil {
		t.Fatal(err, ferr)
	}
	if r.Failed != 0 || r.Records < int64(rate*total.Seconds()*0.9) {
		t.Fatalf("load: %d records, %d failed: %s", r.Records, r.Failed, r.FirstError)
	}
	var warmRSS, peak int64
	for _, p := range points {
		if p.at >= warm && warmRSS == 0 {
			warmRSS = p.rss
		}
		peak = max(peak, p.rss)
		t.Logf("%4.0f s  rss %6.1f MiB", p.at.Seconds(), float64(p.rss)/(1<<20))
	}
	if warmRSS == 0 {
		t.Fatal("no sample after the warm-up")
	}
	ratio := float64(final) / float64(warmRSS)
	t.Logf("%.0f records/s e2e for %v (p99 %.2f ms): rss after warm-up %.1f MiB, final %.1f MiB (%.2fx), peak %.1f MiB",
		r.RecordsPerSec, total, r.Latency.P99, float64(warmRSS)/(1<<20), float64(final)/(1<<20), ratio, float64(peak)/(1<<20))
	if ratio > 1.2 {
		t.Errorf("final rss %.2fx the warm-up's, want <= 1.2x", ratio)
	}
}
