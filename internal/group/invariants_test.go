package group

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestShardInvariants drives one shard with random sequences of every
// event (joins of any version, syncs, heartbeats, leaves, commits,
// deletions, ticks and write outcomes) and checks after each step that
// the group bookkeeping is consistent, that every request is answered at
// most once, and that the offsets in memory are exactly what replaying
// the durable writes gives.
func TestShardInvariants(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		now := timeZero
		ids := 0
		cfg := Config{
			InitialRebalanceDelay: time.Duration(rapid.IntRange(-1, 3).Draw(rt, "delay")) * time.Second,
			MaxSize:               rapid.IntRange(1, 4).Draw(rt, "max_size"),
			OffsetsRetention:      time.Hour,
			OffsetsRetentionCheck: 10 * time.Minute,
			Logger:                slog.New(slog.NewTextHandler(io.Discard, nil)),
		}.withDefaults()
		s := newShard(0, cfg, func() string { ids++; return strconv.Itoa(ids) }, now)
		var (
			waiter   uint64
			answered = map[uint64]bool{}
			pending  []*write
			durable  = newLoader() // replay of the durable writes
			known    = []string{""}
		)
		groups := []string{"g", "h"}
		instances := []string{"", "", "i1", "i2"}
		protos := [][]string{{"range"}, {"range", "rr"}, {"rr"}}

		step := func(rt *rapid.T) {
			e := s.drain()
			for _, r := range e.replies {
				if answered[r.to] {
					rt.Fatalf("request w%d answered twice", r.to)
				}
				answered[r.to] = true
				if r.join != nil && r.join.memberID != "" && !slices.Contains(known, r.join.memberID) {
					known = append(known, r.join.memberID)
				}
			}
			pending = append(pending, e.writes...)
			checkShard(rt, s, durable)
		}
		genOf := func(rt *rapid.T, g string) int32 {
			if gr := s.groups[g]; gr != nil && rapid.Bool().Draw(rt, "current_gen") {
				return gr.generation
			}
			return int32(rapid.IntRange(-1, 3).Draw(rt, "gen"))
		}
		rt.Repeat(map[string]func(*rapid.T){
			"join": func(rt *rapid.T) {
				v := int16(rapid.IntRange(0, 9).Draw(rt, "version"))
				req := joinRequest{
					groupID:          rapid.SampledFrom(groups).Draw(rt, "group"),
					memberID:         rapid.SampledFrom(known).Draw(rt, "member"),
					clientID:         "c",
					protocolType:     "consumer",
					sessionTimeout:   time.Duration(rapid.IntRange(5, 12).Draw(rt, "session")) * time.Second,
					rebalanceTimeout: time.Duration(rapid.IntRange(0, 20).Draw(rt, "rebalance")) * time.Second,
				}
				for _, p := range rapid.SampledFrom(protos).Draw(rt, "protocols") {
					req.protocols = append(req.protocols, protocolEntry{name: p, metadata: subscriptionV0([]string{"t"})})
				}
				if inst := rapid.SampledFrom(instances).Draw(rt, "instance"); inst != "" && v >= 5 {
					req.instanceID = &inst
				}
				req.requireKnownMemberID = v >= 4 && req.instanceID == nil
				req.supportSkipAssignment = v >= 9
				waiter++
				s.join(now, req, waiter)
				step(rt)
			},
			"sync": func(rt *rapid.T) {
				g := rapid.SampledFrom(groups).Draw(rt, "group")
				req := syncRequest{groupID: g, memberID: rapid.SampledFrom(known).Draw(rt, "member"), generation: genOf(rt, g)}
				if rapid.Bool().Draw(rt, "assign") {
					req.assignments = map[string][]byte{}
					for _, m := range known {
						req.assignments[m] = []byte("a-" + m)
					}
				}
				waiter++
				s.sync(now, req, waiter)
				step(rt)
			},
			"heartbeat": func(rt *rapid.T) {
				g := rapid.SampledFrom(groups).Draw(rt, "group")
				s.heartbeat(now, g, rapid.SampledFrom(known).Draw(rt, "member"), nil, genOf(rt, g))
				step(rt)
			},
			"leave": func(rt *rapid.T) {
				l := leaveMember{memberID: rapid.SampledFrom(known).Draw(rt, "member")}
				if inst := rapid.SampledFrom(instances).Draw(rt, "instance"); inst != "" {
					l.instanceID = &inst
				}
				s.leave(now, rapid.SampledFrom(groups).Draw(rt, "group"), []leaveMember{l})
				step(rt)
			},
			"commit": func(rt *rapid.T) {
				g := rapid.SampledFrom(groups).Draw(rt, "group")
				req := commitRequest{groupID: g, generation: -1, retentionMs: -1}
				if rapid.Bool().Draw(rt, "as_member") {
					req.memberID, req.generation = rapid.SampledFrom(known).Draw(rt, "member"), genOf(rt, g)
				}
				req.offsets = []commitOffset{{tp: topicPartition{rapid.SampledFrom([]string{"t", "u"}).Draw(rt, "topic"), 0},
					offset: rapid.Int64Range(0, 100).Draw(rt, "offset"), leaderEpoch: -1, commitTime: -1}}
				waiter++
				s.commit(now, req, waiter)
				step(rt)
			},
			"delete": func(rt *rapid.T) {
				waiter++
				s.deleteGroup(now, rapid.SampledFrom(groups).Draw(rt, "group"), waiter)
				step(rt)
			},
			"delete_offsets": func(rt *rapid.T) {
				waiter++
				s.deleteOffsets(now, rapid.SampledFrom(groups).Draw(rt, "group"), []topicPartition{{"t", 0}, {"u", 0}}, waiter)
				step(rt)
			},
			"read": func(rt *rapid.T) {
				g := rapid.SampledFrom(groups).Draw(rt, "group")
				s.describe(now, g)
				s.fetch(now, g, nil, true, true)
				s.list(now, nil)
				step(rt)
			},
			"tick": func(rt *rapid.T) {
				now = now.Add(time.Duration(rapid.IntRange(0, 3600).Draw(rt, "seconds")) * time.Second)
				s.tick(now)
				step(rt)
			},
			"persist": func(rt *rapid.T) {
				if len(pending) == 0 {
					return
				}
				n := rapid.IntRange(1, len(pending)).Draw(rt, "writes")
				code := rapid.SampledFrom([]protocol.ErrorCode{protocol.ErrNone, protocol.ErrNone, protocol.ErrRequestTimedOut, protocol.ErrNotEnoughReplicas}).Draw(rt, "code")
				for _, w := range pending[:n] {
					if code == protocol.ErrNone {
						for _, r := range w.records {
							o, err := decodeOp(r.key, r.value)
							if err != nil {
								rt.Fatalf("written record does not decode: %v", err)
							}
							durable.apply(o)
						}
					}
					s.writeDone(w, code, now)
				}
				pending = pending[n:]
				step(rt)
			},
		})
	})
}

