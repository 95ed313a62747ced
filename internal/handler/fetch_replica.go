package handler

import (
	"context"
	"errors"
	"reflect"
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

// replicaPart is one partition of a follower's Fetch being answered.
type replicaPart struct {
	out    *protocol.FetchResponsePartitionData
	part   *replica.Partition
	offset int64
	max    int32
	// seenEnd is the leader's log end at the last read: a long poll wakes
	// only when it moves.
	seenEnd int64
	// throttled: the bytes sent count against the leader's replication
	// throttle, and none are sent while it is over its rate.
	throttled bool
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
	var parts []replicaPart
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
			if code := h.replicaFetchPartition(name, id, brokerEpoch, p, out, now, &parts); code != protocol.ErrNone {
				out.ErrorCode = int16(code)
				failed = true
			}
		}
		resp.Responses = append(resp.Responses, tr)
	}
	maxBytes := req.MaxBytes
	quota := h.replicas.LeaderQuota()
	got, readErr := readReplicaParts(parts, maxBytes, quota)
	if got >= int64(req.MinBytes) || failed || readErr || req.MaxWaitMs <= 0 || len(parts) == 0 {
		recordThrottled(parts, quota)
		return resp, nil
	}
	releaseReplicaParts(parts)
	wait := time.Duration(req.MaxWaitMs) * time.Millisecond
	return nil, func(ctx context.Context) *protocol.FetchResponse {
		defer func() {
			if p := recover(); p != nil {
				releaseReplicaParts(parts)
				panic(p)
			}
		}()
		deadline := time.Now().Add(wait)
		for waitForLogEnds(ctx, h.stopping, parts, deadline) {
			if got, readErr := readReplicaParts(parts, maxBytes, quota); got >= int64(req.MinBytes) || readErr {
				recordThrottled(parts, quota)
				return resp
			}
		}
		if ctx.Err() == nil {
			readReplicaParts(parts, maxBytes, quota)
		}
		recordThrottled(parts, quota)
		return resp
	}
}

// replicaFetchPartition checks and records one partition of a follower's
// fetch; a partition to read is added to parts.
func (h *Handler) replicaFetchPartition(topic string, id int32, brokerEpoch int64, p protocol.FetchRequestFetchPartition,
	out *protocol.FetchResponsePartitionData, now time.Time, parts *[]replicaPart) protocol.ErrorCode {
	if topic == "" {
		return protocol.ErrUnknownTopicID
	}
	part, err := h.replicas.Leading(storage.TopicPartition{Topic: topic, Partition: p.Partition})
	if err != nil {
		return partitionErrorCode(err)
	}
	if code := checkLeaderEpoch(part, p.CurrentLeaderEpoch); code != protocol.ErrNone {
		return code
	}
	l := part.Log
	out.LogStartOffset = l.StartOffset()
	if p.LastFetchedEpoch >= 0 {
		epochs := func(e int32) (int32, int64) { return l.Epochs().EndOffsetFor(e, l.EndOffset()) }
		if e, end, diverges := replica.DivergingEpoch(epochs, p.LastFetchedEpoch, p.FetchOffset); diverges {
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
	hw, canJoin, err := part.FollowerFetch(id, p.FetchOffset, now)
	if err != nil {
		if errors.Is(err, replica.ErrNotLeader) {
			return protocol.ErrNotLeaderOrFollower
		}
		return protocol.ErrNotLeaderOrFollower // not a replica of the partition
	}
	if canJoin {
		h.replicas.Expand(part, id, brokerEpoch)
	}
	out.HighWatermark, out.LastStableOffset = hw, hw
	*parts = append(*parts, replicaPart{out: out, part: part, offset: p.FetchOffset, max: p.PartitionMaxBytes,
		throttled: h.replicas.LeaderThrottled(part, id)})
	return protocol.ErrNone
}

// readReplicaParts reads every partition afresh up to its log end and
// returns the bytes gathered and whether any read failed. A throttled
// partition is read only while quota is under its rate, and counts
// against it.
func readReplicaParts(parts []replicaPart, maxBytes int32, quota *replica.Quota) (int64, bool) {
	remaining := int64(maxBytes)
	if remaining <= 0 {
		remaining = 1
	}
	var total int64
	failed := false
	for i := range parts {
		rp := &parts[i]
		l := rp.part.Log
		end := l.EndOffset()
		rp.seenEnd = end
		rp.out.HighWatermark = rp.part.HighWatermark()
		rp.out.LastStableOffset, rp.out.LogStartOffset = rp.out.HighWatermark, l.StartOffset()
		rp.out.ErrorCode, rp.out.Records = 0, []byte{}
		releaseFile(rp.out)
		if rp.throttled && quota.Exceeded() {
			continue
		}
		limit := min(int64(rp.max), remaining)
		res, err := l.Read(rp.offset, int(max(limit, 0)), end, total == 0)
		if err != nil {
			if errors.Is(err, storage.ErrOffsetOutOfRange) {
				rp.out.ErrorCode = int16(protocol.ErrOffsetOutOfRange)
			} else {
				rp.out.ErrorCode = int16(appendErrorCode(err, 12))
			}
			failed = true
			continue
		}
		if res.Len > 0 {
			rp.out.RecordsFile = fileRecords(&res)
		}
		total += res.Len
		remaining -= res.Len
	}
	return total, failed
}

// recordThrottled counts the bytes a response sends to throttled replicas.
func recordThrottled(parts []replicaPart, quota *replica.Quota) {
	for _, rp := range parts {
		if rp.throttled && rp.out.RecordsFile != nil {
			quota.Record(int64(rp.out.RecordsFile.Len))
		}
	}
}

func releaseReplicaParts(parts []replicaPart) {
	for i := range parts {
		releaseFile(parts[i].out)
	}
}

// waitForLogEnds blocks until a partition's log end moves from what the
// last read saw, the deadline passes, ctx ends or the handler stops;
// false means stop.
func waitForLogEnds(ctx context.Context, stopping <-chan struct{}, parts []replicaPart, deadline time.Time) bool {
	if ctx.Err() != nil || !time.Now().Before(deadline) {
		return false
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	cases := make([]reflect.SelectCase, 0, len(parts)+3)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(stopping)})
	for _, rp := range parts {
		ch, done := rp.part.Log.WatchEnd()
		defer done()
		if rp.part.Log.EndOffset() != rp.seenEnd {
			return true
		}
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen >= 3
}
