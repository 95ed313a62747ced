package node

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/storage"
)

// TestDeleteRecordsSurvivesFailover: DeleteRecords on a replicated
// partition is answered once every in-sync follower has taken the new log
// start from its fetches, so after the leader hands over the deleted
// records stay deleted.
func TestDeleteRecordsSurvivesFailover(t *testing.T) {
	c := newTestCluster(t, 3, replicationSettings...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic = "delrec"
	c.createReplicated(ctx, 0, topic, 1, map[string]string{"min.insync.replicas": "2"})
	var seeds []string
	for _, n := range c.nodes {
		seeds = append(seeds, n.Addr().String())
	}
	produceNumbered(t, ctx, seeds, topic, 0, 100)
	c.replicasAgree(topic, 1, 10*time.Second)
	leader := int(c.partitionState(0, topic, 0).Leader) - 1
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	del := kmsg.NewPtrDeleteRecordsRequest()
	dt := kmsg.NewDeleteRecordsRequestTopic()
	dt.Topic = topic
	dp := kmsg.NewDeleteRecordsRequestTopicPartition()
	dp.Partition, dp.Offset = 0, 60
	dt.Partitions = append(dt.Partitions, dp)
	del.Topics, del.TimeoutMillis = append(del.Topics, dt), 5000
	dres, err := del.RequestWith(ctx, cl)
	if err != nil || dres.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("delete records: %v %+v", err, dres)
	}
	if low := dres.Topics[0].Partitions[0].LowWatermark; low != 60 {
		t.Fatalf("low watermark %d, want 60", low)
	}
	tp := storage.TopicPartition{Topic: topic}
	for i, n := range c.nodes {
		p, _ := n.replicas.Partition(tp)
		if start := p.Log.StartOffset(); start < 60 {
			t.Fatalf("node %d (leader %v): log start %d after DeleteRecords answered 60", i+1, i == leader, start)
		}
	}
	if err := c.nodes[leader].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c.nodes[leader] = nil
	var live []string
	for _, n := range c.nodes {
		if n != nil {
			live = append(live, n.Addr().String())
		}
	}
	cl2, err := kgo.NewClient(kgo.SeedBrokers(live...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	var earliest int64 = -1
	waitFor(t, 10*time.Second, "ListOffsets from the new leader", func() bool {
		lo := kmsg.NewPtrListOffsetsRequest()
		lt := kmsg.NewListOffsetsRequestTopic()
		lt.Topic = topic
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Partition, lp.Timestamp = 0, -2
		lt.Partitions = append(lt.Partitions, lp)
		lo.Topics = append(lo.Topics, lt)
		r, err := lo.RequestWith(ctx, cl2)
		if err != nil || r.Topics[0].Partitions[0].ErrorCode != 0 {
			return false
		}
		earliest = r.Topics[0].Partitions[0].Offset
		return true
	})
	if earliest < 60 {
		t.Fatalf("records below 60 were deleted (DeleteRecords succeeded) but the new leader's log starts at %d", earliest)
	}
}
