package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestCommandsSurviveForwarding encodes every forwardable command,
// decodes it as the active controller does, runs both forms against the
// same image and checks they produce the same records and reply, and that
// the reply survives its own encoding.
func TestCommandsSurviveForwarding(t *testing.T) {
	tc := newTestController(t)
	epoch := tc.brokers(1)[1]
	tc.createTopics(TopicDefaults{NumPartitions: 1, ReplicationFactor: 1}, false, topic("existing", 2, 1))
	img := tc.c.Image()
	one := "1"
	cmds := []Command{
		AllocateProducerIDs(1, epoch),
		RegisterBroker(registration(2, 3)),
		UnfenceBroker(1, epoch),
		FenceBroker(1, epoch),
		CreateTopics([]CreateTopic{topic("a", 3, 1), {Name: "b", NumPartitions: -1, ReplicationFactor: -1, Configs: map[string]*string{"retention.ms": &one}},
			{Name: "c", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1}}}, topic("existing", 1, 1)}, false, TopicDefaults{NumPartitions: 2, ReplicationFactor: 1}),
		DeleteTopics([]string{"existing", "missing"}, []protocol.UUID{{9}}),
		CreatePartitions([]CreatePartitionsRequest{{Name: "existing", Count: 4}, {Name: "missing", Count: 2}}, true),
		IncrementalAlterConfigs([]IncrementalAlterConfigsResource{{Type: metadata.ResourceTopic, Name: "existing",
			Changes: []ConfigChange{{Key: "retention.ms", Op: ConfigSet, Value: &one}}}}, false),
		AlterConfigs([]AlterConfigsResource{{Type: metadata.ResourceTopic, Name: "existing", Configs: map[string]*string{"segment.ms": &one}}}, false),
		BrokerHeartbeat(1, epoch),
		ElectLeaders(ElectPreferred, nil),
		ElectLeaders(ElectUnclean, []ElectTarget{{Topic: "existing", Partitions: []int32{0, 5}}}),
	}
	for _, cmd := range cmds {
		b, err := EncodeCommand(cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd.op, err)
		}
		back, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("%s: %v", cmd.op, err)
		}
		recs1, reply1, err1 := cmd.apply(img, env{})
		recs2, reply2, err2 := back.apply(img, env{})
		if !reflect.DeepEqual(err1, err2) || !sameRecords(recs1, recs2) || !reflect.DeepEqual(withoutIDs(reply1), withoutIDs(reply2)) {
			t.Fatalf("%s: direct %v %v %v\nforwarded %v %v %v", cmd.op, recs1, reply1, err1, recs2, reply2, err2)
		}
		rb, err := json.Marshal(reply1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeReplyOf(cmd.op, rb)
		if err != nil || !reflect.DeepEqual(got, reply1) {
			t.Fatalf("%s: reply %#v came back as %#v (%v)", cmd.op, reply1, got, err)
		}
	}
	if _, err := EncodeCommand(createTopic("x")); !errors.Is(err, ErrNotForwardable) {
		t.Fatalf("a local command encoded: %v", err)
	}
	for _, bad := range []string{``, `{`, `{"op":"Nope","args":{}}`, `{"op":"CreateTopics","args":[1]}`} {
		if _, err := DecodeCommand([]byte(bad)); err == nil {
			t.Fatalf("%q decoded", bad)
		}
	}
}

// withoutIDs clears the random topic ids of a CreateTopics reply.
func withoutIDs(reply any) any {
	if rs, ok := reply.([]CreateTopicResult); ok {
		out := append([]CreateTopicResult(nil), rs...)
		for i := range out {
			out[i].TopicID = protocol.UUID{}
		}
		return out
	}
	return reply
}

// sameRecords compares records by type and version: topic ids are random
// in each run, so the records' contents differ.
func sameRecords(a, b []metadata.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if reflect.TypeOf(a[i].Message) != reflect.TypeOf(b[i].Message) || a[i].Version != b[i].Version {
			return false
		}
	}
	return true
}

