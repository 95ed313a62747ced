package handler

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// CreateTopics creates topics through the controller: one result per
// topic, with Kafka's error codes; validate-only changes nothing. A
// result lists the topic's whole configuration (v5+), each key with its
// value and source as DescribeConfigs gives them, as Kafka's does.
func (h *Handler) CreateTopics(ctx context.Context, req *protocol.CreateTopicsRequest, version int16) *protocol.CreateTopicsResponse {
	resp := &protocol.CreateTopicsResponse{}
	reqs := make([]controller.CreateTopic, 0, len(req.Topics))
	// refused holds the topics the handler refuses itself, by index in
	// the request; the others go to the controller, in order.
	refused := make([]*protocol.CreateTopicsResponseCreatableTopicResult, len(req.Topics))
	for i, t := range req.Topics {
		ct := controller.CreateTopic{Name: t.Name, NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor}
		if len(t.Assignments) > 0 {
			ct.Assignments = map[int32][]int32{}
			for _, a := range t.Assignments {
				if _, dup := ct.Assignments[a.PartitionIndex]; dup {
					msg := fmt.Sprintf("Found multiple manual partition assignments for partition %d", a.PartitionIndex)
					refused[i] = &protocol.CreateTopicsResponseCreatableTopicResult{Name: t.Name, ErrorCode: int16(protocol.ErrInvalidReplicaAssignment),
						ErrorMessage: &msg, NumPartitions: -1, ReplicationFactor: -1}
					break
				}
				ct.Assignments[a.PartitionIndex] = a.BrokerIDs
			}
		}
		if refused[i] != nil {
			continue
		}
		if len(t.Configs) > 0 {
			ct.Configs = map[string]*string{}
			for _, c := range t.Configs {
				ct.Configs[c.Name] = c.Value
			}
		}
		reqs = append(reqs, ct)
	}
	var results []controller.CreateTopicResult
	if len(reqs) > 0 {
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
		results = reply.([]controller.CreateTopicResult)
	}
	var d configDescriber
	if version >= 5 {
		d = h.newConfigDescriber(0) // the configs as DescribeConfigs v0 gives them
	}
	for i := range req.Topics {
		if r := refused[i]; r != nil {
			resp.Topics = append(resp.Topics, *r)
			continue
		}
		r := results[0]
		results = results[1:]
		out := protocol.CreateTopicsResponseCreatableTopicResult{
			Name: r.Name, TopicID: r.TopicID, ErrorCode: errorCode(r.Err), ErrorMessage: errorMessage(r.Err),
			NumPartitions: r.NumPartitions, ReplicationFactor: r.ReplicationFactor,
		}
		if r.Err != nil {
			out.NumPartitions, out.ReplicationFactor = -1, -1
		} else if version >= 5 {
			for _, c := range d.topicRows(r.Configs, nil) {
				out.Configs = append(out.Configs, protocol.CreateTopicsResponseCreatableTopicConfigs{
					Name: c.Name, Value: c.Value, ReadOnly: c.ReadOnly, ConfigSource: c.ConfigSource, IsSensitive: c.IsSensitive})
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
