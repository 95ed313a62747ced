package node

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/storage"
)

// deleteRecordsRequest is a DeleteRecords of one partition below offset.
func deleteRecordsRequest(topic string, partition int32, offset int64, timeout time.Duration) *kmsg.DeleteRecordsRequest {
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics, req.TimeoutMillis = append(req.Topics, rt), int32(timeout.Milliseconds())
	return req
}

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
	seeds := c.liveAddrs()
	produceNumbered(t, ctx, seeds, topic, 0, 100)
	c.replicasAgree(topic, 1, 10*time.Second)
	leader := int(c.partitionState(0, topic, 0).Leader) - 1
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	dres, err := deleteRecordsRequest(topic, 0, 60, 5*time.Second).RequestWith(ctx, cl)
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
	cl2, err := kgo.NewClient(kgo.SeedBrokers(c.liveAddrs()...))
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

// TestDeleteRecordsWaitsOnLiveReplicas: as Kafka's, DeleteRecords waits on
// the replica of every live broker, in the ISR or not. A follower stopped
// and dropped from the ISR but not yet fenced holds the answer to the
// timeout (REQUEST_TIMED_OUT); a deletion waiting when its broker is
// fenced is answered then, with the new low watermark, and the follower,
// back, starts its log there.
func TestDeleteRecordsWaitsOnLiveReplicas(t *testing.T) {
	c := newTestCluster(t, 3, "broker.session.timeout.ms=9000", "broker.heartbeat.interval.ms=300",
		"replica.lag.time.max.ms=1000", "replica.fetch.backoff.ms=100", "offsets.topic.replication.factor=3")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const topic = "delrec-live"
	c.createReplicated(ctx, 0, topic, 1, map[string]string{"min.insync.replicas": "1"})
	produceNumbered(t, ctx, c.liveAddrs(), topic, 0, 100)
	c.replicasAgree(topic, 1, 10*time.Second)
	leader := int(c.partitionState(0, topic, 0).Leader) - 1
	victim := (leader + 1) % 3
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.nodes[leader].Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err != nil { // the client learns the node ids
		t.Fatal(err)
	}
	deleteTo := func(offset int64, timeout time.Duration) (int16, int64) {
		dres, err := deleteRecordsRequest(topic, 0, offset, timeout).RequestWith(ctx, cl.Broker(leader+1))
		if err != nil {
			t.Fatalf("delete records: %v", err)
		}
		p := dres.Topics[0].Partitions[0]
		return p.ErrorCode, p.LowWatermark
	}
	victimAlive := func() bool {
		b, ok := c.nodes[leader].Metadata().Broker(int32(victim + 1))
		return ok && !b.Fenced
	}

	c.nodes[victim].close()
	c.nodes[victim] = nil
	stopped := time.Now()
	waitFor(t, 10*time.Second, "the stopped follower out of the ISR", func() bool {
		return !slices.Contains(c.partitionState(leader, topic, 0).ISR, int32(victim+1))
	})
	code, low := deleteTo(60, 500*time.Millisecond)
	if !victimAlive() {
		t.Fatalf("broker %d fenced %v after it stopped, before the check could run (session timeout 9 s)", victim+1, time.Since(stopped))
	}
	if code != kerr.RequestTimedOut.Code || low >= 60 {
		t.Fatalf("DeleteRecords with a live follower out of the ISR and stopped: error %d, low watermark %d; want REQUEST_TIMED_OUT below 60",
			code, low)
	}

	// Asked again while the broker is live, the deletion is answered
	// when it is fenced, not at the timeout.
	asked := time.Now()
	code, low = deleteTo(60, 30*time.Second)
	if code != 0 || low != 60 {
		t.Fatalf("DeleteRecords once the follower's broker is fenced: error %d, low watermark %d; want none, 60", code, low)
	}
	if victimAlive() {
		t.Fatal("DeleteRecords answered while the stopped follower's broker is still live")
	}
	if took := time.Since(asked); took > 20*time.Second {
		t.Fatalf("DeleteRecords took %v: the fencing did not wake it", took)
	}

	n, err := Start(c.cfgs[victim], nil)
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[victim] = n
	tp := storage.TopicPartition{Topic: topic}
	waitFor(t, 20*time.Second, "the follower back with its log starting at 60", func() bool {
		p, ok := n.replicas.Partition(tp)
		return ok && p.Log.StartOffset() >= 60 && p.Log.EndOffset() == 100
	})
}
