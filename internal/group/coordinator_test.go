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

// The coordinator tests run in a synctest bubble: time is virtual (the
// timer loop sleeps in it) and synctest.Wait says when every goroutine
// is blocked, so nothing depends on real time.

const testPartitions = 4

func newTestCoordinator(t *testing.T, log *memLog, cfg Config) *Coordinator {
	t.Helper()
	cfg.Partitions = testPartitions
	c := New(cfg, log)
	for p := range int32(testPartitions) {
		if err := c.Load(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func consumerJoin(group, memberID string, topics ...string) *protocol.JoinGroupRequest {
	req := &protocol.JoinGroupRequest{
		GroupID:            group,
		MemberID:           memberID,
		SessionTimeoutMs:   10_000,
		RebalanceTimeoutMs: 30_000,
		ProtocolType:       "consumer",
		Protocols: []protocol.JoinGroupRequestJoinGroupRequestProtocol{
			{Name: "range", Metadata: subscriptionV0(topics)},
		},
	}
	return req
}

// joinAs joins group as a new dynamic member with JoinGroup v5: first
// MEMBER_ID_REQUIRED, then the join proper.
func joinAs(ctx context.Context, c *Coordinator, group, client string, topics ...string) *protocol.JoinGroupResponse {
	req := consumerJoin(group, "", topics...)
	resp := c.JoinGroup(ctx, req, 5, client, "/10.0.0.9")
	if protocol.ErrorCode(resp.ErrorCode) != protocol.ErrMemberIDRequired {
		return resp
	}
	req.MemberID = resp.MemberID
	return c.JoinGroup(ctx, req, 5, client, "/10.0.0.9")
}

func syncReq(group, member string, gen int32, assign map[string]string) *protocol.SyncGroupRequest {
	req := &protocol.SyncGroupRequest{GroupID: group, MemberID: member, GenerationID: gen,
		ProtocolType: ptr("consumer"), ProtocolName: ptr("range")}
	for id, a := range assign {
		req.Assignments = append(req.Assignments, protocol.SyncGroupRequestSyncGroupRequestAssignment{MemberID: id, Assignment: []byte(a)})
	}
	return req
}

func heartbeat(c *Coordinator, group, member string, gen int32) protocol.ErrorCode {
	return protocol.ErrorCode(c.Heartbeat(context.Background(), &protocol.HeartbeatRequest{GroupID: group, MemberID: member, GenerationID: gen}, 4).ErrorCode)
}

func commitReq(group, member string, gen int32, offsets map[string]int64) *protocol.OffsetCommitRequest {
	req := &protocol.OffsetCommitRequest{GroupID: group, MemberID: member, GenerationIDOrMemberEpoch: gen}
	names := make([]string, 0, len(offsets))
	for tp := range offsets {
		names = append(names, tp)
	}
	slices.Sort(names)
	for _, tp := range names {
		t := parseTP(tp)
		req.Topics = append(req.Topics, protocol.OffsetCommitRequestOffsetCommitRequestTopic{
			Name: t.topic,
			Partitions: []protocol.OffsetCommitRequestOffsetCommitRequestPartition{
				{PartitionIndex: t.partition, CommittedOffset: offsets[tp], CommittedLeaderEpoch: 5, CommittedMetadata: ptr("meta")},
			},
		})
	}
	return req
}

func commitCodes(resp *protocol.OffsetCommitResponse) []protocol.ErrorCode {
	var out []protocol.ErrorCode
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, protocol.ErrorCode(p.ErrorCode))
		}
	}
	return out
}

