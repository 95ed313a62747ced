package handler

import (
	"context"
	"slices"
	"testing"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// registerBrokers registers and unfences brokers ids (besides the
// fixture's broker 1), each with a PLAINTEXT listener on 127.0.0.1 port
// 9090+id, waits until the broker's image holds them and returns their
// broker epochs.
func (f *fixture) registerBrokers(t *testing.T, ids ...int32) map[int32]int64 {
	t.Helper()
	ctx := context.Background()
	epochs := map[int32]int64{}
	var last int64
	for _, id := range ids {
		_, epoch, err := f.ctl.Submit(ctx, controller.RegisterBroker(controller.BrokerRegistration{ID: id, IncarnationID: protocol.UUID{byte(id)},
			Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9090 + id)}}}))
		if err != nil {
			t.Fatal(err)
		}
		epochs[id] = epoch.(int64)
		if last, _, err = f.ctl.Submit(ctx, controller.UnfenceBroker(id, epochs[id])); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.h.waitImage(ctx, last); err != nil {
		t.Fatal(err)
	}
	return epochs
}

// assigned is a one-partition topic and its replicas, first the leader.
type assigned struct {
	name     string
	replicas []int32
}

// createAssigned creates each topic with its replicas and returns their
// ids, in order.
func (f *fixture) createAssigned(t *testing.T, topics ...assigned) []protocol.UUID {
	t.Helper()
	req := &protocol.CreateTopicsRequest{TimeoutMs: 5000}
	for _, tp := range topics {
		req.Topics = append(req.Topics, protocol.CreateTopicsRequestCreatableTopic{Name: tp.name, NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []protocol.CreateTopicsRequestCreatableReplicaAssignment{{PartitionIndex: 0, BrokerIDs: tp.replicas}}})
	}
	resp := f.h.CreateTopics(context.Background(), req, 7)
	var ids []protocol.UUID
	for _, r := range resp.Topics {
		if r.ErrorCode != 0 {
			t.Fatalf("create %s: %d", r.Name, r.ErrorCode)
		}
		ids = append(ids, r.TopicID)
	}
	return ids
}

// logAheadOfHighWatermark registers broker 2 and makes topic "r", led
// here with broker 2 in its ISR, whose log ends at 3 while its high
// watermark stays 0: three records appended with acks=1, and broker 2
// never fetches.
func (f *fixture) logAheadOfHighWatermark(t *testing.T) {
	t.Helper()
	f.registerBrokers(t, 2)
	f.createAssigned(t, assigned{"r", []int32{1, 2}})
	if pr := produceResponse(f.produce(t, 1, "r", 0, batchOf(t, "a", "b", "c"))); pr.ErrorCode != 0 {
		t.Fatalf("produce: %d", pr.ErrorCode)
	}
}

// listOffset asks for one partition's offset at timestamp, as replicaID.
func (f *fixture) listOffset(topic string, replicaID int32, timestamp int64) (int64, protocol.ErrorCode) {
	lo := f.h.ListOffsets(context.Background(), &protocol.ListOffsetsRequest{ReplicaID: replicaID, Topics: []protocol.ListOffsetsRequestListOffsetsTopic{{Name: topic,
		Partitions: []protocol.ListOffsetsRequestListOffsetsPartition{{PartitionIndex: 0, Timestamp: timestamp, CurrentLeaderEpoch: -1}}}}}, 7)
	p := lo.Topics[0].Partitions[0]
	return p.Offset, protocol.ErrorCode(p.ErrorCode)
}

// TestListOffsetsLatestForAReplica: the latest offset is the high
// watermark for a consumer and the log end for a replica (a follower
// finding where the leader's log ends). Broker 2 is in the ISR and never
// fetches, so the high watermark stays at 0 while acks=1 appends three.
func TestListOffsetsLatestForAReplica(t *testing.T) {
	f := newFixture(t, false)
	f.logAheadOfHighWatermark(t)
	if o, code := f.listOffset("r", -1, -1); code != 0 || o != 0 {
		t.Fatalf("consumer latest: offset %d code %d, want the high watermark 0", o, code)
	}
	if o, code := f.listOffset("r", 2, -1); code != 0 || o != 3 {
		t.Fatalf("replica latest: offset %d code %d, want the log end 3", o, code)
	}
	// By timestamp: a consumer finds nothing below the high watermark, a
	// replica finds the first record.
	if o, code := f.listOffset("r", -1, 0); code != 0 || o != -1 {
		t.Fatalf("consumer by timestamp: offset %d code %d, want -1", o, code)
	}
	if o, code := f.listOffset("r", 2, 0); code != 0 || o != 0 {
		t.Fatalf("replica by timestamp: offset %d code %d, want 0", o, code)
	}
}