// FuzzDecodeCommand: a forwarded command is bytes from the network.
func FuzzDecodeCommand(f *testing.F) {
	for _, cmd := range []Command{RegisterBroker(registration(1, 1)), CreateTopics([]CreateTopic{topic("a", 1, 1)}, false, TopicDefaults{})} {
		b, _ := EncodeCommand(cmd)
		f.Add(b)
	}
	img := &metadata.Image{}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := DecodeCommand(b)
		if err != nil {
			return
		}
		cmd.apply(img, env{}) // must not panic
	})
}

// TestFencingMovesLeadership fences the brokers of a replicated topic one
// by one: each leaves the ISRs, its leaderships move to the next ISR
// replica with a new leader epoch, and the last ISR member, once fenced,
// leaves its partitions without a leader but stays in the ISR, to lead
// again when unfenced. A re-registration with a new incarnation takes the
// broker out as fencing does.
func TestFencingMovesLeadership(t *testing.T) {
	tc := newTestController(t)
	epochs := tc.brokers(3)
	tc.createTopics(TopicDefaults{}, false, topic("t", 3, 3))
	part := func(p int32) metadata.Partition {
		t.Helper()
		got, ok := tc.c.Image().TopicByName("t").Partition(p)
		if !ok {
			t.Fatalf("partition %d missing", p)
		}
		return got
	}
	before := map[int32]metadata.Partition{}
	for p := int32(0); p < 3; p++ {
		before[p] = part(p)
	}
	victim := before[0].Leader
	tc.submit(FenceBroker(victim, epochs[victim]))
	for p := int32(0); p < 3; p++ {
		b, a := before[p], part(p)
		if slices.Contains(a.ISR, victim) || len(a.ISR) != 2 {
			t.Fatalf("partition %d: ISR %v after fencing %d", p, a.ISR, victim)
		}
		if b.Leader == victim {
			want := b.Replicas[1]
			if b.Replicas[0] != victim {
				want = b.Replicas[0]
			}
			if a.Leader != want || a.LeaderEpoch != b.LeaderEpoch+1 {
				t.Fatalf("partition %d: leader %d epoch %d, want %d epoch %d", p, a.Leader, a.LeaderEpoch, want, b.LeaderEpoch+1)
			}
		} else if a.Leader != b.Leader || a.LeaderEpoch != b.LeaderEpoch {
			t.Fatalf("partition %d: leader moved from %d to %d", p, b.Leader, a.Leader)
		}
	}
	// Fence the two others: the last one leaves its partitions leaderless.
	var last int32
	for id := int32(1); id <= 3; id++ {
		if id != victim {
			tc.submit(FenceBroker(id, epochs[id]))
			last = id
		}
	}
	for p := int32(0); p < 3; p++ {
		if a := part(p); a.Leader != metadata.NoLeader || !slices.Equal(a.ISR, []int32{last}) {
			t.Fatalf("partition %d with every broker fenced: leader %d, ISR %v", p, a.Leader, a.ISR)
		}
	}
	// Unfencing another broker elects nothing (unclean election is off);
	// unfencing the last ISR member does.
	tc.submit(UnfenceBroker(victim, epochs[victim]))
	if a := part(0); a.Leader != metadata.NoLeader {
		t.Fatalf("broker %d, out of the ISR, was elected", victim)
	}
	tc.submit(UnfenceBroker(last, epochs[last]))
	for p := int32(0); p < 3; p++ {
		if a := part(p); a.Leader != last {
			t.Fatalf("partition %d: leader %d after unfencing %d", p, a.Leader, last)
		}
	}
	// A restart (new incarnation) of the leader takes it out again.
	reg := registration(last, 2)
	epochs[last] = tc.submit(RegisterBroker(reg)).(int64)
	if a := part(0); a.Leader != metadata.NoLeader || !slices.Equal(a.ISR, []int32{last}) {
		t.Fatalf("after re-registration: leader %d, ISR %v", a.Leader, a.ISR)
	}
	tc.submit(UnfenceBroker(last, epochs[last]))
	if a := part(0); a.Leader != last {
		t.Fatalf("after unfencing the new incarnation: leader %d", a.Leader)
	}
}

