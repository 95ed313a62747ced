package group

import (
	"errors"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// loader replays the records of a partition, in log order, into the last
// value of every key.
type loader struct {
	offsets map[string]map[topicPartition]offsetEntry
	meta    map[string]*protocol.GroupMetadataValue
	records int // records applied
	skipped int // records not understood
}

func newLoader() *loader {
	return &loader{
		offsets: map[string]map[topicPartition]offsetEntry{},
		meta:    map[string]*protocol.GroupMetadataValue{},
	}
}

// batch replays data (whole batches). Batches and records it cannot
// decode are skipped and reported to warn.
func (l *loader) batch(data []byte, warn func(msg string, err error)) {
	forEachRecord(data, func(key, value []byte) {
		o, err := decodeOp(key, value)
		if err != nil {
			l.skipped++
			if !errors.Is(err, errForeignRecord) {
				warn("skipped undecodable record", err)
			}
			return
		}
		l.records++
		l.apply(o)
	}, func(err error) {
		l.skipped++
		warn("skipped unreadable batch", err)
	})
}

// apply replays one record: the last value of a key wins, a tombstone
// deletes it.
func (l *loader) apply(o op) {
	if o.isGroup {
		if o.meta == nil {
			delete(l.meta, o.group)
		} else {
			l.meta[o.group] = o.meta
		}
		return
	}
	offs := l.offsets[o.group]
	if offs == nil {
		if o.offset == nil {
			return
		}
		offs = map[topicPartition]offsetEntry{}
		l.offsets[o.group] = offs
	}
	applyOffset(offs, o)
	if len(offs) == 0 {
		delete(l.offsets, o.group)
	}
}

// install builds the shard's groups from what was replayed, as Kafka's
// loader does: a group with members is Stable and its members' sessions
// start now; one without is Empty; a group with offsets only is Empty
// without a protocol type.
func (s *shard) install(l *loader, now time.Time) {
	for id, v := range l.meta {
		g := loadGroup(id, v, now)
		if offs := l.offsets[id]; offs != nil {
			g.offsets = offs
		}
		s.groups[id] = g
	}
	for id, offs := range l.offsets {
		if s.groups[id] == nil {
			g := newGroup(id, -1)
			g.offsets = offs
			s.groups[id] = g
		}
	}
	for _, g := range s.groups {
		if g.size() > s.cfg.MaxSize {
			s.prepareRebalance(g, "loaded group is over group.max.size", now)
		}
		s.arm(g)
	}
}

// loadGroup rebuilds a group from its last GroupMetadata record.
func loadGroup(id string, v *protocol.GroupMetadataValue, now time.Time) *group {
	g := newGroup(id, v.CurrentStateTimestamp)
	g.generation = v.Generation
	g.protocolType = v.ProtocolType
	if v.Protocol != nil {
		g.protocol = ptr(*v.Protocol)
	}
	if v.Leader != nil {
		g.leader = *v.Leader
	}
	name := ""
	if g.protocol != nil {
		name = *g.protocol
	}
	for _, mv := range v.Members {
		if g.has(mv.MemberID) {
			continue
		}
		m := &member{
			id:               mv.MemberID,
			clientID:         mv.ClientID,
			clientHost:       mv.ClientHost,
			rebalanceTimeout: time.Duration(mv.RebalanceTimeout) * time.Millisecond,
			sessionTimeout:   time.Duration(max(mv.SessionTimeout, 0)) * time.Millisecond,
			protocolType:     v.ProtocolType,
			protocols:        []protocolEntry{{name: name, metadata: mv.Subscription}},
			assignment:       mv.Assignment,
		}
		if mv.RebalanceTimeout < 0 {
			m.rebalanceTimeout = m.sessionTimeout // version 0 has none
		}
		if mv.GroupInstanceID != nil {
			if _, taken := g.static[*mv.GroupInstanceID]; !taken {
				m.instanceID, m.static = *mv.GroupInstanceID, true
			}
		}
		m.deadline = now.Add(m.sessionTimeout)
		g.add(m)
	}
	if g.size() == 0 {
		g.state = stateEmpty
		g.leader = ""
	} else {
		g.state = stateStable
		if !g.has(g.leader) {
			g.leader = g.order[0]
		}
		if g.protocol == nil {
			g.protocol = ptr("")
		}
	}
	g.subscribed = g.computeSubscribed()
	return g
}
