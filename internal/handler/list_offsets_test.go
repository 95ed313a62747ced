package handler

import (
	"context"
	"testing"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestListOffsetsLatestForAReplica: the latest offset is the high
// watermark for a consumer and the log end for a replica (a follower
// finding where the leader's log ends). Broker 2 is in the ISR and never
// fetches, so the high watermark stays at 0 while acks=1 appends three.
func TestListOffsetsLatestForAReplica(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	off, epoch, err := f.ctl.Submit(ctx, controller.RegisterBroker(controller.BrokerRegistration{ID: 2, IncarnationID: protocol.UUID{2}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ctl.Submit(ctx, controller.UnfenceBroker(2, epoch.(int64))); err != nil {
		t.Fatal(err)
	}
	if err := f.ctl.WaitFor(ctx, off+1); err != nil {
		t.Fatal(err)
	}
	resp := f.h.CreateTopics(ctx, &protocol.CreateTopicsRequest{TimeoutMs: 5000, Topics: []protocol.CreateTopicsRequestCreatableTopic{{Name: "r",
		NumPartitions: -1, ReplicationFactor: -1, Assignments: []protocol.CreateTopicsRequestCreatableReplicaAssignment{{PartitionIndex: 0, BrokerIDs: []int32{1, 2}}}}}}, 7)
	if resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %d", resp.Topics[0].ErrorCode)
	}
	if pr := produceResponse(f.produce(t, 1, "r", 0, batchOf(t, "a", "b", "c"))); pr.ErrorCode != 0 {
		t.Fatalf("produce: %d", pr.ErrorCode)
	}
	latest := func(replicaID int32, timestamp int64) (int64, protocol.ErrorCode) {
		lo := f.h.ListOffsets(ctx, &protocol.ListOffsetsRequest{ReplicaID: replicaID, Topics: []protocol.ListOffsetsRequestListOffsetsTopic{{Name: "r",
			Partitions: []protocol.ListOffsetsRequestListOffsetsPartition{{PartitionIndex: 0, Timestamp: timestamp, CurrentLeaderEpoch: -1}}}}}, 7)
		p := lo.Topics[0].Partitions[0]
		return p.Offset, protocol.ErrorCode(p.ErrorCode)
	}
	if o, code := latest(-1, -1); code != 0 || o != 0 {
		t.Fatalf("consumer latest: offset %d code %d, want the high watermark 0", o, code)
	}
	if o, code := latest(2, -1); code != 0 || o != 3 {
		t.Fatalf("replica latest: offset %d code %d, want the log end 3", o, code)
	}
	// By timestamp: a consumer finds nothing below the high watermark, a
	// replica finds the first record.
	if o, code := latest(-1, 0); code != 0 || o != -1 {
		t.Fatalf("consumer by timestamp: offset %d code %d, want -1", o, code)
	}
	if o, code := latest(2, 0); code != 0 || o != 0 {
		t.Fatalf("replica by timestamp: offset %d code %d, want 0", o, code)
	}
}
