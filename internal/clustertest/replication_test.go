package clustertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/storage"
)

// replSettings make replication faults show quickly.
var replSettings = []string{"replica.lag.time.max.ms=2000", "replica.fetch.backoff.ms=50", "replica.fetch.wait.max.ms=200"}

// createReplicated creates topic with partitions, replication factor rf
// and min.insync.replicas minISR through any running member, and waits
// until every running member holds its replicas.
func (c *Cluster) createReplicated(topic string, partitions int32, rf int16, minISR int) {
	c.t.Helper()
	c.WaitFor(10*time.Second, "topic "+topic+" created", func() bool {
		for _, m := range c.Up() {
			cl, err := kgo.NewClient(kgo.SeedBrokers(m.Node.Addr().String()), kgo.RequestRetries(0))
			if err != nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			req := kmsg.NewPtrCreateTopicsRequest()
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, rf
			cfg := kmsg.NewCreateTopicsRequestTopicConfig()
			cfg.Name, cfg.Value = "min.insync.replicas", kmsg.StringPtr(fmt.Sprint(minISR))
			rt.Configs = append(rt.Configs, cfg)
			req.Topics, req.TimeoutMillis = append(req.Topics, rt), 2500
			resp, err := req.RequestWith(ctx, cl)
			cancel()
			cl.Close()
			if err == nil && (resp.Topics[0].ErrorCode == 0 || resp.Topics[0].ErrorCode == kerr.TopicAlreadyExists.Code) {
				return true
			}
		}
		return false
	})
	c.WaitFor(10*time.Second, "every replica of "+topic+" led", func() bool {
		for _, m := range c.Up() {
			t := m.Node.Metadata().TopicByName(topic)
			if t == nil {
				return false
			}
			for _, p := range t.Partitions() {
				if p.Leader == metadata.NoLeader {
					return false
				}
			}
		}
		return true
	})
}

// partition returns topic's partition p in member m's metadata.
func partition(m *Member, topic string, p int32) metadata.Partition {
	if t := m.Node.Metadata().TopicByName(topic); t != nil {
		part, _ := t.Partition(p)
		return part
	}
	return metadata.Partition{Leader: metadata.NoLeader}
}

// member returns the member with id.
func (c *Cluster) member(id int32) *Member { return c.Members[id-1] }

// TestReplicationScenarios runs the replication scenarios for each seed.
func TestReplicationScenarios(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, seed uint64)
	}{
		{"leader-crash", leaderCrash},
		{"power-loss-everywhere", powerLossEverywhere},
		{"partitioned-leader", partitionedLeader},
		{"lagging-follower", laggingFollower},
		{"offline-without-isr", offlineWithoutISR},
		{"reassignment", reassignment},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			for seed := range scenarioSeeds() {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { s.run(t, seed) })
			}
		})
	}
}

// leaderCrash: under acks=all load, the leader of a partition loses power
// (un-synced writes dropped) and restarts, three times; the follower that
// takes over may hold a tail the old leader never had, or the old leader
// one the new leader lacks (truncated when it follows). No acknowledged
// record is lost, duplicated or reordered; the replicas agree below the
// high watermark; no leader epoch has two leaders.
func leaderCrash(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x1ead))
	c := New(t, 3, seed, replSettings...)
	const topic, parts = "load", 3
	c.createReplicated(topic, parts, 3, 2)
	w := c.WatchEpochs()
	load := c.StartLoad(topic)
	load.WaitAcked(500, 20*time.Second)
	for range 3 {
		victim := c.member(partition(c.Up()[0], topic, int32(rng.IntN(parts))).Leader)
		if victim.Node == nil {
			continue
		}
		c.Crash(victim, rng)
		load.WaitAcked(300, 20*time.Second) // the others go on
		c.Restart(victim)
		load.WaitAcked(300, 20*time.Second)
	}
	acked, sent, fails := load.Stop()
	w.Check()
	total := c.CheckReplicas(topic, parts, acked, 20*time.Second)
	t.Logf("seed %d: %d sent, %d acknowledged, %d failed, %d in the logs", seed, sent, len(acked), fails, total)
}

// powerLossEverywhere: every node loses power at the same instant under
// acks=all load; restarted, the cluster still holds every record
// acknowledged before the power went (followers sync before their fetch
// offsets count, so the high watermark only ever covered durable copies).
func powerLossEverywhere(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x90e7))
	c := New(t, 3, seed, replSettings...)
	const topic, parts = "load", 3
	c.createReplicated(topic, parts, 3, 2)
	load := c.StartLoad(topic)
	load.WaitAcked(1000, 20*time.Second)
	before := load.Snapshot() // acknowledged before the power went
	c.CrashAll(rng)
	load.Abort()
	c.RestartAll()
	total := c.CheckReplicas(topic, parts, before, 30*time.Second)
	t.Logf("seed %d: %d acknowledged before the power loss, %d in the logs after", seed, len(before), total)
}

