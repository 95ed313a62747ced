package controller

import (
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/metadata"
)

// uncleanSetup creates topic name (one partition on brokers 1 and 2, 1
// leading; configs as given), shrinks its ISR to broker 1 and returns 1
// and 2.
func uncleanSetup(tc *testController, name string, configs map[string]*string) (leader, other int32) {
	tc.t.Helper()
	leader, other = 1, 2
	res := tc.createTopics(TopicDefaults{}, false, CreateTopic{Name: name, NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {leader, other}}, Configs: configs})
	if res[0].Err != nil {
		tc.t.Fatalf("create %s: %v", name, res[0].Err)
	}
	if p := partitionOf(tc, name); p.Leader != leader {
		tc.t.Fatalf("%s: leader %d, want %d", name, p.Leader, leader)
	}
	tc.submit(CommandFunc(func(img *metadata.Image) ([]metadata.Record, any, error) {
		ch := partitionChange(img.TopicByName(name).ID(), 0)
		ch.Isr = []int32{leader}
		return []metadata.Record{metadata.NewRecord(ch)}, nil, nil
	}))
	return leader, other
}

func partitionOf(tc *testController, name string) metadata.Partition {
	p, _ := tc.img().TopicByName(name).Partition(0)
	return p
}

func wantLeader(t *testing.T, what string, p metadata.Partition, leader int32, isr []int32) {
	t.Helper()
	if p.Leader != leader || !slices.Equal(p.ISR, isr) {
		t.Fatalf("%s: leader %d ISR %v, want leader %d ISR %v", what, p.Leader, p.ISR, leader, isr)
	}
}

// TestAutomaticUncleanElection: with unclean.leader.election.enable true
// (the topic's, or the cluster-wide dynamic default), fencing the only
// in-sync replica elects another replica in the same commit, alone in
// the ISR; so does unfencing a replica outside the ISR of a leaderless
// partition, and setting the key on a leaderless partition's topic. The
// topic's own false wins over the cluster's true.
func TestAutomaticUncleanElection(t *testing.T) {
	tc := newTestController(t)
	epochs := tc.brokers(2)
	leader, other := uncleanSetup(tc, "u", map[string]*string{uncleanKey: str("true")})
	before := partitionOf(tc, "u")
	tc.submit(FenceBroker(leader, epochs[leader]))
	got := partitionOf(tc, "u")
	wantLeader(t, "fencing the only in-sync replica", got, other, []int32{other})
	if got.LeaderEpoch <= before.LeaderEpoch {
		t.Fatalf("leader epoch %d after %d", got.LeaderEpoch, before.LeaderEpoch)
	}

	// Both replicas out: leaderless until one comes back, then that one
	// leads though it was not in the ISR.
	tc.submit(UnfenceBroker(leader, epochs[leader]))
	wantLeader(t, "the old leader back", partitionOf(tc, "u"), other, []int32{other})
	tc.submit(FenceBroker(other, epochs[other]))
	wantLeader(t, "the unclean leader fenced", partitionOf(tc, "u"), leader, []int32{leader})
	tc.submit(FenceBroker(leader, epochs[leader]))
	wantLeader(t, "every replica fenced", partitionOf(tc, "u"), metadata.NoLeader, []int32{leader})
	tc.submit(UnfenceBroker(other, epochs[other]))
	wantLeader(t, "a replica outside the ISR unfenced", partitionOf(tc, "u"), other, []int32{other})
	tc.submit(UnfenceBroker(leader, epochs[leader]))

	// A topic without the key stays leaderless until the cluster-wide
	// default turns unclean election on; one whose own key is false
	// stays leaderless even then.
	clean, cleanOther := uncleanSetup(tc, "c", nil)
	pinned, _ := uncleanSetup(tc, "p", map[string]*string{uncleanKey: str("false")})
	tc.submit(FenceBroker(clean, epochs[clean]))
	wantLeader(t, "topic without the key", partitionOf(tc, "c"), metadata.NoLeader, []int32{clean})
	res := tc.submit(IncrementalAlterConfigs([]IncrementalAlterConfigsResource{{
		Type: metadata.ResourceBroker, Name: "",
		Changes: []ConfigChange{{Key: uncleanKey, Op: ConfigSet, Value: str("true")}},
	}}, false)).([]AlterConfigsResult)
	if res[0].Err != nil {
		t.Fatalf("set the cluster default: %v", res[0].Err)
	}
	wantLeader(t, "the cluster default set", partitionOf(tc, "c"), cleanOther, []int32{cleanOther})
	wantLeader(t, "topic whose own key is false", partitionOf(tc, "p"), metadata.NoLeader, []int32{pinned})
}

// TestUncleanElectionCheck: a controller whose static
// unclean.leader.election.enable is turned on across a restart elects
// the partitions left leaderless before, by its periodic check, not
// before an interval has passed since it took over.
func TestUncleanElectionCheck(t *testing.T) {
	tc := newTestController(t)
	epochs := tc.brokers(2)
	leader, other := uncleanSetup(tc, "s", nil)
	tc.submit(FenceBroker(leader, epochs[leader]))
	wantLeader(t, "unclean election off", partitionOf(tc, "s"), metadata.NoLeader, []int32{leader})

	tc.c.Close()
	const interval = 500 * time.Millisecond
	tc.cfg.UncleanLeaderElection, tc.cfg.UncleanElectionCheckInterval = true, interval
	start := time.Now()
	tc.open()
	waitFor(t, "the unclean election", 5*time.Second, func() bool {
		t := tc.img().TopicByName("s")
		if t == nil {
			return false // not replayed yet
		}
		p, ok := t.Partition(0)
		return ok && p.Leader == other && slices.Equal(p.ISR, []int32{other})
	})
	if took := time.Since(start); took < interval {
		t.Fatalf("elected %v after the restart, before the first check's interval of %v", took, interval)
	}
}
