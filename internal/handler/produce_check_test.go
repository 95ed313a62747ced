package handler

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/record"
)

// TestProduceBatchRules: Kafka's rules for what a Produce may carry, with
// its codes. A batch that can never be accepted gets INVALID_RECORD,
// which clients do not retry; damaged bytes get CORRUPT_MESSAGE, which
// they do.
func TestProduceBatchRules(t *testing.T) {
	f := newFixture(t, false)
	f.createTopic(t, "rules", 1)
	zstd := func() []byte {
		b := record.NewBuilder(record.CodecZstd)
		b.BaseTimestamp = time.Now().UnixMilli()
		b.Append(0, 0, []byte("k"), []byte("compressed"))
		out, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	baseOffset := func() []byte {
		b := batchOf(t, "x")
		binary.BigEndian.PutUint64(b, 5) // outside the CRC
		return b
	}
	countMismatch := func() []byte {
		b := batchOf(t, "x", "y")
		binary.BigEndian.PutUint32(b[57:], 1) // one record claimed, two offsets
		if err := record.UpdateCRC(b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	badCRC := func() []byte {
		b := batchOf(t, "x")
		b[len(b)-1] ^= 0xff
		return b
	}
	for _, tc := range []struct {
		name    string
		version int16
		records []byte
		want    protocol.ErrorCode
	}{
		{"one batch", 9, batchOf(t, "a"), protocol.ErrNone},
		{"two batches", 9, append(batchOf(t, "a"), batchOf(t, "b")...), protocol.ErrInvalidRecord},
		{"zstd at v6", 6, zstd(), protocol.ErrUnsupportedCompressionType},
		{"zstd at v7", 7, zstd(), protocol.ErrNone},
		{"base offset 5", 9, baseOffset(), protocol.ErrInvalidRecord},
		{"count against offsets", 9, countMismatch(), protocol.ErrInvalidRecord},
		{"damaged", 9, badCRC(), protocol.ErrCorruptMessage},
	} {
		r := f.h.Produce(t.Context(), &protocol.ProduceRequest{Acks: 1, TimeoutMs: 5000, TopicData: []protocol.ProduceRequestTopicProduceData{{Name: "rules",
			PartitionData: []protocol.ProduceRequestPartitionProduceData{{Index: 0, Records: tc.records}}}}}, tc.version)
		if got := protocol.ErrorCode(produceResponse(r).ErrorCode); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got.Name(), tc.want.Name())
		}
	}
}
