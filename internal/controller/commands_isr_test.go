package controller

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// isrFixture is a single-voter controller with brokers 1..n registered
// and unfenced.
type isrFixture struct {
	*testController
	epochs map[int32]int64
}

func newISRFixture(t *testing.T, brokers int) *isrFixture {
	t.Helper()
	tc := newTestController(t)
	return &isrFixture{testController: tc, epochs: tc.brokers(brokers)}
}

// manual creates topic name with the given replica assignment and
// returns its id.
func (f *isrFixture) manual(name string, assignment map[int32][]int32) protocol.UUID {
	f.t.Helper()
	res := f.createTopics(TopicDefaults{}, false, CreateTopic{Name: name, NumPartitions: -1, ReplicationFactor: -1, Assignments: assignment})
	wantCode(f.t, name, res[0].Err, protocol.ErrNone)
	return res[0].TopicID
}

func (f *isrFixture) part(name string, pid int32) metadata.Partition {
	f.t.Helper()
	tp := f.img().TopicByName(name)
	if tp == nil {
		f.t.Fatalf("topic %s missing", name)
	}
	p, ok := tp.Partition(pid)
	if !ok {
		f.t.Fatalf("partition %s-%d missing", name, pid)
	}
	return p
}

// proposal is the current leader's valid AlterPartition request for isr.
func (f *isrFixture) proposal(name string, pid int32, isr ...int32) AlterISRRequest {
	f.t.Helper()
	p := f.part(name, pid)
	return AlterISRRequest{BrokerID: p.Leader, BrokerEpoch: f.epochs[p.Leader], TopicID: f.img().TopicByName(name).ID(),
		Partition: pid, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: isr}
}

// alter proposes isr as the current leader and fails on an error.
func (f *isrFixture) alter(name string, pid int32, isr ...int32) AlterISRReply {
	f.t.Helper()
	return f.submit(AlterPartition(f.proposal(name, pid, isr...))).(AlterISRReply)
}

func (f *isrFixture) reassign(reqs ...Reassignment) []ReassignResult {
	f.t.Helper()
	res := f.submit(AlterPartitionReassignments(reqs)).([]ReassignResult)
	if len(res) != len(reqs) {
		f.t.Fatalf("%d results for %d requests", len(res), len(reqs))
	}
	for i, r := range res {
		if r.Topic != reqs[i].Topic || r.Partition != reqs[i].Partition {
			f.t.Fatalf("result %d names %s-%d, request %s-%d", i, r.Topic, r.Partition, reqs[i].Topic, reqs[i].Partition)
		}
	}
	return res
}

// wantState is a partition's expected replicas, ISR, reassignment lists,
// leader and epochs.
type wantState struct {
	replicas, isr, adding, removing []int32
	leader, leaderEpoch, partEpoch  int32
}

func (f *isrFixture) check(name string, pid int32, w wantState) {
	f.t.Helper()
	p := f.part(name, pid)
	if !slices.Equal(p.Replicas, w.replicas) || !slices.Equal(p.ISR, w.isr) || !slices.Equal(p.AddingReplicas, w.adding) ||
		!slices.Equal(p.RemovingReplicas, w.removing) || p.Leader != w.leader || p.LeaderEpoch != w.leaderEpoch || p.PartitionEpoch != w.partEpoch {
		f.t.Fatalf("%s-%d: replicas %v isr %v adding %v removing %v leader %d epochs %d/%d, want %+v", name, pid,
			p.Replicas, p.ISR, p.AddingReplicas, p.RemovingReplicas, p.Leader, p.LeaderEpoch, p.PartitionEpoch, w)
	}
}

