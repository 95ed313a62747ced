package group

import (
	"slices"
	"strings"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// memberSummary is a member as DescribeGroups shows it.
type memberSummary struct {
	id, clientID, clientHost string
	instanceID               *string
	metadata, assignment     []byte
}

// groupSummary is a group as DescribeGroups shows it.
type groupSummary struct {
	state, protocolType, protocolData string
	members                           []memberSummary
}

// describe summarizes a group as Kafka does: the protocol, member
// metadata and assignments only while Stable; an unknown group is Dead.
func (s *shard) describe(now time.Time, groupID string) groupSummary {
	s.begin(now)
	defer s.end(nil, now)
	g := s.groups[groupID]
	if g == nil {
		return groupSummary{state: stateDead.String()}
	}
	sum := groupSummary{state: g.state.String(), protocolType: g.protocolType}
	stable := g.is(stateStable) && g.protocol != nil
	if stable {
		sum.protocolData = *g.protocol
	}
	for _, m := range g.allMembers() {
		ms := memberSummary{id: m.id, clientID: m.clientID, clientHost: m.clientHost, metadata: []byte{}, assignment: []byte{}}
		if m.static {
			ms.instanceID = ptr(m.instanceID)
		}
		if stable {
			ms.metadata, ms.assignment = nonNil(m.metadataFor(*g.protocol)), nonNil(m.assignment)
		}
		sum.members = append(sum.members, ms)
	}
	return sum
}

// listedGroup is a group as ListGroups shows it.
type listedGroup struct {
	id, protocolType, state string
}

// list returns the live groups, sorted by id, whose state is among states
// (case-insensitive; all when states is empty).
func (s *shard) list(now time.Time, states []string) []listedGroup {
	s.begin(now)
	defer s.end(nil, now)
	want := map[string]bool{}
	for _, st := range states {
		want[strings.ToLower(st)] = true
	}
	var out []listedGroup
	for _, g := range s.groups {
		if g.is(stateDead) {
			continue
		}
		if len(want) > 0 && !want[strings.ToLower(g.state.String())] {
			continue
		}
		out = append(out, listedGroup{id: g.id, protocolType: g.protocolType, state: g.state.String()})
	}
	slices.SortFunc(out, func(a, b listedGroup) int { return strings.Compare(a.id, b.id) })
	return out
}

// deleteGroup handles one group of a DeleteGroups: only an Empty group may
// go. Its offsets and metadata get tombstones; when waiting, waiter gets
// the write's error.
func (s *shard) deleteGroup(now time.Time, groupID string, waiter uint64) (protocol.ErrorCode, bool) {
	s.begin(now)
	g := s.groups[groupID]
	defer s.end(g, now)
	switch {
	case g == nil || g.is(stateDead):
		return protocol.ErrGroupIDNotFound, false
	case !g.is(stateEmpty):
		return protocol.ErrNonEmptyGroup, false
	}
	s.log.Info("deleting group", "group", g.id, "generation", g.generation, "offsets", len(g.offsets))
	g.state = stateDead
	tps := make([]topicPartition, 0, len(g.offsets))
	for tp := range g.offsets {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, compareTP)
	ops := make([]op, 0, len(tps)+1)
	for _, tp := range tps {
		ops = append(ops, op{group: g.id, tp: tp})
	}
	if g.generation > 0 {
		ops = append(ops, op{group: g.id, isGroup: true})
	}
	if len(ops) == 0 {
		delete(s.groups, g.id)
		return protocol.ErrNone, false
	}
	s.emit(&write{kind: writeDelete, group: g.id, generation: g.generation, waiter: waiter, ops: ops})
	return protocol.ErrNone, true
}
