package perf

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/node"
)

// TestPerfAgainstANode runs each mode against a single node: produce
// acknowledges every record, consume reads them all back, e2e measures a
// latency for what it consumed.
func TestPerfAgainstANode(t *testing.T) {
	cfg, err := config.Load(nil, []string{"log.dir=" + t.TempDir(), "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:9093"}, config.ProfileSingleNode)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	o := Options{Bootstrap: []string{n.Addr().String()}, Topic: "perf", Create: true, Partitions: 4, Records: 20000, RecordSize: 200, Producers: 2}
	p, err := Produce(ctx, o)
	if err != nil || p.Records != 20000 || p.Failed != 0 || p.Bytes != 20000*200 || p.Latency == nil || p.Latency.P50 <= 0 || p.Latency.Max < p.Latency.P99 {
		t.Fatalf("produce: %v %+v", err, p)
	}
	c, err := Consume(ctx, Options{Bootstrap: o.Bootstrap, Topic: "perf", Records: 20000, Consumers: 1})
	if err != nil || c.Records < 20000 || c.Failed != 0 || c.RecordsPerSec <= 0 {
		t.Fatalf("consume: %v %+v", err, c)
	}
	e, err := E2E(ctx, Options{Bootstrap: o.Bootstrap, Topic: "perf-e2e", Create: true, Partitions: 2, Rate: 2000, Duration: 2 * time.Second, RecordSize: 64})
	if err != nil || e.Records < 3000 || e.Latency == nil || e.Latency.P50 <= 0 || e.Latency.P99 > 1000 {
		t.Fatalf("e2e: %v %+v %+v", err, e, e.Latency)
	}
	t.Logf("produce %.0f records/s (p99 %.2f ms), consume %.0f records/s, e2e p99 %.2f ms at 2000 records/s",
		p.RecordsPerSec, p.Latency.P99, c.RecordsPerSec, e.Latency.P99)
	if _, err := Produce(ctx, Options{Bootstrap: o.Bootstrap, Acks: "1", Idempotent: true}); err == nil {
		t.Fatal("idempotence with acks=1 accepted")
	}
}
