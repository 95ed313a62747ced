package handler

import (
	"context"
	"testing"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// TestFetchInconsistentTopicID: while the replica this broker holds under
// a topic's name is of another topic than the one the image gives that
// name (a topic deleted and created again, the broker between the two),
// a Fetch that names the topic's id gets INCONSISTENT_TOPIC_ID and no
// records, a consumer's (v13) and a follower's (v15) alike, as Kafka's
// broker answers; a Fetch by name (v12) names no id and is served.
func TestFetchInconsistentTopicID(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	epoch2 := f.registerBrokers(t, 2)[2]
	resp := f.h.CreateTopics(ctx, &protocol.CreateTopicsRequest{TimeoutMs: 5000, Topics: []protocol.CreateTopicsRequestCreatableTopic{{
		Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: []protocol.CreateTopicsRequestCreatableReplicaAssignment{{PartitionIndex: 0, BrokerIDs: []int32{1, 2}}}}}}, 7)
	if resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %+v", resp.Topics[0])
	}
	topicID := resp.Topics[0].TopicID
	if pr := produceResponse(f.produce(t, 1, "t", 0, batchOf(t, "a", "b"))); pr.ErrorCode != 0 {
		t.Fatalf("produce: %+v", pr)
	}
	fetch := func(version int16, replicaID int32, brokerEpoch, offset int64) protocol.FetchResponsePartitionData {
		t.Helper()
		req := &protocol.FetchRequest{}
		req.Default()
		req.MaxBytes = 1 << 20
		if replicaID >= 0 {
			req.ReplicaState = protocol.FetchRequestReplicaState{ReplicaID: replicaID, ReplicaEpoch: brokerEpoch}
		}
		ft := protocol.FetchRequestFetchTopic{Partitions: []protocol.FetchRequestFetchPartition{{
			Partition: 0, CurrentLeaderEpoch: -1, FetchOffset: offset, LastFetchedEpoch: -1, LogStartOffset: -1, PartitionMaxBytes: 1 << 20}}}
		if version >= 13 {
			ft.TopicID = topicID
		} else {
			ft.Topic = "t"
		}
		req.Topics = []protocol.FetchRequestFetchTopic{ft}
		resp, wait := f.h.Fetch(ctx, req, version)
		if wait != nil {
			resp = wait(ctx)
		}
		loadFiles(t, resp)
		return resp.Responses[0].Partitions[0]
	}
	// Consistent: served, to the follower and, once it has fetched to
	// the end (the high watermark 2), to a consumer.
	if pd := fetch(15, 2, epoch2, 0); pd.ErrorCode != 0 || len(pd.Records) == 0 {
		t.Fatalf("follower fetch by id: error %d, %d bytes", pd.ErrorCode, len(pd.Records))
	}
	if pd := fetch(15, 2, epoch2, 2); pd.ErrorCode != 0 || pd.HighWatermark != 2 {
		t.Fatalf("follower fetch at the end: error %d, high watermark %d", pd.ErrorCode, pd.HighWatermark)
	}
	if pd := fetch(13, -1, -1, 0); pd.ErrorCode != 0 || len(pd.Records) == 0 {
		t.Fatalf("consumer fetch by id: error %d, %d bytes", pd.ErrorCode, len(pd.Records))
	}
	part, ok := f.reps.Partition(storage.TopicPartition{Topic: "t", Partition: 0})
	if !ok {
		t.Fatal("no replica of t-0")
	}
	part.TopicID = protocol.UUID{0xee} // another topic named t
	t.Cleanup(func() { part.TopicID = topicID })
	for _, c := range []struct {
		what      string
		version   int16
		replicaID int32
		epoch     int64
		want      protocol.ErrorCode
	}{
		{"consumer v13", 13, -1, -1, protocol.ErrInconsistentTopicID},
		{"follower v15", 15, 2, epoch2, protocol.ErrInconsistentTopicID},
		{"consumer v12, by name", 12, -1, -1, protocol.ErrNone},
	} {
		pd := fetch(c.version, c.replicaID, c.epoch, 0)
		if protocol.ErrorCode(pd.ErrorCode) != c.want || (c.want != protocol.ErrNone) != (len(pd.Records) == 0) {
			t.Errorf("%s: error %d, %d bytes; want error %d", c.what, pd.ErrorCode, len(pd.Records), c.want)
		}
	}
}
