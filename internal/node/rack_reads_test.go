package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/metadata"
)

// servedBy records which broker served each fetched batch.
type servedBy struct {
	mu      sync.Mutex
	brokers map[int32]int
}

func (s *servedBy) OnFetchBatchRead(meta kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.brokers[meta.NodeID] += m.NumRecords
}

// TestRackAwareReads (KIP-392): with replica.selector.class Kafka's
// RackAwareReplicaSelector, the leader sends a consumer in a follower's
// rack to that follower (PreferredReadReplica, no records); the follower
// serves a Fetch v11+ up to its high watermark, wakes a long poll when
// its high watermark moves, and refuses older versions; a franz-go
// consumer in the follower's rack reads every record from it. With
// LeaderSelector the leader serves every consumer itself.
func TestRackAwareReads(t *testing.T) {
	t.Run("RackAwareReplicaSelector", func(t *testing.T) { testRackAwareReads(t, config.RackAwareReplicaSelector) })
	t.Run("LeaderSelector", func(t *testing.T) { testRackAwareReads(t, config.LeaderSelector) })
}

func testRackAwareReads(t *testing.T, selector string) {
	_, nodes := startSeparateRolesWith(t, map[string]string{
		"replica.selector.class": selector, "replica.fetch.backoff.ms": "100",
	}, func(id int, p map[string]string) { p["broker.rack"] = fmt.Sprintf("r%d", id) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	img := func() *metadata.Image { return nodes[0].Metadata() }
	waitFor(t, 10*time.Second, "both brokers unfenced", func() bool { return len(img().LiveBrokers()) == 2 })

	cl, err := kgo.NewClient(kgo.SeedBrokers(nodes[1].Addr().String()), kgo.DefaultProduceTopic("r"), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	createTopic(ctx, t, cl, "r", -1, -1, []int32{2, 3}, nil)
	waitFor(t, 10*time.Second, "both replicas in the ISR", func() bool {
		tp := img().TopicByName("r")
		if tp == nil {
			return false
		}
		p, _ := tp.Partition(0)
		return p.Leader == 2 && slices.Equal(p.ISR, []int32{2, 3})
	})
	produce := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(10)

	// fetch sends one Fetch of the given version to node i.
	fetch := func(i int, version int16, rack string, offset int64, wait time.Duration) kmsg.FetchResponseTopicPartition {
		t.Helper()
		c, err := kgo.NewClient(kgo.SeedBrokers(nodes[i].Addr().String()), kgo.MaxVersions(maxVersion(kmsg.Fetch, version)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.Rack = version, -1, int32(wait.Milliseconds()), 1, 1<<20, rack
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic, ft.TopicID = "r", img().TopicByName("r").ID()
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.CurrentLeaderEpoch, fp.FetchOffset, fp.LogStartOffset, fp.PartitionMaxBytes = 0, -1, offset, -1, 1<<20
		ft.Partitions = append(ft.Partitions, fp)
		req.Topics = append(req.Topics, ft)
		b, err := c.Broker(i+1).Request(ctx, req)
		if err != nil {
			t.Fatalf("fetch v%d from broker %d: %v", version, i+1, err)
		}
		return b.(*kmsg.FetchResponse).Topics[0].Partitions[0]
	}
	records := func(p kmsg.FetchResponseTopicPartition) int {
		n := 0
		for b := p.RecordBatches; len(b) > 0; {
			var batch kmsg.RecordBatch
			if err := batch.ReadFrom(b); err != nil {
				t.Fatalf("batch: %v", err)
			}
			n += int(batch.NumRecords)
			b = b[12+int(batch.Length):]
		}
		return n
	}

	if selector == config.LeaderSelector {
		if p := fetch(1, 12, "r3", 0, 0); p.ErrorCode != 0 || p.PreferredReadReplica != -1 || records(p) != 10 {
			t.Fatalf("LeaderSelector, consumer in r3: error %d preferred %d records %d", p.ErrorCode, p.PreferredReadReplica, records(p))
		}
		return
	}
	// The leader: a consumer in r3 goes to broker 3; one in r2 (the
	// leader's rack) or naming none reads here.
	if p := fetch(1, 12, "r3", 0, 0); p.ErrorCode != 0 || p.PreferredReadReplica != 3 || records(p) != 0 ||
		p.HighWatermark != 10 || p.LastStableOffset != 10 || p.LogStartOffset != 0 {
		t.Fatalf("leader, consumer in r3: error %d preferred %d records %d offsets %d/%d/%d", p.ErrorCode, p.PreferredReadReplica, records(p),
			p.HighWatermark, p.LastStableOffset, p.LogStartOffset)
	}
	for _, rack := range []string{"r2", ""} {
		if p := fetch(1, 12, rack, 0, 0); p.ErrorCode != 0 || p.PreferredReadReplica != -1 || records(p) != 10 {
			t.Fatalf("leader, consumer in rack %q: error %d preferred %d records %d", rack, p.ErrorCode, p.PreferredReadReplica, records(p))
		}
	}
	// The follower serves v11+ up to its high watermark, and not v10.
	waitFor(t, 10*time.Second, "the follower's high watermark at 10", func() bool { return fetch(2, 12, "r3", 0, 0).HighWatermark == 10 })
	if p := fetch(2, 12, "r3", 0, 0); p.ErrorCode != 0 || records(p) != 10 || p.PreferredReadReplica != -1 {
		t.Fatalf("follower, v12: error %d records %d preferred %d", p.ErrorCode, records(p), p.PreferredReadReplica)
	}
	if p := fetch(2, 10, "", 0, 0); p.ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Fatalf("follower, v10: error %d, want NOT_LEADER_OR_FOLLOWER", p.ErrorCode)
	}
	// A long poll on the follower ends when a new record reaches its
	// high watermark.
	done := make(chan kmsg.FetchResponseTopicPartition, 1)
	start := time.Now()
	go func() { done <- fetch(2, 12, "r3", 10, 10*time.Second) }()
	time.Sleep(300 * time.Millisecond)
	produce(1)
	select {
	case p := <-done:
		if took := time.Since(start); p.ErrorCode != 0 || records(p) != 1 || took > 5*time.Second {
			t.Fatalf("follower long poll: error %d records %d after %v", p.ErrorCode, records(p), took)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the follower's long poll did not end")
	}

	// A franz-go consumer in r3 reads everything from broker 3.
	hook := &servedBy{brokers: map[int32]int{}}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(nodes[1].Addr().String()), kgo.ConsumeTopics("r"), kgo.Rack("r3"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.WithHooks(hook))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	got := 0
	for got < 11 {
		fs := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of 11: %v", got, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch error %s-%d: %v", topic, p, err) })
		got += fs.NumRecords()
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if hook.brokers[3] != 11 || hook.brokers[2] != 0 {
		t.Fatalf("records served per broker: %v, want all 11 from broker 3", hook.brokers)
	}
}