// fetchAll fetches every offset of group with OffsetFetch v8 (a nil topic
// list), as "topic-partition=offset".
func fetchAll(t *testing.T, c *Coordinator, group string) []string {
	t.Helper()
	resp := c.OffsetFetch(t.Context(), &protocol.OffsetFetchRequest{
		Groups: []protocol.OffsetFetchRequestOffsetFetchRequestGroup{{GroupID: group}},
	}, 8)
	g := resp.Groups[0]
	if g.ErrorCode != 0 {
		t.Fatalf("fetch %s: %s", group, protocol.ErrorCode(g.ErrorCode).Name())
	}
	var out []string
	for _, tp := range g.Topics {
		for _, p := range tp.Partitions {
			out = append(out, fmt.Sprintf("%s-%d=%d", tp.Name, p.PartitionIndex, p.CommittedOffset))
		}
	}
	return out
}

func code(c int16) string { return protocol.ErrorCode(c).Name() }

// TestCoordinatorGroupRebalance: three members join at once, the leader's
// assignment reaches each of them only once stored, they heartbeat; a
// fourth member makes them rejoin into generation 2.
func TestCoordinatorGroupRebalance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		c := newTestCoordinator(t, log, Config{})
		defer c.Close()
		ctx := t.Context()
		const g = "orders-app"

		joins := make(chan *protocol.JoinGroupResponse, 3)
		for i := range 3 {
			go func() { joins <- joinAs(ctx, c, g, fmt.Sprintf("client-%d", i), "orders") }()
		}
		var members []*protocol.JoinGroupResponse
		for range 3 {
			members = append(members, <-joins)
		}
		var leader *protocol.JoinGroupResponse
		for _, m := range members {
			if m.ErrorCode != 0 || m.GenerationID != 1 || *m.ProtocolName != "range" {
				t.Fatalf("join: %s gen %d", code(m.ErrorCode), m.GenerationID)
			}
			if m.Leader == m.MemberID {
				leader = m
			}
		}
		if leader == nil || len(leader.Members) != 3 {
			t.Fatalf("no leader with three members: %+v", members)
		}
		for _, m := range members {
			if m != leader && len(m.Members) != 0 {
				t.Errorf("follower %s got the member list", m.MemberID)
			}
		}

		// The leader assigns partition i to the i-th member.
		assign := map[string]string{}
		for i, m := range leader.Members {
			if ts, ok := subscriptionTopics(m.Metadata); !ok || len(ts) != 1 || ts[0] != "orders" {
				t.Errorf("member %s metadata %x", m.MemberID, m.Metadata)
			}
			assign[m.MemberID] = fmt.Sprintf("orders-%d", i)
		}
		syncs := make(chan [2]string, 3)
		for _, m := range members {
			go func() {
				var a map[string]string
				if m == leader {
					a = assign
				}
				resp := c.SyncGroup(ctx, syncReq(g, m.MemberID, 1, a), 5)
				if resp.ErrorCode != 0 {
					syncs <- [2]string{m.MemberID, code(resp.ErrorCode)}
					return
				}
				if n := len(log.ops(t, PartitionFor(g, testPartitions))); n == 0 {
					syncs <- [2]string{m.MemberID, "assignment before the group metadata was stored"}
					return
				}
				syncs <- [2]string{m.MemberID, string(resp.Assignment)}
			}()
		}
		got := map[string]string{}
		for range 3 {
			s := <-syncs
			got[s[0]] = s[1]
		}
		for id, a := range assign {
			if got[id] != a {
				t.Errorf("member %s got %q, want %q", id, got[id], a)
			}
		}
		for _, m := range members {
			if err := heartbeat(c, g, m.MemberID, 1); err != protocol.ErrNone {
				t.Errorf("heartbeat %s: %s", m.MemberID, err.Name())
			}
		}
		ops := log.ops(t, PartitionFor(g, testPartitions))
		if last := ops[len(ops)-1]; !last.isGroup || last.meta.Generation != 1 || len(last.meta.Members) != 3 {
			t.Errorf("stored group metadata: %s", describeOp(last))
		}

		// A fourth member: a rebalance.
		fourth := make(chan *protocol.JoinGroupResponse, 1)
		go func() { fourth <- joinAs(ctx, c, g, "client-3", "orders") }()
		synctest.Wait()
		for _, m := range members {
			if err := heartbeat(c, g, m.MemberID, 1); err != protocol.ErrRebalanceInProgress {
				t.Errorf("heartbeat during rebalance: %s", err.Name())
			}
		}
		for _, m := range members {
			go func() { joins <- c.JoinGroup(ctx, consumerJoin(g, m.MemberID, "orders"), 5, "client", "/10.0.0.9") }()
		}
		all := []*protocol.JoinGroupResponse{<-joins, <-joins, <-joins, <-fourth}
		for _, m := range all {
			if m.ErrorCode != 0 || m.GenerationID != 2 {
				t.Errorf("rejoin: %s gen %d", code(m.ErrorCode), m.GenerationID)
			}
			if m.MemberID == m.Leader && len(m.Members) != 4 {
				t.Errorf("leader sees %d members", len(m.Members))
			}
		}
	})
}

