package group

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// byState returns a GroupsByState with every state, the given ones set.
func byState(counts map[string]int) map[string]int {
	m := map[string]int{"Empty": 0, "PreparingRebalance": 0, "CompletingRebalance": 0, "Stable": 0, "Dead": 0}
	maps.Copy(m, counts)
	return m
}

// checkStats compares c.Stats() with want, field by field.
func checkStats(t *testing.T, c *Coordinator, step string, want Stats) {
	t.Helper()
	got := c.Stats()
	if got.Loading != want.Loading || got.Loaded != want.Loaded || got.Rebalances != want.Rebalances ||
		got.Members != want.Members || !maps.Equal(got.GroupsByState, want.GroupsByState) {
		t.Errorf("%s: stats\n got %+v\nwant %+v", step, got, want)
	}
}

// committed lists c.Committed as "group/topic-partition=offset", in the
// order visited.
func committed(c *Coordinator) []string {
	var out []string
	c.Committed(func(group, topic string, partition int32, offset int64) {
		out = append(out, fmt.Sprintf("%s/%s-%d=%d", group, topic, partition, offset))
	})
	return out
}

func checkCommitted(t *testing.T, c *Coordinator, step string, want ...string) {
	t.Helper()
	if got := committed(c); !slices.Equal(got, want) {
		t.Errorf("%s: committed\n got %v\nwant %v", step, got, want)
	}
}

// generationOf reads group's generation id from its state machine.
func generationOf(t *testing.T, c *Coordinator, group string) int32 {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	p, code := c.partitionLocked(group)
	if code != protocol.ErrNone {
		t.Fatalf("generation of %s: %s", group, code.Name())
	}
	g := p.shard.groups[group]
	if g == nil {
		t.Fatalf("generation of %s: no such group", group)
	}
	return g.generation
}

func leaveGroup(t *testing.T, c *Coordinator, group, member string) {
	t.Helper()
	r := c.LeaveGroup(t.Context(), &protocol.LeaveGroupRequest{GroupID: group,
		Members: []protocol.LeaveGroupRequestMemberIdentity{{MemberID: member}}}, 4)
	if r.ErrorCode != 0 || r.Members[0].ErrorCode != 0 {
		t.Fatalf("leave %s: %+v", member, r)
	}
}

func offsetDelete(t *testing.T, c *Coordinator, group, topic string, partition int32) {
	t.Helper()
	r := c.OffsetDelete(t.Context(), &protocol.OffsetDeleteRequest{GroupID: group, Topics: []protocol.OffsetDeleteRequestOffsetDeleteRequestTopic{
		{Name: topic, Partitions: []protocol.OffsetDeleteRequestOffsetDeleteRequestPartition{{PartitionIndex: partition}}},
	}}, 0)
	if r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("offset delete %s %s-%d: %+v", group, topic, partition, r)
	}
}

func deleteGroup(t *testing.T, c *Coordinator, group string) {
	t.Helper()
	r := c.DeleteGroups(t.Context(), &protocol.DeleteGroupsRequest{GroupsNames: []string{group}}, 2)
	if r.Results[0].ErrorCode != 0 {
		t.Fatalf("delete group %s: %s", group, code(r.Results[0].ErrorCode))
	}
}

func mustCommit(t *testing.T, c *Coordinator, req *protocol.OffsetCommitRequest) {
	t.Helper()
	for _, code := range commitCodes(c.OffsetCommit(t.Context(), req, 8)) {
		if code != protocol.ErrNone {
			t.Fatalf("commit %s: %s", req.GroupID, code.Name())
		}
	}
}

