package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// DescribeProducers lists, per partition, the idempotent producers the
// broker's replica of it remembers (v0; Kafka's kafka-transactions.sh
// describe-producers and the admin client's describeProducers): id,
// epoch, last sequence and the last batch's timestamp. Transactions are
// not served, so the coordinator epoch and transaction start are -1. As
// in Kafka, any replica answers from its own log; an unknown topic or
// partition is UNKNOWN_TOPIC_OR_PARTITION, one with no replica here
// NOT_LEADER_OR_FOLLOWER.
func (h *Handler) DescribeProducers(ctx context.Context, req *protocol.DescribeProducersRequest, version int16) *protocol.DescribeProducersResponse {
	img := h.image()
	resp := &protocol.DescribeProducersResponse{}
	for _, t := range req.Topics {
		tr := protocol.DescribeProducersResponseTopicResponse{Name: t.Name}
		tm := img.TopicByName(t.Name)
		for _, idx := range t.PartitionIndexes {
			pr := protocol.DescribeProducersResponsePartitionResponse{PartitionIndex: idx, ActiveProducers: []protocol.DescribeProducersResponseProducerState{}}
			part, local := h.replicas.Partition(storage.TopicPartition{Topic: t.Name, Partition: idx})
			known := false
			if tm != nil {
				_, known = tm.Partition(idx)
			}
			switch {
			case !known:
				pr.ErrorCode = int16(protocol.ErrUnknownTopicOrPartition)
			case !local:
				pr.ErrorCode = int16(protocol.ErrNotLeaderOrFollower)
			default:
				for _, ap := range part.Log.ActiveProducers() {
					ps := protocol.DescribeProducersResponseProducerState{}
					ps.Default()
					ps.ProducerID, ps.ProducerEpoch = ap.ID, int32(ap.Epoch)
					ps.LastSequence, ps.LastTimestamp, ps.CoordinatorEpoch = ap.LastSequence, ap.LastTimestamp, -1
					pr.ActiveProducers = append(pr.ActiveProducers, ps)
				}
			}
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}