// TestCoordinatorCommitDurable: a commit is answered only after its
// append returned, and a restarted coordinator finds the offsets and the
// group where it left them.
func TestCoordinatorCommitDurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		c := newTestCoordinator(t, log, Config{InitialRebalanceDelay: -1})
		ctx := t.Context()
		const g = "billing"
		p := PartitionFor(g, testPartitions)

		j := joinAs(ctx, c, g, "solo", "invoices")
		if j.ErrorCode != 0 {
			t.Fatalf("join: %s", code(j.ErrorCode))
		}
		s := c.SyncGroup(ctx, syncReq(g, j.MemberID, j.GenerationID, map[string]string{j.MemberID: "invoices-0"}), 5)
		if s.ErrorCode != 0 {
			t.Fatalf("sync: %s", code(s.ErrorCode))
		}

		release := make(chan struct{})
		var held sync.Once
		log.mu.Lock()
		log.beforeAppend = func(ctx context.Context, _ int32) error {
			held.Do(func() { <-release })
			return nil
		}
		log.mu.Unlock()
		before := len(log.ops(t, p))
		done := make(chan *protocol.OffsetCommitResponse, 1)
		go func() {
			done <- c.OffsetCommit(ctx, commitReq(g, j.MemberID, j.GenerationID, map[string]int64{"invoices-0": 41}), 8)
		}()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("commit answered before its append returned")
		default:
		}
		if n := len(log.ops(t, p)); n != before {
			t.Fatalf("log grew to %d records before the append returned", n)
		}
		close(release)
		resp := <-done
		if codes := commitCodes(resp); len(codes) != 1 || codes[0] != protocol.ErrNone {
			t.Fatalf("commit: %v", codes)
		}
		ops := log.ops(t, p)
		if last := ops[len(ops)-1]; last.group != g || last.offset == nil || last.offset.offset != 41 || last.offset.leaderEpoch != 5 {
			t.Fatalf("last record: %s", describeOp(last))
		}
		if got := fetchAll(t, c, g); !slices.Equal(got, []string{"invoices-0=41"}) {
			t.Errorf("fetch = %v", got)
		}
		c.Close()

		// A restart: a new coordinator over the same log.
		c2 := newTestCoordinator(t, log, Config{})
		defer c2.Close()
		if got := fetchAll(t, c2, g); !slices.Equal(got, []string{"invoices-0=41"}) {
			t.Errorf("fetch after reload = %v", got)
		}
		d := c2.DescribeGroups(ctx, &protocol.DescribeGroupsRequest{Groups: []string{g}}, 5).Groups[0]
		if d.ErrorCode != 0 || d.GroupState != "Stable" || d.ProtocolType != "consumer" || d.ProtocolData != "range" || len(d.Members) != 1 {
			t.Fatalf("describe after reload: %+v", d)
		}
		m := d.Members[0]
		if m.MemberID != j.MemberID || m.ClientID != "solo" || m.ClientHost != "/10.0.0.9" || string(m.MemberAssignment) != "invoices-0" {
			t.Errorf("member after reload: %+v", m)
		}
		if ts, ok := subscriptionTopics(m.MemberMetadata); !ok || !slices.Equal(ts, []string{"invoices"}) {
			t.Errorf("metadata after reload: %x", m.MemberMetadata)
		}
		// The member carries on in its generation; its session restarted.
		if err := heartbeat(c2, g, j.MemberID, j.GenerationID); err != protocol.ErrNone {
			t.Errorf("heartbeat after reload: %s", err.Name())
		}
		time.Sleep(11 * time.Second)
		if err := heartbeat(c2, g, j.MemberID, j.GenerationID); err != protocol.ErrUnknownMemberID {
			t.Errorf("heartbeat after the session: %s", err.Name())
		}
	})
}