// produceOnce sends one acks=all Produce of one record to partition p
// of topic straight to member m (no retries) and returns its error code.
func produceOnce(t *testing.T, m *Member, topic string, p int32, timeout time.Duration) int16 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(m.Node.Addr().String()), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
	defer cancel()
	b := record.NewBuilder(record.CodecNone)
	b.Append(0, 0, nil, []byte("probe"))
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, int32(timeout.Milliseconds())
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = p, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := cl.SeedBrokers()[0].RetriableRequest(ctx, req)
	if err != nil {
		t.Fatalf("seed: produce to node %d: %v", m.ID, err)
	}
	return resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode
}

// partitionedLeader: a partition's leader is cut off from the other
// nodes (clients still reach it). It cannot acknowledge an acks=all
// write: its followers no longer fetch, so its high watermark stays, and
// it cannot shrink its ISR without the controller. The others elect a
// new leader once the controller fences it; after the cut heals, the old
// leader truncates what it alone took and follows.
func partitionedLeader(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x150))
	c := New(t, 3, seed, replSettings...)
	const topic, parts = "load", 2
	c.createReplicated(topic, parts, 3, 2)
	w := c.WatchEpochs()
	load := c.StartLoad(topic)
	load.WaitAcked(300, 20*time.Second)
	pid := int32(rng.IntN(parts))
	old := partition(c.Up()[0], topic, pid)
	leader := c.member(old.Leader)
	c.Net.Isolate(uint64(leader.ID))
	if code := produceOnce(t, leader, topic, pid, 1500*time.Millisecond); code == 0 {
		t.Fatalf("seed %d: the isolated leader %d acknowledged an acks=all write", seed, leader.ID)
	} else {
		t.Logf("seed %d: the isolated leader answered %v", seed, kerr.ErrorForCode(code))
	}
	var other *Member
	for _, m := range c.Up() {
		if m != leader {
			other = m
			break
		}
	}
	c.WaitFor(10*time.Second, "a new leader among the others", func() bool {
		p := partition(other, topic, pid)
		return p.Leader != leader.ID && p.Leader != metadata.NoLeader && p.LeaderEpoch > old.LeaderEpoch
	})
	// The isolated leader still answers Metadata from its stale image
	// (as an isolated Kafka broker does), naming itself the leader, so
	// the client finds the new leader only once a metadata refresh lands
	// on another node: under a loaded machine that can take a while.
	load.WaitAcked(300, 45*time.Second)
	c.Net.Rejoin(uint64(leader.ID))
	load.WaitAcked(300, 20*time.Second)
	acked, _, _ := load.Stop()
	w.Check()
	c.WaitFor(20*time.Second, "the old leader back in the ISR", func() bool {
		return slices.Contains(partition(other, topic, pid).ISR, leader.ID)
	})
	total := c.CheckReplicas(topic, parts, acked, 20*time.Second)
	t.Logf("seed %d: %d acknowledged, %d in the logs", seed, len(acked), total)
}

// laggingFollower: a follower that heartbeats but cannot fetch leaves
// the ISR after replica.lag.time.max.ms; with min.insync.replicas equal
// to the replication factor, acks=all writes are then refused with
// NOT_ENOUGH_REPLICAS. Once it fetches again it catches up, rejoins, and
// writes succeed.
func laggingFollower(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x1a9))
	c := New(t, 3, seed, replSettings...)
	const topic = "strict"
	c.createReplicated(topic, 1, 2, 2)
	p := partition(c.Up()[0], topic, 0)
	leader := c.member(p.Leader)
	follower := p.Replicas[0]
	if follower == leader.ID {
		follower = p.Replicas[1]
	}
	if code := produceOnce(t, leader, topic, 0, 5*time.Second); code != 0 {
		t.Fatalf("seed %d: produce with the ISR whole: %v", seed, kerr.ErrorForCode(code))
	}
	c.CutReplication(leader.ID, follower, true)
	start := time.Now()
	// The leader's replica layer applies the image after it is
	// published: wait for both, or the probe below can pass the
	// min.insync.replicas check just before the shrink lands (and get
	// NOT_ENOUGH_REPLICAS_AFTER_APPEND instead).
	c.WaitFor(10*time.Second, "the follower out of the ISR", func() bool {
		rp, ok := leader.Node.Replicas().Partition(storage.TopicPartition{Topic: topic, Partition: 0})
		return !slices.Contains(partition(leader, topic, 0).ISR, follower) && ok && rp.ISRSize() == 1
	})
	t.Logf("seed %d: follower %d left the ISR %v after the cut", seed, follower, time.Since(start).Round(time.Millisecond))
	if code := produceOnce(t, leader, topic, 0, time.Second); code != kerr.NotEnoughReplicas.Code {
		t.Fatalf("seed %d: produce with the ISR below min.insync.replicas: %v", seed, kerr.ErrorForCode(code))
	}
	_ = rng
	c.CutReplication(leader.ID, follower, false)
	c.WaitFor(10*time.Second, "the follower back in the ISR", func() bool {
		return slices.Contains(partition(leader, topic, 0).ISR, follower)
	})
	if code := produceOnce(t, leader, topic, 0, 5*time.Second); code != 0 {
		t.Fatalf("seed %d: produce after the follower rejoined: %v", seed, kerr.ErrorForCode(code))
	}
}

