package handler

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestFetchLeadershipChecks: as in Kafka,
//   - a broker holding a replica checks a request's leader epoch before
//     its leadership (UNKNOWN_LEADER_EPOCH for an epoch ahead of it,
//     then NOT_LEADER_OR_FOLLOWER), in Fetch and OffsetForLeaderEpoch;
//   - a partition of a topic the metadata lacks does not end a long
//     poll at once;
//   - a long poll ends as soon as the broker stops leading a partition
//     it waits on, instead of reading the follower's log to the deadline:
//     the request named epoch 0, so the answer is FENCED_LEADER_EPOCH
//     (the epoch is checked first).
func TestFetchLeadershipChecks(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.registerBrokers(t, 2)
	movingID := f.createAssigned(t, assigned{"elsewhere", []int32{2, 1}}, assigned{"moving", []int32{1, 2}})[1]
	fetchReq := func(maxWaitMs int32, parts ...protocol.FetchRequestFetchTopic) *protocol.FetchRequest {
		req := &protocol.FetchRequest{}
		req.Default()
		req.MaxBytes, req.MinBytes, req.MaxWaitMs = 1<<20, 1, maxWaitMs
		req.Topics = parts
		return req
	}
	topic := func(name string, epoch int32) protocol.FetchRequestFetchTopic {
		return protocol.FetchRequestFetchTopic{Topic: name, Partitions: []protocol.FetchRequestFetchPartition{{
			Partition: 0, CurrentLeaderEpoch: epoch, FetchOffset: 0, LogStartOffset: -1, PartitionMaxBytes: 1 << 20}}}
	}

	// The epoch first: broker 1 follows "elsewhere" at epoch 0.
	// A consumer's Fetch v11+ may read a follower (KIP-392); older ones
	// and OffsetForLeaderEpoch need the leader.
	for _, c := range []struct {
		epoch     int32
		want      protocol.ErrorCode
		fetchV11  protocol.ErrorCode
		fetchV10  protocol.ErrorCode
		fetchNote string
	}{
		{5, protocol.ErrUnknownLeaderEpoch, protocol.ErrUnknownLeaderEpoch, protocol.ErrUnknownLeaderEpoch, "an epoch ahead"},
		{0, protocol.ErrNotLeaderOrFollower, protocol.ErrNone, protocol.ErrNotLeaderOrFollower, "the current epoch"},
	} {
		for _, v := range []struct {
			version int16
			want    protocol.ErrorCode
		}{{12, c.fetchV11}, {10, c.fetchV10}} {
			r, wait := f.h.Fetch(ctx, fetchReq(0, topic("elsewhere", c.epoch)), v.version)
			if wait != nil {
				t.Fatal("a fetch with MaxWaitMs 0 waits")
			}
			if code := protocol.ErrorCode(r.Responses[0].Partitions[0].ErrorCode); code != v.want {
				t.Errorf("fetch v%d at %s from a follower: %s, want %s", v.version, c.fetchNote, code.Name(), v.want.Name())
			}
		}
		ofe := f.h.OffsetForLeaderEpoch(ctx, &protocol.OffsetForLeaderEpochRequest{ReplicaID: -1, Topics: []protocol.OffsetForLeaderEpochRequestOffsetForLeaderTopic{{
			Topic: "elsewhere", Partitions: []protocol.OffsetForLeaderEpochRequestOffsetForLeaderPartition{{Partition: 0, CurrentLeaderEpoch: c.epoch, LeaderEpoch: 0}}}}}, 4)
		if code := protocol.ErrorCode(ofe.Topics[0].Partitions[0].ErrorCode); code != c.want {
			t.Errorf("OffsetForLeaderEpoch at epoch %d from a follower: %s, want %s", c.epoch, code.Name(), c.want.Name())
		}
	}

	// An unknown topic beside a partition with nothing to read: the
	// request waits.
	r, wait := f.h.Fetch(ctx, fetchReq(5000, topic("moving", 0), topic("nope", -1)), 12)
	if wait == nil {
		t.Fatalf("a fetch naming an unknown topic answered at once: %+v", r)
	}
	type result struct {
		resp *protocol.FetchResponse
		took time.Duration
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		resp := wait(ctx)
		done <- result{resp, time.Since(start)}
	}()
	time.Sleep(100 * time.Millisecond)
	// Broker 2 takes the leadership of "moving".
	off, _, err := f.ctl.Submit(ctx, controller.CommandFunc(func(img *metadata.Image) ([]metadata.Record, any, error) {
		ch := &protocol.PartitionChangeRecord{}
		ch.Default()
		ch.PartitionID, ch.TopicID, ch.Leader = 0, movingID, 2
		return []metadata.Record{metadata.NewRecord(ch)}, nil, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.h.waitImage(ctx, off); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res.took > 2*time.Second {
			t.Fatalf("the long poll ended %v after it began, at its deadline", res.took)
		}
		codes := map[string]protocol.ErrorCode{}
		for _, tr := range res.resp.Responses {
			codes[tr.Topic] = protocol.ErrorCode(tr.Partitions[0].ErrorCode)
		}
		if codes["moving"] != protocol.ErrFencedLeaderEpoch || codes["nope"] != protocol.ErrUnknownTopicOrPartition {
			t.Fatalf("after the leadership moved: %v", codes)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the long poll did not end when the leadership moved")
	}
}

// TestFetchStorageErrorBeforeV6: Fetch v5 and older clients take
// KAFKA_STORAGE_ERROR for a fatal unknown error; Kafka answers them
// NOT_LEADER_OR_FOLLOWER, which they retry.
func TestFetchStorageErrorBeforeV6(t *testing.T) {
	resp := &protocol.FetchResponse{Responses: []protocol.FetchResponseFetchableTopicResponse{{Partitions: []protocol.FetchResponsePartitionData{
		{ErrorCode: int16(protocol.ErrKafkaStorageError)}, {ErrorCode: int16(protocol.ErrOffsetOutOfRange)}}}}}
	storageErrorsAsNotLeader(resp)
	ps := resp.Responses[0].Partitions
	if protocol.ErrorCode(ps[0].ErrorCode) != protocol.ErrNotLeaderOrFollower || protocol.ErrorCode(ps[1].ErrorCode) != protocol.ErrOffsetOutOfRange {
		t.Fatalf("codes %d, %d", ps[0].ErrorCode, ps[1].ErrorCode)
	}
}