// TestCoordinatorLoadAndUnload: while a partition loads its groups answer
// COORDINATOR_LOAD_IN_PROGRESS (SyncGroup REBALANCE_IN_PROGRESS,
// Heartbeat NONE); after Unload NOT_COORDINATOR, also to a waiting
// JoinGroup; after Close COORDINATOR_NOT_AVAILABLE.
func TestCoordinatorLoadAndUnload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		log.scanGate = make(chan struct{})
		c := New(Config{Partitions: testPartitions}, log)
		defer c.Close()
		ctx := t.Context()
		const g = "slow"
		p := PartitionFor(g, testPartitions)
		other := "elsewhere"
		for PartitionFor(other, testPartitions) == p {
			other += "x"
		}

		loaded := make(chan error, 2)
		go func() { loaded <- c.Load(ctx, p) }()
		synctest.Wait()
		go func() { loaded <- c.Load(ctx, p) }() // waits for the first
		synctest.Wait()
		if st := c.Status(g); st != protocol.ErrCoordinatorLoadInProgress {
			t.Errorf("status while loading: %s", st.Name())
		}
		if st := c.Status(other); st != protocol.ErrNotCoordinator {
			t.Errorf("status of another partition: %s", st.Name())
		}
		if r := c.JoinGroup(ctx, consumerJoin(g, ""), 5, "c", "h"); protocol.ErrorCode(r.ErrorCode) != protocol.ErrCoordinatorLoadInProgress {
			t.Errorf("join while loading: %s", code(r.ErrorCode))
		}
		if r := c.SyncGroup(ctx, syncReq(g, "m", 1, nil), 5); protocol.ErrorCode(r.ErrorCode) != protocol.ErrRebalanceInProgress {
			t.Errorf("sync while loading: %s", code(r.ErrorCode))
		}
		if err := heartbeat(c, g, "m", 1); err != protocol.ErrNone {
			t.Errorf("heartbeat while loading: %s", err.Name())
		}
		if codes := commitCodes(c.OffsetCommit(ctx, commitReq(g, "", -1, map[string]int64{"t-0": 1}), 8)); codes[0] != protocol.ErrCoordinatorLoadInProgress {
			t.Errorf("commit while loading: %v", codes)
		}
		f := c.OffsetFetch(ctx, &protocol.OffsetFetchRequest{GroupID: g}, 5)
		if protocol.ErrorCode(f.ErrorCode) != protocol.ErrCoordinatorLoadInProgress {
			t.Errorf("fetch while loading: %s", code(f.ErrorCode))
		}
		if l := c.ListGroups(ctx, &protocol.ListGroupsRequest{}, 4); protocol.ErrorCode(l.ErrorCode) != protocol.ErrCoordinatorLoadInProgress {
			t.Errorf("list while loading: %s", code(l.ErrorCode))
		}
		if r := c.JoinGroup(ctx, consumerJoin(other, ""), 5, "c", "h"); protocol.ErrorCode(r.ErrorCode) != protocol.ErrNotCoordinator {
			t.Errorf("join elsewhere: %s", code(r.ErrorCode))
		}
		close(log.scanGate)
		for range 2 {
			if err := <-loaded; err != nil {
				t.Fatalf("load: %v", err)
			}
		}
		if st := c.Status(g); st != protocol.ErrNone {
			t.Errorf("status after load: %s", st.Name())
		}

		// A JoinGroup waiting out the initial delay when the partition goes.
		waiting := make(chan *protocol.JoinGroupResponse, 1)
		go func() { waiting <- c.JoinGroup(ctx, consumerJoin(g, ""), 3, "c", "h") }()
		synctest.Wait()
		c.Unload(p)
		if r := <-waiting; protocol.ErrorCode(r.ErrorCode) != protocol.ErrNotCoordinator {
			t.Errorf("waiting join after unload: %s", code(r.ErrorCode))
		}
		if st := c.Status(g); st != protocol.ErrNotCoordinator {
			t.Errorf("status after unload: %s", st.Name())
		}
		if err := heartbeat(c, g, "m", 1); err != protocol.ErrNotCoordinator {
			t.Errorf("heartbeat after unload: %s", err.Name())
		}

		// Close answers waiting requests and everything after.
		if err := c.Load(ctx, p); err != nil {
			t.Fatal(err)
		}
		go func() { waiting <- c.JoinGroup(ctx, consumerJoin(g, ""), 3, "c", "h") }()
		synctest.Wait()
		c.Close()
		if r := <-waiting; protocol.ErrorCode(r.ErrorCode) != protocol.ErrCoordinatorNotAvailable {
			t.Errorf("waiting join after close: %s", code(r.ErrorCode))
		}
		if err := heartbeat(c, g, "m", 1); err != protocol.ErrCoordinatorNotAvailable {
			t.Errorf("heartbeat after close: %s", err.Name())
		}
		if err := c.Load(ctx, p); !errors.Is(err, ErrClosed) {
			t.Errorf("load after close: %v", err)
		}
	})
}

