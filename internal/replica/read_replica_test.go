package replica

import (
	"testing"
	"time"
)

// TestPreferredReadReplica: Kafka's RackAwareReplicaSelector over the
// leader and the in-sync followers holding the offset.
func TestPreferredReadReplica(t *testing.T) {
	now := time.Now()
	racks := map[int32]string{1: "a", 2: "b", 3: "b", 4: "b", 5: "c"}
	rackOf := func(id int32) string { return racks[id] }
	p := &Partition{ls: &leaderState{leader: 1, isr: []int32{1, 2, 3, 5}, followers: map[int32]*followerState{
		2: {end: 100, logStart: 0, lastCaughtUp: now.Add(-time.Second)},
		3: {end: 100, logStart: 0, lastCaughtUp: now.Add(-10 * time.Millisecond)},
		4: {end: 200, logStart: 0, lastCaughtUp: now}, // not in the ISR
		5: {end: 50, logStart: 0, lastCaughtUp: now},
	}}}
	for _, c := range []struct {
		what   string
		offset int64
		rack   string
		want   int32
	}{
		{"no rack", 10, "", -1},
		{"the leader's rack", 10, "a", -1},
		{"a rack of no replica", 10, "z", -1},
		{"equal ends: the most recently caught up", 10, "b", 3},
		{"an offset at the followers' end", 100, "b", 3},
		{"an offset past every in-sync follower in the rack", 101, "b", -1},
		{"an offset past the only follower in the rack", 60, "c", -1},
		{"within it", 50, "c", 5},
	} {
		if got := p.PreferredReadReplica(c.offset, c.rack, rackOf, now); got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
	p.ls.followers[2].end = 120
	if got := p.PreferredReadReplica(10, "b", rackOf, now); got != 2 {
		t.Errorf("the furthest end: %d, want 2", got)
	}
	p.ls.followers[2].logStart = 20
	if got := p.PreferredReadReplica(10, "b", rackOf, now); got != 3 {
		t.Errorf("an offset below a follower's log start: %d, want 3", got)
	}
	follower := &Partition{}
	if got := follower.PreferredReadReplica(10, "b", rackOf, now); got != -1 {
		t.Errorf("on a follower: %d", got)
	}
}

// TestPreferredReadReplicaTie: on equal ends and catch-up times the
// highest id wins, as Kafka's ReplicaView comparator orders them.
func TestPreferredReadReplicaTie(t *testing.T) {
	now := time.Now()
	p := &Partition{ls: &leaderState{leader: 1, isr: []int32{1, 2, 3}, followers: map[int32]*followerState{
		2: {end: 100, lastCaughtUp: now},
		3: {end: 100, lastCaughtUp: now},
	}}}
	if got := p.PreferredReadReplica(10, "b", func(id int32) string { return map[int32]string{1: "a", 2: "b", 3: "b"}[id] }, now); got != 3 {
		t.Fatalf("tie: %d, want 3", got)
	}
}
