package controller

import (
	"slices"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// AlterISRRequest is a partition leader's proposal of a new ISR (Kafka's
// AlterPartition): the leader names itself, its broker epoch, and the
// leader and partition epochs its view is based on.
type AlterISRRequest struct {
	BrokerID       int32
	BrokerEpoch    int64
	TopicID        protocol.UUID
	Partition      int32
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32
	// LeaderRecoveryState is the leader's: Recovered (the zero value)
	// once it leads, as Kafka's brokers say as they take over a
	// partition an unclean election left RECOVERING.
	LeaderRecoveryState metadata.LeaderRecoveryState
}

// AlterISRReply is the partition as the change left it.
type AlterISRReply struct {
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32
}

// AlterPartition changes a partition's ISR at its leader's request; the
// reply is an AlterISRReply. It is checked as Kafka's controller checks
// it:
//   - the broker must be registered with that epoch (STALE_BROKER_EPOCH);
//   - the partition must exist (UNKNOWN_TOPIC_ID, UNKNOWN_TOPIC_OR_PARTITION);
//   - the broker must lead it (NOT_LEADER_OR_FOLLOWER) in the named
//     leader epoch (FENCED_LEADER_EPOCH);
//   - the partition epoch must be the current one (INVALID_UPDATE_VERSION):
//     the leader's view is stale, it learns the new one from the metadata;
//   - the ISR must hold distinct replicas, the leader among them
//     (INVALID_REQUEST);
//   - a leader still recovering must be alone in the ISR, and a
//     recovered partition cannot go back to recovering (INVALID_REQUEST);
//   - every member added must be unfenced and not shutting down
//     (INELIGIBLE_REPLICA).
//
// The change carries the leader's recovery state when it differs: an
// unclean election's RECOVERING ends with the leader's first change. A
// proposal equal to the current ISR and state commits nothing and
// succeeds.
func AlterPartition(req AlterISRRequest) Command {
	return newCommand(opAlterPartition, req, func(img *metadata.Image) ([]metadata.Record, any, error) {
		b, ok := img.Broker(req.BrokerID)
		if !ok || b.Epoch != req.BrokerEpoch {
			return nil, nil, cmdErr(protocol.ErrStaleBrokerEpoch, "Broker %d is not registered with epoch %d.", req.BrokerID, req.BrokerEpoch)
		}
		t := img.TopicByID(req.TopicID)
		if t == nil {
			return nil, nil, cmdErr(protocol.ErrUnknownTopicID, "Unknown topic id.")
		}
		p, ok := t.Partition(req.Partition)
		if !ok {
			return nil, nil, cmdErr(protocol.ErrUnknownTopicOrPartition, "The partition %s-%d does not exist.", t.Name(), req.Partition)
		}
		switch {
		case p.Leader != req.BrokerID:
			return nil, nil, cmdErr(protocol.ErrNotLeaderOrFollower, "Broker %d does not lead %s-%d.", req.BrokerID, t.Name(), req.Partition)
		case req.LeaderEpoch != p.LeaderEpoch:
			return nil, nil, cmdErr(protocol.ErrFencedLeaderEpoch, "Leader epoch %d is not the current %d.", req.LeaderEpoch, p.LeaderEpoch)
		case req.PartitionEpoch != p.PartitionEpoch:
			return nil, nil, cmdErr(protocol.ErrInvalidUpdateVersion, "Partition epoch %d is not the current %d.", req.PartitionEpoch, p.PartitionEpoch)
		}
		// As Kafka's: the members, then the leader among them, then the
		// recovery state, then the eligibility of those added.
		seen := map[int32]bool{}
		for _, r := range req.ISR {
			if seen[r] || !p.HasReplica(r) {
				return nil, nil, cmdErr(protocol.ErrInvalidRequest, "The ISR %v must list distinct replicas of %v.", req.ISR, p.Replicas)
			}
			seen[r] = true
		}
		switch {
		case !slices.Contains(req.ISR, req.BrokerID):
			return nil, nil, cmdErr(protocol.ErrInvalidRequest, "The ISR must contain the leader.")
		case req.LeaderRecoveryState != metadata.Recovered && req.LeaderRecoveryState != metadata.Recovering:
			return nil, nil, cmdErr(protocol.ErrInvalidRequest, "Unknown leader recovery state %d.", req.LeaderRecoveryState)
		case req.LeaderRecoveryState == metadata.Recovering && len(req.ISR) > 1:
			return nil, nil, cmdErr(protocol.ErrInvalidRequest, "The ISR %v has more than the leader while it is recovering.", req.ISR)
		case req.LeaderRecoveryState == metadata.Recovering && p.LeaderRecoveryState == metadata.Recovered:
			return nil, nil, cmdErr(protocol.ErrInvalidRequest, "The leader recovery state cannot go from RECOVERED to RECOVERING.")
		}
		for _, r := range req.ISR {
			if !slices.Contains(p.ISR, r) && !usable(img, r, -1) {
				return nil, nil, cmdErr(protocol.ErrIneligibleReplica, "Replica %d is fenced or shutting down and cannot join the ISR.", r)
			}
		}
		reply := AlterISRReply{LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: slices.Clone(p.ISR)}
		recovery := req.LeaderRecoveryState != p.LeaderRecoveryState
		if sameMembers(req.ISR, p.ISR) && !recovery {
			return nil, reply, nil
		}
		ch := partitionChange(t.ID(), req.Partition)
		ch.Isr = slices.Clone(req.ISR)
		reply.PartitionEpoch++
		reply.ISR = slices.Clone(req.ISR)
		// The change that brings the last adding replica in completes a
		// reassignment, in the same record.
		if done := completeReassignment(img, t.ID(), req.Partition, p, req.ISR); done != nil {
			ch = done
			reply.ISR = slices.Clone(ch.Isr)
			if ch.Leader != -2 {
				reply.LeaderEpoch++
			}
		}
		if recovery {
			ch.LeaderRecoveryState = int8(req.LeaderRecoveryState)
		}
		return []metadata.Record{metadata.NewRecord(ch)}, reply, nil
	})
}

// sameMembers reports whether a and b hold the same brokers.
func sameMembers(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
