package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// DeleteTopics deletes topics by name (v0-5) or by name or id (v6+),
// one result each; an entry naming both a name and an id, and a name or
// id given more than once (one result for it, nothing deleted), are
// refused with INVALID_REQUEST, as Kafka does. With
// delete.topic.enable=false every topic is refused with
// TOPIC_DELETION_DISABLED, or INVALID_REQUEST before v3, whose clients do
// not know that code.
func (h *Handler) DeleteTopics(ctx context.Context, req *protocol.DeleteTopicsRequest, version int16) *protocol.DeleteTopicsResponse {
	resp := &protocol.DeleteTopicsResponse{}
	var names []string
	var ids []protocol.UUID
	if version >= 6 {
		for _, t := range req.Topics {
			switch named := t.Name != nil && *t.Name != ""; {
			case named && t.TopicID != (protocol.UUID{}):
				resp.Responses = append(resp.Responses, protocol.DeleteTopicsResponseDeletableTopicResult{Name: t.Name, TopicID: t.TopicID,
					ErrorCode: int16(protocol.ErrInvalidRequest), ErrorMessage: ptr("You may not specify both topic name and topic id.")})
			case named:
				names = append(names, *t.Name)
			default:
				ids = append(ids, t.TopicID)
			}
		}
	} else {
		names = req.TopicNames
	}
	names, ids = dropDuplicateDeletions(resp, names, ids)
	if !h.cfg.DeleteTopicEnable {
		code, msg := protocol.ErrTopicDeletionDisabled, "topic deletion is disabled (delete.topic.enable=false)"
		if version < 3 {
			code = protocol.ErrInvalidRequest
		}
		for _, n := range names {
			resp.Responses = append(resp.Responses, protocol.DeleteTopicsResponseDeletableTopicResult{Name: ptr(n), ErrorCode: int16(code), ErrorMessage: &msg})
		}
		for _, id := range ids {
			resp.Responses = append(resp.Responses, protocol.DeleteTopicsResponseDeletableTopicResult{TopicID: id, ErrorCode: int16(code), ErrorMessage: &msg})
		}
		return resp
	}
	if len(names) == 0 && len(ids) == 0 {
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

// dropDuplicateDeletions answers each name or id the request gives more
// than once with one INVALID_REQUEST result, and returns the others.
func dropDuplicateDeletions(resp *protocol.DeleteTopicsResponse, names []string, ids []protocol.UUID) ([]string, []protocol.UUID) {
	names = onlyOnce(names, func(n string) {
		resp.Responses = append(resp.Responses, protocol.DeleteTopicsResponseDeletableTopicResult{Name: ptr(n),
			ErrorCode: int16(protocol.ErrInvalidRequest), ErrorMessage: ptr("Duplicate topic name.")})
	})
	ids = onlyOnce(ids, func(id protocol.UUID) {
		resp.Responses = append(resp.Responses, protocol.DeleteTopicsResponseDeletableTopicResult{TopicID: id,
			ErrorCode: int16(protocol.ErrInvalidRequest), ErrorMessage: ptr("Duplicate topic id.")})
	})
	return names, ids
}

// onlyOnce returns the keys given once, in order, and calls duplicate
// once for each key given more than once.
func onlyOnce[K comparable](keys []K, duplicate func(K)) []K {
	count := make(map[K]int, len(keys))
	for _, k := range keys {
		count[k]++
	}
	var once []K
	for _, k := range keys {
		switch count[k] {
		case 0: // a duplicate, answered already
		case 1:
			once = append(once, k)
		default:
			count[k] = 0
			duplicate(k)
		}
	}
	return once
}
