package node

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkSingleClientThroughput produces b.N records of 1 KiB with one
// franz-go client (acks=all, its default batching; idempotence off, as
// InitProducerId is not served yet) to a topic auto-created with one
// partition (num.partitions=1, Kafka's default) on a node
// whose data is on the real disk (durable mode), then consumes them all
// with one client. It reports both throughputs.
func BenchmarkSingleClientThroughput(b *testing.B) {
	n := startNode(b, b.TempDir())
	defer n.Shutdown(context.Background())
	addr := n.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("bench"), kgo.AllowAutoTopicCreation(), kgo.DisableIdempotentWrite())
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	value := make([]byte, 1024)
	// Create the topic before timing.
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(1024)
	b.ResetTimer()
	start := time.Now()
	errs := make(chan error, 1)
	for range b.N {
		prod.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	if err := prod.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	produceTime := time.Since(start)
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.StopTimer()

	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("bench"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close()
	start = time.Now()
	got := 0
	for got < b.N+1 {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			b.Fatal(err)
		}
		got += fs.NumRecords()
	}
	consumeTime := time.Since(start)
	b.ReportMetric(float64(b.N)/produceTime.Seconds(), "produce-rec/s")
	b.ReportMetric(float64(b.N)*1024/1e6/produceTime.Seconds(), "produce-MB/s")
	b.ReportMetric(float64(got)/consumeTime.Seconds(), "consume-rec/s")
	b.ReportMetric(float64(got)*1024/1e6/consumeTime.Seconds(), "consume-MB/s")
}
