package group

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// limitLog is a Log that, like storage.Log.validate, refuses a batch larger
// than max.message.bytes, and can hold its first append.
type limitLog struct {
	*memLog
	limit int
	gate  chan struct{}
	once  sync.Once
	sizes []int
	mu    sync.Mutex
}

func (l *limitLog) Append(ctx context.Context, p int32, batch []byte) (int64, error) {
	l.once.Do(func() { <-l.gate })
	l.mu.Lock()
	l.sizes = append(l.sizes, len(batch))
	l.mu.Unlock()
	if len(batch) > l.limit {
		return 0, protocol.ErrMessageTooLarge
	}
	return l.memLog.Append(ctx, p, batch)
}

// TestCoalescedBatchOverMaxMessageBytes: each commit alone fits in
// max.message.bytes (64 KiB here), but the writer merges up to 512 KiB of
// queued writes into one batch, which the log refuses; the writes are
// then appended one by one, and every commit succeeds.
func TestCoalescedBatchOverMaxMessageBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &limitLog{memLog: newMemLog(), limit: 64 << 10, gate: make(chan struct{})}
		c := New(Config{Partitions: 1}, log)
		defer c.Close()
		if err := c.Load(t.Context(), 0); err != nil {
			t.Fatal(err)
		}
		md := strings.Repeat("m", 4000)
		commit := func(g string) protocol.ErrorCode {
			req := &protocol.OffsetCommitRequest{GroupID: g, GenerationIDOrMemberEpoch: -1}
			req.Topics = []protocol.OffsetCommitRequestOffsetCommitRequestTopic{{Name: "t",
				Partitions: []protocol.OffsetCommitRequestOffsetCommitRequestPartition{{PartitionIndex: 0, CommittedOffset: 1, CommittedMetadata: &md}}}}
			resp := c.OffsetCommit(t.Context(), req, 8)
			return protocol.ErrorCode(resp.Topics[0].Partitions[0].ErrorCode)
		}
		res := make(chan string, 40)
		go func() { res <- "first " + commit("g-first").Name() }() // held in Append
		synctest.Wait()
		for i := range 30 {
			go func() { g := fmt.Sprintf("g-%d", i); res <- g + " " + commit(g).Name() }()
		}
		synctest.Wait()
		close(log.gate)
		fails := 0
		for range 31 {
			r := <-res
			if !strings.HasSuffix(r, " NONE") {
				fails++
				t.Log(r)
			}
		}
		if fails > 0 {
			t.Logf("batch sizes: %v", log.sizes)
			t.Errorf("%d commits of ~4 KiB each failed although each fits in max.message.bytes=%d", fails, log.limit)
		}
	})
}
