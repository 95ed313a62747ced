package group

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestCoordinatorOffsetFetch: no committed offset is -1 without error, in
// every version; v0-1 carry a coordinator error on each partition, v2-7 at
// the top, v8+ per group; a nil topic list fetches everything.
func TestCoordinatorOffsetFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		c := newTestCoordinator(t, log, Config{})
		defer c.Close()
		ctx := t.Context()
		if codes := commitCodes(c.OffsetCommit(ctx, commitReq("simple", "", -1, map[string]int64{"t-0": 7, "u-2": 9}), 2)); !slices.Equal(codes, []protocol.ErrorCode{0, 0}) {
			t.Fatalf("simple commit: %v", codes)
		}
		topics := []protocol.OffsetFetchRequestOffsetFetchRequestTopic{{Name: "t", PartitionIndexes: []int32{0, 1}}}
		for _, v := range []int16{1, 5, 7} {
			r := c.OffsetFetch(ctx, &protocol.OffsetFetchRequest{GroupID: "simple", Topics: topics, RequireStable: v >= 7}, v)
			ps := r.Topics[0].Partitions
			if r.ErrorCode != 0 || len(ps) != 2 || ps[0].CommittedOffset != 7 || *ps[0].Metadata != "meta" ||
				ps[1].CommittedOffset != -1 || ps[1].ErrorCode != 0 || *ps[1].Metadata != "" || ps[1].CommittedLeaderEpoch != -1 {
				t.Errorf("v%d: %+v", v, r)
			}
		}
		r := c.OffsetFetch(ctx, &protocol.OffsetFetchRequest{GroupID: "nobody", Topics: topics}, 3)
		if r.ErrorCode != 0 || r.Topics[0].Partitions[0].CommittedOffset != -1 {
			t.Errorf("unknown group: %+v", r)
		}
		if got := fetchAll(t, c, "simple"); !slices.Equal(got, []string{"t-0=7", "u-2=9"}) {
			t.Errorf("all = %v", got)
		}
		c.Unload(PartitionFor("simple", testPartitions))
		r = c.OffsetFetch(ctx, &protocol.OffsetFetchRequest{GroupID: "simple", Topics: topics}, 1)
		if p := r.Topics[0].Partitions; len(p) != 2 || protocol.ErrorCode(p[0].ErrorCode) != protocol.ErrNotCoordinator || p[0].CommittedOffset != -1 {
			t.Errorf("v1 not coordinator: %+v", r)
		}
		r = c.OffsetFetch(ctx, &protocol.OffsetFetchRequest{GroupID: "simple", Topics: topics}, 6)
		if protocol.ErrorCode(r.ErrorCode) != protocol.ErrNotCoordinator || len(r.Topics) != 0 {
			t.Errorf("v6 not coordinator: %+v", r)
		}
		r = c.OffsetFetch(ctx, &protocol.OffsetFetchRequest{Groups: []protocol.OffsetFetchRequestOffsetFetchRequestGroup{
			{GroupID: "simple"}, {GroupID: "nobody", Topics: []protocol.OffsetFetchRequestOffsetFetchRequestTopics{{Name: "t", PartitionIndexes: []int32{3}}}},
		}}, 9)
		nobodyOK := PartitionFor("nobody", testPartitions) != PartitionFor("simple", testPartitions)
		if protocol.ErrorCode(r.Groups[0].ErrorCode) != protocol.ErrNotCoordinator ||
			(nobodyOK && (r.Groups[1].ErrorCode != 0 || r.Groups[1].Topics[0].Partitions[0].CommittedOffset != -1)) {
			t.Errorf("v9 batch: %+v", r.Groups)
		}
	})
}

