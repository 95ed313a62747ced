package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// ElectLeaders runs leader elections through the controller (v0-2):
// preferred elections (v0 knows no other), and unclean ones, which elect
// outside the ISR when no in-sync replica can lead (see
// controller.ElectLeaders). Null partitions
// mean every partition, and only those that needed an election are
// answered. A failure to reach the controller is answered for every
// partition asked (or, for all partitions, as the top-level error from
// v1 on).
func (h *Handler) ElectLeaders(ctx context.Context, req *protocol.ElectLeadersRequest, version int16) *protocol.ElectLeadersResponse {
	resp := &protocol.ElectLeadersResponse{ReplicaElectionResults: []protocol.ElectLeadersResponseReplicaElectionResult{}}
	electionType := req.ElectionType
	if version == 0 {
		electionType = controller.ElectPreferred
	}
	var targets []controller.ElectTarget
	if req.TopicPartitions != nil {
		targets = make([]controller.ElectTarget, 0, len(req.TopicPartitions))
		for _, tp := range req.TopicPartitions {
			targets = append(targets, controller.ElectTarget{Topic: tp.Topic, Partitions: tp.Partitions})
		}
	}
	ctx, cancel := h.timeout(ctx, req.TimeoutMs)
	defer cancel()
	reply, err := h.submit(ctx, controller.ElectLeaders(electionType, targets))
	byTopic := map[string]int{}
	add := func(topic string, p int32, code protocol.ErrorCode, msg *string) {
		i, ok := byTopic[topic]
		if !ok {
			i = len(resp.ReplicaElectionResults)
			byTopic[topic] = i
			resp.ReplicaElectionResults = append(resp.ReplicaElectionResults, protocol.ElectLeadersResponseReplicaElectionResult{Topic: topic})
		}
		r := &resp.ReplicaElectionResults[i]
		r.PartitionResult = append(r.PartitionResult, protocol.ElectLeadersResponsePartitionResult{PartitionID: p, ErrorCode: int16(code), ErrorMessage: msg})
	}
	if err != nil {
		code, msg := controllerErrorCode(err), err.Error()
		if targets == nil {
			if version >= 1 {
				resp.ErrorCode = int16(code)
			}
			return resp
		}
		for _, tg := range targets {
			for _, p := range tg.Partitions {
				add(tg.Topic, p, code, &msg)
			}
		}
		return resp
	}
	for _, r := range reply.([]controller.ElectResult) {
		code := protocol.ErrNone
		if r.Err != nil {
			code = r.Err.Code
		}
		add(r.Topic, r.Partition, code, errorMessage(r.Err))
	}
	return resp
}
