package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/replica"
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

// ListOffsets replica ids that are not brokers.
const (
	consumerReplicaID  = -1
	debuggingReplicaID = -2 // a tool: answered from the whole log, by any replica
)

// ListOffsets answers, per partition, the earliest offset, the latest
// (the high watermark: what consumers can read), the record with the
// largest timestamp (KIP-734), or the first record at or after a
// timestamp; offset -1 when no record qualifies. Anyone but a consumer
// (a follower finding the leader's end, or a debugging tool, replica id
// -2, which any replica answers) is answered from the whole log: the
// latest offset is the log end, as in Kafka. As in Kafka too, a
// partition named twice is INVALID_REQUEST (v1+), a special timestamp
// the version does not know UNSUPPORTED_VERSION, and OFFSET_NOT_AVAILABLE
// is LEADER_NOT_AVAILABLE before v5. Version 0 has its own answer
// (listOffsetsV0).
func (h *Handler) ListOffsets(ctx context.Context, req *protocol.ListOffsetsRequest, version int16) *protocol.ListOffsetsResponse {
	if version == 0 {
		return h.listOffsetsV0(req)
	}
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
				code = h.listOffset(t.Name, p, req.ReplicaID, &out)
			}
			if code == protocol.ErrOffsetNotAvailable && version < 5 {
				code = protocol.ErrLeaderNotAvailable // v1-4 clients do not know the code
			}
			out.ErrorCode = int16(code) // an error leaves offset, timestamp and epoch -1
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

// offsetsPartition is the partition a ListOffsets from replicaID is
// answered by: the leader's, or for a debugging tool any local replica,
// at the leader epoch the request names (-1: any).
func (h *Handler) offsetsPartition(tp storage.TopicPartition, replicaID, epoch int32) (*replica.Partition, protocol.ErrorCode) {
	if replicaID == debuggingReplicaID {
		if p, ok := h.replicas.Partition(tp); ok {
			if code := checkLeaderEpoch(p, epoch); code != protocol.ErrNone {
				return nil, code
			}
			return p, protocol.ErrNone
		}
	}
	return h.leaderAt(tp, epoch)
}

func (h *Handler) listOffset(topic string, p protocol.ListOffsetsRequestListOffsetsPartition, replicaID int32, out *protocol.ListOffsetsResponseListOffsetsPartitionResponse) protocol.ErrorCode {
	wholeLog := replicaID != consumerReplicaID // a follower or a tool
	part, code := h.offsetsPartition(storage.TopicPartition{Topic: topic, Partition: p.PartitionIndex}, replicaID, p.CurrentLeaderEpoch)
	if code != protocol.ErrNone {
		return code
	}
	// A new leader whose high watermark has not reached the start of its
	// epoch: a consumer's latest offset, or a record found at or above the
	// high watermark, could still go back; Kafka answers
	// OFFSET_NOT_AVAILABLE for those (the earliest offset is answered).
	pending := !wholeLog && part.EpochStartPending()
	l := part.Log
	_, epoch := part.Leader()
	// What the answer may reach: a consumer reads to the high watermark,
	// a replica copies the whole log.
	limit := part.HighWatermark()
	if wholeLog {
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

// listOffsetsV0 answers ListOffsets v0, which predates record timestamps,
// as Kafka does: up to MaxNumOffsets offsets per partition, largest
// first, from segment starts whose files were last modified at or before
// the timestamp and the log end (-1: from the newest, -2: the oldest
// only; another negative timestamp is UNSUPPORTED_VERSION). A consumer's
// answer stops at the high watermark, which leads it when the log end is
// above. Partitions named twice are each answered.
func (h *Handler) listOffsetsV0(req *protocol.ListOffsetsRequest) *protocol.ListOffsetsResponse {
	resp := &protocol.ListOffsetsResponse{}
	for _, t := range req.Topics {
		tr := protocol.ListOffsetsResponseListOffsetsTopicResponse{Name: t.Name}
		for _, p := range t.Partitions {
			out := protocol.ListOffsetsResponseListOffsetsPartitionResponse{PartitionIndex: p.PartitionIndex, Timestamp: -1, Offset: -1, LeaderEpoch: -1}
			if p.Timestamp < earliestTimestamp {
				out.ErrorCode = int16(protocol.ErrUnsupportedVersion)
			} else if part, code := h.offsetsPartition(storage.TopicPartition{Topic: t.Name, Partition: p.PartitionIndex}, req.ReplicaID, -1); code != protocol.ErrNone {
				out.ErrorCode = int16(code)
			} else {
				out.OldStyleOffsets = part.Log.LegacyOffsetsBefore(p.Timestamp, int(p.MaxNumOffsets))
				if req.ReplicaID == consumerReplicaID {
					out.OldStyleOffsets = belowHighWatermark(out.OldStyleOffsets, part.HighWatermark())
				}
			}
			tr.Partitions = append(tr.Partitions, out)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

// belowHighWatermark bounds descending offsets by hw for a consumer: the
// ones above it give way to hw itself.
func belowHighWatermark(offsets []int64, hw int64) []int64 {
	i := 0
	for i < len(offsets) && offsets[i] > hw {
		i++
	}
	if i == 0 {
		return offsets
	}
	return append([]int64{hw}, offsets[i:]...)
}
