package handler

import (
	"context"
	"errors"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/replica"
	"github.com/sluice-mq/sluice/internal/storage"
)

// deleteToHighWatermark is DeleteRecords' offset meaning "up to the high
// watermark".
const deleteToHighWatermark = -1

// DeleteRecords moves partitions' log start offsets forward (v0-2):
// records below each partition's Offset (-1: the high watermark) become
// unreadable and the segments wholly below it are deleted. An offset
// above the high watermark, or negative other than -1, is
// OFFSET_OUT_OF_RANGE; a partition this broker does not lead is
// NOT_LEADER_OR_FOLLOWER; one without cleanup.policy=delete is
// POLICY_VIOLATION; an internal topic INVALID_TOPIC_EXCEPTION. The answer
// waits, up to TimeoutMs, until the log of every replica on a live
// (registered, unfenced) broker starts at the offset, as Kafka's does:
// the followers take the leader's log start from their fetches, and a
// failover, clean or unclean, cannot bring the records back. The
// LowWatermark answered is the smallest log start over them, and a
// partition still short of it at the timeout is REQUEST_TIMED_OUT. A
// follower behind the offset jumps to the leader's log start at its next
// fetch, so a live follower holds the answer to the timeout only when it
// does not fetch (cut off from the leader, not yet fenced).
func (h *Handler) DeleteRecords(ctx context.Context, req *protocol.DeleteRecordsRequest, version int16) *protocol.DeleteRecordsResponse {
	resp := &protocol.DeleteRecordsResponse{Topics: make([]protocol.DeleteRecordsResponseDeleteRecordsTopicResult, 0, len(req.Topics))}
	type deleted struct {
		out    *protocol.DeleteRecordsResponseDeleteRecordsPartitionResult
		part   *replica.Partition
		offset int64
	}
	var waits []deleted
	for _, t := range req.Topics {
		tr := protocol.DeleteRecordsResponseDeleteRecordsTopicResult{Name: t.Name,
			Partitions: make([]protocol.DeleteRecordsResponseDeleteRecordsPartitionResult, len(t.Partitions))}
		for i, p := range t.Partitions {
			out := &tr.Partitions[i]
			*out = protocol.DeleteRecordsResponseDeleteRecordsPartitionResult{PartitionIndex: p.PartitionIndex, LowWatermark: -1}
			part, offset, code := h.deleteRecords(storage.TopicPartition{Topic: t.Name, Partition: p.PartitionIndex}, p.Offset)
			out.ErrorCode = int16(code)
			if code == protocol.ErrNone {
				waits = append(waits, deleted{out, part, offset})
			}
		}
		resp.Topics = append(resp.Topics, tr)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Duration(max(req.TimeoutMs, 0))*time.Millisecond)
	defer cancel()
	for _, w := range waits {
		low, err := w.part.WaitLowWatermark(wctx, w.offset, h.replicas.BrokerAlive)
		switch {
		case err == nil:
			w.out.LowWatermark = low
		case errors.Is(err, replica.ErrNotLeader):
			w.out.ErrorCode = int16(protocol.ErrNotLeaderOrFollower)
		default:
			w.out.LowWatermark, w.out.ErrorCode = low, int16(protocol.ErrRequestTimedOut)
		}
	}
	return resp
}

// deleteRecords deletes the leader's records of one partition below
// offset and returns the partition and the offset (the high watermark
// for -1) its replicas must reach.
func (h *Handler) deleteRecords(tp storage.TopicPartition, offset int64) (*replica.Partition, int64, protocol.ErrorCode) {
	if internalTopic(tp.Topic) {
		// As Kafka: whatever its policy, an internal topic's records
		// (committed offsets) are not for clients to delete.
		return nil, -1, protocol.ErrInvalidTopicException
	}
	part, err := h.replicas.Leading(tp)
	if err != nil {
		return nil, -1, partitionErrorCode(err)
	}
	l := part.Log
	if !l.Config().Delete {
		return nil, -1, protocol.ErrPolicyViolation
	}
	hw := part.HighWatermark()
	if offset == deleteToHighWatermark {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return nil, -1, protocol.ErrOffsetOutOfRange
	}
	if err := l.SetStartOffset(offset); err != nil {
		if errors.Is(err, storage.ErrOffsetOutOfRange) {
			return nil, -1, protocol.ErrOffsetOutOfRange
		}
		h.logger.Warn("deleting records failed", "topic", tp.Topic, "partition", tp.Partition, "offset", offset, "err", err)
		return nil, -1, appendErrorCode(err, 12)
	}
	return part, offset, protocol.ErrNone
}
