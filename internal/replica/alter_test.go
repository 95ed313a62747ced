package replica

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// TestStaleAlterReplyKeepsNewerProposal: an ISR expansion is in flight;
// an unrelated partition-epoch bump arrives; a second expansion is
// proposed; the first one's failure (INVALID_UPDATE_VERSION: it named the
// old partition epoch) must not clear the second's pending addition, or
// the high watermark would move past the joining follower before the
// controller commits it to the ISR (Kafka's maximal ISR).
func TestStaleAlterReplyKeepsNewerProposal(t *testing.T) {
	f := newTwoReplicaFixture(t)
	m := NewManager(1, f.logs, nil, nil)
	type call struct {
		req   controller.AlterISRRequest
		reply chan error
	}
	calls := make(chan call, 4)
	m.o = ReplicationOptions{SocketTimeout: 10 * time.Second, BrokerEpoch: func() int64 { return 1 },
		AlterISR: func(ctx context.Context, req controller.AlterISRRequest) (controller.AlterISRReply, error) {
			c := call{req, make(chan error)}
			calls <- c
			if err := <-c.reply; err != nil {
				return controller.AlterISRReply{}, err
			}
			return controller.AlterISRReply{LeaderEpoch: req.LeaderEpoch, PartitionEpoch: req.PartitionEpoch + 1, ISR: req.ISR}, nil
		}}
	p := f.lead(t, m)
	now := time.Now()
	part := func(pe int32, isr ...int32) metadata.Partition {
		return metadata.Partition{Replicas: []int32{1, 2}, ISR: isr, Leader: 1, LeaderEpoch: 5, PartitionEpoch: pe}
	}
	p.applyImage(part(10, 1), 1, now) // leader epoch 5, ISR {1}
	appendN := func(n int) {
		appendLed(t, p.Log, 5, n, "v")
		if err := p.Log.WaitDurable(context.Background(), p.Log.EndOffset()); err != nil {
			t.Fatal(err)
		}
	}
	appendN(10)

	// Follower 2 catches up: expansion #1 (partition epoch 10).
	if _, canJoin, err := p.FollowerFetch(2, 10, 0, now); err != nil || !canJoin {
		t.Fatalf("canJoin %v err %v", canJoin, err)
	}
	m.Expand(p, 2, -1)
	c1 := <-calls
	// An unrelated change bumps the partition epoch (ISR unchanged).
	p.applyImage(part(11, 1), 1, now)
	// Follower 2 fetches again: expansion #2 (partition epoch 11).
	if _, canJoin, _ := p.FollowerFetch(2, 10, 0, now); !canJoin {
		t.Fatal("no second proposal")
	}
	m.Expand(p, 2, -1)
	c2 := <-calls
	if c1.req.PartitionEpoch != 10 || c2.req.PartitionEpoch != 11 {
		t.Fatalf("proposals at partition epochs %d and %d, want 10 and 11", c1.req.PartitionEpoch, c2.req.PartitionEpoch)
	}
	// #1 fails: its partition epoch is stale.
	c1.reply <- errors.New("INVALID_UPDATE_VERSION")
	time.Sleep(50 * time.Millisecond)
	p.mu.Lock()
	altering, pending := p.altering, slices.Clone(p.ls.pending)
	p.mu.Unlock()
	if !altering || !slices.Contains(pending, 2) {
		t.Fatalf("after the stale reply: altering %v pending %v, want the second proposal still in flight", altering, pending)
	}
	// The leader takes more writes; follower 2 is still at 10.
	appendN(10)
	hw := p.HighWatermark()
	// #2 commits: 2 joins the ISR.
	c2.reply <- nil
	time.Sleep(50 * time.Millisecond)
	p.applyImage(part(12, 1, 2), 1, now)
	p.mu.Lock()
	fend := p.ls.followers[2].end
	isr := p.ls.isr
	p.mu.Unlock()
	if hw > fend {
		t.Errorf("follower 2 entered the ISR %v holding offsets below %d while the high watermark is already %d", isr, fend, hw)
	}
}

// TestRetentionBoundIsTheHighWatermark: with follower 2 in the ISR and
// behind, the leader's records above the high watermark are durable but
// not committed, and retention and compaction stop below them.
func TestRetentionBoundIsTheHighWatermark(t *testing.T) {
	f := newTwoReplicaFixture(t)
	m := NewManager(1, f.logs, nil, nil)
	p := f.lead(t, m)
	_, epoch := p.Leader()
	appendLed(t, p.Log, epoch, 10, "v")
	if err := p.Log.WaitDurable(context.Background(), p.Log.EndOffset()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.FollowerFetch(2, 4, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := m.RetentionBound(p.Log); got != 4 {
		t.Fatalf("bound %d with the ISR's follower at 4 and the log durable to %d, want 4", got, p.Log.DurableEnd())
	}
	if _, _, err := p.FollowerFetch(2, 10, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := m.RetentionBound(p.Log); got != 10 {
		t.Fatalf("bound %d with every replica at 10, want 10", got)
	}
	other := epochLogs(t, 1)[0]
	if got := m.RetentionBound(other); got != other.StartOffset() {
		t.Fatalf("bound %d for a log no partition holds, want its start %d", got, other.StartOffset())
	}
}

// newTwoReplicaFixture is newFixture with broker 2 registered too and a
// topic "t" of one partition on brokers 1 and 2, both in the ISR.
func newTwoReplicaFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	e2 := f.submit(controller.RegisterBroker(controller.BrokerRegistration{ID: 2, IncarnationID: protocol.UUID{2}})).(int64)
	f.submit(controller.UnfenceBroker(2, e2))
	res := f.submit(controller.CreateTopics([]controller.CreateTopic{{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {1, 2}}}}, false, controller.TopicDefaults{NumPartitions: 1, ReplicationFactor: 1})).([]controller.CreateTopicResult)
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	return f
}

// lead applies the fixture's image to m and returns topic t's partition,
// which broker 1 leads.
func (f *fixture) lead(t *testing.T, m *Manager) *Partition {
	t.Helper()
	if err := m.Apply(f.ctl.Image()); err != nil {
		t.Fatal(err)
	}
	p, err := m.Leading(storage.TopicPartition{Topic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
