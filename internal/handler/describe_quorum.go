package handler

import (
	"context"
	"errors"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// QuorumVoter is a voter of the metadata quorum and its controller
// endpoint, for DescribeQuorum v2's node list.
type QuorumVoter struct {
	ID       int32
	Listener string
	Host     string
	Port     uint16
}

// DescribeQuorum answers the metadata quorum's state, which it asks of
// the active controller: its id and leader epoch (the raft term), the
// high watermark (the last committed index) and each voter's log end
// and last contact as the leader sees them. Observers (broker-only
// nodes, which stream images rather than fetch the log) are not listed.
func (h *Handler) DescribeQuorum(ctx context.Context, req *protocol.DescribeQuorumRequest, version int16) *protocol.DescribeQuorumResponse {
	resp := &protocol.DescribeQuorumResponse{Topics: []protocol.DescribeQuorumResponseTopicData{}, Nodes: []protocol.DescribeQuorumResponseNode{}}
	for _, t := range req.Topics {
		rt := protocol.DescribeQuorumResponseTopicData{TopicName: t.TopicName}
		for _, p := range t.Partitions {
			rp := protocol.DescribeQuorumResponsePartitionData{PartitionIndex: p.PartitionIndex, LeaderID: -1, LeaderEpoch: -1, HighWatermark: -1,
				CurrentVoters: []protocol.DescribeQuorumResponseReplicaState{}, Observers: []protocol.DescribeQuorumResponseReplicaState{}}
			if t.TopicName != storage.MetadataTopic || p.PartitionIndex != 0 {
				rp.ErrorCode = int16(protocol.ErrUnknownTopicOrPartition)
				rt.Partitions = append(rt.Partitions, rp)
				continue
			}
			q, err := h.quorumState(ctx)
			if err != nil {
				rp.ErrorCode = int16(protocol.ErrNotLeaderOrFollower)
				if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
					rp.ErrorCode = int16(protocol.ErrRequestTimedOut)
				}
				msg := err.Error()
				rp.ErrorMessage = &msg
				rt.Partitions = append(rt.Partitions, rp)
				continue
			}
			rp.LeaderID, rp.LeaderEpoch, rp.HighWatermark = q.LeaderID, q.LeaderEpoch, q.HighWatermark
			for _, v := range q.Voters {
				rp.CurrentVoters = append(rp.CurrentVoters, protocol.DescribeQuorumResponseReplicaState{
					ReplicaID: v.ID, LogEndOffset: v.LogEndOffset, LastFetchTimestamp: v.LastFetchMs, LastCaughtUpTimestamp: v.LastCaughtUpMs})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if version >= 2 {
		for _, v := range h.cfg.QuorumVoters {
			resp.Nodes = append(resp.Nodes, protocol.DescribeQuorumResponseNode{NodeID: v.ID,
				Listeners: []protocol.DescribeQuorumResponseListener{{Name: v.Listener, Host: v.Host, Port: v.Port}}})
		}
	}
	return resp
}

func (h *Handler) quorumState(ctx context.Context) (controller.QuorumState, error) {
	ctx, cancel := h.timeout(ctx, 0)
	defer cancel()
	_, reply, err := h.ctl.Execute(ctx, controller.DescribeQuorum())
	if err != nil {
		return controller.QuorumState{}, err
	}
	q, ok := reply.(controller.QuorumState)
	if !ok {
		return controller.QuorumState{}, errors.New("unexpected reply to describe quorum")
	}
	return q, nil
}
