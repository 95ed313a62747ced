package node

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// maxVersion is franz-go's versions with key capped at v.
func maxVersion(key kmsg.Key, v int16) *kversion.Versions {
	vs := kversion.Stable()
	vs.SetMaxKeyVersion(int16(key), v)
	return vs
}

// describeQuorum asks the broker at addr for the metadata quorum at
// version v.
func describeQuorum(t *testing.T, ctx context.Context, addr string, v int16, topic string) *kmsg.DescribeQuorumResponse {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MaxVersions(maxVersion(kmsg.DescribeQuorum, v)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Version = v
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDescribeQuorumRequestTopicPartition()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("describe quorum: %+v", resp)
	}
	return resp
}

// TestDescribeQuorum asks every broker of a three-node cluster for the
// metadata quorum: each names the active controller, the voters' log ends
// are at most the leader's and reach the high watermark for a majority,
// the followers were heard from within the last seconds, v2 lists the
// voters' controller endpoints, and another topic is unknown.
func TestDescribeQuorum(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var leader int
	for deadline := time.Now().Add(10 * time.Second); ; {
		if leader = c.activeController(); leader >= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no active controller")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let a heartbeat round reach every voter.
	time.Sleep(time.Second)
	for i, n := range c.nodes {
		for _, v := range []int16{0, 1, 2} {
			p := describeQuorum(t, ctx, n.Addr().String(), v, "__cluster_metadata").Topics[0].Partitions[0]
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				t.Fatalf("node %d v%d: %v", i+1, v, err)
			}
			if p.LeaderID != int32(leader+1) || p.LeaderEpoch < 1 || p.HighWatermark < 1 || len(p.CurrentVoters) != 3 {
				t.Fatalf("node %d v%d: leader %d epoch %d hw %d voters %d; want leader %d", i+1, v, p.LeaderID, p.LeaderEpoch, p.HighWatermark, len(p.CurrentVoters), leader+1)
			}
			var atHW int
			var leo int64 = -1
			for _, vs := range p.CurrentVoters {
				if vs.ReplicaID == p.LeaderID {
					leo = vs.LogEndOffset
					if v >= 1 && (vs.LastFetchTimestamp != -1 || time.Since(time.UnixMilli(vs.LastCaughtUpTimestamp)) > 5*time.Second) {
						t.Fatalf("leader's timestamps %d %d", vs.LastFetchTimestamp, vs.LastCaughtUpTimestamp)
					}
				} else if v >= 1 && time.Since(time.UnixMilli(vs.LastFetchTimestamp)) > 5*time.Second {
					t.Fatalf("voter %d last heard from at %d", vs.ReplicaID, vs.LastFetchTimestamp)
				}
				if vs.LogEndOffset >= p.HighWatermark {
					atHW++
				}
			}
			if leo < p.HighWatermark || atHW < 2 {
				t.Fatalf("node %d v%d: leader's log end %d, hw %d, %d voters at the hw", i+1, v, leo, p.HighWatermark, atHW)
			}
			for _, vs := range p.CurrentVoters {
				if vs.LogEndOffset > leo {
					t.Fatalf("voter %d log end %d past the leader's %d", vs.ReplicaID, vs.LogEndOffset, leo)
				}
			}
		}
		resp := describeQuorum(t, ctx, n.Addr().String(), 2, "__cluster_metadata")
		if len(resp.Nodes) != 3 {
			t.Fatalf("v2 nodes: %+v", resp.Nodes)
		}
		for j, nd := range resp.Nodes {
			if nd.NodeID != int32(j+1) || len(nd.Listeners) != 1 || nd.Listeners[0].Name != "CONTROLLER" || int(nd.Listeners[0].Port) != c.cfgs[j].Voters[j].Port {
				t.Fatalf("v2 node %d: %+v", j+1, nd)
			}
		}
		bad := describeQuorum(t, ctx, n.Addr().String(), 1, "orders").Topics[0].Partitions[0]
		if bad.ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("other topic: code %d", bad.ErrorCode)
		}
	}
}