func TestAlterPartitionErrors(t *testing.T) {
	f := newISRFixture(t, 4)
	id := f.manual("t", map[int32][]int32{0: {1, 2, 3}})
	// ISR {1,2}, partition epoch 1; broker 3 then fenced (outside the ISR,
	// so fencing it changes no partition).
	f.alter("t", 0, 1, 2)
	f.submit(FenceBroker(3, f.epochs[3]))
	f.check("t", 0, wantState{replicas: []int32{1, 2, 3}, isr: []int32{1, 2}, leader: 1, leaderEpoch: 0, partEpoch: 1})
	cases := []struct {
		name string
		edit func(*AlterISRRequest)
		code protocol.ErrorCode
	}{
		{"unknown broker", func(r *AlterISRRequest) { r.BrokerID, r.BrokerEpoch = 9, f.epochs[1] }, protocol.ErrStaleBrokerEpoch},
		{"stale broker epoch", func(r *AlterISRRequest) { r.BrokerEpoch-- }, protocol.ErrStaleBrokerEpoch},
		{"newer broker epoch", func(r *AlterISRRequest) { r.BrokerEpoch++ }, protocol.ErrStaleBrokerEpoch},
		{"unknown topic id", func(r *AlterISRRequest) { r.TopicID = protocol.UUID{0x42} }, protocol.ErrUnknownTopicID},
		{"unknown partition", func(r *AlterISRRequest) { r.Partition = 5 }, protocol.ErrUnknownTopicOrPartition},
		{"follower", func(r *AlterISRRequest) { r.BrokerID, r.BrokerEpoch = 2, f.epochs[2] }, protocol.ErrNotLeaderOrFollower},
		{"non-replica", func(r *AlterISRRequest) { r.BrokerID, r.BrokerEpoch = 4, f.epochs[4] }, protocol.ErrNotLeaderOrFollower},
		{"future leader epoch", func(r *AlterISRRequest) { r.LeaderEpoch++ }, protocol.ErrFencedLeaderEpoch},
		{"past leader epoch", func(r *AlterISRRequest) { r.LeaderEpoch-- }, protocol.ErrFencedLeaderEpoch},
		{"stale partition epoch", func(r *AlterISRRequest) { r.PartitionEpoch-- }, protocol.ErrInvalidUpdateVersion},
		{"future partition epoch", func(r *AlterISRRequest) { r.PartitionEpoch++ }, protocol.ErrInvalidUpdateVersion},
		{"ISR without leader", func(r *AlterISRRequest) { r.ISR = []int32{2} }, protocol.ErrInvalidRequest},
		{"empty ISR", func(r *AlterISRRequest) { r.ISR = nil }, protocol.ErrInvalidRequest},
		{"duplicate member", func(r *AlterISRRequest) { r.ISR = []int32{1, 2, 1} }, protocol.ErrInvalidRequest},
		{"non-replica member", func(r *AlterISRRequest) { r.ISR = []int32{1, 2, 4} }, protocol.ErrInvalidRequest},
		{"unregistered member", func(r *AlterISRRequest) { r.ISR = []int32{1, 9} }, protocol.ErrInvalidRequest},
		{"fenced member added", func(r *AlterISRRequest) { r.ISR = []int32{1, 2, 3} }, protocol.ErrIneligibleReplica},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := f.proposal("t", 0, 1)
			if req.TopicID != id {
				t.Fatalf("topic id %v, created %v", req.TopicID, id)
			}
			c.edit(&req)
			off := f.img().Offset
			_, err := f.try(AlterPartition(req))
			var ce *CommandError
			if !errors.As(err, &ce) || ce.Code != c.code || !errors.Is(err, c.code) {
				t.Fatalf("%+v: got %v, want %s", req, err, c.code.Name())
			}
			if f.img().Offset != off {
				t.Fatalf("a refused proposal committed records: offset %d→%d", off, f.img().Offset)
			}
		})
	}
	f.check("t", 0, wantState{replicas: []int32{1, 2, 3}, isr: []int32{1, 2}, leader: 1, leaderEpoch: 0, partEpoch: 1})
}

