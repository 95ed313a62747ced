package handler

import (
	"context"
	"testing"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// TestReplicaFetch: a follower's Fetch (v15, its broker id and epoch in
// ReplicaState) reads to the log end and moves the high watermark; a
// stale broker epoch, a broker that is no replica, a fetch offset past
// the log end and a diverging last fetched epoch get their answers, and
// acks=all completes only once the follower has fetched past the batch.
func TestReplicaFetch(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	epoch2 := f.registerBrokers(t, 2, 3)[2]
	resp := f.h.CreateTopics(ctx, &protocol.CreateTopicsRequest{TimeoutMs: 5000, Topics: []protocol.CreateTopicsRequestCreatableTopic{{
		Name: "rep", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: []protocol.CreateTopicsRequestCreatableReplicaAssignment{{PartitionIndex: 0, BrokerIDs: []int32{1, 2}}}}}}, 7)
	if resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %+v", resp.Topics[0])
	}
	topicID := resp.Topics[0].TopicID
	for i := range 3 {
		if pr := produceResponse(f.produce(t, 1, "rep", 0, batchOf(t, "a", "b"))); pr.ErrorCode != 0 || pr.BaseOffset != int64(2*i) {
			t.Fatalf("produce %d: %+v", i, pr)
		}
	}
	part, err := f.reps.Leading(storage.TopicPartition{Topic: "rep", Partition: 0})
	if err != nil {
		t.Fatal(err)
	}
	if hw := part.HighWatermark(); hw != 0 {
		t.Fatalf("high watermark %d before the follower fetched", hw)
	}
	fetch := func(id int32, brokerEpoch int64, offset int64, lastEpoch int32) *protocol.FetchResponse {
		t.Helper()
		req := &protocol.FetchRequest{}
		req.Default()
		req.ReplicaState = protocol.FetchRequestReplicaState{ReplicaID: id, ReplicaEpoch: brokerEpoch}
		req.MaxBytes = 1 << 20
		req.Topics = []protocol.FetchRequestFetchTopic{{TopicID: topicID, Partitions: []protocol.FetchRequestFetchPartition{{
			Partition: 0, CurrentLeaderEpoch: 0, FetchOffset: offset, LastFetchedEpoch: lastEpoch, LogStartOffset: 0, PartitionMaxBytes: 1 << 20}}}}
		resp, wait := f.h.Fetch(ctx, req, 15)
		if wait != nil {
			resp = wait(ctx)
		}
		loadFiles(t, resp)
		return resp
	}
	// From the start: every record, the high watermark still 0.
	r := fetch(2, epoch2, 0, -1)
	pd := r.Responses[0].Partitions[0]
	if r.ErrorCode != 0 || pd.ErrorCode != 0 || len(pd.Records) == 0 || pd.HighWatermark != 0 {
		t.Fatalf("first fetch: top %d, partition %+v", r.ErrorCode, pd)
	}
	// acks=all waits for the follower.
	pending := f.produce(t, -1, "rep", 0, batchOf(t, "c"))
	if pending.Wait == nil {
		t.Fatal("acks=all answered before the follower fetched")
	}
	// From the log end: the high watermark reaches what the leader has
	// synced, and the pending produce completes once that is all of it.
	r = fetch(2, epoch2, 7, 0)
	if pd := r.Responses[0].Partitions[0]; pd.ErrorCode != 0 || pd.HighWatermark < 6 {
		t.Fatalf("fetch at the log end: %+v", pd)
	}
	if pr := produceResponse(pending); pr.ErrorCode != 0 || pr.BaseOffset != 6 {
		t.Fatalf("acks=all after the follower fetched: %+v", pr)
	}
	if hw := part.HighWatermark(); hw != 7 {
		t.Fatalf("high watermark %d once the acks=all produce completed, want 7", hw)
	}
	// A stale broker epoch.
	if r := fetch(2, epoch2+100, 7, 0); protocol.ErrorCode(r.ErrorCode) != protocol.ErrStaleBrokerEpoch {
		t.Fatalf("stale broker epoch: %d", r.ErrorCode)
	}
	// Broker 3 is no replica of the partition.
	if r := fetch(3, -1, 7, 0); protocol.ErrorCode(r.Responses[0].Partitions[0].ErrorCode) != protocol.ErrNotLeaderOrFollower {
		t.Fatalf("fetch from a non-replica: %+v", r.Responses[0].Partitions[0])
	}
	// Past the log end, with no epoch to compare.
	if r := fetch(2, epoch2, 50, -1); protocol.ErrorCode(r.Responses[0].Partitions[0].ErrorCode) != protocol.ErrOffsetOutOfRange {
		t.Fatalf("fetch past the log end: %+v", r.Responses[0].Partitions[0])
	}
	// A follower whose log goes on in epoch 0 past where this one ends
	// it (a tail an old leader wrote): it diverges at offset 7.
	r = fetch(2, epoch2, 50, 0)
	pd = r.Responses[0].Partitions[0]
	if pd.ErrorCode != 0 || pd.DivergingEpoch.Epoch != 0 || pd.DivergingEpoch.EndOffset != 7 || len(pd.Records) != 0 {
		t.Fatalf("diverging fetch: %+v", pd)
	}
	if hw := part.HighWatermark(); hw != 7 {
		t.Fatalf("high watermark %d after a diverging fetch, want 7", hw)
	}
	// Below the log start, a follower that would also diverge is told
	// it is out of range first, as Kafka checks the log start before the
	// divergence.
	// The log goes on in epoch 2 from 7 (appended straight to it) and
	// starts at 6: a follower at 5 whose last epoch is 1, which this log
	// never had, diverges at the end of epoch 0 and is below the log
	// start.
	if _, err := part.Log.Append(batchOf(t, "d", "e", "f"), storage.AppendOptions{LeaderEpoch: 2}); err != nil {
		t.Fatal(err)
	}
	if err := part.Log.SetStartOffset(6); err != nil {
		t.Fatal(err)
	}
	r = fetch(2, epoch2, 5, 1)
	if pd := r.Responses[0].Partitions[0]; protocol.ErrorCode(pd.ErrorCode) != protocol.ErrOffsetOutOfRange || pd.DivergingEpoch.EndOffset != -1 {
		t.Fatalf("fetch below the log start: %+v", pd)
	}
}
