package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// OffsetForLeaderEpoch answers, per partition, the largest leader epoch
// at or below the requested one and the offset where it ended (KIP-101,
// KIP-320): below the earliest epoch known, the requested epoch and the
// earliest epoch's start; -1/-1 above the latest; fenced by the current
// leader epoch when the request names one. The end offset is the log's,
// for consumers too, as Kafka answers: a new leader's high watermark may
// lag the one a consumer read up to from the old leader, and an end
// offset bounded by it would make the consumer see a truncation that did
// not happen and read those records again.
func (h *Handler) OffsetForLeaderEpoch(ctx context.Context, req *protocol.OffsetForLeaderEpochRequest, version int16) *protocol.OffsetForLeaderEpochResponse {
	resp := &protocol.OffsetForLeaderEpochResponse{}
	for _, t := range req.Topics {
		tr := protocol.OffsetForLeaderEpochResponseOffsetForLeaderTopicResult{Topic: t.Topic}
		for _, p := range t.Partitions {
			out := protocol.OffsetForLeaderEpochResponseEpochEndOffset{Partition: p.Partition, LeaderEpoch: -1, EndOffset: -1}
			part, code := h.leaderAt(storage.TopicPartition{Topic: t.Topic, Partition: p.Partition}, p.CurrentLeaderEpoch)
			switch {
			case code != protocol.ErrNone:
				out.ErrorCode = int16(code)
			default:
				epoch, end := part.Log.Epochs().EndOffsetFor(p.LeaderEpoch, part.Log.EndOffset())
				out.LeaderEpoch, out.EndOffset = epoch, end
			}
			tr.Partitions = append(tr.Partitions, out)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}