// TestSessionTimeoutFences: a broker that stops sending heartbeats is
// fenced once broker.session.timeout.ms passes, and its leaderships move;
// one that keeps sending them is not; the fenced broker's heartbeat then
// says so, and it can be unfenced again.
func TestSessionTimeoutFences(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tc := newTestControllerWith(t, func(c *Config) { c.SessionTimeout = timeout })
	c, run := tc.c, tc.submit
	epochs := tc.brokers(2)
	e1, e2 := epochs[1], epochs[2]
	run(CreateTopics([]CreateTopic{{Name: "t", Assignments: map[int32][]int32{0: {2, 1}}, NumPartitions: -1, ReplicationFactor: -1}}, false, TopicDefaults{}))
	start := time.Now()
	for {
		if r := run(BrokerHeartbeat(1, e1)).(HeartbeatReply); r.Fenced {
			t.Fatal("a broker sending heartbeats was fenced")
		}
		if b, _ := c.Image().Broker(2); b.Fenced {
			break
		}
		if time.Since(start) > 10*timeout {
			t.Fatal("the silent broker was not fenced")
		}
		time.Sleep(timeout / 10)
	}
	if elapsed := time.Since(start); elapsed < timeout {
		t.Fatalf("fenced after %v, before the session timeout", elapsed)
	}
	if p, _ := c.Image().TopicByName("t").Partition(0); p.Leader != 1 || !slices.Equal(p.ISR, []int32{1}) {
		t.Fatalf("after fencing broker 2: leader %d, ISR %v", p.Leader, p.ISR)
	}
	if r := run(BrokerHeartbeat(2, e2)).(HeartbeatReply); !r.Fenced || r.MetadataOffset < c.Image().Offset {
		t.Fatalf("the fenced broker's heartbeat: %+v", r)
	}
	run(UnfenceBroker(2, e2))
	if b, _ := c.Image().Broker(2); b.Fenced {
		t.Fatal("not unfenced")
	}
}

// TestRackAwarePlacement: over brokers in several racks, each partition's
// replicas are distinct and cover as many racks as they can, and leaders
// spread evenly over the brokers.
func TestRackAwarePlacement(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		n := 2 + rng.IntN(8)
		nracks := 2 + rng.IntN(3)
		brokers := make([]int32, n)
		racks := map[int32]string{}
		for i := range brokers {
			brokers[i] = int32(i + 1)
			racks[brokers[i]] = fmt.Sprintf("r%d", rng.IntN(nracks))
		}
		distinct := map[string]bool{}
		for _, r := range racks {
			distinct[r] = true
		}
		rf := 1 + rng.IntN(n)
		count := n * (1 + rng.IntN(4))
		start := rng.IntN(n)
		out := placeReplicasByRack(brokers, racks, start, 0, count, rf)
		leads := map[int32]int{}
		for p, replicas := range out {
			if len(replicas) != rf {
				t.Fatalf("seed %d: partition %d has %d replicas, want %d", seed, p, len(replicas), rf)
			}
			seen := map[int32]bool{}
			covered := map[string]bool{}
			for _, b := range replicas {
				if seen[b] {
					t.Fatalf("seed %d: partition %d replicas %v repeat a broker", seed, p, replicas)
				}
				seen[b] = true
				covered[racks[b]] = true
			}
			if want := min(rf, len(distinct)); len(covered) != want {
				t.Fatalf("seed %d: partition %d replicas %v cover %d racks, want %d (racks %v)", seed, p, replicas, len(covered), want, racks)
			}
			leads[replicas[0]]++
		}
		for _, b := range brokers {
			if leads[b] != count/n {
				t.Fatalf("seed %d: broker %d leads %d of %d partitions over %d brokers", seed, b, leads[b], count, n)
			}
		}
	}
}

