package node

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/storage"
)

// replicationSettings make failures show fast in tests.
var replicationSettings = []string{
	"broker.session.timeout.ms=1500", "broker.heartbeat.interval.ms=300",
	"replica.lag.time.max.ms=3000", "replica.fetch.backoff.ms=100", "offsets.topic.replication.factor=3",
}

// createReplicated creates topic with partitions, replication factor 3 and
// configs through node via, and waits until every live node has it.
func (c *testCluster) createReplicated(ctx context.Context, via int, topic string, partitions int32, configs map[string]string) {
	t := c.t
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.nodes[via].Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	createTopic(ctx, t, cl, topic, partitions, 3, nil, configs)
	for i, n := range c.nodes {
		if n != nil {
			waitFor(t, 10*time.Second, fmt.Sprintf("%s on node %d", topic, i+1), func() bool {
				_, ok := n.replicas.Partition(storage.TopicPartition{Topic: topic, Partition: partitions - 1})
				return ok
			})
		}
	}
}

// liveAddrs returns the client addresses of the nodes running.
func (c *testCluster) liveAddrs() []string {
	var s []string
	for _, n := range c.nodes {
		if n != nil {
			s = append(s, n.Addr().String())
		}
	}
	return s
}

// partitionState returns partition p of topic as node i's metadata has it.
func (c *testCluster) partitionState(i int, topic string, p int32) metadata.Partition {
	t := c.nodes[i].Metadata().TopicByName(topic)
	if t == nil {
		return metadata.Partition{}
	}
	part, _ := t.Partition(p)
	return part
}

// replicasAgree waits until every live replica of each partition of topic
// has the leader's log end and high watermark, and returns the ends.
func (c *testCluster) replicasAgree(topic string, partitions int32, within time.Duration) []int64 {
	t := c.t
	t.Helper()
	ends := make([]int64, partitions)
	waitFor(t, within, "replicas to agree", func() bool {
		for p := range partitions {
			tp := storage.TopicPartition{Topic: topic, Partition: p}
			var end, hw int64 = -1, -1
			for _, n := range c.nodes {
				if n == nil {
					continue
				}
				part, ok := n.replicas.Partition(tp)
				if !ok {
					return false
				}
				e, h := part.Log.EndOffset(), part.HighWatermark()
				if end >= 0 && (e != end || h != hw) {
					return false
				}
				end, hw = e, h
			}
			if hw != end {
				return false
			}
			ends[p] = end
		}
		return true
	})
	return ends
}

// produceNumbered produces values from..to-1 (as decimal strings, keyed
// by themselves) with acks=all and idempotence, and fails on any error.
func produceNumbered(t *testing.T, ctx context.Context, seeds []string, topic string, from, to int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := from; i < to; i++ {
		v := []byte(strconv.Itoa(i))
		recs = append(recs, &kgo.Record{Key: v, Value: v})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce %d..%d: %v", from, to, err)
	}
}

// consumeNumbered reads topic from the start until it has want records and
// returns the values per partition, in order.
func consumeNumbered(t *testing.T, ctx context.Context, seeds []string, topic string, want int) map[int32][]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out := map[int32][]string{}
	got := 0
	for got < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records: %v", got, want, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			out[r.Partition] = append(out[r.Partition], string(r.Value))
			got++
		})
	}
	return out
}

