package handler

import (
	"context"
	"testing"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// BenchmarkFetchSessionCycle is a consumer's steady state: one record
// batch produced to one of 16 partitions, then an incremental session
// fetch (v12) naming that partition's new offset, answered at once with
// the batch. It reports what a cycle allocates, the produce included.
func BenchmarkFetchSessionCycle(b *testing.B) {
	f := newFixture(b, false)
	f.h.sessions = NewFetchSessions(10, nil) // the fixture keeps none
	const parts = 16
	f.createTopic(b, "bench", parts)
	ctx := context.Background()
	batch := batchOf(b, "value")
	send := make([]byte, len(batch))
	release := func(resp *protocol.FetchResponse) int {
		n := 0
		for i := range resp.Responses {
			for j := range resp.Responses[i].Partitions {
				if fr := resp.Responses[i].Partitions[j].RecordsFile; fr != nil {
					n += int(fr.Len)
					fr.Done()
				}
			}
		}
		return n
	}
	full := &protocol.FetchRequest{}
	full.Default()
	full.ReplicaID, full.MaxBytes, full.MinBytes, full.MaxWaitMs, full.SessionEpoch = -1, 1<<20, 1, 0, 0
	topic := protocol.FetchRequestFetchTopic{Topic: "bench"}
	for p := range int32(parts) {
		topic.Partitions = append(topic.Partitions, protocol.FetchRequestFetchPartition{Partition: p,
			CurrentLeaderEpoch: -1, LastFetchedEpoch: -1, LogStartOffset: -1, PartitionMaxBytes: 1 << 20})
	}
	full.Topics = []protocol.FetchRequestFetchTopic{topic}
	resp, wait := f.h.Fetch(ctx, full, 12)
	if wait != nil || resp.SessionID == 0 {
		b.Fatalf("full fetch: waits %v, session %d", wait != nil, resp.SessionID)
	}
	release(resp)
	req := &protocol.FetchRequest{}
	req.Default()
	req.ReplicaID, req.MaxBytes, req.MinBytes, req.MaxWaitMs = -1, 1<<20, 1, 500
	req.SessionID = resp.SessionID
	req.Topics = []protocol.FetchRequestFetchTopic{{Topic: "bench", Partitions: make([]protocol.FetchRequestFetchPartition, 2)}}
	var offsets [parts]int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := int32(i % parts)
		copy(send, batch) // the broker writes the offsets into what it is sent
		if pr := produceResponse(f.produce(b, 1, "bench", p, send)); pr.ErrorCode != 0 {
			b.Fatalf("produce %d: %+v", i, pr)
		}
		req.SessionEpoch = nextFetchEpoch(req.SessionEpoch)
		if i == 0 {
			req.SessionEpoch = 1
		}
		// As a client does: the partition read last, at its new offset,
		// and the one produced to (the same one every 16th cycle).
		prev := (p + parts - 1) % parts
		for j, q := range []int32{prev, p} {
			req.Topics[0].Partitions[j] = protocol.FetchRequestFetchPartition{Partition: q, FetchOffset: offsets[q],
				CurrentLeaderEpoch: -1, LastFetchedEpoch: -1, LogStartOffset: -1, PartitionMaxBytes: 1 << 20}
		}
		resp, wait := f.h.Fetch(ctx, req, 12)
		if wait != nil {
			resp = wait(ctx)
		}
		if resp.ErrorCode != 0 || release(resp) != len(batch) {
			b.Fatalf("fetch %d: %+v", i, resp)
		}
		offsets[p]++
	}
}

// TestFetchSessionEpochLostDuringWait: an incremental fetch that waits
// while another request of its session takes the next epoch is answered
// INVALID_FETCH_SESSION_EPOCH when its wait ends, with no partitions,
// and what it read is let go; the session then serves its next epoch
// with the record (the fetch's reused scratch carries nothing over).
func TestFetchSessionEpochLostDuringWait(t *testing.T) {
	f := newFixture(t, false)
	f.h.sessions = NewFetchSessions(10, nil) // the fixture keeps none
	f.createTopic(t, "w", 1)
	ctx := context.Background()
	req := func(id, epoch, maxWait int32) *protocol.FetchRequest {
		var parts []fsPart // an incremental request names nothing new
		if epoch == 0 {
			parts = []fsPart{{"w", 0, 0}}
		}
		r := fsReq(id, epoch, parts)
		r.ReplicaID, r.MaxBytes, r.MinBytes, r.MaxWaitMs = -1, 1<<20, 1, maxWait
		return r
	}
	full, wait := f.h.Fetch(ctx, req(0, 0, 0), 12)
	if wait != nil || full.SessionID == 0 {
		t.Fatalf("full fetch: waits %v, session %d", wait != nil, full.SessionID)
	}
	id := full.SessionID
	_, waitA := f.h.Fetch(ctx, req(id, 1, 10000), 12)
	if waitA == nil {
		t.Fatal("epoch 1 did not wait on the empty partition")
	}
	if b, wait := f.h.Fetch(ctx, req(id, 2, 0), 12); wait != nil || b.ErrorCode != 0 {
		t.Fatalf("epoch 2: waits %v, error %d", wait != nil, b.ErrorCode)
	}
	if pr := produceResponse(f.produce(t, 1, "w", 0, batchOf(t, "v"))); pr.ErrorCode != 0 {
		t.Fatalf("produce: %+v", pr)
	}
	a := waitA(ctx)
	if protocol.ErrorCode(a.ErrorCode) != protocol.ErrInvalidFetchSessionEpoch || len(a.Responses) != 0 {
		t.Fatalf("epoch 1 after its wait: error %d, %d topics; want INVALID_FETCH_SESSION_EPOCH and none", a.ErrorCode, len(a.Responses))
	}
	c, wait := f.h.Fetch(ctx, req(id, 3, 0), 12)
	if wait != nil || c.ErrorCode != 0 || len(c.Responses) != 1 || len(c.Responses[0].Partitions) != 1 {
		t.Fatalf("epoch 3: waits %v, %+v", wait != nil, c)
	}
	loadFiles(t, c)
	if pd := c.Responses[0].Partitions[0]; pd.HighWatermark != 1 || len(pd.Records) == 0 {
		t.Fatalf("epoch 3: high watermark %d, %d bytes; want 1 and the record", pd.HighWatermark, len(pd.Records))
	}
}