// TestStatsGroupLifecycle follows a consumer group and three groups that
// only store offsets through joins, a rebalance, leaves, deletions, an
// unload and reloads, checking Stats and Committed exactly at each step.
func TestStatsGroupLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		c := newTestCoordinator(t, log, Config{InitialRebalanceDelay: -1})
		defer c.Close()
		ctx := t.Context()
		// orders and audit share a partition; payments and beta each
		// have their own, so the global order of Committed (by group)
		// differs from the order of the partitions.
		const g = "orders"
		p := PartitionFor(g, testPartitions)
		if PartitionFor("audit", testPartitions) != p || PartitionFor("payments", testPartitions) == p ||
			PartitionFor("beta", testPartitions) == p || PartitionFor("payments", testPartitions) >= p {
			t.Fatal("the test's group names no longer fall into the partitions it assumes")
		}

		checkStats(t, c, "nothing yet", Stats{Loaded: testPartitions, GroupsByState: byState(nil)})
		checkCommitted(t, c, "nothing yet")
		if !c.Ready() {
			t.Error("not ready with every partition loaded")
		}

		// One member joins, syncs and commits; three groups commit
		// without members.
		j1 := joinAs(ctx, c, g, "c1", "t")
		if j1.ErrorCode != 0 || j1.GenerationID != 1 {
			t.Fatalf("join: %s gen %d", code(j1.ErrorCode), j1.GenerationID)
		}
		checkStats(t, c, "after the join", Stats{Loaded: testPartitions, Members: 1, Rebalances: 1,
			GroupsByState: byState(map[string]int{"CompletingRebalance": 1})})
		if s := c.SyncGroup(ctx, syncReq(g, j1.MemberID, 1, map[string]string{j1.MemberID: "t-all"}), 5); s.ErrorCode != 0 {
			t.Fatalf("sync: %s", code(s.ErrorCode))
		}
		mustCommit(t, c, commitReq(g, j1.MemberID, 1, map[string]int64{"t-10": 100, "t-2": 20, "s-0": 5}))
		mustCommit(t, c, commitReq("audit", "", -1, map[string]int64{"t-0": 1}))
		mustCommit(t, c, commitReq("payments", "", -1, map[string]int64{"t-0": 2}))
		mustCommit(t, c, commitReq("beta", "", -1, map[string]int64{"x-0": 3}))
		checkStats(t, c, "stable", Stats{Loaded: testPartitions, Members: 1, Rebalances: 1,
			GroupsByState: byState(map[string]int{"Stable": 1, "Empty": 3})})
		all := []string{"audit/t-0=1", "beta/x-0=3", "orders/s-0=5", "orders/t-2=20", "orders/t-10=100", "payments/t-0=2"}
		checkCommitted(t, c, "stable", all...)

		// Committed visits without the lock: once every goroutine is
		// idle, nobody else can be holding it.
		synctest.Wait()
		visits := 0
		c.Committed(func(string, string, int32, int64) {
			visits++
			if !c.mu.TryLock() {
				t.Error("Committed called visit with the lock held")
				return
			}
			c.mu.Unlock()
		})
		if visits != len(all) {
			t.Errorf("%d visits, want %d", visits, len(all))
		}

		// A second member: one rebalance, one generation.
		second := make(chan *protocol.JoinGroupResponse, 1)
		go func() { second <- joinAs(ctx, c, g, "c2", "t") }()
		synctest.Wait()
		checkStats(t, c, "second member joining", Stats{Loaded: testPartitions, Members: 2, Rebalances: 1,
			GroupsByState: byState(map[string]int{"PreparingRebalance": 1, "Empty": 3})})
		r1 := c.JoinGroup(ctx, consumerJoin(g, j1.MemberID, "t"), 5, "c1", "/10.0.0.9")
		r2 := <-second
		if r1.ErrorCode != 0 || r2.ErrorCode != 0 || r1.GenerationID != 2 || r2.GenerationID != 2 || r1.Leader != j1.MemberID {
			t.Fatalf("rejoin: %+v / %+v", r1, r2)
		}
		st := c.Stats()
		if formed := uint64(r1.GenerationID - j1.GenerationID); st.Rebalances != 1+formed {
			t.Errorf("rebalances %d after %d more generation(s), want %d", st.Rebalances, formed, 1+formed)
		}
		checkStats(t, c, "rebalanced", Stats{Loaded: testPartitions, Members: 2, Rebalances: 2,
			GroupsByState: byState(map[string]int{"CompletingRebalance": 1, "Empty": 3})})
		follower := make(chan *protocol.SyncGroupResponse, 1)
		go func() { follower <- c.SyncGroup(ctx, syncReq(g, r2.MemberID, 2, nil), 5) }()
		if s := c.SyncGroup(ctx, syncReq(g, r1.MemberID, 2, map[string]string{r1.MemberID: "t-0", r2.MemberID: "t-1"}), 5); s.ErrorCode != 0 {
			t.Fatalf("leader sync: %s", code(s.ErrorCode))
		}
		if s := <-follower; s.ErrorCode != 0 || string(s.Assignment) != "t-1" {
			t.Fatalf("follower sync: %s %q", code(s.ErrorCode), s.Assignment)
		}
		checkStats(t, c, "stable again", Stats{Loaded: testPartitions, Members: 2, Rebalances: 2,
			GroupsByState: byState(map[string]int{"Stable": 1, "Empty": 3})})

		// The members consume t only: the offset of s can go while the
		// group is Stable.
		offsetDelete(t, c, g, "s", 0)
		all = []string{"audit/t-0=1", "beta/x-0=3", "orders/t-2=20", "orders/t-10=100", "payments/t-0=2"}
		checkCommitted(t, c, "offset of s deleted", all...)

		// Unload: the partition's groups go from Stats and Committed; the
		// counter stays. Reload: they come back, the generations they
		// carry are not counted again.
		c.Unload(p)
		checkStats(t, c, "unloaded", Stats{Loaded: testPartitions - 1, Rebalances: 2,
			GroupsByState: byState(map[string]int{"Empty": 2})})
		checkCommitted(t, c, "unloaded", "beta/x-0=3", "payments/t-0=2")
		if err := c.Load(ctx, p); err != nil {
			t.Fatal(err)
		}
		checkStats(t, c, "reloaded", Stats{Loaded: testPartitions, Members: 2, Rebalances: 2,
			GroupsByState: byState(map[string]int{"Stable": 1, "Empty": 3})})
		checkCommitted(t, c, "reloaded", all...)
		if gen := generationOf(t, c, g); gen != 2 {
			t.Fatalf("generation after reload: %d", gen)
		}

		// Members leave: one rebalance with the one left, then Empty.
		leaveGroup(t, c, g, r2.MemberID)
		checkStats(t, c, "follower left", Stats{Loaded: testPartitions, Members: 1, Rebalances: 2,
			GroupsByState: byState(map[string]int{"PreparingRebalance": 1, "Empty": 3})})
		r3 := c.JoinGroup(ctx, consumerJoin(g, r1.MemberID, "t"), 5, "c1", "/10.0.0.9")
		if r3.ErrorCode != 0 || r3.GenerationID != 3 {
			t.Fatalf("rejoin after leave: %s gen %d", code(r3.ErrorCode), r3.GenerationID)
		}
		if s := c.SyncGroup(ctx, syncReq(g, r1.MemberID, 3, map[string]string{r1.MemberID: "t-all"}), 5); s.ErrorCode != 0 {
			t.Fatalf("sync: %s", code(s.ErrorCode))
		}
		checkStats(t, c, "alone", Stats{Loaded: testPartitions, Members: 1, Rebalances: 3,
			GroupsByState: byState(map[string]int{"Stable": 1, "Empty": 3})})
		leaveGroup(t, c, g, r1.MemberID)
		if gen := generationOf(t, c, g); gen != 4 {
			t.Fatalf("generation after the last member left: %d", gen)
		}
		checkStats(t, c, "all left", Stats{Loaded: testPartitions, Rebalances: 4,
			GroupsByState: byState(map[string]int{"Empty": 4})})
		checkCommitted(t, c, "all left", all...)

		// Deletions: an offset of the Empty group, then whole groups.
		offsetDelete(t, c, g, "t", 2)
		checkCommitted(t, c, "offset deleted", "audit/t-0=1", "beta/x-0=3", "orders/t-10=100", "payments/t-0=2")
		deleteGroup(t, c, "beta")
		deleteGroup(t, c, g)
		want := []string{"audit/t-0=1", "payments/t-0=2"}
		checkCommitted(t, c, "groups deleted", want...)
		checkStats(t, c, "groups deleted", Stats{Loaded: testPartitions, Rebalances: 4,
			GroupsByState: byState(map[string]int{"Empty": 2})})

		// The tombstones replay: a reload brings back nothing deleted.
		c.Unload(p)
		c.Unload(PartitionFor("beta", testPartitions))
		for _, q := range []int32{p, PartitionFor("beta", testPartitions)} {
			if err := c.Load(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		checkCommitted(t, c, "reloaded after deletions", want...)
		checkStats(t, c, "reloaded after deletions", Stats{Loaded: testPartitions, Rebalances: 4,
			GroupsByState: byState(map[string]int{"Empty": 2})})

		// A new coordinator over the same log has formed no generation.
		c.Close()
		checkStats(t, c, "closed", Stats{Rebalances: 4, GroupsByState: byState(nil)})
		c2 := newTestCoordinator(t, log, Config{})
		defer c2.Close()
		checkCommitted(t, c2, "restarted", want...)
		checkStats(t, c2, "restarted", Stats{Loaded: testPartitions, GroupsByState: byState(map[string]int{"Empty": 2})})
	})
}

