package replica

import (
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/storage"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// epochLogs opens n empty logs of one topic on an in-memory FS.
func epochLogs(t *testing.T, n int) []*storage.Log {
	t.Helper()
	logs, err := storage.OpenManager(storage.ManagerOptions{FS: vfs.NewMem(), Dir: "/data", ClusterID: "c", NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	out := make([]*storage.Log, n)
	for i := range out {
		if out[i], err = logs.GetOrCreate(storage.TopicPartition{Topic: "t", Partition: int32(i)}, [16]byte{1}, storage.DefaultConfig()); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// appendLed appends n one-record batches as the leader of epoch.
func appendLed(t *testing.T, l *storage.Log, epoch int32, n int, value string) {
	t.Helper()
	for range n {
		b := record.NewBuilder(record.CodecNone)
		b.Append(0, 0, nil, []byte(value))
		data, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(data, storage.AppendOptions{LeaderEpoch: epoch}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNewLeaderBeginsItsEpoch: C led epoch 4 and wrote 0..109 while B
// had 0..99; A then led epoch 5 and wrote 100..104, which B copied and C
// never had. When C leads again in epoch 6, before it appends anything,
// B's fetch (last epoch 5, offset 105) must be told that its log
// diverges, not taken as agreeing with C's epoch-4 records there.
func TestNewLeaderBeginsItsEpoch(t *testing.T) {
	logs := epochLogs(t, 2)
	c, b := logs[0], logs[1]
	appendLed(t, c, 4, 110, "c")
	appendLed(t, b, 4, 100, "c")
	appendLed(t, b, 5, 5, "a")

	p := &Partition{Log: c}
	now := time.Now()
	if r, _ := p.applyImage(metadata.Partition{Leader: 3, LeaderEpoch: 6, Replicas: []int32{3, 2}, ISR: []int32{3, 2}, PartitionEpoch: 1}, 3, now); r != roleLeader {
		t.Fatalf("role %v, want leader", r)
	}
	if e, ok := c.Epochs().LatestEpoch(); !ok || e != 6 {
		t.Fatalf("new leader's latest epoch %d (%v), want 6", e, ok)
	}
	cEnds := func(e int32) (int32, int64) { return c.Epochs().EndOffsetFor(e, c.EndOffset()) }
	e, end, div, undefined := DivergingEpoch(cEnds, 5, b.EndOffset())
	if !div || undefined || e != 4 || end != 110 {
		t.Fatalf("fetch (epoch 5, offset 105): diverges %v undefined %v at (%d, %d), want (4, 110)", div, undefined, e, end)
	}
	bEnds := func(e int32) (int32, int64) { return b.Epochs().EndOffsetFor(e, b.EndOffset()) }
	if to := truncationOffset(bEnds, e, end, b.EndOffset()); to != 100 {
		t.Fatalf("follower truncates to %d, want 100 (where epoch 5 began)", to)
	}

	// Applying the same image again moves nothing.
	p.applyImage(metadata.Partition{Leader: 3, LeaderEpoch: 6, Replicas: []int32{3, 2}, ISR: []int32{3, 2}, PartitionEpoch: 2}, 3, now)
	if got := c.Epochs().Entries(); len(got) != 2 || got[1] != (storage.EpochEntry{Epoch: 6, StartOffset: 110}) {
		t.Fatalf("epochs %v, want epoch 6 from 110", got)
	}
}

// TestUndefinedEpochIsOutOfRange: a leader whose log has no epoch at or
// above the follower's last one cannot place the fetch; it answers out of
// range, and a follower whose offset lies inside the leader's log keeps
// its records and asks again.
func TestUndefinedEpochIsOutOfRange(t *testing.T) {
	fsys := vfs.NewMem()
	if err := fsys.MkdirAll("/p", 0o755); err != nil {
		t.Fatal(err)
	}
	cache, err := storage.NewLeaderEpochCache(fsys, "/p", []storage.EpochEntry{{Epoch: 1, StartOffset: 0}})
	if err != nil {
		t.Fatal(err)
	}
	ends := func(e int32) (int32, int64) { return cache.EndOffsetFor(e, 50) }
	if _, _, div, undefined := DivergingEpoch(ends, 3, 40); div || !undefined {
		t.Fatalf("diverges %v undefined %v, want undefined", div, undefined)
	}
	fs := newFetchState(7, 40, 3, 30)
	steps := fs.response(fetchResponse{Err: protocol.ErrOffsetOutOfRange, LogStartOffset: 0, LeaderEndOffset: 45}, nil)
	if len(steps) != 1 || steps[0].Kind != stepBackoff {
		t.Fatalf("steps %+v, want a backoff and no truncation", steps)
	}
}

// TestFormerLeaderDropsItsEmptyEpoch: a broker that began epoch 7 as
// leader and wrote nothing in it, then follows the leader of epoch 8,
// is told that its log diverges at its own end; truncating there (no
// records to cut) drops the empty epoch, so its next fetch agrees
// instead of diverging again forever.
func TestFormerLeaderDropsItsEmptyEpoch(t *testing.T) {
	logs := epochLogs(t, 2)
	leader, former := logs[0], logs[1]
	appendLed(t, leader, 5, 10, "x")
	appendLed(t, former, 5, 10, "x")
	if err := former.BeginLeaderEpoch(7); err != nil {
		t.Fatal(err)
	}
	if err := leader.BeginLeaderEpoch(8); err != nil {
		t.Fatal(err)
	}
	leaderEnds := func(e int32) (int32, int64) { return leader.Epochs().EndOffsetFor(e, leader.EndOffset()) }
	formerEnds := func(e int32) (int32, int64) { return former.Epochs().EndOffsetFor(e, former.EndOffset()) }
	e, end, div, _ := DivergingEpoch(leaderEnds, latestEpoch(former), former.EndOffset())
	if !div {
		t.Fatal("no divergence reported for an epoch the leader never had")
	}
	to := truncationOffset(formerEnds, e, end, former.EndOffset())
	if to != 10 {
		t.Fatalf("truncate to %d, want 10 (its end: no record to cut)", to)
	}
	if err := former.TruncateTo(to); err != nil {
		t.Fatal(err)
	}
	if got := latestEpoch(former); got != 5 {
		t.Fatalf("latest epoch %d after truncating at the end, want 5", got)
	}
	if _, _, div, _ := DivergingEpoch(leaderEnds, latestEpoch(former), former.EndOffset()); div {
		t.Fatal("the next fetch diverges again")
	}
}
