package group

import (
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// Static membership (KIP-345): a member that names a group.instance.id
// keeps its place in the group across restarts. A restarted instance
// joins without a member id and takes over the old member's place under a
// new id; whoever still uses the old id is fenced.

// staticJoin remembers what a static member's replacement in a Stable
// group changed, to answer it, or undo it, when the metadata is stored.
type staticJoin struct {
	instanceID     string
	oldID, newID   string
	oldProtocols   []protocolEntry
	oldRebalance   time.Duration
	oldSession     time.Duration
	leaderBefore   string
	skipAssignment bool
}

// replaceStaticMember gives the static member of req's instance id the new
// member id, fencing whoever used the old one (KIP-345). In a Stable group
// whose protocol would not change the member rejoins without a rebalance
// once the group metadata naming it is stored.
func (s *shard) replaceStaticMember(g *group, req joinRequest, oldID, newID string, waiter uint64, now time.Time) {
	leaderBefore := g.leader
	m := g.members[oldID]
	sj := &staticJoin{
		instanceID:     *req.instanceID,
		oldID:          oldID,
		newID:          newID,
		oldProtocols:   m.protocols,
		oldRebalance:   m.rebalanceTimeout,
		oldSession:     m.sessionTimeout,
		leaderBefore:   leaderBefore,
		skipAssignment: req.supportSkipAssignment,
	}
	s.renameStaticMember(g, sj.instanceID, oldID, newID)
	m.deadline = now.Add(m.sessionTimeout)
	g.updateMember(m, req.protocols, req.rebalanceTimeout, req.sessionTimeout, waiter)
	switch g.state {
	case stateStable:
		if g.protocol != nil && g.selectProtocol() == *g.protocol {
			assignment := map[string][]byte{}
			for _, mm := range g.members {
				assignment[mm.id] = mm.assignment
			}
			s.emit(&write{
				kind:       writeStaticJoin,
				group:      g.id,
				generation: g.generation,
				waiter:     waiter,
				ops:        []op{g.metadataOp(assignment)},
				static:     sj,
			})
			return
		}
		s.maybePrepareRebalance(g, "static member changed the protocol", now)
	case stateCompletingRebalance:
		// The leader may already be assigning to the old member id.
		s.prepareRebalance(g, "static member rejoined during sync", now)
	case statePreparingRebalance:
	default:
		s.maybePrepareRebalance(g, "static member rejoined", now)
	}
}

// renameStaticMember moves a member from oldID to newID, answering any
// request still waiting under the old id with FENCED_INSTANCE_ID.
func (s *shard) renameStaticMember(g *group, instanceID, oldID, newID string) *member {
	m := g.members[oldID]
	if m.joinWaiter != 0 {
		s.replyJoin(m.joinWaiter, joinError(oldID, protocol.ErrFencedInstanceID))
		g.setJoinWaiter(m, 0)
	}
	if m.syncWaiter != 0 {
		s.replySync(m.syncWaiter, &syncResult{err: protocol.ErrFencedInstanceID})
		m.syncWaiter = 0
	}
	delete(g.members, oldID)
	m.id = newID
	g.members[newID] = m
	for i, id := range g.order {
		if id == oldID {
			g.order[i] = newID
		}
	}
	if g.leader == oldID {
		g.leader = newID
	}
	if g.pendingSync[oldID] {
		delete(g.pendingSync, oldID)
		g.pendingSync[newID] = true
	}
	g.static[instanceID] = newID
	return m
}

// staticJoinStored completes replaceStaticMember once its metadata write
// is done: the member gets the current generation, or, if the write
// failed, the replacement is undone and the member gets the error.
func (s *shard) staticJoinStored(g *group, w *write, err protocol.ErrorCode, now time.Time) {
	sj := w.static
	m := g.members[sj.newID]
	if m == nil || m.joinWaiter != w.waiter || !g.is(stateStable) {
		return // superseded; a rebalance answers the member
	}
	if err != protocol.ErrNone {
		s.log.Warn("static member replacement not stored", "group", g.id, "instance_id", sj.instanceID, "error", err.Name())
		g.updateMember(m, sj.oldProtocols, sj.oldRebalance, sj.oldSession, 0)
		s.renameStaticMember(g, sj.instanceID, sj.newID, sj.oldID)
		m.deadline = now.Add(m.sessionTimeout)
		r := joinError("", err)
		r.generation, r.protocolType, r.protocolName, r.leader = g.generation, g.protocolTypePtr(), g.protocolName(), sj.leaderBefore
		s.replyJoin(w.waiter, r)
		return
	}
	g.setJoinWaiter(m, 0)
	if sj.skipAssignment {
		// v9+: the leader learns it leads but skips assigning, as the
		// group stays Stable.
		isLeader := g.leader == m.id
		r := s.generationResult(g, m, isLeader)
		r.skipAssignment = isLeader
		s.replyJoin(w.waiter, r)
		return
	}
	// Before v9 the old leader id is returned so that a static leader does
	// not assign: a Stable group would ignore its assignment.
	r := s.generationResult(g, m, false)
	r.leader = sj.leaderBefore
	s.replyJoin(w.waiter, r)
}