// TestStatsGroupBeingDeleted: while the tombstones of a DeleteGroups are
// being appended the group is Dead and its offsets are not listed; if the
// append fails the group is back, offsets and all.
func TestStatsGroupBeingDeleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		c := newTestCoordinator(t, log, Config{})
		defer c.Close()
		ctx := t.Context()
		mustCommit(t, c, commitReq("gone", "", -1, map[string]int64{"t-0": 7}))
		mustCommit(t, c, commitReq("kept", "", -1, map[string]int64{"t-0": 8}))

		for _, fail := range []bool{true, false} {
			release := make(chan struct{})
			log.mu.Lock()
			log.beforeAppend = func(context.Context, int32) error {
				<-release
				if fail {
					return errors.New("disk on fire")
				}
				return nil
			}
			log.mu.Unlock()
			done := make(chan *protocol.DeleteGroupsResponse, 1)
			go func() {
				done <- c.DeleteGroups(ctx, &protocol.DeleteGroupsRequest{GroupsNames: []string{"gone"}}, 2)
			}()
			synctest.Wait()
			checkStats(t, c, fmt.Sprintf("deleting (fail=%v)", fail), Stats{Loaded: testPartitions,
				GroupsByState: byState(map[string]int{"Dead": 1, "Empty": 1})})
			checkCommitted(t, c, fmt.Sprintf("deleting (fail=%v)", fail), "kept/t-0=8")
			close(release)
			r := <-done
			log.mu.Lock()
			log.beforeAppend = nil
			log.mu.Unlock()
			if fail {
				if r.Results[0].ErrorCode == 0 {
					t.Fatal("delete succeeded despite the failed append")
				}
				checkStats(t, c, "delete failed", Stats{Loaded: testPartitions, GroupsByState: byState(map[string]int{"Empty": 2})})
				checkCommitted(t, c, "delete failed", "gone/t-0=7", "kept/t-0=8")
				continue
			}
			if r.Results[0].ErrorCode != 0 {
				t.Fatalf("delete: %s", code(r.Results[0].ErrorCode))
			}
			checkStats(t, c, "deleted", Stats{Loaded: testPartitions, GroupsByState: byState(map[string]int{"Empty": 1})})
			checkCommitted(t, c, "deleted", "kept/t-0=8")
		}
	})
}

