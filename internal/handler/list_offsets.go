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
// whole log: the latest offset is the log end, as in Kafka. As in Kafka
// too, a partition named twice is INVALID_REQUEST (v1+), a special
// timestamp the version does not know UNSUPPORTED_VERSION, and
// OFFSET_NOT_AVAILABLE is LEADER_NOT_AVAILABLE before v5.
func (h *Handler) ListOffsets(ctx context.Context, req *protocol.ListOffsetsRequest, version int16) *protocol.ListOffsetsResponse {
	resp := &protocol.ListOffsetsResponse{}
	// As Kafka: from v1 every copy of a partition named twice is refused.
	copies := map[storage.TopicPartition]int{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			copies[storage.TopicPartition{Topic: t.Name, Partition: p.PartitionIndex}]++
		}
	}
	for _, t := range req.Topics {
		tr := protocol.ListOffsetsResponseListOffsetsTopicResponse{Name: t.Name}
		for _, p := range t.Partitions {
			out := protocol.ListOffsetsResponseListOffsetsPartitionResponse{PartitionIndex: p.PartitionIndex, Timestamp: -1, Offset: -1, LeaderEpoch: -1}
			var code protocol.ErrorCode
			switch {
			case version >= 1 && copies[storage.TopicPartition{Topic: t.Name, Partition: p.PartitionIndex}] > 1:
				code = protocol.ErrInvalidRequest
			case !timestampServed(p.Timestamp, version):
				code = protocol.ErrUnsupportedVersion
			default:
				code = h.listOffset(t.Name, p, req.ReplicaID >= 0, &out)
			}
			if code == protocol.ErrOffsetNotAvailable && version < 5 {
				code = protocol.ErrLeaderNotAvailable // v1-4 clients do not know the code
			}
			if code != protocol.ErrNone {
				out.Timestamp, out.Offset, out.LeaderEpoch = -1, -1, -1
			}
			out.ErrorCode = int16(code)
			tr.Partitions = append(tr.Partitions, out)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

// timestampServed reports whether version may ask for timestamp: a
// special (negative) one only from the version that brought it, as Kafka
// checks (UNSUPPORTED_VERSION otherwise).
func timestampServed(ts int64, version int16) bool {
	switch ts {
	case latestTimestamp, earliestTimestamp:
		return true
	case maxTimestamp:
		return version >= 7
	case earliestLocalTimestamp:
		return version >= 8
	case latestTieredTimestamp:
		return version >= 9
	}
	return ts >= 0
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
		out.Offset, out.LeaderEpoch = limit, epoch
		return protocol.ErrNone
	case earliestTimestamp, earliestLocalTimestamp:
		out.Offset = l.StartOffset()
	case latestTieredTimestamp:
		// No tiered storage: Kafka answers offset and epoch -1.
		return protocol.ErrNone
	default:
		// A record by timestamp, or the one with the largest: answered
		// below the limit; while the epoch start is pending, refused
		// otherwise (even when none is found, as Kafka refuses), else
		// none.
		var to storage.TimestampOffset
		var ok bool
		var err error
		if p.Timestamp == maxTimestamp {
			to, ok, err = l.MaxTimestamp()
		} else {
			to, ok, err = l.OffsetForTimestamp(p.Timestamp)
		}
		switch {
		case err != nil:
			return appendErrorCode(err, 12)
		case ok && to.Offset < limit:
			out.Offset, out.Timestamp = to.Offset, to.Timestamp
		case pending:
			return protocol.ErrOffsetNotAvailable
		default:
			return protocol.ErrNone // none: offset and epoch -1, as Kafka answers
		}
	}
	// The epoch that wrote the record at the offset answered.
	out.LeaderEpoch = epoch
	if e, ok := l.Epochs().EpochForOffset(out.Offset); ok {
		out.LeaderEpoch = e
	}
	return protocol.ErrNone
}