// TestCreateTopicsPlacesByRack registers brokers in two racks: a topic's
// replicas span both.
func TestCreateTopicsPlacesByRack(t *testing.T) {
	tc := newTestController(t)
	for id := int32(1); id <= 4; id++ {
		reg := registration(id, 1)
		rack := fmt.Sprintf("rack-%d", id%2)
		reg.Rack = &rack
		e := tc.submit(RegisterBroker(reg)).(int64)
		tc.submit(UnfenceBroker(id, e))
	}
	tc.createTopics(TopicDefaults{}, false, topic("racked", 8, 2))
	for p, part := range tc.c.Image().TopicByName("racked").Partitions() {
		if part.Replicas[0]%2 == part.Replicas[1]%2 {
			t.Fatalf("partition %d: replicas %v in one rack", p, part.Replicas)
		}
	}
}

// moveLeader is a command that makes replica r lead partition p of topic,
// its ISR unchanged: what a failover leaves behind once the old leader is
// back in the ISR.
func moveLeader(topic string, p int32, r int32) Command {
	return CommandFunc(func(img *metadata.Image) ([]metadata.Record, any, error) {
		ch := partitionChange(img.TopicByName(topic).ID(), p)
		ch.Leader = r
		return []metadata.Record{metadata.NewRecord(ch)}, nil, nil
	})
}

func TestElectLeaders(t *testing.T) {
	tc := newTestController(t)
	epochs := tc.brokers(3)
	tc.createTopics(TopicDefaults{}, false, topic("t", 3, 3))
	part := func(p int32) metadata.Partition {
		got, _ := tc.c.Image().TopicByName("t").Partition(p)
		return got
	}
	p0, p1 := part(0), part(1)
	tc.submit(moveLeader("t", 0, p0.Replicas[1]))
	tc.submit(moveLeader("t", 1, p1.Replicas[2]))
	codes := func(res []ElectResult) map[int32]protocol.ErrorCode {
		out := map[int32]protocol.ErrorCode{}
		for _, r := range res {
			out[r.Partition] = protocol.ErrNone
			if r.Err != nil {
				out[r.Partition] = r.Err.Code
			}
		}
		return out
	}
	// Named partitions: one needs an election, one does not, one is unknown.
	res := tc.submit(ElectLeaders(ElectPreferred, []ElectTarget{{Topic: "t", Partitions: []int32{0, 2, 9}}, {Topic: "nope", Partitions: []int32{0}}})).([]ElectResult)
	if len(res) != 4 || codes(res[:3])[0] != protocol.ErrNone || codes(res[:3])[2] != protocol.ErrElectionNotNeeded ||
		codes(res[:3])[9] != protocol.ErrUnknownTopicOrPartition || res[3].Err == nil || res[3].Err.Code != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("results %+v", res)
	}
	if got := part(0); got.Leader != p0.Replicas[0] || got.LeaderEpoch != p0.LeaderEpoch+2 {
		t.Fatalf("partition 0: leader %d epoch %d", got.Leader, got.LeaderEpoch)
	}
	// Every partition: only partition 1 needed one.
	res = tc.submit(ElectLeaders(ElectPreferred, nil)).([]ElectResult)
	if len(res) != 1 || res[0].Partition != 1 || res[0].Err != nil || part(1).Leader != p1.Replicas[0] {
		t.Fatalf("results %+v, leader %d", res, part(1).Leader)
	}
	if res := tc.submit(ElectLeaders(ElectPreferred, nil)).([]ElectResult); len(res) != 0 {
		t.Fatalf("nothing to elect, yet %+v", res)
	}
	// A fenced preferred replica cannot be elected; an unclean election
	// where a leader exists is not needed.
	tc.submit(moveLeader("t", 0, p0.Replicas[1]))
	pref := p0.Replicas[0]
	tc.submit(FenceBroker(pref, epochs[pref]))
	if c := codes(tc.submit(ElectLeaders(ElectPreferred, []ElectTarget{{Topic: "t", Partitions: []int32{0}}})).([]ElectResult)); c[0] != protocol.ErrPreferredLeaderNotAvailable {
		t.Fatalf("fenced preferred replica: %v", c)
	}
	if c := codes(tc.submit(ElectLeaders(ElectUnclean, []ElectTarget{{Topic: "t", Partitions: []int32{0}}})).([]ElectResult)); c[0] != protocol.ErrElectionNotNeeded {
		t.Fatalf("unclean election with a leader: %v", c)
	}
	if _, err := tc.try(ElectLeaders(7, nil)); !errors.Is(err, protocol.ErrInvalidRequest) {
		t.Fatalf("election type 7: %v", err)
	}
}