// TestListOffsetsWhileEpochStartPending: broker 1 becomes leader with
// three records its high watermark has not passed (broker 3, in the ISR,
// has none), so its epoch starts at 3 above a high watermark of 0. Until
// the high watermark reaches 3 a consumer's latest offset, and a record
// found at or above the high watermark, are OFFSET_NOT_AVAILABLE (they
// could still go back), as in Kafka; the earliest offset is answered, and
// a replica is answered from its log.
func TestListOffsetsWhileEpochStartPending(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	epochs := f.registerBrokers(t, 2, 3)
	apply := func(off int64) {
		t.Helper()
		if err := f.ctl.WaitFor(ctx, off); err != nil {
			t.Fatal(err)
		}
		if err := f.reps.Apply(f.ctl.Image()); err != nil {
			t.Fatal(err)
		}
	}
	off, reply, err := f.ctl.Submit(ctx, controller.CreateTopics([]controller.CreateTopic{{Name: "p", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {2, 1, 3}}}}, false, controller.TopicDefaults{NumPartitions: 1, ReplicationFactor: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if r := reply.([]controller.CreateTopicResult)[0]; r.Err != nil {
		t.Fatal(r.Err)
	}
	apply(off)
	p, ok := f.reps.Partition(storage.TopicPartition{Topic: "p"})
	if !ok {
		t.Fatal("broker 1 holds no replica of p-0")
	}
	// What broker 1 copied from broker 2 in epoch 0, appended as its
	// fetcher would.
	if _, err := p.Log.Append(batchOf(t, "a", "b", "c"), storage.AppendOptions{LeaderEpoch: 0}); err != nil {
		t.Fatal(err)
	}
	if off, _, err = f.ctl.Submit(ctx, controller.FenceBroker(2, epochs[2])); err != nil {
		t.Fatal(err)
	}
	apply(off)
	if !p.EpochStartPending() {
		t.Fatalf("broker 1 leads with a high watermark of %d and its epoch start not pending", p.HighWatermark())
	}
	for _, tc := range []struct {
		name      string
		replica   int32
		timestamp int64
		offset    int64
		code      protocol.ErrorCode
	}{
		{"consumer latest", -1, -1, -1, protocol.ErrOffsetNotAvailable},
		{"consumer earliest", -1, -2, 0, protocol.ErrNone},
		{"consumer by timestamp", -1, 0, -1, protocol.ErrOffsetNotAvailable},
		{"consumer max timestamp", -1, -3, -1, protocol.ErrOffsetNotAvailable},
		{"consumer by a timestamp no record has", -1, 1 << 50, -1, protocol.ErrOffsetNotAvailable},
		{"replica latest", 3, -1, 3, protocol.ErrNone},
	} {
		if o, code := f.listOffset("p", tc.replica, tc.timestamp); o != tc.offset || code != tc.code {
			t.Errorf("%s: offset %d %s, want %d %s", tc.name, o, code.Name(), tc.offset, tc.code.Name())
		}
	}
	// Before v5 the code is LEADER_NOT_AVAILABLE, which those clients know.
	lo := f.h.ListOffsets(ctx, &protocol.ListOffsetsRequest{ReplicaID: -1, Topics: []protocol.ListOffsetsRequestListOffsetsTopic{{Name: "p",
		Partitions: []protocol.ListOffsetsRequestListOffsetsPartition{{PartitionIndex: 0, Timestamp: -1, CurrentLeaderEpoch: -1}}}}}, 4)
	if code := protocol.ErrorCode(lo.Topics[0].Partitions[0].ErrorCode); code != protocol.ErrLeaderNotAvailable {
		t.Errorf("consumer latest at v4: %s, want LEADER_NOT_AVAILABLE", code.Name())
	}
}

// TestListOffsetsRequestRules: as Kafka, every copy of a partition named
// twice is INVALID_REQUEST (v1+), and a special timestamp older than the
// version that brought it, or no special timestamp at all, is
// UNSUPPORTED_VERSION.
func TestListOffsetsRequestRules(t *testing.T) {
	f := newFixture(t, false)
	f.createTopic(t, "r", 2)
	part := func(p int32, ts int64) protocol.ListOffsetsRequestListOffsetsPartition {
		return protocol.ListOffsetsRequestListOffsetsPartition{PartitionIndex: p, Timestamp: ts, CurrentLeaderEpoch: -1}
	}
	lo := f.h.ListOffsets(context.Background(), &protocol.ListOffsetsRequest{Topics: []protocol.ListOffsetsRequestListOffsetsTopic{
		{Name: "r", Partitions: []protocol.ListOffsetsRequestListOffsetsPartition{part(0, -1), part(1, -1)}},
		{Name: "r", Partitions: []protocol.ListOffsetsRequestListOffsetsPartition{part(0, -2)}}}}, 7)
	got := []protocol.ErrorCode{}
	for _, tr := range lo.Topics {
		for _, p := range tr.Partitions {
			got = append(got, protocol.ErrorCode(p.ErrorCode))
		}
	}
	if want := []protocol.ErrorCode{protocol.ErrInvalidRequest, protocol.ErrNone, protocol.ErrInvalidRequest}; !slices.Equal(got, want) {
		t.Fatalf("duplicate partition: codes %v, want %v", got, want)
	}
	for _, tc := range []struct {
		ts      int64
		version int16
		code    protocol.ErrorCode
	}{
		{-3, 6, protocol.ErrUnsupportedVersion}, {-3, 7, protocol.ErrNone},
		{-4, 7, protocol.ErrUnsupportedVersion}, {-4, 8, protocol.ErrNone},
		{-5, 8, protocol.ErrUnsupportedVersion}, {-5, 9, protocol.ErrNone},
		{-7, 9, protocol.ErrUnsupportedVersion}, {-2, 1, protocol.ErrNone},
	} {
		lo := f.h.ListOffsets(context.Background(), &protocol.ListOffsetsRequest{Topics: []protocol.ListOffsetsRequestListOffsetsTopic{
			{Name: "r", Partitions: []protocol.ListOffsetsRequestListOffsetsPartition{part(0, tc.ts)}}}}, tc.version)
		if code := protocol.ErrorCode(lo.Topics[0].Partitions[0].ErrorCode); code != tc.code {
			t.Errorf("timestamp %d at v%d: %s, want %s", tc.ts, tc.version, code.Name(), tc.code.Name())
		}
	}
}

// TestListOffsetsV0: the version before timestamps answers offsets from
// segment starts and the log end, newest first, as Kafka does: a
// consumer's stop at the high watermark (which Kafka puts first, above
// the segment start it equals here), a replica's and a debugging tool's
// (replica id -2) reach the log end; negative timestamps other than -1
// and -2 are UNSUPPORTED_VERSION. A debugging tool is answered as a
// replica in every version.
func TestListOffsetsV0(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.logAheadOfHighWatermark(t)
	v0 := func(replicaID int32, topic string, ts int64, limit int32) ([]int64, protocol.ErrorCode) {
		lo := f.h.ListOffsets(ctx, &protocol.ListOffsetsRequest{ReplicaID: replicaID, Topics: []protocol.ListOffsetsRequestListOffsetsTopic{{Name: topic,
			Partitions: []protocol.ListOffsetsRequestListOffsetsPartition{{PartitionIndex: 0, Timestamp: ts, MaxNumOffsets: limit}}}}}, 0)
		p := lo.Topics[0].Partitions[0]
		return p.OldStyleOffsets, protocol.ErrorCode(p.ErrorCode)
	}
	for _, c := range []struct {
		name      string
		replicaID int32
		topic     string
		ts        int64
		limit     int32
		want      []int64
		code      protocol.ErrorCode
	}{
		{"consumer latest", -1, "r", -1, 10, []int64{0, 0}, 0},
		{"consumer latest, one", -1, "r", -1, 1, []int64{0}, 0},
		{"consumer earliest", -1, "r", -2, 10, []int64{0}, 0},
		{"replica latest", 2, "r", -1, 10, []int64{3, 0}, 0},
		{"debugging tool latest", -2, "r", -1, 10, []int64{3, 0}, 0},
		{"consumer, every file younger", -1, "r", 0, 10, nil, 0},
		{"max timestamp", -1, "r", -3, 10, nil, protocol.ErrUnsupportedVersion},
		{"unknown topic", -1, "nope", -1, 10, nil, protocol.ErrUnknownTopicOrPartition},
	} {
		got, code := v0(c.replicaID, c.topic, c.ts, c.limit)
		if code != c.code || !slices.Equal(got, c.want) {
			t.Errorf("%s: %v code %d, want %v code %d", c.name, got, code, c.want, c.code)
		}
	}
	if o, code := f.listOffset("r", -2, -1); code != 0 || o != 3 {
		t.Fatalf("debugging tool latest (v7): offset %d code %d, want the log end 3", o, code)
	}
}
