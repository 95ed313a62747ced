package node

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/record"
)

// TestLogAppendTimeTopic: on a topic created with
// message.timestamp.type=LogAppendTime the Produce response names the
// append time, and consumers read the record at that time, not at the
// producer's (three days old: no timestamp bound applies).
func TestLogAppendTimeTopic(t *testing.T) {
	n := startNode(t, t.TempDir())
	defer n.close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.DefaultProduceTopic("lat"),
		kgo.ConsumeTopics("lat"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	createTopic(ctx, t, cl, "lat", 1, 1, nil, map[string]string{"message.timestamp.type": "LogAppendTime"})
	b := record.NewBuilder(record.CodecNone)
	b.BaseTimestamp = time.Now().Add(-72 * time.Hour).UnixMilli()
	b.Append(0, 0, nil, []byte("v"))
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	produce := kmsg.NewPtrProduceRequest()
	produce.Acks, produce.TimeoutMillis = -1, 10000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "lat"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Partition, pp.Records = 0, batch
	pt.Partitions = append(pt.Partitions, pp)
	produce.Topics = append(produce.Topics, pt)
	before := time.Now().UnixMilli()
	presp, err := produce.RequestWith(ctx, cl)
	after := time.Now().UnixMilli()
	if err != nil {
		t.Fatal(err)
	}
	pr := presp.Topics[0].Partitions[0]
	if pr.ErrorCode != 0 || pr.LogAppendTime < before || pr.LogAppendTime > after {
		t.Fatalf("produce: error %d, log append time %d, want in [%d, %d]", pr.ErrorCode, pr.LogAppendTime, before, after)
	}
	fs := cl.PollFetches(ctx)
	if errs := fs.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	got := fs.Records()
	if len(got) != 1 || got[0].Timestamp.UnixMilli() != pr.LogAppendTime || got[0].Attrs.TimestampType() != 1 {
		t.Fatalf("consumed %d records; first at %v (type %d), want %d (LogAppendTime)", len(got), got[0].Timestamp, got[0].Attrs.TimestampType(), pr.LogAppendTime)
	}
}
