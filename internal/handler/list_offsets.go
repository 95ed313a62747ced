package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// ListOffsets timestamps with special meanings.
const (
	latestTimestamp        = -1
	earliestTimestamp      = -2
	maxTimestamp           = -3
	earliestLocalTimestamp = -4 // v8+ (KIP-405): the log start, without tiered storage
	latestTieredTimestamp  = -5 // v9+: nothing is tiered, so no offset
)

// ListOffsets answers, per partition, the earliest offset, the latest
// (the high watermark: what consumers can read), the record with the
// largest timestamp (KIP-734), or the first record at or after a
// timestamp; offset -1 when no record qualifies. A replica (replica id
// 0 or above: a follower finding the leader's end) is answered from the
// whole log: the latest offset is the log end, as in Kafka.
func (h *Handler) ListOffsets(ctx context.Context, req *protocol.ListOffsetsRequest, version int16) *protocol.ListOffsetsResponse {
	resp := &protocol.ListOffsetsResponse{}
	for _, t := range req.Topics {
		tr := protocol.ListOffsetsResponseListOffsetsTopicResponse{Name: t.Name}
		for _, p := range t.Partitions {
			out := protocol.ListOffsetsResponseListOffsetsPartitionResponse{PartitionIndex: p.PartitionIndex, Timestamp: -1, Offset: -1, LeaderEpoch: -1}
			out.ErrorCode = int16(h.listOffset(t.Name, p, req.ReplicaID >= 0, &out))
			tr.Partitions = append(tr.Partitions, out)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

func (h *Handler) listOffset(topic string, p protocol.ListOffsetsRequestListOffsetsPartition, replica bool, out *protocol.ListOffsetsResponseListOffsetsPartitionResponse) protocol.ErrorCode {
	part, err := h.replicas.Leading(storage.TopicPartition{Topic: topic, Partition: p.PartitionIndex})
	if err != nil {
		return partitionErrorCode(err)
	}
	if code := checkLeaderEpoch(part, p.CurrentLeaderEpoch); code != protocol.ErrNone {
		return code
	}
	// A new leader whose high watermark has not reached the start of its
	// epoch: a consumer's latest offset, or a record found at or above the
	// high watermark, could still go back; Kafka answers
	// OFFSET_NOT_AVAILABLE for those (the earliest offset is answered).
	pending := !replica && part.EpochStartPending()
	l := part.Log
	_, epoch := part.Leader()
	// What the answer may reach: a consumer reads to the high watermark,
	// a replica copies the whole log.
	limit := part.HighWatermark()
	if replica {
		limit = l.EndOffset()
	}
	switch p.Timestamp {
	case latestTimestamp:
		if pending {
			return protocol.ErrOffsetNotAvailable
		}
		out.Offset = limit
	case earliestTimestamp, earliestLocalTimestamp:
		out.Offset = l.StartOffset()
	case latestTieredTimestamp:
		// No tiered storage: Kafka answers -1.
	default:
		// A record by timestamp, or the one with the largest: answered
		// below the limit, refused above it while the epoch start is
		// pending, else none.
		var to storage.TimestampOffset
		var ok bool
		var err error
		switch {
		case p.Timestamp == maxTimestamp:
			to, ok, err = l.MaxTimestamp()
		case p.Timestamp < 0:
			return protocol.ErrInvalidRequest
		default:
			to, ok, err = l.OffsetForTimestamp(p.Timestamp)
		}
		switch {
		case err != nil:
			return appendErrorCode(err, 12)
		case ok && to.Offset < limit:
			out.Offset, out.Timestamp = to.Offset, to.Timestamp
		case ok && pending:
			return protocol.ErrOffsetNotAvailable
		}
	}
	// The epoch of the offset answered: the current leader epoch for the
	// latest offset, else the epoch that wrote the record there.
	out.LeaderEpoch = epoch
	if out.Offset >= 0 && p.Timestamp != latestTimestamp {
		if e, ok := l.Epochs().EpochForOffset(out.Offset); ok {
			out.LeaderEpoch = e
		}
	}
	return protocol.ErrNone
}