// TestCoordinatorExpiry: with a fake clock driven by the test, the offsets
// of a group that became Empty expire offsets.retention after, and the
// group goes with tombstones in the log.
func TestCoordinatorExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := &fakeClock{now: timeZero}
		log := newMemLog()
		c := newTestCoordinator(t, log, Config{Now: clk.Now, InitialRebalanceDelay: -1,
			OffsetsRetention: time.Hour, OffsetsRetentionCheck: time.Minute})
		defer c.Close()
		ctx := t.Context()
		const g = "nightly"
		p := PartitionFor(g, testPartitions)

		j := joinAs(ctx, c, g, "job", "events")
		c.SyncGroup(ctx, syncReq(g, j.MemberID, j.GenerationID, map[string]string{j.MemberID: "all"}), 5)
		if codes := commitCodes(c.OffsetCommit(ctx, commitReq(g, j.MemberID, j.GenerationID, map[string]int64{"events-0": 100}), 8)); codes[0] != 0 {
			t.Fatalf("commit: %v", codes)
		}
		leave := c.LeaveGroup(ctx, &protocol.LeaveGroupRequest{GroupID: g,
			Members: []protocol.LeaveGroupRequestMemberIdentity{{MemberID: j.MemberID}}}, 4)
		if leave.ErrorCode != 0 || leave.Members[0].ErrorCode != 0 {
			t.Fatalf("leave: %+v", leave)
		}
		d := c.DescribeGroups(ctx, &protocol.DescribeGroupsRequest{Groups: []string{g}}, 5).Groups[0]
		if d.GroupState != "Empty" {
			t.Fatalf("state after leave: %s", d.GroupState)
		}

		c.tick(clk.Advance(59 * time.Minute))
		synctest.Wait()
		if got := fetchAll(t, c, g); !slices.Equal(got, []string{"events-0=100"}) {
			t.Errorf("before retention: %v", got)
		}
		c.tick(clk.Advance(time.Minute))
		synctest.Wait()
		if got := fetchAll(t, c, g); len(got) != 0 {
			t.Errorf("after retention: %v", got)
		}
		if l := c.ListGroups(ctx, &protocol.ListGroupsRequest{}, 4); len(l.Groups) != 0 {
			t.Errorf("groups after retention: %+v", l.Groups)
		}
		ops := log.ops(t, p)
		tail := ops[len(ops)-2:]
		if tail[0].isGroup || tail[0].offset != nil || !tail[1].isGroup || tail[1].meta != nil {
			t.Errorf("log ends with %s; %s, want the tombstones", describeOp(tail[0]), describeOp(tail[1]))
		}
	})
}

// TestCoordinatorAppendErrors: how append failures reach a committer.
func TestCoordinatorAppendErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		c := newTestCoordinator(t, log, Config{})
		defer c.Close()
		ctx := t.Context()
		for _, tt := range []struct {
			err  error
			want protocol.ErrorCode
		}{
			{context.DeadlineExceeded, protocol.ErrRequestTimedOut},
			{fmt.Errorf("replicate: %w", protocol.ErrNotLeaderOrFollower), protocol.ErrNotCoordinator},
			{protocol.ErrNotEnoughReplicas, protocol.ErrCoordinatorNotAvailable},
			{protocol.ErrMessageTooLarge, protocol.ErrInvalidCommitOffsetSize},
			{errors.New("disk on fire"), protocol.ErrCoordinatorNotAvailable},
		} {
			log.mu.Lock()
			log.beforeAppend = func(context.Context, int32) error { return tt.err }
			log.mu.Unlock()
			codes := commitCodes(c.OffsetCommit(ctx, commitReq("g", "", -1, map[string]int64{"t-0": 1}), 8))
			if codes[0] != tt.want {
				t.Errorf("%v: %s, want %s", tt.err, codes[0].Name(), tt.want.Name())
			}
		}
		// An append that outlives the request: the committer's deadline.
		log.mu.Lock()
		log.beforeAppend = func(ctx context.Context, _ int32) error { <-ctx.Done(); return ctx.Err() }
		log.mu.Unlock()
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if codes := commitCodes(c.OffsetCommit(short, commitReq("g", "", -1, map[string]int64{"t-0": 1}), 8)); codes[0] != protocol.ErrRequestTimedOut {
			t.Errorf("request deadline: %s", codes[0].Name())
		}
		if got := fetchAll(t, c, "g"); len(got) != 0 {
			t.Errorf("failed commits left offsets: %v", got)
		}
		log.mu.Lock()
		log.beforeAppend = nil
		log.mu.Unlock()
		synctest.Wait()
	})
}