// offlineWithoutISR: a partition whose in-sync replicas are all down has
// no leader (unclean election is off): the out-of-sync replica that
// comes back first does not take over. When the last in-sync replica
// returns it leads again, with every acknowledged record.
func offlineWithoutISR(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x0ff))
	c := New(t, 3, seed, replSettings...)
	const topic = "fragile"
	c.createReplicated(topic, 1, 2, 1)
	load := c.StartLoad(topic)
	load.WaitAcked(200, 20*time.Second)
	p := partition(c.Up()[0], topic, 0)
	leader := c.member(p.Leader)
	fid := p.Replicas[0]
	if fid == leader.ID {
		fid = p.Replicas[1]
	}
	follower := c.member(fid)
	c.Crash(follower, rng)
	third := c.Up()[0]
	if third == leader {
		third = c.Up()[1]
	}
	c.WaitFor(10*time.Second, "the ISR down to the leader", func() bool {
		return slices.Equal(partition(third, topic, 0).ISR, []int32{leader.ID})
	})
	load.WaitAcked(100, 20*time.Second)
	acked, _, _ := load.Stop()
	c.Crash(leader, rng)
	c.Restart(follower)
	c.WaitFor(10*time.Second, "the follower registered again and the leader fenced", func() bool {
		img := third.Node.Metadata()
		b, ok := img.Broker(follower.ID)
		l, _ := img.Broker(leader.ID)
		return ok && !b.Fenced && l.Fenced
	})
	time.Sleep(500 * time.Millisecond) // time for a wrong election to happen, if one would
	if p := partition(third, topic, 0); p.Leader != metadata.NoLeader {
		t.Fatalf("seed %d: partition led by %d with its only in-sync replica down (ISR %v)", seed, p.Leader, p.ISR)
	}
	c.Restart(leader)
	c.WaitFor(10*time.Second, "the in-sync replica leading again", func() bool {
		return partition(third, topic, 0).Leader == leader.ID
	})
	total := c.CheckReplicas(topic, 1, acked, 20*time.Second)
	t.Logf("seed %d: %d acknowledged, %d in the logs", seed, len(acked), total)
}

// reassignment: under acks=all load, every partition of a topic with
// replication factor 2 moves to a replica set that swaps one replica for
// the broker that had none (and, for one partition, drops its leader).
// The new replicas copy the log from the leader and join the ISR, the
// reassignment completes on its own, the dropped replicas delete their
// logs, and no acknowledged record is lost.
func reassignment(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x4ea))
	c := New(t, 3, seed, replSettings...)
	const topic, parts = "moving", 3
	c.createReplicated(topic, parts, 2, 1)
	load := c.StartLoad(topic)
	load.WaitAcked(500, 20*time.Second)
	m := c.Up()[0]
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = topic
	targets := map[int32][]int32{}
	for pid := range int32(parts) {
		p := partition(m, topic, pid)
		var spare int32
		for id := int32(1); id <= 3; id++ {
			if !slices.Contains(p.Replicas, id) {
				spare = id
			}
		}
		// Replace the leader in one partition, a follower in the others.
		drop := p.Leader
		if pid != 0 {
			drop = p.Replicas[0]
			if drop == p.Leader {
				drop = p.Replicas[1]
			}
		}
		target := []int32{spare}
		for _, r := range p.Replicas {
			if r != drop {
				target = append(target, r)
			}
		}
		if rng.IntN(2) == 0 {
			target[0], target[1] = target[1], target[0]
		}
		targets[pid] = target
		rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		rp.Partition, rp.Replicas = pid, target
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	cl, err := kgo.NewClient(kgo.SeedBrokers(m.Node.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("seed %d: AlterPartitionAssignments: %v %+v", seed, err, resp)
	}
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != 0 {
			t.Fatalf("seed %d: reassign partition %d: %v", seed, p.Partition, kerr.ErrorForCode(p.ErrorCode))
		}
	}
	c.WaitFor(20*time.Second, "every reassignment complete", func() bool {
		lreq := kmsg.NewPtrListPartitionReassignmentsRequest()
		lresp, err := lreq.RequestWith(ctx, cl)
		if err != nil || len(lresp.Topics) != 0 {
			return false
		}
		for pid, target := range targets {
			p := partition(m, topic, pid)
			if !slices.Equal(p.Replicas, target) || len(p.ISR) != 2 || !slices.Contains(target, p.Leader) {
				return false
			}
		}
		return true
	})
	load.WaitAcked(300, 20*time.Second)
	acked, _, _ := load.Stop()
	c.WaitFor(10*time.Second, "the dropped replicas deleted", func() bool {
		for pid, target := range targets {
			for _, mm := range c.Up() {
				_, has := mm.Node.Replicas().Partition(storage.TopicPartition{Topic: topic, Partition: pid})
				if has != slices.Contains(target, mm.ID) {
					return false
				}
			}
		}
		return true
	})
	total := c.CheckReplicas(topic, parts, acked, 20*time.Second)
	t.Logf("seed %d: targets %v; %d acknowledged, %d in the logs", seed, targets, len(acked), total)
}