// checkShard checks the bookkeeping of every group, and that the offsets
// in memory are the replay of the durable writes.
func checkShard(rt *rapid.T, s *shard, durable *loader) {
	for id, g := range s.groups {
		fail := func(format string, args ...any) {
			rt.Fatalf("group %s (%s): %s", id, g.state, fmt.Sprintf(format, args...))
		}
		if g.id != id {
			fail("id %q", g.id)
		}
		if len(g.order) != len(g.members) {
			fail("order %v, members %d", g.order, len(g.members))
		}
		awaiting, supported, waiters := 0, map[string]int{}, map[uint64]bool{}
		for _, mid := range g.order {
			m := g.members[mid]
			if m == nil || m.id != mid {
				fail("member %s in order only", mid)
			}
			if m.awaitingJoin() {
				awaiting++
			}
			for _, w := range []uint64{m.joinWaiter, m.syncWaiter} {
				if w != 0 && waiters[w] {
					fail("waiter w%d held twice", w)
				}
				waiters[w] = w != 0
			}
			seen := map[string]bool{}
			for _, p := range m.protocols {
				if !seen[p.name] {
					seen[p.name] = true
					supported[p.name]++
				}
			}
			if m.static && g.static[m.instanceID] != m.id {
				fail("static member %s not mapped", m.id)
			}
		}
		if awaiting != g.numAwaiting {
			fail("numAwaiting %d, counted %d", g.numAwaiting, awaiting)
		}
		if fmt.Sprint(supported) != fmt.Sprint(g.supported) {
			fail("supported %v, counted %v", g.supported, supported)
		}
		for inst, mid := range g.static {
			if m := g.members[mid]; m == nil || !m.static || m.instanceID != inst {
				fail("instance %s maps to %s", inst, mid)
			}
		}
		for mid := range g.pendingSync {
			if !g.has(mid) {
				fail("pending sync of non-member %s", mid)
			}
		}
		if (g.leader == "") != (len(g.members) == 0) || (g.leader != "" && !g.has(g.leader)) {
			fail("leader %q with %d members", g.leader, len(g.members))
		}
		switch g.state {
		case stateEmpty, stateDead:
			if len(g.members) > 0 {
				fail("%d members", len(g.members))
			}
		case stateCompletingRebalance, stateStable:
			if g.protocol == nil {
				fail("no protocol")
			}
		}
		want := durable.offsets[id]
		if len(want) != len(g.offsets) {
			fail("offsets %v, durable %v", g.offsets, want)
		}
		for tp, e := range g.offsets {
			if want[tp] != e {
				fail("offset %v = %+v, durable %+v", tp, e, want[tp])
			}
		}
	}
	for id, offs := range durable.offsets {
		if len(offs) > 0 && s.groups[id] == nil {
			rt.Fatalf("group %s has durable offsets %v but is gone", id, offs)
		}
	}
}
