package handler

import (
	"context"
	"testing"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/storage"
)

// TestInitProducerId hands out distinct ids at epoch 0, across blocks and
// across a new handler (a restarted broker gets a new block), and refuses
// transactional ids.
func TestInitProducerId(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	seen := map[int64]bool{}
	get := func(h *Handler) int64 {
		t.Helper()
		resp := h.InitProducerId(ctx, &protocol.InitProducerIdRequest{TransactionTimeoutMs: 60000, ProducerID: 77, ProducerEpoch: 3}, 4)
		if resp.ErrorCode != 0 || resp.ProducerEpoch != 0 || resp.ProducerID < 0 {
			t.Fatalf("InitProducerId: %+v", resp)
		}
		if seen[resp.ProducerID] {
			t.Fatalf("producer id %d handed out twice", resp.ProducerID)
		}
		seen[resp.ProducerID] = true
		return resp.ProducerID
	}
	for range 1500 { // more than one block of 1000
		get(f.h)
	}
	other := New(f.h.cfg, f.reps, f.ctl, f.h.waitImage, nil)
	if id := get(other); id < 2000 {
		t.Fatalf("a second handler got id %d from an old block", id)
	}
	txn := "txn"
	if resp := f.h.InitProducerId(ctx, &protocol.InitProducerIdRequest{TransactionalID: &txn, TransactionTimeoutMs: 1000}, 4); protocol.ErrorCode(resp.ErrorCode) != protocol.ErrTransactionalIDAuthorizationFailed {
		t.Fatalf("transactional id: %+v", resp)
	}
	empty := ""
	for _, req := range []*protocol.InitProducerIdRequest{
		{TransactionalID: &empty, TransactionTimeoutMs: 1000, ProducerID: -1, ProducerEpoch: -1},
		{ProducerID: 5, ProducerEpoch: -1},
		{ProducerID: -1, ProducerEpoch: 2},
	} {
		if resp := f.h.InitProducerId(ctx, req, 4); protocol.ErrorCode(resp.ErrorCode) != protocol.ErrInvalidRequest {
			t.Fatalf("%+v: %+v, want INVALID_REQUEST", req, resp)
		}
	}
}

// TestIdempotentProduceErrors: a duplicate is answered with the original
// offset and no error; a gap and a stale epoch get Kafka's codes and the
// log start offset.
func TestIdempotentProduceErrors(t *testing.T) {
	f := newFixture(t, false)
	f.createTopic(t, "idem", 1)
	b := func(epoch int16, seq int32, n int) []byte {
		t.Helper()
		bl := record.NewBuilder(record.CodecNone)
		bl.ProducerID, bl.ProducerEpoch, bl.BaseSequence = 5, epoch, seq
		for i := range n {
			bl.Append(int32(i), 0, nil, []byte("v"))
		}
		out, err := bl.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for i, c := range []struct {
		records []byte
		code    protocol.ErrorCode
		offset  int64
	}{
		{b(0, 0, 2), protocol.ErrNone, 0},
		{b(0, 2, 3), protocol.ErrNone, 2},
		{b(0, 0, 2), protocol.ErrNone, 0}, // retry: the original offset
		{b(0, 2, 3), protocol.ErrNone, 2},
		{b(0, 9, 1), protocol.ErrOutOfOrderSequenceNumber, -1},
		{b(1, 0, 1), protocol.ErrNone, 5},
		{b(0, 5, 1), protocol.ErrInvalidProducerEpoch, -1},
	} {
		pr := produceResponse(f.produce(t, -1, "idem", 0, c.records))
		if protocol.ErrorCode(pr.ErrorCode) != c.code || pr.BaseOffset != c.offset {
			t.Fatalf("produce %d: code %d offset %d, want %d at %d", i, pr.ErrorCode, pr.BaseOffset, c.code, c.offset)
		}
		// Refused or not, the answer names the log start offset, as
		// Kafka's does for a sequence or epoch refusal.
		if pr.LogStartOffset != 0 {
			t.Fatalf("produce %d: log start offset %d, want 0", i, pr.LogStartOffset)
		}
	}
	if p, _ := f.reps.Partition(f.tp("idem", 0)); p.Log.EndOffset() != 6 || p.Log.DuplicateBatches() != 2 {
		t.Fatalf("log end %d, duplicates %d; want 6 and 2", p.Log.EndOffset(), p.Log.DuplicateBatches())
	}
	// DescribeProducers lists producer 5 at epoch 1, its last sequence 0;
	// an unknown partition and topic are UNKNOWN_TOPIC_OR_PARTITION.
	dp := f.h.DescribeProducers(context.Background(), &protocol.DescribeProducersRequest{Topics: []protocol.DescribeProducersRequestTopicRequest{
		{Name: "idem", PartitionIndexes: []int32{0, 3}}, {Name: "nope", PartitionIndexes: []int32{0}}}}, 0)
	p0 := dp.Topics[0].Partitions[0]
	if p0.ErrorCode != 0 || len(p0.ActiveProducers) != 1 {
		t.Fatalf("describe producers: %+v", p0)
	}
	if ap := p0.ActiveProducers[0]; ap.ProducerID != 5 || ap.ProducerEpoch != 1 || ap.LastSequence != 0 || ap.LastTimestamp < 0 ||
		ap.CoordinatorEpoch != -1 || ap.CurrentTxnStartOffset != -1 {
		t.Fatalf("producer %+v", ap)
	}
	if c1, c2 := protocol.ErrorCode(dp.Topics[0].Partitions[1].ErrorCode), protocol.ErrorCode(dp.Topics[1].Partitions[0].ErrorCode); c1 != protocol.ErrUnknownTopicOrPartition || c2 != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("unknown partition %s, unknown topic %s", c1.Name(), c2.Name())
	}
}

func (f *fixture) tp(topic string, partition int32) storage.TopicPartition {
	return storage.TopicPartition{Topic: topic, Partition: partition}
}
