package handler

import (
	"context"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// bigBatch is a batch of n records of 1 KiB.
func bigBatch(t *testing.T, n int) []byte {
	t.Helper()
	vs := make([]string, n)
	for i := range vs {
		vs[i] = strings.Repeat(string(rune('a'+i%26)), 1024)
	}
	return batchOf(t, vs...)
}

// TestProduceLargeRequestAcrossPartitions appends a request large enough
// to spread over the cores: every partition gets its offsets, a failing
// partition its error in its own slot, and a partition named twice keeps
// its batches in request order.
func TestProduceLargeRequestAcrossPartitions(t *testing.T) {
	f := newFixture(t, false)
	f.createTopic(t, "wide", 4)
	produce := func(parts ...protocol.ProduceRequestPartitionProduceData) []protocol.ProduceResponsePartitionProduceResponse {
		t.Helper()
		r := f.h.Produce(context.Background(), &protocol.ProduceRequest{Acks: -1, TimeoutMs: 5000,
			TopicData: []protocol.ProduceRequestTopicProduceData{{Name: "wide", PartitionData: parts}}}, 9)
		if r.Wait == nil {
			t.Fatalf("no wait for an acks=all request: %+v", r)
		}
		return r.Wait(context.Background()).Responses[0].PartitionResponses
	}
	for round := range 3 {
		prs := produce(
			protocol.ProduceRequestPartitionProduceData{Index: 0, Records: bigBatch(t, 40)},
			protocol.ProduceRequestPartitionProduceData{Index: 1, Records: bigBatch(t, 40)},
			protocol.ProduceRequestPartitionProduceData{Index: 9, Records: bigBatch(t, 40)},
			protocol.ProduceRequestPartitionProduceData{Index: 2, Records: bigBatch(t, 40)},
			protocol.ProduceRequestPartitionProduceData{Index: 3, Records: bigBatch(t, 40)},
		)
		for i, want := range []int32{0, 1, 9, 2, 3} {
			pr := prs[i]
			if pr.Index != want {
				t.Fatalf("round %d: response %d is partition %d, want %d", round, i, pr.Index, want)
			}
			if want == 9 {
				if pr.ErrorCode != int16(protocol.ErrUnknownTopicOrPartition) || pr.BaseOffset != -1 {
					t.Fatalf("round %d: missing partition answered %+v", round, pr)
				}
				continue
			}
			if pr.ErrorCode != 0 || pr.BaseOffset != int64(40*round) {
				t.Fatalf("round %d: partition %d answered %+v, want base offset %d", round, want, pr, 40*round)
			}
		}
	}
	prs := produce(
		protocol.ProduceRequestPartitionProduceData{Index: 0, Records: bigBatch(t, 40)},
		protocol.ProduceRequestPartitionProduceData{Index: 1, Records: bigBatch(t, 10)},
		protocol.ProduceRequestPartitionProduceData{Index: 0, Records: bigBatch(t, 40)},
	)
	if prs[0].ErrorCode != 0 || prs[0].BaseOffset != 120 || prs[2].ErrorCode != 0 || prs[2].BaseOffset != 160 || prs[1].BaseOffset != 120 {
		t.Fatalf("partition named twice: %+v", prs)
	}
}
