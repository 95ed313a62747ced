package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// CreatePartitions raises topics' partition counts through the
// controller (v0-3): one result per topic in request order, with the
// controller's codes (INVALID_PARTITIONS for a count that is not an
// increase, UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT,
// INVALID_REQUEST for a topic named twice). ValidateOnly checks and
// changes nothing. Once it answers, this broker's image holds the new
// partitions and their logs exist.
func (h *Handler) CreatePartitions(ctx context.Context, req *protocol.CreatePartitionsRequest, version int16) *protocol.CreatePartitionsResponse {
	resp := &protocol.CreatePartitionsResponse{Results: []protocol.CreatePartitionsResponseCreatePartitionsTopicResult{}}
	if len(req.Topics) == 0 {
		return resp
	}
	reqs := make([]controller.CreatePartitionsRequest, len(req.Topics))
	for i, t := range req.Topics {
		cp := controller.CreatePartitionsRequest{Name: t.Name, Count: t.Count}
		// A null assignment list means "place them for me"; a present
		// one, even empty, must give one entry per new partition, as in
		// Kafka.
		if t.Assignments != nil {
			cp.Assignments = make([][]int32, len(t.Assignments))
			for j, a := range t.Assignments {
				cp.Assignments[j] = a.BrokerIDs
			}
		}
		reqs[i] = cp
	}
	ctx, cancel := h.timeout(ctx, req.TimeoutMs)
	defer cancel()
	reply, err := h.submit(ctx, controller.CreatePartitions(reqs, req.ValidateOnly))
	if err != nil {
		code, msg := controllerErrorCode(err), err.Error()
		for _, t := range req.Topics {
			resp.Results = append(resp.Results, protocol.CreatePartitionsResponseCreatePartitionsTopicResult{Name: t.Name, ErrorCode: int16(code), ErrorMessage: ptr(msg)})
		}
		return resp
	}
	for _, r := range reply.([]controller.CreatePartitionsResult) {
		resp.Results = append(resp.Results, protocol.CreatePartitionsResponseCreatePartitionsTopicResult{
			Name: r.Name, ErrorCode: errorCode(r.Err), ErrorMessage: errorMessage(r.Err),
		})
	}
	return resp
}
