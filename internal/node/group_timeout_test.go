package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/handler"
)

// TestGroupWritesBoundedAndMinISR: __consumer_offsets has three replicas
// and min.insync.replicas=3. With a follower stopped but still in the
// ISR, the high watermark cannot pass a commit, which is answered
// REQUEST_TIMED_OUT after offsets.commit.timeout.ms rather than held; once
// the ISR has shrunk to two, a commit is refused (NOT_ENOUGH_REPLICAS,
// COORDINATOR_NOT_AVAILABLE to the committer); once the follower is back
// in the ISR, commits succeed again.
func TestGroupWritesBoundedAndMinISR(t *testing.T) {
	const commitTimeout = 300 * time.Millisecond
	c := newTestCluster(t, 3, "broker.session.timeout.ms=60000", "broker.heartbeat.interval.ms=300",
		"replica.lag.time.max.ms=4000", "replica.fetch.backoff.ms=100",
		"offsets.topic.replication.factor=3", "offsets.topic.num.partitions=1",
		"min.insync.replicas=3", fmt.Sprintf("offsets.commit.timeout.ms=%d", commitTimeout.Milliseconds()))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const topic, group = "events", "app"
	c.createReplicated(ctx, 0, topic, 1, nil)
	seeds := c.liveAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	find := kmsg.NewPtrFindCoordinatorRequest()
	find.CoordinatorKey = group
	if _, err := find.RequestWith(ctx, cl); err != nil { // creates __consumer_offsets
		t.Fatal(err)
	}
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err != nil { // the client learns the node ids
		t.Fatal(err)
	}
	var leader int
	waitFor(t, 15*time.Second, "a leader of __consumer_offsets-0 with three in-sync replicas", func() bool {
		p := c.partitionState(0, handler.OffsetsTopic, 0)
		leader = int(p.Leader) - 1
		return p.Leader > 0 && len(p.ISR) == 3
	})
	// commit sends an OffsetCommit straight to the coordinator (no
	// client retries) and returns how long it took and its error.
	commit := func(offset int64) (time.Duration, error) {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group, req.Generation = group, -1
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = 0, offset
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		start := time.Now()
		resp, err := req.RequestWith(ctx, cl.Broker(leader+1))
		if err != nil {
			t.Fatalf("commit %d: %v", offset, err)
		}
		return time.Since(start), kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
	}
	fetch := func() int64 {
		req := kmsg.NewPtrOffsetFetchRequest()
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = group
		rt := kmsg.NewOffsetFetchRequestGroupTopic()
		rt.Topic, rt.Partitions = topic, []int32{0}
		rg.Topics = append(rg.Topics, rt)
		req.Groups = append(req.Groups, rg)
		resp, err := req.RequestWith(ctx, cl.Broker(leader+1))
		if err != nil || len(resp.Groups) != 1 || resp.Groups[0].ErrorCode != 0 || len(resp.Groups[0].Topics) != 1 {
			t.Fatalf("fetch: %v %+v", err, resp)
		}
		return resp.Groups[0].Topics[0].Partitions[0].Offset
	}
	waitFor(t, 15*time.Second, "a first commit", func() bool {
		_, err := commit(1)
		return err == nil
	})

	victim := (leader + 1) % 3
	c.nodes[victim].close()
	c.nodes[victim] = nil
	took, err := commit(2)
	if err != kerr.RequestTimedOut || took < commitTimeout || took > 3*time.Second {
		t.Fatalf("commit with a follower stopped: %v after %v, want REQUEST_TIMED_OUT after %v (the ISR shrinks only after 4 s)",
			err, took, commitTimeout)
	}
	if isr := c.partitionState(leader, handler.OffsetsTopic, 0).ISR; len(isr) != 3 {
		t.Fatalf("ISR %v shrank before the commit timed out", isr)
	}
	if got := fetch(); got != 1 {
		t.Errorf("offset after the timed-out commit: %d, want 1", got)
	}

	waitFor(t, 15*time.Second, "the ISR to shrink", func() bool {
		return len(c.partitionState(leader, handler.OffsetsTopic, 0).ISR) == 2
	})
	waitFor(t, 5*time.Second, "the leader to know the shrunk ISR", func() bool {
		_, err := commit(3)
		return err == kerr.CoordinatorNotAvailable
	})
	if got := fetch(); got != 1 {
		t.Errorf("offset after the refused commit: %d, want 1", got)
	}

	n, err := Start(c.cfgs[victim], nil)
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[victim] = n
	waitFor(t, 20*time.Second, "the follower back in the ISR", func() bool {
		return len(c.partitionState(leader, handler.OffsetsTopic, 0).ISR) == 3
	})
	waitFor(t, 10*time.Second, "a commit after the follower's return", func() bool {
		_, err := commit(4)
		return err == nil
	})
	if got := fetch(); got != 4 {
		t.Errorf("offset after the follower's return: %d, want 4", got)
	}
}