// TestReplication writes to a topic with replication factor 3 and
// min.insync.replicas=2 with acks=all: the followers copy every record
// and reach the leader's high watermark. The broker leading partition 0
// is killed: another in-sync replica takes over, the dead broker leaves
// the ISR, writes go on; restarted, it catches up from the new leader
// (truncating nothing it must keep) and rejoins every ISR. Every
// acknowledged record is read back once, in order per partition.
func TestReplication(t *testing.T) {
	c := newTestCluster(t, 3, replicationSettings...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const topic, parts = "rep", 3
	c.createReplicated(ctx, 0, topic, parts, map[string]string{"min.insync.replicas": "2"})
	produceNumbered(t, ctx, c.liveAddrs(), topic, 0, 3000)
	ends := c.replicasAgree(topic, parts, 10*time.Second)
	t.Logf("log ends after 3000 records: %v", ends)

	victim := int(c.partitionState(0, topic, 0).Leader) - 1
	survivor := (victim + 1) % 3
	oldEpoch := c.partitionState(survivor, topic, 0).LeaderEpoch
	c.nodes[victim].Kill()
	c.nodes[victim] = nil
	start := time.Now()
	victimID := int32(victim + 1)
	waitFor(t, 1500*time.Millisecond+2*time.Second, "a new leader and the dead broker out of every ISR", func() bool {
		for p := range int32(parts) {
			st := c.partitionState(survivor, topic, p)
			if st.Leader == victimID || st.Leader < 0 || slices.Contains(st.ISR, victimID) {
				return false
			}
		}
		return true
	})
	t.Logf("leadership moved and ISRs shrank %v after the kill", time.Since(start).Round(time.Millisecond))
	if st := c.partitionState(survivor, topic, 0); st.LeaderEpoch <= oldEpoch {
		t.Fatalf("partition 0 leader epoch %d, was %d", st.LeaderEpoch, oldEpoch)
	}
	produceNumbered(t, ctx, c.liveAddrs(), topic, 3000, 6000)

	n, err := Start(c.cfgs[victim], nil)
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[victim] = n
	start = time.Now()
	waitFor(t, 20*time.Second, "the restarted broker back in every ISR", func() bool {
		for p := range int32(parts) {
			if !slices.Contains(c.partitionState(survivor, topic, p).ISR, victimID) {
				return false
			}
		}
		return true
	})
	t.Logf("the restarted broker rejoined every ISR %v after its start", time.Since(start).Round(time.Millisecond))
	ends = c.replicasAgree(topic, parts, 10*time.Second)
	t.Logf("log ends after 6000 records: %v", ends)

	got := consumeNumbered(t, ctx, c.liveAddrs(), topic, 6000)
	seen := map[string]bool{}
	total := 0
	for p, vals := range got {
		last := -1
		for _, v := range vals {
			if seen[v] {
				t.Fatalf("value %s read twice", v)
			}
			seen[v] = true
			i, _ := strconv.Atoi(v)
			if i <= last {
				t.Fatalf("partition %d: %d after %d", p, i, last)
			}
			last = i
			total++
		}
	}
	if total != 6000 {
		t.Fatalf("read %d records, want 6000", total)
	}
}

// TestReplicationThrottle moves a 1 MiB partition to a second replica,
// unthrottled, then another under each throttle: with
// leader.replication.throttled.rate (a dynamic config of the leader) and
// the topic's leader.replication.throttled.replicas, or
// follower.replication.throttled.rate of the new replica and the topic's
// follower.replication.throttled.replicas, at 200 kB/s over two 1 s
// samples and 64 KiB fetches, the copy takes seconds where the unthrottled one takes a
// fraction; every reassignment completes.
func TestReplicationThrottle(t *testing.T) {
	// Fetches of 64 KiB: a throttle holds back whole fetches.
	c := newTestCluster(t, 3, append(replicationSettings, "replication.quota.window.num=2", "replica.fetch.max.bytes=65536")...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.nodes[0].Addr().String()), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchMaxBytes(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	create := func(topic string, configs map[string]string) {
		t.Helper()
		createTopic(ctx, t, cl, topic, -1, -1, []int32{1}, configs)
		var recs []*kgo.Record
		for range 100 {
			value := make([]byte, 10<<10) // random: no compression shrinks it
			crand.Read(value)
			recs = append(recs, &kgo.Record{Topic: topic, Value: value})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
	}
	setBroker := func(id int, key, value string) {
		t.Helper()
		if code, msg := alterBrokerConfig(ctx, t, cl, fmt.Sprint(id), key, kmsg.StringPtr(value)); code != 0 {
			t.Fatalf("set %s=%s on broker %d: %d %s", key, value, id, code, msg)
		}
	}
	move := func(topic string) time.Duration {
		t.Helper()
		req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
		rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		rp.Partition, rp.Replicas = 0, []int32{1, 2}
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		start := time.Now()
		if resp, err := req.RequestWith(ctx, cl); err != nil || resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("reassign %s: %v %+v", topic, err, resp)
		}
		waitFor(t, 60*time.Second, topic+" on two in-sync replicas", func() bool {
			p := c.partitionState(0, topic, 0)
			return len(p.AddingReplicas) == 0 && slices.Equal(p.Replicas, []int32{1, 2}) && len(p.ISR) == 2
		})
		return time.Since(start)
	}
	create("free", nil)
	free := move("free")

	create("leader-throttled", map[string]string{"leader.replication.throttled.replicas": "*"})
	setBroker(1, "leader.replication.throttled.rate", "200000")
	leader := move("leader-throttled")
	setBroker(1, "leader.replication.throttled.rate", "1000000000")

	create("follower-throttled", map[string]string{"follower.replication.throttled.replicas": "0:2"})
	setBroker(2, "follower.replication.throttled.rate", "200000")
	follower := move("follower-throttled")
	t.Logf("1 MiB copied unthrottled in %v; with a leader throttle of 200 kB/s in %v, with a follower throttle in %v",
		free.Round(time.Millisecond), leader.Round(time.Millisecond), follower.Round(time.Millisecond))
	for name, d := range map[string]time.Duration{"leader": leader, "follower": follower} {
		// 1 MiB at 200 kB/s, less what two 1 s samples let through at once.
		if d < 2*time.Second || d < 3*free {
			t.Errorf("the %s throttle let 1 MiB through in %v (unthrottled: %v)", name, d, free)
		}
	}
}

// TestControlledShutdownMovesLeadership: a broker shutting down cleanly
// (SIGTERM) hands its leaderships to in-sync replicas before it exits:
// when Shutdown returns, the others' metadata has it leading nothing,
// and every acknowledged record is still readable.
func TestControlledShutdownMovesLeadership(t *testing.T) {
	c := newTestCluster(t, 3, replicationSettings...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic, parts = "handover", 6
	c.createReplicated(ctx, 0, topic, parts, map[string]string{"min.insync.replicas": "2"})
	seeds := c.liveAddrs()
	produceNumbered(t, ctx, seeds, topic, 0, 1000)
	victim := int(c.partitionState(0, topic, 0).Leader) - 1
	other := (victim + 1) % 3
	if err := c.nodes[victim].Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	c.nodes[victim] = nil
	// The leaderships moved before Shutdown returned; the other node's
	// image may trail the controller's by a moment.
	waitFor(t, time.Second, "the other node's metadata to show the handover", func() bool {
		for p := range int32(parts) {
			if l := c.partitionState(other, topic, p).Leader; l == int32(victim+1) || l < 0 {
				return false
			}
		}
		return true
	})
	var live []string
	for _, n := range c.nodes {
		if n != nil {
			live = append(live, n.Addr().String())
		}
	}
	got := consumeNumbered(t, ctx, live, topic, 1000)
	total := 0
	for _, vals := range got {
		total += len(vals)
	}
	if total != 1000 {
		t.Fatalf("read %d records after the shutdown, want 1000", total)
	}
}

// TestUncleanLeaderElection: broker 3 dies, broker 2 acknowledges three
// records alone in the ISR and dies too; broker 3 comes back, but with
// unclean.leader.election.enable false nothing elects it. An unclean
// ElectLeaders makes it the leader and the only member of the ISR (with
// the topic's unclean.leader.election.enable true, the controller does
// as broker 3 returns), the partition RECOVERING; it takes writes at its
// own log end (offset 0: the three records are lost, as an unclean
// election loses them in Kafka). Back, broker 2 truncates its log to the
// new leader's (its epoch ends where the new leader's log starts), copies
// the new record and rejoins the ISR, which ends the recovery.
func TestUncleanLeaderElection(t *testing.T) {
	t.Run("ElectLeaders", func(t *testing.T) { testUncleanLeaderElection(t, false) })
	t.Run("automatic", func(t *testing.T) { testUncleanLeaderElection(t, true) })
}

func testUncleanLeaderElection(t *testing.T, automatic bool) {
	cfgs, nodes := startSeparateRoles(t, map[string]string{"replica.lag.time.max.ms": "3000", "replica.fetch.backoff.ms": "100"})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	img := func() *metadata.Image { return nodes[0].Metadata() }
	part := func() metadata.Partition {
		if tp := img().TopicByName("u"); tp != nil {
			if p, ok := tp.Partition(0); ok {
				return p
			}
		}
		return metadata.Partition{Leader: metadata.NoLeader}
	}
	fenced := func(id int32) bool { b, ok := img().Broker(id); return ok && b.Fenced }
	client := func(i int) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(nodes[i].Addr().String()), kgo.DefaultProduceTopic("u"),
			kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(20*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	produce := func(i int, values ...string) {
		t.Helper()
		cl := client(i)
		defer cl.Close()
		for _, v := range values {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatalf("produce %s through broker %d: %v", v, i+1, err)
			}
		}
	}
	waitFor(t, 10*time.Second, "both brokers unfenced", func() bool { return len(img().LiveBrokers()) == 2 })
	var configs map[string]string
	if automatic {
		configs = map[string]string{"unclean.leader.election.enable": "true"}
	}
	cl := client(1)
	createTopic(ctx, t, cl, "u", -1, -1, []int32{2, 3}, configs)
	cl.Close()
	waitFor(t, 10*time.Second, "broker 2 leading, both in the ISR", func() bool {
		p := part()
		return p.Leader == 2 && slices.Equal(p.ISR, []int32{2, 3})
	})

	nodes[2].Kill()
	nodes[2] = nil
	waitFor(t, 10*time.Second, "broker 3 fenced and out of the ISR", func() bool { return fenced(3) && slices.Equal(part().ISR, []int32{2}) })
	produce(1, "a", "b", "c")
	nodes[1].Kill()
	nodes[1] = nil
	waitFor(t, 10*time.Second, "broker 2 fenced, the partition without a leader", func() bool { return fenced(2) && part().Leader == metadata.NoLeader })
	lost := part()

	var err error
	if nodes[2], err = Start(cfgs[2], nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "broker 3 back", func() bool { return !fenced(3) && len(img().LiveBrokers()) == 1 })
	if automatic {
		if p := part(); p.Leader != 3 || !slices.Equal(p.ISR, []int32{3}) || p.LeaderEpoch <= lost.LeaderEpoch || p.LeaderRecoveryState != metadata.Recovering {
			t.Fatalf("broker 3 unfenced, not elected uncleanly: %+v (before: %+v)", p, lost)
		}
	} else {
		uncleanElectLeaders(ctx, t, client(2), lost, part)
	}
	produce(2, "d")

	if nodes[1], err = Start(cfgs[1], nil); err != nil {
		t.Fatal(err)
	}
	tp := storage.TopicPartition{Topic: "u", Partition: 0}
	waitFor(t, 20*time.Second, "broker 2 back in the ISR with the new leader's log", func() bool {
		if !slices.Contains(part().ISR, 2) {
			return false
		}
		for _, n := range nodes[1:] {
			p, ok := n.replicas.Partition(tp)
			if !ok || p.Log.EndOffset() != 1 || p.HighWatermark() != 1 {
				return false
			}
		}
		return true
	})
	// The leader's change that took broker 2 back ended the recovery.
	if p := part(); p.LeaderRecoveryState != metadata.Recovered {
		t.Fatalf("broker 2 back in the ISR, the partition still %v", p.LeaderRecoveryState)
	}
	for i, n := range nodes[1:] {
		p, _ := n.replicas.Partition(tp)
		res, err := p.Log.Read(0, 1<<20, 1, true)
		if err != nil {
			t.Fatal(err)
		}
		data, err := res.Bytes()
		res.Release()
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		it := record.NewBatches(data)
		for it.Next() {
			var recs record.Records
			if err := recs.Reset(it.Batch(), record.Options{}); err != nil {
				t.Fatal(err)
			}
			for recs.Next() {
				values = append(values, string(recs.Record().Value))
			}
			if err := recs.Err(); err != nil {
				t.Fatal(err)
			}
			recs.Close()
		}
		if !slices.Equal(values, []string{"d"}) {
			t.Fatalf("broker %d's log holds %q, want the record d alone", i+2, values)
		}
	}
}

// uncleanElectLeaders elects partition u-0's leader uncleanly through cl
// (which it closes) and checks broker 3 leads alone in the ISR at an
// epoch past lost's.
func uncleanElectLeaders(ctx context.Context, t *testing.T, cl *kgo.Client, lost metadata.Partition, part func() metadata.Partition) {
	t.Helper()
	if p := part(); p.Leader != metadata.NoLeader {
		t.Fatalf("broker 3, out of the ISR, elected without an unclean election: %+v", p)
	}
	elect := kmsg.NewPtrElectLeadersRequest()
	elect.ElectionType, elect.TimeoutMillis = 1, 10000
	et := kmsg.NewElectLeadersRequestTopic()
	et.Topic, et.Partitions = "u", []int32{0}
	elect.Topics = append(elect.Topics, et)
	eresp, err := elect.RequestWith(ctx, cl)
	cl.Close()
	if err != nil || len(eresp.Topics) != 1 || eresp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("unclean ElectLeaders: %v %+v", err, eresp)
	}
	if p := part(); p.Leader != 3 || !slices.Equal(p.ISR, []int32{3}) || p.LeaderEpoch <= lost.LeaderEpoch || p.LeaderRecoveryState != metadata.Recovering {
		t.Fatalf("after the unclean election: %+v (before: %+v)", p, lost)
	}
}
