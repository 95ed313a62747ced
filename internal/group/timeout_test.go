package group

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestWriteTimeout: while the in-sync replicas do not take the
// coordinator's writes (an append waits until its context ends), each
// write fails after CommitTimeout with Kafka's code of the API that
// waited for it — OffsetCommit REQUEST_TIMED_OUT, the leader's SyncGroup
// REBALANCE_IN_PROGRESS, DeleteGroups COORDINATOR_NOT_AVAILABLE — and
// leaves the state as any failed write does. The bound counts from the
// append, not from the time a write spent queued. No append is left
// waiting, and once the replicas are back the same writes succeed.
func TestWriteTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 2 * time.Second
		log := newMemLog()
		var waiting atomic.Int32
		stall := func(on bool) {
			log.mu.Lock()
			defer log.mu.Unlock()
			log.beforeAppend = nil
			if on {
				log.beforeAppend = func(ctx context.Context, _ int32) error {
					waiting.Add(1)
					defer waiting.Add(-1)
					<-ctx.Done()
					return fmt.Errorf("wait for the in-sync replicas: %w", ctx.Err())
				}
			}
		}
		c := newTestCoordinator(t, log, Config{CommitTimeout: timeout, InitialRebalanceDelay: -1})
		defer c.Close()
		ctx := t.Context()
		if codes := commitCodes(c.OffsetCommit(ctx, commitReq("idle", "", -1, map[string]int64{"t-0": 1}), 8)); codes[0] != 0 {
			t.Fatalf("commit before the stall: %v", codes)
		}

		stall(true)
		// A request gives up after a minute: without the bound, that is
		// what would answer.
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		start := time.Now()
		first := make(chan protocol.ErrorCode, 1)
		go func() {
			first <- commitCodes(c.OffsetCommit(ctx, commitReq("g", "", -1, map[string]int64{"t-0": 5}), 8))[0]
		}()
		time.Sleep(time.Second)
		// Queued behind the first write for a second, then appended: it
		// has the whole bound from its own append.
		second := commitCodes(c.OffsetCommit(ctx, commitReq("g", "", -1, map[string]int64{"t-1": 6}), 8))[0]
		if code := <-first; code != protocol.ErrRequestTimedOut {
			t.Errorf("first commit: %s, want REQUEST_TIMED_OUT", code.Name())
		}
		if second != protocol.ErrRequestTimedOut {
			t.Errorf("second commit: %s, want REQUEST_TIMED_OUT", second.Name())
		}
		if took := time.Since(start); took != 2*timeout {
			t.Errorf("the queued commit was answered after %v, want %v (the first write's bound, then its own)", took, 2*timeout)
		}
		if got := fetchAll(t, c, "g"); len(got) != 0 {
			t.Errorf("timed-out commits left offsets: %v", got)
		}

		// The leader's assignment times out: the members rejoin.
		j := joinAs(ctx, c, "rebal", "a", "t")
		if code(j.ErrorCode) != "NONE" {
			t.Fatalf("join: %s", code(j.ErrorCode))
		}
		start = time.Now()
		s := c.SyncGroup(ctx, syncReq("rebal", j.MemberID, j.GenerationID, map[string]string{j.MemberID: "t-0"}), 5)
		if got := protocol.ErrorCode(s.ErrorCode); got != protocol.ErrRebalanceInProgress {
			t.Errorf("sync: %s, want REBALANCE_IN_PROGRESS", got.Name())
		}
		if took := time.Since(start); took != timeout {
			t.Errorf("sync answered after %v, want %v", took, timeout)
		}
		if d := c.DescribeGroups(ctx, &protocol.DescribeGroupsRequest{Groups: []string{"rebal"}}, 5); d.Groups[0].GroupState != "PreparingRebalance" {
			t.Errorf("group after the failed assignment: %s", d.Groups[0].GroupState)
		}

		// A deletion times out: the group stays, with its offsets.
		del := c.DeleteGroups(ctx, &protocol.DeleteGroupsRequest{GroupsNames: []string{"idle"}}, 2)
		if got := protocol.ErrorCode(del.Results[0].ErrorCode); got != protocol.ErrCoordinatorNotAvailable {
			t.Errorf("delete: %s, want COORDINATOR_NOT_AVAILABLE", got.Name())
		}
		if got := fetchAll(t, c, "idle"); !slices.Equal(got, []string{"t-0=1"}) {
			t.Errorf("offsets after the failed deletion: %v", got)
		}
		synctest.Wait()
		if n := waiting.Load(); n != 0 {
			t.Errorf("%d appends still wait after their timeouts", n)
		}

		// The replicas are back: the writer was not wedged.
		stall(false)
		if codes := commitCodes(c.OffsetCommit(ctx, commitReq("g", "", -1, map[string]int64{"t-0": 7}), 8)); codes[0] != 0 {
			t.Errorf("commit after the stall: %v", codes)
		}
		if got := fetchAll(t, c, "g"); !slices.Equal(got, []string{"t-0=7"}) {
			t.Errorf("offsets after the stall: %v", got)
		}
		j = joinAs(ctx, c, "rebal", "a", "t")
		s = c.SyncGroup(ctx, syncReq("rebal", j.MemberID, j.GenerationID, map[string]string{j.MemberID: "t-0"}), 5)
		if s.ErrorCode != 0 || string(s.Assignment) != "t-0" {
			t.Errorf("sync after the stall: %s %q", code(s.ErrorCode), s.Assignment)
		}
		del = c.DeleteGroups(ctx, &protocol.DeleteGroupsRequest{GroupsNames: []string{"idle"}}, 2)
		if del.Results[0].ErrorCode != 0 {
			t.Errorf("delete after the stall: %s", code(del.Results[0].ErrorCode))
		}
	})
}