// TestCoordinatorAdminAPIs: ListGroups filters, DescribeGroups of an
// unknown group, DeleteGroups, OffsetDelete, LeaveGroup versions, and the
// group id checks.
func TestCoordinatorAdminAPIs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		c := newTestCoordinator(t, log, Config{InitialRebalanceDelay: -1})
		defer c.Close()
		ctx := t.Context()

		j := joinAs(ctx, c, "live", "a", "t")
		c.SyncGroup(ctx, syncReq("live", j.MemberID, 1, map[string]string{j.MemberID: "x"}), 5)
		c.OffsetCommit(ctx, commitReq("live", j.MemberID, 1, map[string]int64{"t-0": 1, "u-0": 2}), 8)
		c.OffsetCommit(ctx, commitReq("simple", "", -1, map[string]int64{"t-0": 3}), 8)

		l := c.ListGroups(ctx, &protocol.ListGroupsRequest{}, 5)
		if len(l.Groups) != 2 || l.Groups[0].GroupID != "live" || l.Groups[0].GroupState != "Stable" || l.Groups[0].ProtocolType != "consumer" ||
			l.Groups[1].GroupID != "simple" || l.Groups[1].GroupState != "Empty" || l.Groups[1].ProtocolType != "" || l.Groups[1].GroupType != "classic" {
			t.Errorf("list: %+v", l.Groups)
		}
		if l := c.ListGroups(ctx, &protocol.ListGroupsRequest{StatesFilter: []string{"empty"}}, 4); len(l.Groups) != 1 || l.Groups[0].GroupID != "simple" {
			t.Errorf("list empty: %+v", l.Groups)
		}
		if l := c.ListGroups(ctx, &protocol.ListGroupsRequest{TypesFilter: []string{"consumer"}}, 5); len(l.Groups) != 0 {
			t.Errorf("list of the consumer type: %+v", l.Groups)
		}
		d := c.DescribeGroups(ctx, &protocol.DescribeGroupsRequest{Groups: []string{"nobody", "live"}}, 5)
		if d.Groups[0].GroupState != "Dead" || d.Groups[0].ErrorCode != 0 || d.Groups[1].GroupState != "Stable" ||
			d.Groups[1].AuthorizedOperations != -2147483648 {
			t.Errorf("describe: %+v", d.Groups)
		}

		od := c.OffsetDelete(ctx, &protocol.OffsetDeleteRequest{GroupID: "live", Topics: []protocol.OffsetDeleteRequestOffsetDeleteRequestTopic{
			{Name: "t", Partitions: []protocol.OffsetDeleteRequestOffsetDeleteRequestPartition{{PartitionIndex: 0}}},
			{Name: "u", Partitions: []protocol.OffsetDeleteRequestOffsetDeleteRequestPartition{{PartitionIndex: 0}}},
		}}, 0)
		if od.ErrorCode != 0 || protocol.ErrorCode(od.Topics[0].Partitions[0].ErrorCode) != protocol.ErrGroupSubscribedToTopic || od.Topics[1].Partitions[0].ErrorCode != 0 {
			t.Errorf("offset delete: %+v", od)
		}
		if got := fetchAll(t, c, "live"); !slices.Equal(got, []string{"t-0=1"}) {
			t.Errorf("after offset delete: %v", got)
		}

		del := c.DeleteGroups(ctx, &protocol.DeleteGroupsRequest{GroupsNames: []string{"live", "simple", "nobody", "simple"}}, 2)
		want := []string{"live=NON_EMPTY_GROUP", "simple=NONE", "nobody=GROUP_ID_NOT_FOUND"}
		var got []string
		for _, r := range del.Results {
			got = append(got, r.GroupID+"="+code(r.ErrorCode))
		}
		if !slices.Equal(got, want) {
			t.Errorf("delete groups: %v, want %v", got, want)
		}
		if got := fetchAll(t, c, "simple"); len(got) != 0 {
			t.Errorf("deleted group has offsets: %v", got)
		}

		// LeaveGroup v0-2 put the member's error at the top.
		if r := c.LeaveGroup(ctx, &protocol.LeaveGroupRequest{GroupID: "live", MemberID: "ghost"}, 2); protocol.ErrorCode(r.ErrorCode) != protocol.ErrUnknownMemberID {
			t.Errorf("leave v2: %s", code(r.ErrorCode))
		}
		r := c.LeaveGroup(ctx, &protocol.LeaveGroupRequest{GroupID: "live", Members: []protocol.LeaveGroupRequestMemberIdentity{
			{MemberID: "ghost"}, {MemberID: j.MemberID, Reason: ptr("bye")}}}, 5)
		if r.ErrorCode != 0 || protocol.ErrorCode(r.Members[0].ErrorCode) != protocol.ErrUnknownMemberID || r.Members[1].ErrorCode != 0 {
			t.Errorf("leave v5: %+v", r)
		}

		// The group id checks.
		if r := c.JoinGroup(ctx, consumerJoin("", ""), 5, "c", "h"); protocol.ErrorCode(r.ErrorCode) != protocol.ErrInvalidGroupID {
			t.Errorf("join without group: %s", code(r.ErrorCode))
		}
		if err := heartbeat(c, "", "m", 1); err != protocol.ErrInvalidGroupID {
			t.Errorf("heartbeat without group: %s", err.Name())
		}
		if r := c.LeaveGroup(ctx, &protocol.LeaveGroupRequest{}, 4); protocol.ErrorCode(r.ErrorCode) != protocol.ErrInvalidGroupID {
			t.Errorf("leave without group: %s", code(r.ErrorCode))
		}
		if r := c.JoinGroup(ctx, nil, 5, "c", "h"); r == nil || protocol.ErrorCode(r.ErrorCode) != protocol.ErrInvalidRequest {
			t.Errorf("nil join: %+v", r)
		}
		// JoinGroup v0-3 need no member id first; v0 takes the session
		// timeout as the rebalance timeout.
		old := consumerJoin("old-client", "")
		old.RebalanceTimeoutMs = -1
		if r := c.JoinGroup(ctx, old, 0, "c", "h"); r.ErrorCode != 0 || r.GenerationID != 1 || *r.ProtocolName != "range" {
			t.Errorf("join v0: %+v", r)
		}
	})
}