// TestStatsReadyWhileLoading: a partition whose Scan is held counts as
// Loading and makes the coordinator not Ready; the load finishing, or an
// Unload taking it back, makes it Ready again; Close makes it not Ready.
func TestStatsReadyWhileLoading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		log.scanGate = make(chan struct{})
		c := New(Config{Partitions: testPartitions}, log)
		defer c.Close()
		ctx := t.Context()
		if !c.Ready() {
			t.Error("not ready without any partition")
		}
		checkStats(t, c, "no partition", Stats{GroupsByState: byState(nil)})

		loaded := make(chan error, 2)
		go func() { loaded <- c.Load(ctx, 0) }()
		go func() { loaded <- c.Load(ctx, 1) }()
		synctest.Wait()
		if c.Ready() {
			t.Error("ready while two loads are held")
		}
		checkStats(t, c, "loading", Stats{Loading: 2, GroupsByState: byState(nil)})

		// Partition 1 is taken back while loading: only 0 is awaited.
		c.Unload(1)
		if c.Ready() {
			t.Error("ready while partition 0 loads")
		}
		checkStats(t, c, "one unloaded", Stats{Loading: 1, GroupsByState: byState(nil)})
		close(log.scanGate)
		errs := []error{<-loaded, <-loaded}
		if !slices.ContainsFunc(errs, func(err error) bool { return err == nil }) ||
			!slices.ContainsFunc(errs, func(err error) bool { return errors.Is(err, ErrUnloaded) }) {
			t.Fatalf("loads: %v, want one done and one unloaded", errs)
		}
		if !c.Ready() {
			t.Error("not ready after the load")
		}
		checkStats(t, c, "loaded", Stats{Loaded: 1, GroupsByState: byState(nil)})

		c.Close()
		if c.Ready() {
			t.Error("ready after Close")
		}
	})
}

