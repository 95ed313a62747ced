package handler

import (
	"context"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/replica"
	"github.com/sluice-mq/sluice/internal/storage"
)

// replicaID returns the broker id of a follower's Fetch, or -1 for a
// consumer's.
func replicaID(req *protocol.FetchRequest, version int16) (int32, int64) {
	if version >= 15 {
		return req.ReplicaState.ReplicaID, req.ReplicaState.ReplicaEpoch
	}
	return req.ReplicaID, -1
}

// replicaFetch answers a follower's Fetch: for each partition it leads,
// it checks the follower's log against its own (DivergingEpoch when the
// follower's last fetched epoch ends earlier here), records the
// follower's fetch offset (which may move the high watermark and let
// the follower join the ISR), and returns batches from the fetch offset
// up to the log end (not the high watermark: followers copy what is not
// committed yet). Fetch sessions are not kept for followers: every fetch
// is a full one.
func (h *Handler) replicaFetch(ctx context.Context, req *protocol.FetchRequest, version int16, id int32, brokerEpoch int64) (*protocol.FetchResponse, func(context.Context) *protocol.FetchResponse) {
	img := h.image()
	resp := &protocol.FetchResponse{}
	if req.SessionID != 0 || req.SessionEpoch > 0 {
		resp.ErrorCode = int16(protocol.ErrFetchSessionIDNotFound)
		return resp, nil
	}
	if b, ok := img.Broker(id); !ok || (brokerEpoch >= 0 && b.Epoch != brokerEpoch) {
		resp.ErrorCode = int16(protocol.ErrStaleBrokerEpoch)
		return resp, nil
	}
	now := time.Now()
	var parts []fetchPart
	failed := false
	for _, t := range req.Topics {
		name := t.Topic
		if version >= 13 {
			name = ""
			if ti := img.TopicByID(t.TopicID); ti != nil {
				name = ti.Name()
			}
		}
		tr := protocol.FetchResponseFetchableTopicResponse{Topic: t.Topic, TopicID: t.TopicID}
		tr.Partitions = make([]protocol.FetchResponsePartitionData, len(t.Partitions))
		for i, p := range t.Partitions {
			out := &tr.Partitions[i]
			out.Default()
			out.PartitionIndex = p.Partition
			out.HighWatermark, out.LastStableOffset, out.LogStartOffset = -1, -1, -1
			out.Records = []byte{}
			if code := h.replicaFetchPartition(name, t.TopicID, id, brokerEpoch, p, out, now, &parts); code != protocol.ErrNone {
				out.ErrorCode = int16(code)
				failed = true
			}
		}
		resp.Responses = append(resp.Responses, tr)
	}
	maxBytes := req.MaxBytes
	quota := h.replicas.LeaderQuota()
	// As Kafka: never wait for more than the response may carry.
	minBytes := min(int64(req.MinBytes), int64(maxBytes))
	got, readErr := readParts(parts, maxBytes, quota)
	if got >= minBytes || failed || readErr || req.MaxWaitMs <= 0 || len(parts) == 0 {
		recordThrottled(parts, quota)
		return resp, nil
	}
	releaseParts(parts)
	wait := time.Duration(req.MaxWaitMs) * time.Millisecond
	return nil, func(ctx context.Context) *protocol.FetchResponse {
		defer func() {
			if p := recover(); p != nil {
				releaseParts(parts)
				panic(p)
			}
		}()
		deadline := time.Now().Add(wait)
		for waitForMore(ctx, h.stopping, parts, deadline, nil, nil) {
			if got, readErr := readParts(parts, maxBytes, quota); got >= minBytes || readErr {
				recordThrottled(parts, quota)
				return resp
			}
		}
		if ctx.Err() == nil {
			readParts(parts, maxBytes, quota)
		}
		recordThrottled(parts, quota)
		return resp
	}
}

// replicaFetchPartition checks and records one partition of a follower's
// fetch; a partition to read is added to parts.
func (h *Handler) replicaFetchPartition(topic string, topicID protocol.UUID, id int32, brokerEpoch int64, p protocol.FetchRequestFetchPartition,
	out *protocol.FetchResponsePartitionData, now time.Time, parts *[]fetchPart) protocol.ErrorCode {
	if topic == "" {
		return protocol.ErrUnknownTopicID
	}
	part, code := h.readableAt(storage.TopicPartition{Topic: topic, Partition: p.Partition}, topicID, p.CurrentLeaderEpoch, false)
	if code != protocol.ErrNone {
		return code
	}
	l := part.Log
	out.LogStartOffset = l.StartOffset()
	if p.LastFetchedEpoch >= 0 {
		epochs := func(e int32) (int32, int64) { return l.Epochs().EndOffsetFor(e, l.EndOffset()) }
		e, end, diverges, undefined := replica.DivergingEpoch(epochs, p.LastFetchedEpoch, p.FetchOffset)
		if undefined {
			// Nothing says where the follower's last epoch ends here.
			out.HighWatermark = part.HighWatermark()
			return protocol.ErrOffsetOutOfRange
		}
		if p.FetchOffset < l.StartOffset() {
			// As Kafka: below the log start is out of range before any
			// divergence is looked at; the follower then starts over from
			// the leader's log start instead of truncating first.
			out.HighWatermark = part.HighWatermark()
			return protocol.ErrOffsetOutOfRange
		}
		if diverges {
			// The follower truncates first; its fetch offset counts only
			// once it fetches from where the logs agree.
			out.DivergingEpoch.Epoch, out.DivergingEpoch.EndOffset = e, end
			out.HighWatermark = part.HighWatermark()
			out.LastStableOffset = out.HighWatermark
			return protocol.ErrNone
		}
	}
	if p.FetchOffset > l.EndOffset() || p.FetchOffset < l.StartOffset() {
		out.HighWatermark = part.HighWatermark()
		return protocol.ErrOffsetOutOfRange
	}
	hw, canJoin, err := part.FollowerFetch(id, p.FetchOffset, p.LogStartOffset, now)
	if err != nil {
		return protocol.ErrNotLeaderOrFollower // no longer the leader, or id is no replica
	}
	if canJoin {
		h.replicas.Expand(part, id, brokerEpoch)
	}
	out.HighWatermark, out.LastStableOffset = hw, hw
	*parts = append(*parts, fetchPart{out: out, part: part, offset: p.FetchOffset, max: p.PartitionMaxBytes,
		follower: true, throttled: h.replicas.LeaderThrottled(part, id)})
	return protocol.ErrNone
}

// recordThrottled counts the bytes a response sends to throttled replicas.
func recordThrottled(parts []fetchPart, quota *replica.Quota) {
	for _, rp := range parts {
		if rp.throttled && rp.out.RecordsFile != nil {
			quota.Record(int64(rp.out.RecordsFile.Len))
		}
	}
}

// releaseParts releases the file records of the partitions read.
func releaseParts(parts []fetchPart) {
	for i := range parts {
		releaseFile(parts[i].out)
	}
}
