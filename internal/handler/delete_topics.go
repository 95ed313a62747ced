package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// DeleteTopics deletes topics by name (v0-5) or by name or id (v6+),
// one result each; with delete.topic.enable=false every topic is refused
// with TOPIC_DELETION_DISABLED.
func (h *Handler) DeleteTopics(ctx context.Context, req *protocol.DeleteTopicsRequest, version int16) *protocol.DeleteTopicsResponse {
	var names []string
	var ids []protocol.UUID
	if version >= 6 {
		for _, t := range req.Topics {
			if t.Name != nil && *t.Name != "" {
				names = append(names, *t.Name)
			} else {
				ids = append(ids, t.TopicID)
			}
		}
	} else {
		names = req.TopicNames
	}
	resp := &protocol.DeleteTopicsResponse{}
	if !h.cfg.DeleteTopicEnable {
		msg := "topic deletion is disabled (delete.topic.enable=false)"
		for _, n := range names {
			resp.Responses = append(resp.Responses, protocol.DeleteTopicsResponseDeletableTopicResult{Name: ptr(n), ErrorCode: int16(protocol.ErrTopicDeletionDisabled), ErrorMessage: &msg})
		}
		for _, id := range ids {
			resp.Responses = append(resp.Responses, protocol.DeleteTopicsResponseDeletableTopicResult{TopicID: id, ErrorCode: int16(protocol.ErrTopicDeletionDisabled), ErrorMessage: &msg})
		}
		return resp
	}
	ctx, cancel := h.timeout(ctx, req.TimeoutMs)
	defer cancel()
	reply, err := h.submit(ctx, controller.DeleteTopics(names, ids))
	if err != nil {
		code, msg := controllerErrorCode(err), err.Error()
		for _, n := range names {
			resp.Responses = append(resp.Responses, protocol.DeleteTopicsResponseDeletableTopicResult{Name: ptr(n), ErrorCode: int16(code), ErrorMessage: &msg})
		}
		for _, id := range ids {
			resp.Responses = append(resp.Responses, protocol.DeleteTopicsResponseDeletableTopicResult{TopicID: id, ErrorCode: int16(code), ErrorMessage: &msg})
		}
		return resp
	}
	for _, r := range reply.([]controller.DeleteTopicResult) {
		out := protocol.DeleteTopicsResponseDeletableTopicResult{TopicID: r.TopicID, ErrorCode: errorCode(r.Err), ErrorMessage: errorMessage(r.Err)}
		if r.Name != "" {
			out.Name = ptr(r.Name)
		}
		resp.Responses = append(resp.Responses, out)
	}
	return resp
}
