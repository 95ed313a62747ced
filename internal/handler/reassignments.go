package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// AlterPartitionReassignments starts or cancels (null replicas) partition
// reassignments through the controller (KIP-455, v0). The reassignment
// goes on in the background: the new replicas fetch from the leader and
// the reassignment completes when they are all in sync.
func (h *Handler) AlterPartitionReassignments(ctx context.Context, req *protocol.AlterPartitionReassignmentsRequest, version int16) *protocol.AlterPartitionReassignmentsResponse {
	resp := &protocol.AlterPartitionReassignmentsResponse{Responses: []protocol.AlterPartitionReassignmentsResponseReassignableTopicResponse{}}
	var reqs []controller.Reassignment
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			reqs = append(reqs, controller.Reassignment{Topic: t.Name, Partition: p.PartitionIndex, Replicas: p.Replicas})
		}
	}
	ctx, cancel := h.timeout(ctx, req.TimeoutMs)
	defer cancel()
	reply, err := h.submit(ctx, controller.AlterPartitionReassignments(reqs))
	byTopic := map[string]int{}
	add := func(topic string, p int32, code protocol.ErrorCode, msg *string) {
		i, ok := byTopic[topic]
		if !ok {
			i = len(resp.Responses)
			byTopic[topic] = i
			resp.Responses = append(resp.Responses, protocol.AlterPartitionReassignmentsResponseReassignableTopicResponse{Name: topic})
		}
		r := &resp.Responses[i]
		r.Partitions = append(r.Partitions, protocol.AlterPartitionReassignmentsResponseReassignablePartitionResponse{PartitionIndex: p, ErrorCode: int16(code), ErrorMessage: msg})
	}
	if err != nil {
		code, msg := controllerErrorCode(err), err.Error()
		resp.ErrorCode, resp.ErrorMessage = int16(code), &msg
		return resp
	}
	for _, r := range reply.([]controller.ReassignResult) {
		code := protocol.ErrNone
		if r.Err != nil {
			code = r.Err.Code
		}
		add(r.Topic, r.Partition, code, errorMessage(r.Err))
	}
	return resp
}

// ListPartitionReassignments lists the ongoing reassignments of the named
// partitions (all when topics is null), from this broker's metadata.
func (h *Handler) ListPartitionReassignments(ctx context.Context, req *protocol.ListPartitionReassignmentsRequest, version int16) *protocol.ListPartitionReassignmentsResponse {
	resp := &protocol.ListPartitionReassignmentsResponse{Topics: []protocol.ListPartitionReassignmentsResponseOngoingTopicReassignment{}}
	var topics map[string][]int32
	if req.Topics != nil {
		topics = map[string][]int32{}
		for _, t := range req.Topics {
			topics[t.Name] = append(topics[t.Name], t.PartitionIndexes...)
		}
	}
	byTopic := map[string]int{}
	for _, o := range controller.ListReassignments(h.image(), topics) {
		i, ok := byTopic[o.Topic]
		if !ok {
			i = len(resp.Topics)
			byTopic[o.Topic] = i
			resp.Topics = append(resp.Topics, protocol.ListPartitionReassignmentsResponseOngoingTopicReassignment{Name: o.Topic})
		}
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, protocol.ListPartitionReassignmentsResponseOngoingPartitionReassignment{
			PartitionIndex: o.Partition, Replicas: o.Replicas, AddingReplicas: o.AddingReplicas, RemovingReplicas: o.RemovingReplicas})
	}
	return resp
}
