package handler

import (
	"context"
	"testing"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestLeaderHints: a Produce (v10+) or consumer Fetch (v16+) sent to a
// broker that does not lead the partition (nor, for the Fetch, hold a
// replica of it) is answered
// NOT_LEADER_OR_FOLLOWER with the leader and epoch the image names and
// that leader's endpoint (KIP-951); older versions carry no hint.
func TestLeaderHints(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.registerBrokers(t, 2)
	topicID := f.createAssigned(t, assigned{"elsewhere", []int32{2}}, assigned{"here", []int32{1}})[0]

	produce := func(version int16) *protocol.ProduceResponse {
		t.Helper()
		res := f.h.Produce(ctx, &protocol.ProduceRequest{Acks: 1, TimeoutMs: 5000, TopicData: []protocol.ProduceRequestTopicProduceData{
			{Name: "elsewhere", PartitionData: []protocol.ProduceRequestPartitionProduceData{{Index: 0, Records: batchOf(t, "x")}}},
			{Name: "here", PartitionData: []protocol.ProduceRequestPartitionProduceData{{Index: 0, Records: batchOf(t, "y")}}},
		}}, version)
		if res.Wait != nil {
			return res.Wait(ctx)
		}
		return res.Resp
	}
	r := produce(11)
	away, home := r.Responses[0].PartitionResponses[0], r.Responses[1].PartitionResponses[0]
	if protocol.ErrorCode(away.ErrorCode) != protocol.ErrNotLeaderOrFollower || away.CurrentLeader.LeaderID != 2 || away.CurrentLeader.LeaderEpoch != 0 {
		t.Fatalf("produce v11 to a partition broker 2 leads: %+v", away)
	}
	if home.ErrorCode != 0 || home.CurrentLeader.LeaderID != -1 {
		t.Fatalf("produce v11 to a partition this broker leads: %+v", home)
	}
	if len(r.NodeEndpoints) != 1 || r.NodeEndpoints[0].NodeID != 2 || r.NodeEndpoints[0].Host != "127.0.0.1" || r.NodeEndpoints[0].Port != 9092 {
		t.Fatalf("produce v11 node endpoints: %+v", r.NodeEndpoints)
	}
	r = produce(9)
	if away := r.Responses[0].PartitionResponses[0]; protocol.ErrorCode(away.ErrorCode) != protocol.ErrNotLeaderOrFollower || away.CurrentLeader.LeaderID != -1 || len(r.NodeEndpoints) != 0 {
		t.Fatalf("produce v9 carries hints: %+v %+v", away, r.NodeEndpoints)
	}

	fetch := func(version int16) *protocol.FetchResponse {
		t.Helper()
		req := &protocol.FetchRequest{}
		req.Default()
		req.MaxBytes = 1 << 20
		req.Topics = []protocol.FetchRequestFetchTopic{{Topic: "elsewhere", TopicID: topicID, Partitions: []protocol.FetchRequestFetchPartition{{
			Partition: 0, CurrentLeaderEpoch: -1, FetchOffset: 0, LogStartOffset: -1, PartitionMaxBytes: 1 << 20}}}}
		resp, wait := f.h.Fetch(ctx, req, version)
		if wait != nil {
			resp = wait(ctx)
		}
		loadFiles(t, resp)
		return resp
	}
	fr := fetch(17)
	pd := fr.Responses[0].Partitions[0]
	if protocol.ErrorCode(pd.ErrorCode) != protocol.ErrNotLeaderOrFollower || pd.CurrentLeader.LeaderID != 2 || pd.CurrentLeader.LeaderEpoch != 0 {
		t.Fatalf("fetch v17 from a partition broker 2 leads: %+v", pd)
	}
	if len(fr.NodeEndpoints) != 1 || fr.NodeEndpoints[0].NodeID != 2 || fr.NodeEndpoints[0].Port != 9092 {
		t.Fatalf("fetch v17 node endpoints: %+v", fr.NodeEndpoints)
	}
	fr = fetch(15)
	if pd := fr.Responses[0].Partitions[0]; protocol.ErrorCode(pd.ErrorCode) != protocol.ErrNotLeaderOrFollower || pd.CurrentLeader.LeaderID != -1 || len(fr.NodeEndpoints) != 0 {
		t.Fatalf("fetch v15 carries hints: %+v %+v", pd, fr.NodeEndpoints)
	}
}