func TestAlterPartitionShrinkExpand(t *testing.T) {
	f := newISRFixture(t, 3)
	f.manual("t", map[int32][]int32{0: {1, 2, 3}, 1: {2, 3, 1}})
	stale := f.proposal("t", 0, 1, 3)

	if got, want := f.alter("t", 0, 1, 2), (AlterISRReply{LeaderEpoch: 0, PartitionEpoch: 1, ISR: []int32{1, 2}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("shrink reply %+v, want %+v", got, want)
	}
	f.check("t", 0, wantState{replicas: []int32{1, 2, 3}, isr: []int32{1, 2}, leader: 1, partEpoch: 1})
	// The other partition is untouched.
	f.check("t", 1, wantState{replicas: []int32{2, 3, 1}, isr: []int32{2, 3, 1}, leader: 2})

	// A proposal based on the epoch before the shrink is refused.
	if _, err := f.try(AlterPartition(stale)); !errors.Is(err, protocol.ErrInvalidUpdateVersion) {
		t.Fatalf("stale proposal: %v", err)
	}

	// The current ISR in another order is a no-op: nothing committed, the
	// reply is the partition as it is.
	off := f.img().Offset
	if got, want := f.alter("t", 0, 2, 1), (AlterISRReply{LeaderEpoch: 0, PartitionEpoch: 1, ISR: []int32{1, 2}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("no-op reply %+v, want %+v", got, want)
	}
	if f.img().Offset != off {
		t.Fatalf("no-op committed records: offset %d→%d", off, f.img().Offset)
	}

	if got, want := f.alter("t", 0, 1, 3, 2), (AlterISRReply{LeaderEpoch: 0, PartitionEpoch: 2, ISR: []int32{1, 3, 2}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("expand reply %+v, want %+v", got, want)
	}
	f.check("t", 0, wantState{replicas: []int32{1, 2, 3}, isr: []int32{1, 3, 2}, leader: 1, partEpoch: 2})

	// After the leader moves, the old leader is refused and the new one
	// must name the new leader epoch.
	f.submit(FenceBroker(1, f.epochs[1]))
	f.check("t", 0, wantState{replicas: []int32{1, 2, 3}, isr: []int32{3, 2}, leader: 2, leaderEpoch: 1, partEpoch: 3})
	old := AlterISRRequest{BrokerID: 1, BrokerEpoch: f.epochs[1], TopicID: stale.TopicID, Partition: 0, LeaderEpoch: 0, PartitionEpoch: 3, ISR: []int32{1, 2}}
	if _, err := f.try(AlterPartition(old)); !errors.Is(err, protocol.ErrNotLeaderOrFollower) {
		t.Fatalf("old leader: %v", err)
	}
	old.BrokerID, old.BrokerEpoch, old.ISR = 2, f.epochs[2], []int32{2}
	if _, err := f.try(AlterPartition(old)); !errors.Is(err, protocol.ErrFencedLeaderEpoch) {
		t.Fatalf("new leader at the old leader epoch: %v", err)
	}
	if got, want := f.alter("t", 0, 2), (AlterISRReply{LeaderEpoch: 1, PartitionEpoch: 4, ISR: []int32{2}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("new leader shrink reply %+v, want %+v", got, want)
	}
	f.check("t", 0, wantState{replicas: []int32{1, 2, 3}, isr: []int32{2}, leader: 2, leaderEpoch: 1, partEpoch: 4})
}

func TestAlterPartitionReassignmentsStartAndValidate(t *testing.T) {
	f := newISRFixture(t, 5)
	f.manual("r", map[int32][]int32{0: {1, 2, 3}, 1: {1, 2, 3}, 2: {1, 2, 3}})
	f.manual("a", map[int32][]int32{0: {2, 3}})
	res := f.reassign(
		Reassignment{Topic: "r", Partition: 0, Replicas: []int32{4, 5, 1}},
		Reassignment{Topic: "r", Partition: 1, Replicas: nil},
		Reassignment{Topic: "r", Partition: 2, Replicas: []int32{}},
		Reassignment{Topic: "r", Partition: 2, Replicas: []int32{4, 1, 4}},
		Reassignment{Topic: "r", Partition: 2, Replicas: []int32{4, 9}},
		Reassignment{Topic: "r", Partition: 9, Replicas: []int32{1}},
		Reassignment{Topic: "nope", Partition: 0, Replicas: []int32{1}},
		Reassignment{Topic: "r", Partition: 2, Replicas: []int32{1, 2, 3}},
		Reassignment{Topic: "a", Partition: 0, Replicas: []int32{3, 1}},
	)
	want := []protocol.ErrorCode{protocol.ErrNone, protocol.ErrNoReassignmentInProgress, protocol.ErrInvalidReplicaAssignment,
		protocol.ErrInvalidReplicaAssignment, protocol.ErrInvalidReplicaAssignment, protocol.ErrUnknownTopicOrPartition,
		protocol.ErrUnknownTopicOrPartition, protocol.ErrNone, protocol.ErrNone}
	for i, r := range res {
		wantCode(t, fmt.Sprintf("%d %s-%d", i, r.Topic, r.Partition), r.Err, want[i])
	}
	// Replicas: the target, then the rest of the current replicas; the
	// ISR and leader are unchanged until the adding replicas catch up.
	f.check("r", 0, wantState{replicas: []int32{4, 5, 1, 2, 3}, isr: []int32{1, 2, 3}, adding: []int32{4, 5}, removing: []int32{2, 3},
		leader: 1, partEpoch: 1})
	f.check("a", 0, wantState{replicas: []int32{3, 1, 2}, isr: []int32{2, 3}, adding: []int32{1}, removing: []int32{2}, leader: 2, partEpoch: 1})
	// Refused entries and the no-op target changed nothing.
	for _, pid := range []int32{1, 2} {
		f.check("r", pid, wantState{replicas: []int32{1, 2, 3}, isr: []int32{1, 2, 3}, leader: 1})
	}

	img := f.img()
	all := []OngoingReassignment{
		{Topic: "a", Partition: 0, Replicas: []int32{3, 1, 2}, AddingReplicas: []int32{1}, RemovingReplicas: []int32{2}},
		{Topic: "r", Partition: 0, Replicas: []int32{4, 5, 1, 2, 3}, AddingReplicas: []int32{4, 5}, RemovingReplicas: []int32{2, 3}},
	}
	for _, c := range []struct {
		name   string
		topics map[string][]int32
		want   []OngoingReassignment
	}{
		{"all", nil, all},
		{"empty filter", map[string][]int32{}, nil},
		{"one topic", map[string][]int32{"r": {0, 1, 2}}, all[1:]},
		{"idle partitions", map[string][]int32{"r": {1, 2}, "nope": {0}}, nil},
		{"topic without partitions", map[string][]int32{"a": nil}, nil},
		{"both", map[string][]int32{"r": {0}, "a": {0}}, all},
	} {
		if got := ListReassignments(img, c.topics); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: ListReassignments = %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestReassignmentRemovalOnly: a reassignment that only removes replicas
// (or reorders them) completes at once when its target is in sync, and
// otherwise keeps every replica, the ISR and the leader until it is, as
// Kafka's does.
func TestReassignmentRemovalOnly(t *testing.T) {
	f := newISRFixture(t, 3)
	f.manual("t", map[int32][]int32{0: {1, 2, 3}, 1: {1, 2, 3}, 2: {1, 2, 3}, 3: {1, 2, 3}, 4: {1, 2, 3}})
	f.alter("t", 3, 1)    // ISR {1}
	f.alter("t", 4, 1, 2) // ISR {1, 2}
	res := f.reassign(
		Reassignment{Topic: "t", Partition: 0, Replicas: []int32{2, 3}}, // removes the leader
		Reassignment{Topic: "t", Partition: 1, Replicas: []int32{1, 3}}, // keeps it
		Reassignment{Topic: "t", Partition: 2, Replicas: []int32{3, 2, 1}},
		Reassignment{Topic: "t", Partition: 3, Replicas: []int32{2, 3}}, // no ISR member in the target yet
		Reassignment{Topic: "t", Partition: 4, Replicas: []int32{2, 3}}, // 3 not in sync yet
	)
	for _, r := range res {
		wantCode(t, fmt.Sprintf("t-%d", r.Partition), r.Err, protocol.ErrNone)
	}
	f.check("t", 0, wantState{replicas: []int32{2, 3}, isr: []int32{2, 3}, leader: 2, leaderEpoch: 1, partEpoch: 1})
	f.check("t", 1, wantState{replicas: []int32{1, 3}, isr: []int32{1, 3}, leader: 1, partEpoch: 1})
	f.check("t", 2, wantState{replicas: []int32{3, 2, 1}, isr: []int32{1, 2, 3}, leader: 1, partEpoch: 1})
	f.check("t", 3, wantState{replicas: []int32{2, 3, 1}, isr: []int32{1}, removing: []int32{1}, leader: 1, partEpoch: 2})
	f.check("t", 4, wantState{replicas: []int32{2, 3, 1}, isr: []int32{1, 2}, removing: []int32{1}, leader: 1, partEpoch: 2})
	want := []OngoingReassignment{
		{Topic: "t", Partition: 3, Replicas: []int32{2, 3, 1}, RemovingReplicas: []int32{1}},
		{Topic: "t", Partition: 4, Replicas: []int32{2, 3, 1}, RemovingReplicas: []int32{1}},
	}
	if got := ListReassignments(f.img(), nil); !reflect.DeepEqual(got, want) {
		t.Fatalf("ongoing reassignments %+v, want %+v", got, want)
	}
	// Once the target is in sync the removed replica goes, and the
	// leadership with it.
	f.alter("t", 4, 1, 2, 3)
	f.check("t", 4, wantState{replicas: []int32{2, 3}, isr: []int32{2, 3}, leader: 2, leaderEpoch: 1, partEpoch: 3})
	f.alter("t", 3, 1, 3)
	f.check("t", 3, wantState{replicas: []int32{2, 3, 1}, isr: []int32{1, 3}, removing: []int32{1}, leader: 1, partEpoch: 3})
	f.alter("t", 3, 1, 3, 2)
	f.check("t", 3, wantState{replicas: []int32{2, 3}, isr: []int32{3, 2}, leader: 2, leaderEpoch: 1, partEpoch: 4})
	if got := ListReassignments(f.img(), nil); got != nil {
		t.Fatalf("ongoing reassignments %+v", got)
	}
}

func TestReassignmentCancel(t *testing.T) {
	f := newISRFixture(t, 5)
	f.manual("t", map[int32][]int32{0: {1, 2, 3}})
	wantCode(t, "start", f.reassign(Reassignment{Topic: "t", Partition: 0, Replicas: []int32{4, 5, 1}})[0].Err, protocol.ErrNone)
	// One of the two adding replicas joins: not complete yet.
	if got, want := f.alter("t", 0, 1, 2, 3, 4), (AlterISRReply{LeaderEpoch: 0, PartitionEpoch: 2, ISR: []int32{1, 2, 3, 4}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("partial join reply %+v, want %+v", got, want)
	}
	f.check("t", 0, wantState{replicas: []int32{4, 5, 1, 2, 3}, isr: []int32{1, 2, 3, 4}, adding: []int32{4, 5}, removing: []int32{2, 3},
		leader: 1, partEpoch: 2})
	if got := ListReassignments(f.img(), nil); len(got) != 1 {
		t.Fatalf("ongoing reassignments %+v", got)
	}
	// Cancel: back to the original replicas, the added one out of the ISR.
	wantCode(t, "cancel", f.reassign(Reassignment{Topic: "t", Partition: 0})[0].Err, protocol.ErrNone)
	f.check("t", 0, wantState{replicas: []int32{1, 2, 3}, isr: []int32{1, 2, 3}, leader: 1, partEpoch: 3})
	if got := ListReassignments(f.img(), nil); got != nil {
		t.Fatalf("ongoing reassignments after cancel %+v", got)
	}
	wantCode(t, "cancel again", f.reassign(Reassignment{Topic: "t", Partition: 0})[0].Err, protocol.ErrNoReassignmentInProgress)
	f.check("t", 0, wantState{replicas: []int32{1, 2, 3}, isr: []int32{1, 2, 3}, leader: 1, partEpoch: 3})
}

// TestReassignmentCompletesOnAlterPartition: the ISR change that brings
// the last adding replica in completes the reassignment in its record.
func TestReassignmentCompletesOnAlterPartition(t *testing.T) {
	cases := []struct {
		name   string
		before []int32 // the ISR before the reassignment starts, if shrunk
		target []int32
		joins  [][]int32 // ISR proposals, the last one completing
		reply  AlterISRReply
		final  wantState
	}{
		{
			name: "leader removed", target: []int32{4, 2},
			joins: [][]int32{{1, 2, 3, 4}},
			reply: AlterISRReply{LeaderEpoch: 1, PartitionEpoch: 2, ISR: []int32{2, 4}},
			final: wantState{replicas: []int32{4, 2}, isr: []int32{2, 4}, leader: 4, leaderEpoch: 1, partEpoch: 2},
		},
		{
			name: "leader kept", target: []int32{1, 4},
			joins: [][]int32{{1, 2, 3, 4}},
			reply: AlterISRReply{LeaderEpoch: 0, PartitionEpoch: 2, ISR: []int32{1, 4}},
			final: wantState{replicas: []int32{1, 4}, isr: []int32{1, 4}, leader: 1, partEpoch: 2},
		},
		{
			name: "replicas added only", target: []int32{1, 2, 3, 4},
			joins: [][]int32{{1, 2, 3, 4}},
			reply: AlterISRReply{LeaderEpoch: 0, PartitionEpoch: 2, ISR: []int32{1, 2, 3, 4}},
			final: wantState{replicas: []int32{1, 2, 3, 4}, isr: []int32{1, 2, 3, 4}, leader: 1, partEpoch: 2},
		},
		{
			name: "two joins, leader moves to the first target replica", target: []int32{5, 4, 3},
			joins: [][]int32{{1, 2, 3, 5}, {1, 3, 5, 4}},
			reply: AlterISRReply{LeaderEpoch: 1, PartitionEpoch: 3, ISR: []int32{3, 5, 4}},
			final: wantState{replicas: []int32{5, 4, 3}, isr: []int32{3, 5, 4}, leader: 5, leaderEpoch: 1, partEpoch: 3},
		},
		{
			// As Kafka's: every replica of the target must be in sync,
			// the kept ones too, not only the added ones.
			name: "a kept target replica out of sync is waited for", before: []int32{1, 3}, target: []int32{2, 4, 3},
			joins: [][]int32{{1, 3, 4}, {1, 3, 4, 2}},
			reply: AlterISRReply{LeaderEpoch: 1, PartitionEpoch: 4, ISR: []int32{3, 4, 2}},
			final: wantState{replicas: []int32{2, 4, 3}, isr: []int32{3, 4, 2}, leader: 2, leaderEpoch: 1, partEpoch: 4},
		},
		{
			name: "leader shrinks a removing replica out while the last joins", target: []int32{2, 4},
			joins: [][]int32{{1, 2, 4}},
			reply: AlterISRReply{LeaderEpoch: 1, PartitionEpoch: 2, ISR: []int32{2, 4}},
			final: wantState{replicas: []int32{2, 4}, isr: []int32{2, 4}, leader: 2, leaderEpoch: 1, partEpoch: 2},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newISRFixture(t, 5)
			f.manual("t", map[int32][]int32{0: {1, 2, 3}})
			if c.before != nil {
				f.alter("t", 0, c.before...)
			}
			wantCode(t, "start", f.reassign(Reassignment{Topic: "t", Partition: 0, Replicas: c.target})[0].Err, protocol.ErrNone)
			var reply AlterISRReply
			for i, isr := range c.joins {
				if i > 0 && len(ListReassignments(f.img(), nil)) != 1 {
					t.Fatalf("reassignment completed before join %d", i)
				}
				reply = f.alter("t", 0, isr...)
			}
			if !reflect.DeepEqual(reply, c.reply) {
				t.Fatalf("completing reply %+v, want %+v", reply, c.reply)
			}
			f.check("t", 0, c.final)
			if got := ListReassignments(f.img(), nil); got != nil {
				t.Fatalf("ongoing reassignments after completion %+v", got)
			}
			// The reply is the partition as committed: the new leader can
			// propose on it.
			p := f.part("t", 0)
			if p.LeaderEpoch != reply.LeaderEpoch || p.PartitionEpoch != reply.PartitionEpoch {
				t.Fatalf("reply epochs %d/%d, image %d/%d", reply.LeaderEpoch, reply.PartitionEpoch, p.LeaderEpoch, p.PartitionEpoch)
			}
			f.alter("t", 0, p.Leader)
			f.check("t", 0, wantState{replicas: c.final.replicas, isr: []int32{p.Leader}, leader: p.Leader,
				leaderEpoch: p.LeaderEpoch, partEpoch: p.PartitionEpoch + 1})
		})
	}
}

// TestReassignCommandsSurviveForwarding: a cancel (nil replicas) stays a
// cancel and an empty target stays invalid once forwarded.
func TestReassignCommandsSurviveForwarding(t *testing.T) {
	f := newISRFixture(t, 3)
	f.manual("t", map[int32][]int32{0: {1, 2}})
	img := f.img()
	cmds := []Command{
		AlterPartitionReassignments([]Reassignment{{Topic: "t", Partition: 0}, {Topic: "t", Partition: 0, Replicas: []int32{}},
			{Topic: "t", Partition: 0, Replicas: []int32{3, 1}}}),
		AlterPartition(f.proposal("t", 0, 1)),
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
		if !reflect.DeepEqual(err1, err2) || !sameRecords(recs1, recs2) || !reflect.DeepEqual(reply1, reply2) || len(recs1) != 1 {
			t.Fatalf("%s: direct %v %v %v\nforwarded %v %v %v", cmd.op, recs1, reply1, err1, recs2, reply2, err2)
		}
	}
	res := f.reassign(Reassignment{Topic: "t", Partition: 0}, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{}})
	wantCode(t, "cancel", res[0].Err, protocol.ErrNoReassignmentInProgress)
	wantCode(t, "empty", res[1].Err, protocol.ErrInvalidReplicaAssignment)
}

// TestReassignmentReplacedByATargetAlreadyInSync: a new target replacing
// a reassignment under way whose replicas are all in the ISR already
// completes at once (no ISR change would come to complete it).
func TestReassignmentReplacedByATargetAlreadyInSync(t *testing.T) {
	f := newISRFixture(t, 5)
	f.manual("t", map[int32][]int32{0: {1, 2, 3}})
	wantCode(t, "start", f.reassign(Reassignment{Topic: "t", Partition: 0, Replicas: []int32{4, 5, 1}})[0].Err, protocol.ErrNone)
	f.alter("t", 0, 1, 2, 3, 4)
	wantCode(t, "replace", f.reassign(Reassignment{Topic: "t", Partition: 0, Replicas: []int32{4, 1}})[0].Err, protocol.ErrNone)
	f.check("t", 0, wantState{replicas: []int32{4, 1}, isr: []int32{1, 4}, leader: 1, partEpoch: 3})
	if got := ListReassignments(f.img(), nil); got != nil {
		t.Fatalf("ongoing reassignments %+v", got)
	}
}

// TestReassignmentReplacedDropsTheLeader: a new target is taken against
// the replicas the partition has, the reassignment under way included,
// as Kafka's controller takes it: the replicas that one was adding and
// the new one leaves out (here the current leader, elected among them)
// are removed in turn, and stay, leader included, until the new target
// is in sync; then the leadership moves to it.
func TestReassignmentReplacedDropsTheLeader(t *testing.T) {
	f := newISRFixture(t, 5)
	f.manual("t", map[int32][]int32{0: {1, 2, 3}})
	wantCode(t, "start", f.reassign(Reassignment{Topic: "t", Partition: 0, Replicas: []int32{4, 5, 1}})[0].Err, protocol.ErrNone)
	f.alter("t", 0, 1, 2, 3, 4)
	f.submit(ElectLeaders(ElectPreferred, []ElectTarget{{Topic: "t", Partitions: []int32{0}}}))
	if p := f.part("t", 0); p.Leader != 4 {
		t.Fatalf("preferred election: leader %d, want 4", p.Leader)
	}
	wantCode(t, "replace", f.reassign(Reassignment{Topic: "t", Partition: 0, Replicas: []int32{5, 1}})[0].Err, protocol.ErrNone)
	p := f.part("t", 0)
	if p.Leader != 4 || !slices.Equal(p.Replicas, []int32{5, 1, 4, 2, 3}) || len(p.AddingReplicas) != 0 ||
		!slices.Equal(p.RemovingReplicas, []int32{4, 2, 3}) || !slices.Equal(p.ISR, []int32{1, 2, 3, 4}) {
		t.Fatalf("replaced: leader %d, replicas %v, adding %v, removing %v, ISR %v", p.Leader, p.Replicas, p.AddingReplicas, p.RemovingReplicas, p.ISR)
	}
	f.alter("t", 0, 1, 2, 3, 4, 5)
	f.check("t", 0, wantState{replicas: []int32{5, 1}, isr: []int32{1, 5}, leader: 5, leaderEpoch: 2, partEpoch: 5})
}

// TestUncleanElectionLeavesRecovering: as in Kafka, a leader elected from
// outside the ISR leaves the partition RECOVERING; while it is, the
// leader may not propose another member for the ISR; its first change
// that says it has recovered (Sluice's leaders always do) ends it, and a
// recovered partition cannot go back.
func TestUncleanElectionLeavesRecovering(t *testing.T) {
	f := newISRFixture(t, 3)
	f.manual("u", map[int32][]int32{0: {1, 2, 3}})
	f.alter("u", 0, 1)
	f.submit(FenceBroker(1, f.epochs[1]))
	if p := f.part("u", 0); p.Leader != metadata.NoLeader || p.LeaderRecoveryState != metadata.Recovered {
		t.Fatalf("after fencing the only in-sync replica: leader %d, %v", p.Leader, p.LeaderRecoveryState)
	}
	res := f.submit(ElectLeaders(ElectUnclean, []ElectTarget{{Topic: "u", Partitions: []int32{0}}})).([]ElectResult)
	wantCode(t, "unclean election", res[0].Err, protocol.ErrNone)
	p := f.part("u", 0)
	if p.Leader != 2 || !slices.Equal(p.ISR, []int32{2}) || p.LeaderRecoveryState != metadata.Recovering {
		t.Fatalf("after the unclean election: leader %d isr %v %v, want 2 alone, RECOVERING", p.Leader, p.ISR, p.LeaderRecoveryState)
	}
	recovering := func(isr ...int32) AlterISRRequest {
		r := f.proposal("u", 0, isr...)
		r.LeaderRecoveryState = metadata.Recovering
		return r
	}
	if _, err := f.try(AlterPartition(recovering(2, 3))); !errors.Is(err, protocol.ErrInvalidRequest) {
		t.Fatalf("a second member while recovering: %v", err)
	}
	off := f.img().Offset
	if got, want := f.submit(AlterPartition(recovering(2))).(AlterISRReply), (AlterISRReply{LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []int32{2}}); !reflect.DeepEqual(got, want) || f.img().Offset != off {
		t.Fatalf("no change while recovering: reply %+v, offset %d→%d; want %+v and nothing committed", got, off, f.img().Offset, want)
	}
	// The same ISR, recovered: committed, as a change of its own.
	if got := f.alter("u", 0, 2); got.PartitionEpoch != p.PartitionEpoch+1 {
		t.Fatalf("recovered reply %+v, want partition epoch %d", got, p.PartitionEpoch+1)
	}
	if q := f.part("u", 0); q.LeaderRecoveryState != metadata.Recovered || !slices.Equal(q.ISR, []int32{2}) || q.PartitionEpoch != p.PartitionEpoch+1 {
		t.Fatalf("after the leader recovered: isr %v %v epoch %d", q.ISR, q.LeaderRecoveryState, q.PartitionEpoch)
	}
	if _, err := f.try(AlterPartition(recovering(2))); !errors.Is(err, protocol.ErrInvalidRequest) {
		t.Fatalf("back to recovering: %v", err)
	}
	f.alter("u", 0, 2, 3)
	// An election from the ISR is clean: broker 2 is fenced, 3 leads and
	// the partition stays recovered.
	f.submit(FenceBroker(2, f.epochs[2]))
	if q := f.part("u", 0); q.Leader != 3 || q.LeaderRecoveryState != metadata.Recovered {
		t.Fatalf("after a clean election: leader %d %v", q.Leader, q.LeaderRecoveryState)
	}
}

// onlyAddingInSync starts moving t-pid from {1, 2, 3} to {4, 5} and
// leaves 4, an adding replica, as its leader and only in-sync replica:
// through a preferred election (4 is first in the new replica list),
// or, with fence, by fencing broker 1.
func (f *isrFixture) onlyAddingInSync(name string, pid int32, fence bool) {
	f.t.Helper()
	wantCode(f.t, "start", f.reassign(Reassignment{Topic: name, Partition: pid, Replicas: []int32{4, 5}})[0].Err, protocol.ErrNone)
	f.alter(name, pid, 1, 2, 3, 4)
	if fence {
		f.alter(name, pid, 1, 4)
		f.submit(FenceBroker(1, f.epochs[1]))
	} else {
		res := f.submit(ElectLeaders(ElectPreferred, []ElectTarget{{Topic: name, Partitions: []int32{pid}}})).([]ElectResult)
		wantCode(f.t, "preferred election", res[0].Err, protocol.ErrNone)
		f.alter(name, pid, 4)
	}
	if p := f.part(name, pid); p.Leader != 4 || !slices.Equal(p.ISR, []int32{4}) {
		f.t.Fatalf("%s-%d: leader %d isr %v, want 4 alone", name, pid, p.Leader, p.ISR)
	}
}

// TestReassignmentCancelUnclean: cancelling a reassignment whose ISR
// holds only adding replicas needs an unclean election, as in Kafka: it
// is refused unless the topic elects uncleanly (its own key, or the
// controller's static one). Then the first original replica becomes the
// ISR and leads if it is usable; if it is fenced, the partition gets its
// first usable original replica, alone in the ISR and RECOVERING, in the
// same change.
func TestReassignmentCancelUnclean(t *testing.T) {
	f := newISRFixture(t, 5)
	f.manual("t", map[int32][]int32{0: {1, 2, 3}, 1: {1, 2, 3}})
	f.onlyAddingInSync("t", 0, false)
	before := f.part("t", 0)
	wantCode(t, "cancel without unclean election", f.reassign(Reassignment{Topic: "t", Partition: 0})[0].Err, protocol.ErrInvalidReplicaAssignment)
	if p := f.part("t", 0); p.PartitionEpoch != before.PartitionEpoch {
		t.Fatalf("a refused cancel changed the partition: %+v", p)
	}
	res := f.submit(IncrementalAlterConfigs([]IncrementalAlterConfigsResource{{
		Type: metadata.ResourceTopic, Name: "t", Changes: []ConfigChange{{Key: uncleanKey, Op: ConfigSet, Value: str("true")}},
	}}, false)).([]AlterConfigsResult)
	if res[0].Err != nil {
		t.Fatalf("set the topic's key: %v", res[0].Err)
	}
	wantCode(t, "cancel", f.reassign(Reassignment{Topic: "t", Partition: 0})[0].Err, protocol.ErrNone)
	f.check("t", 0, wantState{replicas: []int32{1, 2, 3}, isr: []int32{1}, leader: 1, leaderEpoch: before.LeaderEpoch + 1, partEpoch: before.PartitionEpoch + 1})
	if p := f.part("t", 0); p.LeaderRecoveryState != metadata.Recovered {
		t.Fatalf("the first original replica in sync and leading: %v", p.LeaderRecoveryState)
	}

	// Broker 1 fenced: 2 is elected in the same record, as Kafka's one
	// change does it (one epoch further, no leaderless step between).
	f.onlyAddingInSync("t", 1, true)
	before = f.part("t", 1)
	wantCode(t, "cancel with the first original replica fenced", f.reassign(Reassignment{Topic: "t", Partition: 1})[0].Err, protocol.ErrNone)
	f.check("t", 1, wantState{replicas: []int32{1, 2, 3}, isr: []int32{2}, leader: 2, leaderEpoch: before.LeaderEpoch + 1, partEpoch: before.PartitionEpoch + 1})
	if p := f.part("t", 1); p.LeaderRecoveryState != metadata.Recovering {
		t.Fatalf("a leader from outside the ISR: %v, want RECOVERING", p.LeaderRecoveryState)
	}

	// The controller's static key does as the topic's.
	g := &isrFixture{testController: newTestControllerWith(t, func(c *Config) { c.UncleanLeaderElection = true })}
	g.epochs = g.brokers(5)
	g.manual("s", map[int32][]int32{0: {1, 2, 3}})
	g.onlyAddingInSync("s", 0, false)
	wantCode(t, "cancel with the static key", g.reassign(Reassignment{Topic: "s", Partition: 0})[0].Err, protocol.ErrNone)
	if p := g.part("s", 0); p.Leader != 1 || !slices.Equal(p.ISR, []int32{1}) {
		t.Fatalf("static key: leader %d isr %v", p.Leader, p.ISR)
	}
}