// TestStatsConcurrentScrape: Stats and Committed called while commits are
// applied see each group's offset only move forward, and the last one
// once the commits are done.
func TestStatsConcurrentScrape(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		c := newTestCoordinator(t, log, Config{})
		defer c.Close()
		ctx := t.Context()
		groups := []string{"alpha", "beta", "gamma", "payments"}
		const commits = 50

		var wg sync.WaitGroup
		for _, g := range groups {
			wg.Go(func() {
				for i := range commits {
					codes := commitCodes(c.OffsetCommit(ctx, commitReq(g, "", -1, map[string]int64{"t-0": int64(i)}), 8))
					if len(codes) != 1 || codes[0] != protocol.ErrNone {
						t.Errorf("commit %s %d: %v", g, i, codes)
						return
					}
				}
			})
		}
		done := make(chan struct{})
		scraped := make(chan struct{})
		go func() {
			defer close(scraped)
			last := map[string]int64{}
			for {
				c.Committed(func(group, _ string, _ int32, offset int64) {
					if offset < last[group] {
						t.Errorf("%s went back from %d to %d", group, last[group], offset)
					}
					last[group] = offset
				})
				if st := c.Stats(); st.Loaded != testPartitions || st.Members != 0 {
					t.Errorf("stats while committing: %+v", st)
				}
				select {
				case <-done:
					return
				default:
				}
				runtime.Gosched()
			}
		}()
		wg.Wait()
		close(done)
		<-scraped
		var want []string
		for _, g := range groups {
			want = append(want, fmt.Sprintf("%s/t-0=%d", g, commits-1))
		}
		checkCommitted(t, c, "after the commits", want...)
		checkStats(t, c, "after the commits", Stats{Loaded: testPartitions,
			GroupsByState: byState(map[string]int{"Empty": len(groups)})})
	})
}