// TestUncleanElection: a partition whose only in-sync replica is fenced
// has no leader; an unclean election makes the other, out-of-sync,
// replica its leader and the only member of its ISR, with a new leader
// epoch, and needs a usable replica.
func TestUncleanElection(t *testing.T) {
	tc := newTestController(t)
	epochs := tc.brokers(2)
	tc.createTopics(TopicDefaults{}, false, topic("u", 1, 2))
	part := func() metadata.Partition {
		got, _ := tc.c.Image().TopicByName("u").Partition(0)
		return got
	}
	p := part()
	leader, other := p.Leader, p.Replicas[0]
	if other == leader {
		other = p.Replicas[1]
	}
	tc.submit(CommandFunc(func(img *metadata.Image) ([]metadata.Record, any, error) {
		ch := partitionChange(img.TopicByName("u").ID(), 0)
		ch.Isr = []int32{leader}
		return []metadata.Record{metadata.NewRecord(ch)}, nil, nil
	}))
	tc.submit(FenceBroker(leader, epochs[leader]))
	before := part()
	if before.Leader != metadata.NoLeader || !slices.Equal(before.ISR, []int32{leader}) {
		t.Fatalf("after fencing the only in-sync replica: %+v", before)
	}
	unclean := func() *CommandError {
		res := tc.submit(ElectLeaders(ElectUnclean, []ElectTarget{{Topic: "u", Partitions: []int32{0}}})).([]ElectResult)
		if len(res) != 1 {
			t.Fatalf("results %+v", res)
		}
		return res[0].Err
	}
	if err := unclean(); err != nil {
		t.Fatalf("unclean election: %v", err)
	}
	if got := part(); got.Leader != other || !slices.Equal(got.ISR, []int32{other}) || got.LeaderEpoch != before.LeaderEpoch+1 {
		t.Fatalf("after the unclean election: %+v, want leader %d alone in the ISR at epoch %d", got, other, before.LeaderEpoch+1)
	}
	wantCode(t, "unclean election with a leader", unclean(), protocol.ErrElectionNotNeeded)
	tc.submit(FenceBroker(other, epochs[other]))
	wantCode(t, "unclean election with every replica fenced", unclean(), protocol.ErrEligibleLeadersNotAvailable)
}

// TestAutoLeaderRebalance: with a short check interval, the active
// controller moves leaders back to their preferred replicas by itself.
func TestAutoLeaderRebalance(t *testing.T) {
	tc := newTestControllerWith(t, func(c *Config) {
		c.LeaderImbalanceCheckInterval, c.LeaderImbalancePercent = 50*time.Millisecond, 10
	})
	c := tc.c
	tc.brokers(2)
	tc.submit(CreateTopics([]CreateTopic{topic("t", 4, 2)}, false, TopicDefaults{}))
	p, _ := c.Image().TopicByName("t").Partition(0)
	tc.submit(moveLeader("t", 0, p.Replicas[1]))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := c.Image().TopicByName("t").Partition(0); got.Leader == p.Replicas[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the leader did not move back to the preferred replica")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
