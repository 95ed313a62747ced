package handler

import (
	"context"
	"testing"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestFollowerServesConsumersToItsHighWatermark (KIP-392): broker 1
// appends three records its follower never fetched (high watermark 0),
// then broker 2 takes the leadership. A consumer's Fetch v12 to broker 1,
// now a follower, reads nothing past its high watermark: from 0 and from
// 3 (its log end) it answers empty, past the log end
// OFFSET_OUT_OF_RANGE; it names no preferred replica.
func TestFollowerServesConsumersToItsHighWatermark(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.logAheadOfHighWatermark(t)
	topicID := f.h.image().TopicByName("r").ID()
	off, _, err := f.ctl.Submit(ctx, controller.CommandFunc(func(img *metadata.Image) ([]metadata.Record, any, error) {
		ch := &protocol.PartitionChangeRecord{}
		ch.Default()
		ch.PartitionID, ch.TopicID, ch.Leader = 0, topicID, 2
		return []metadata.Record{metadata.NewRecord(ch)}, nil, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.h.waitImage(ctx, off); err != nil {
		t.Fatal(err)
	}
	fetch := func(offset int64) protocol.FetchResponsePartitionData {
		t.Helper()
		req := &protocol.FetchRequest{}
		req.Default()
		req.MaxBytes, req.RackID = 1<<20, "any"
		req.Topics = []protocol.FetchRequestFetchTopic{{Topic: "r", Partitions: []protocol.FetchRequestFetchPartition{{
			Partition: 0, CurrentLeaderEpoch: -1, FetchOffset: offset, LogStartOffset: -1, PartitionMaxBytes: 1 << 20}}}}
		resp, wait := f.h.Fetch(ctx, req, 12)
		if wait != nil {
			resp = wait(ctx)
		}
		loadFiles(t, resp)
		return resp.Responses[0].Partitions[0]
	}
	for _, offset := range []int64{0, 3} {
		if pd := fetch(offset); pd.ErrorCode != 0 || len(pd.Records) != 0 || pd.HighWatermark != 0 || pd.PreferredReadReplica != -1 {
			t.Fatalf("follower fetch from %d: error %d, %d bytes, high watermark %d, preferred %d", offset, pd.ErrorCode, len(pd.Records), pd.HighWatermark, pd.PreferredReadReplica)
		}
	}
	if pd := fetch(4); protocol.ErrorCode(pd.ErrorCode) != protocol.ErrOffsetOutOfRange {
		t.Fatalf("follower fetch past its log end: %d", pd.ErrorCode)
	}
}
