package admin

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metadataTopic is the KRaft metadata log, the partition DescribeQuorum
// describes.
const metadataTopic = "__cluster_metadata"

// BrokerInfo is one live broker.
type BrokerInfo struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
	Rack string `json:"rack,omitempty"`
}

// QuorumReplica is a voter or an observer of the metadata quorum.
type QuorumReplica struct {
	ID           int32 `json:"id"`
	LogEndOffset int64 `json:"log_end_offset"` // -1: unknown to the leader
}

// QuorumInfo is the metadata quorum as its leader, the active
// controller, reports it.
type QuorumInfo struct {
	LeaderID      int32           `json:"leader_id"` // -1: no leader
	LeaderEpoch   int32           `json:"leader_epoch"`
	HighWatermark int64           `json:"high_watermark"`
	Voters        []QuorumReplica `json:"voters"`
	Observers     []QuorumReplica `json:"observers"`
}

// PartitionState names a partition with its leader and replicas.
type PartitionState struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Leader    int32   `json:"leader"`
	Replicas  []int32 `json:"replicas"`
	ISR       []int32 `json:"isr"`
}

// ClusterInfo is a described cluster.
type ClusterInfo struct {
	ClusterID string       `json:"cluster_id"`
	Brokers   []BrokerInfo `json:"brokers"`
	// Controller is the active controller from DescribeQuorum; nil when
	// the broker asked does not serve DescribeQuorum. Metadata's
	// ControllerID is not used: KRaft brokers answer a random broker
	// there, not the active controller.
	Controller *QuorumInfo `json:"controller"`
	// UnderReplicated are the partitions whose ISR is smaller than their
	// replica set; Offline those without a leader.
	UnderReplicated []PartitionState `json:"under_replicated"`
	Offline         []PartitionState `json:"offline"`
}

// DescribeCluster describes the cluster: its id, live brokers, active
// controller and the partitions that are under-replicated or offline.
func (c *Client) DescribeCluster(ctx context.Context) (ClusterInfo, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	info := ClusterInfo{Brokers: []BrokerInfo{}, UnderReplicated: []PartitionState{}, Offline: []PartitionState{}}
	m, err := c.adm.Metadata(ctx)
	if err != nil {
		return info, c.wrap("describe cluster", err)
	}
	info.ClusterID = m.Cluster
	for _, b := range m.Brokers {
		bi := BrokerInfo{ID: b.NodeID, Host: b.Host, Port: b.Port}
		if b.Rack != nil {
			bi.Rack = *b.Rack
		}
		info.Brokers = append(info.Brokers, bi)
	}
	sort.Slice(info.Brokers, func(i, j int) bool { return info.Brokers[i].ID < info.Brokers[j].ID })
	for _, t := range m.Topics.Sorted() {
		if t.Err != nil {
			return info, fmt.Errorf("describe cluster: topic %s: %w", t.Topic, t.Err)
		}
		for _, p := range t.Partitions.Sorted() {
			ps := PartitionState{Topic: t.Topic, Partition: p.Partition, Leader: p.Leader, Replicas: orEmpty(p.Replicas), ISR: orEmpty(p.ISR)}
			if len(p.ISR) < len(p.Replicas) {
				info.UnderReplicated = append(info.UnderReplicated, ps)
			}
			if p.Leader < 0 {
				info.Offline = append(info.Offline, ps)
			}
		}
	}
	info.Controller, err = c.describeQuorum(ctx)
	return info, err
}

// describeQuorum asks one broker, the first that answers ApiVersions,
// for the metadata quorum. It returns nil when that broker does not serve
// DescribeQuorum: the API is missing from its ApiVersions, or it answers
// UNSUPPORTED_VERSION.
func (c *Client) describeQuorum(ctx context.Context) (*QuorumInfo, error) {
	vs, err := c.adm.ApiVersions(ctx)
	if err != nil {
		return nil, c.wrap("api versions", err)
	}
	var errs []error
	for _, v := range vs.Sorted() {
		if v.Err != nil {
			errs = append(errs, fmt.Errorf("api versions of broker %d: %w", v.NodeID, v.Err))
			continue
		}
		if _, ok := v.KeyMaxVersion(int16(kmsg.DescribeQuorum)); !ok {
			return nil, nil
		}
		return c.describeQuorumAt(ctx, v.NodeID)
	}
	if len(errs) == 0 {
		return nil, errors.New("api versions: no broker answered")
	}
	return nil, c.wrap("api versions", errors.Join(errs...))
}

func (c *Client) describeQuorumAt(ctx context.Context, broker int32) (*QuorumInfo, error) {
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = metadataTopic
	rp := kmsg.NewDescribeQuorumRequestTopicPartition()
	rp.Partition = 0
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	kresp, err := c.kgo.Broker(int(broker)).RetriableRequest(ctx, req)
	if err != nil {
		return nil, c.wrap("describe quorum", err)
	}
	resp := kresp.(*kmsg.DescribeQuorumResponse)
	if resp.ErrorCode == kerr.UnsupportedVersion.Code {
		return nil, nil
	}
	if err := quorumErr(resp.ErrorCode, resp.ErrorMessage); err != nil {
		return nil, fmt.Errorf("describe quorum: %w", err)
	}
	for _, t := range resp.Topics {
		if t.Topic != metadataTopic {
			continue
		}
		for _, p := range t.Partitions {
			if p.Partition != 0 {
				continue
			}
			if err := quorumErr(p.ErrorCode, p.ErrorMessage); err != nil {
				return nil, fmt.Errorf("describe quorum: %s-0: %w", metadataTopic, err)
			}
			return &QuorumInfo{LeaderID: p.LeaderID, LeaderEpoch: p.LeaderEpoch, HighWatermark: p.HighWatermark,
				Voters: replicas(p.CurrentVoters), Observers: replicas(p.Observers)}, nil
		}
	}
	return nil, fmt.Errorf("describe quorum: the answer lacks %s-0", metadataTopic)
}

func quorumErr(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err != nil && msg != nil && *msg != "" {
		err = fmt.Errorf("%w: %s", err, *msg)
	}
	return err
}

func replicas(rs []kmsg.DescribeQuorumResponseTopicPartitionReplicaState) []QuorumReplica {
	out := make([]QuorumReplica, 0, len(rs))
	for _, r := range rs {
		out = append(out, QuorumReplica{ID: r.ReplicaID, LogEndOffset: r.LogEndOffset})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
