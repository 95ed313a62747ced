package handler

import (
	"context"
	"errors"
	"sort"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// configSourceTopic is Kafka's DescribeConfigs source for a topic's own
// config (TOPIC_CONFIG); configSourceDefault for a broker default.
const configSourceTopic = 1

// CreateTopics creates topics through the controller: one result per
// topic, with Kafka's error codes; validate-only changes nothing.
func (h *Handler) CreateTopics(ctx context.Context, req *protocol.CreateTopicsRequest, version int16) *protocol.CreateTopicsResponse {
	resp := &protocol.CreateTopicsResponse{}
	reqs := make([]controller.CreateTopic, len(req.Topics))
	for i, t := range req.Topics {
		ct := controller.CreateTopic{Name: t.Name, NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor}
		if len(t.Assignments) > 0 {
			ct.Assignments = map[int32][]int32{}
			for _, a := range t.Assignments {
				ct.Assignments[a.PartitionIndex] = a.BrokerIDs
			}
		}
		if len(t.Configs) > 0 {
			ct.Configs = map[string]*string{}
			for _, c := range t.Configs {
				ct.Configs[c.Name] = c.Value
			}
		}
		reqs[i] = ct
	}
	ctx, cancel := h.timeout(ctx, req.TimeoutMs)
	defer cancel()
	reply, err := h.submit(ctx, controller.CreateTopics(reqs, req.ValidateOnly, h.defaults()))
	if err != nil {
		code := controllerErrorCode(err)
		for _, t := range req.Topics {
			msg := err.Error()
			resp.Topics = append(resp.Topics, protocol.CreateTopicsResponseCreatableTopicResult{Name: t.Name, ErrorCode: int16(code), ErrorMessage: &msg, NumPartitions: -1, ReplicationFactor: -1})
		}
		return resp
	}
	for _, r := range reply.([]controller.CreateTopicResult) {
		out := protocol.CreateTopicsResponseCreatableTopicResult{
			Name: r.Name, TopicID: r.TopicID, ErrorCode: errorCode(r.Err), ErrorMessage: errorMessage(r.Err),
			NumPartitions: r.NumPartitions, ReplicationFactor: r.ReplicationFactor,
		}
		if r.Err != nil {
			out.NumPartitions, out.ReplicationFactor = -1, -1
		} else {
			keys := make([]string, 0, len(r.Configs))
			for k := range r.Configs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v := r.Configs[k]
				out.Configs = append(out.Configs, protocol.CreateTopicsResponseCreatableTopicConfigs{Name: k, Value: &v, ConfigSource: configSourceTopic})
			}
		}
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

// controllerErrorCode maps a failure to reach the controller.
func controllerErrorCode(err error) protocol.ErrorCode {
	var ce *controller.CommandError
	switch {
	case errors.As(err, &ce):
		return ce.Code
	case errors.Is(err, controller.ErrNotController):
		return protocol.ErrNotController
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return protocol.ErrRequestTimedOut
	default:
		return protocol.ErrUnknownServerError
	}
}
