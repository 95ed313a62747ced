package handler

import (
	"context"
	"errors"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// deleteToHighWatermark is DeleteRecords' offset meaning "up to the high
// watermark".
const deleteToHighWatermark = -1

// DeleteRecords moves partitions' log start offsets forward (v0-2):
// records below each partition's Offset (-1: the high watermark) become
// unreadable and the segments wholly below it are deleted. The
// LowWatermark answered is the log start offset afterwards. An offset
// above the high watermark, or negative other than -1, is
// OFFSET_OUT_OF_RANGE; a partition this broker does not lead is
// NOT_LEADER_OR_FOLLOWER; one without cleanup.policy=delete is
// POLICY_VIOLATION. With one replica per partition the deletion is
// complete when SetStartOffset returns, so TimeoutMs is not waited on.
func (h *Handler) DeleteRecords(ctx context.Context, req *protocol.DeleteRecordsRequest, version int16) *protocol.DeleteRecordsResponse {
	resp := &protocol.DeleteRecordsResponse{Topics: make([]protocol.DeleteRecordsResponseDeleteRecordsTopicResult, 0, len(req.Topics))}
	for _, t := range req.Topics {
		tr := protocol.DeleteRecordsResponseDeleteRecordsTopicResult{Name: t.Name,
			Partitions: make([]protocol.DeleteRecordsResponseDeleteRecordsPartitionResult, 0, len(t.Partitions))}
		for _, p := range t.Partitions {
			out := protocol.DeleteRecordsResponseDeleteRecordsPartitionResult{PartitionIndex: p.PartitionIndex, LowWatermark: -1}
			low, code := h.deleteRecords(storage.TopicPartition{Topic: t.Name, Partition: p.PartitionIndex}, p.Offset)
			if code == protocol.ErrNone {
				out.LowWatermark = low
			}
			out.ErrorCode = int16(code)
			tr.Partitions = append(tr.Partitions, out)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

// deleteRecords deletes one partition's records below offset and
// returns its new log start offset.
func (h *Handler) deleteRecords(tp storage.TopicPartition, offset int64) (int64, protocol.ErrorCode) {
	part, err := h.replicas.Leading(tp)
	if err != nil {
		return -1, partitionErrorCode(err)
	}
	l := part.Log
	if !l.Config().Delete {
		return -1, protocol.ErrPolicyViolation
	}
	hw := part.HighWatermark()
	if offset == deleteToHighWatermark {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return -1, protocol.ErrOffsetOutOfRange
	}
	if err := l.SetStartOffset(offset); err != nil {
		if errors.Is(err, storage.ErrOffsetOutOfRange) {
			return -1, protocol.ErrOffsetOutOfRange
		}
		h.logger.Warn("deleting records failed", "topic", tp.Topic, "partition", tp.Partition, "offset", offset, "err", err)
		return -1, appendErrorCode(err, 12)
	}
	return l.StartOffset(), protocol.ErrNone
}