// TestCoordinatorConcurrentCommits: commits racing on one partition are
// all durable and answered; the ones queued behind an append in progress
// go together in the next one; the last commit of each group is what a
// reload finds.
func TestCoordinatorConcurrentCommits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		c := newTestCoordinator(t, log, Config{})
		ctx := t.Context()
		var groups []string
		for i := 0; len(groups) < 5; i++ {
			if g := fmt.Sprintf("g%d", i); PartitionFor(g, testPartitions) == 1 {
				groups = append(groups, g)
			}
		}
		appends := func() int {
			log.mu.Lock()
			defer log.mu.Unlock()
			return len(log.parts[1])
		}

		// The first append is held; the four commits behind it share one.
		release := make(chan struct{})
		var once sync.Once
		log.mu.Lock()
		log.beforeAppend = func(context.Context, int32) error {
			once.Do(func() { <-release })
			return nil
		}
		log.mu.Unlock()
		errs := make(chan protocol.ErrorCode, 100)
		go func() {
			errs <- commitCodes(c.OffsetCommit(ctx, commitReq(groups[0], "", -1, map[string]int64{"t-0": 0}), 8))[0]
		}()
		synctest.Wait()
		for _, g := range groups[1:] {
			go func() {
				errs <- commitCodes(c.OffsetCommit(ctx, commitReq(g, "", -1, map[string]int64{"t-0": 0}), 8))[0]
			}()
		}
		synctest.Wait()
		close(release)
		for range groups {
			if err := <-errs; err != protocol.ErrNone {
				t.Fatalf("commit: %s", err.Name())
			}
		}
		if n := appends(); n != 2 {
			t.Errorf("%d appends for 5 commits, want 2", n)
		}

		const perGroup = 20
		for _, g := range groups {
			go func() {
				// Commits of one group are sequential, as a client's are.
				for i := range perGroup {
					errs <- commitCodes(c.OffsetCommit(ctx, commitReq(g, "", -1, map[string]int64{"t-0": int64(i)}), 8))[0]
				}
			}()
		}
		for range len(groups) * perGroup {
			if err := <-errs; err != protocol.ErrNone {
				t.Fatalf("commit: %s", err.Name())
			}
		}
		c.Close()
		c2 := newTestCoordinator(t, log, Config{})
		defer c2.Close()
		for _, g := range groups {
			if got := fetchAll(t, c2, g); !slices.Equal(got, []string{fmt.Sprintf("t-0=%d", perGroup-1)}) {
				t.Errorf("%s after reload: %v", g, got)
			}
		}
	})
}