// TestCoordinatorLoadGivenUp: a Load whose caller gives up while it
// scans (the broker stopped leading the partition, perhaps before the
// load registered itself, where Unload cannot see it) installs nothing,
// even when the scan found nothing to check its context on; a later
// Load with a live context does.
func TestCoordinatorLoadGivenUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog() // an empty partition: the scan calls back never
		log.scanGate = make(chan struct{})
		c := New(Config{Partitions: testPartitions}, log)
		defer c.Close()
		const g = "moved"
		p := PartitionFor(g, testPartitions)

		ctx, cancel := context.WithCancel(t.Context())
		loaded := make(chan error, 1)
		go func() { loaded <- c.Load(ctx, p) }()
		synctest.Wait()
		cancel()
		close(log.scanGate)
		if err := <-loaded; !errors.Is(err, context.Canceled) {
			t.Fatalf("load given up: %v, want context.Canceled", err)
		}
		if st := c.Status(g); st != protocol.ErrNotCoordinator {
			t.Errorf("status after a load given up: %s", st.Name())
		}
		if err := c.Load(t.Context(), p); err != nil {
			t.Fatalf("load again: %v", err)
		}
		if st := c.Status(g); st != protocol.ErrNone {
			t.Errorf("status after loading again: %s", st.Name())
		}
	})
}

// TestCoordinatorPartitionCount: the topic's own partition count, once
// set, decides which partition holds a group and which can be loaded.
func TestCoordinatorPartitionCount(t *testing.T) {
	c := New(Config{Partitions: 50}, newMemLog())
	defer c.Close()
	c.SetPartitionCount(3)
	if err := c.Load(t.Context(), 5); err == nil {
		t.Fatal("loaded partition 5 of a 3-partition topic")
	}
	const group = "group" // hashCode 98629247: partition 2 of 3, 47 of 50
	if got := c.Status(group); got != protocol.ErrNotCoordinator {
		t.Fatalf("before load: %v", got)
	}
	if err := c.Load(t.Context(), PartitionFor(group, 3)); err != nil {
		t.Fatal(err)
	}
	if got := c.Status(group); got != protocol.ErrNone {
		t.Fatalf("after loading partition %d: %v", PartitionFor(group, 3), got)
	}
}
