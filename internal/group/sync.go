package group

import (
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// syncRequest is a SyncGroup as the state machine sees it.
type syncRequest struct {
	groupID      string
	memberID     string
	instanceID   *string
	generation   int32
	protocolType *string
	protocolName *string
	assignments  map[string][]byte // the leader's; others send none
}

// sync handles a SyncGroup; the answer goes to waiter, now or once the
// leader's assignment is stored.
func (s *shard) sync(now time.Time, req syncRequest, waiter uint64) {
	s.begin(now)
	g := s.groups[req.groupID]
	if g == nil {
		s.replySync(waiter, &syncResult{err: protocol.ErrUnknownMemberID})
		s.end(nil, now)
		return
	}
	if err := s.validateSync(g, req); err != protocol.ErrNone {
		s.replySync(waiter, &syncResult{err: err})
		s.end(g, now)
		return
	}
	m := g.members[req.memberID]
	switch g.state {
	case stateEmpty:
		s.replySync(waiter, &syncResult{err: protocol.ErrUnknownMemberID})
	case statePreparingRebalance:
		s.replySync(waiter, &syncResult{err: protocol.ErrRebalanceInProgress})
	case stateCompletingRebalance:
		if m.syncWaiter != 0 && m.syncWaiter != waiter {
			s.replySync(m.syncWaiter, &syncResult{err: protocol.ErrRebalanceInProgress})
		}
		m.syncWaiter = waiter
		s.removePendingSync(g, m.id)
		if m.id == g.leader {
			s.storeAssignment(g, req.assignments)
		}
	case stateStable:
		s.removePendingSync(g, m.id)
		s.replySync(waiter, &syncResult{
			protocolType: g.protocolTypePtr(),
			protocolName: g.protocolName(),
			assignment:   m.assignment,
		})
		m.deadline = now.Add(m.sessionTimeout)
	}
	s.end(g, now)
}

func (s *shard) validateSync(g *group, req syncRequest) protocol.ErrorCode {
	if g.is(stateDead) {
		return protocol.ErrCoordinatorNotAvailable
	}
	if err := g.validateMember(req.memberID, req.instanceID); err != protocol.ErrNone {
		return err
	}
	if req.generation != g.generation {
		return protocol.ErrIllegalGeneration
	}
	if req.protocolType != nil && (g.protocolType == "" || *req.protocolType != g.protocolType) {
		return protocol.ErrInconsistentGroupProtocol
	}
	if req.protocolName != nil && (g.protocol == nil || *req.protocolName != *g.protocol) {
		return protocol.ErrInconsistentGroupProtocol
	}
	return protocol.ErrNone
}

// storeAssignment writes the group metadata with the leader's assignment
// (an empty one for members it left out); members get their assignments
// once it is durable.
func (s *shard) storeAssignment(g *group, assignments map[string][]byte) {
	full := make(map[string][]byte, g.size())
	for id := range g.members {
		a, ok := assignments[id]
		if !ok || a == nil {
			a = []byte{}
		}
		full[id] = a
	}
	if len(full) != len(assignments) {
		s.log.Debug("leader assignment does not match the members", "group", g.id,
			"generation", g.generation, "members", g.size(), "assignments", len(assignments))
	}
	s.log.Info("assignment received from leader", "group", g.id, "generation", g.generation,
		"member_id", g.leader, "members", g.size())
	s.emit(&write{
		kind:       writeAssignment,
		group:      g.id,
		generation: g.generation,
		ops:        []op{g.metadataOp(full)},
		assignment: full,
	})
}

// assignmentStored completes the rebalance once the leader's assignment is
// durable, if the group is still in that generation's sync phase.
func (s *shard) assignmentStored(g *group, w *write, err protocol.ErrorCode, now time.Time) {
	if !g.is(stateCompletingRebalance) || g.generation != w.generation {
		return
	}
	if err != protocol.ErrNone {
		s.log.Warn("group assignment not stored", "group", g.id, "generation", g.generation, "error", err.Name())
		s.resetAssignment(g, err, now)
		s.maybePrepareRebalance(g, "assignment not stored", now)
		return
	}
	for _, m := range g.allMembers() {
		m.assignment = w.assignment[m.id]
	}
	g.transition(stateStable, now.UnixMilli())
	s.propagateAssignment(g, protocol.ErrNone, now)
}

// resetAssignment clears every assignment and answers waiting SyncGroups
// with err.
func (s *shard) resetAssignment(g *group, err protocol.ErrorCode, now time.Time) {
	for _, m := range g.members {
		m.assignment = nil
	}
	s.propagateAssignment(g, err, now)
}

// propagateAssignment answers every waiting SyncGroup; each such member's
// session restarts from now.
func (s *shard) propagateAssignment(g *group, err protocol.ErrorCode, now time.Time) {
	for _, m := range g.allMembers() {
		if m.syncWaiter == 0 {
			continue
		}
		r := &syncResult{err: err}
		if err == protocol.ErrNone {
			r.protocolType, r.protocolName, r.assignment = g.protocolTypePtr(), g.protocolName(), m.assignment
		}
		s.replySync(m.syncWaiter, r)
		m.syncWaiter = 0
		m.deadline = now.Add(m.sessionTimeout)
	}
}

func (s *shard) removePendingSync(g *group, id string) {
	delete(g.pendingSync, id)
	if len(g.pendingSync) == 0 {
		g.syncDeadline = time.Time{}
	}
}

// onSyncTimer removes the members that did not send a SyncGroup within
// the rebalance timeout after the join phase, and rebalances.
func (s *shard) onSyncTimer(g *group, now time.Time) {
	if g.syncGeneration != g.generation || !(g.is(stateCompletingRebalance) || g.is(stateStable)) {
		return
	}
	if len(g.pendingSync) == 0 {
		return
	}
	for _, m := range g.allMembers() {
		if g.pendingSync[m.id] {
			s.log.Info("member removed as it did not sync", "group", g.id, "member_id", m.id)
			s.dropMember(g, m)
		}
	}
	clear(g.pendingSync)
	s.maybePrepareRebalance(g, "members did not sync", now)
}

// heartbeat handles a Heartbeat.
func (s *shard) heartbeat(now time.Time, groupID, memberID string, instanceID *string, generation int32) protocol.ErrorCode {
	s.begin(now)
	g := s.groups[groupID]
	err := s.heartbeatLocked(g, memberID, instanceID, generation, now)
	s.end(g, now)
	return err
}

func (s *shard) heartbeatLocked(g *group, memberID string, instanceID *string, generation int32, now time.Time) protocol.ErrorCode {
	if g == nil {
		return protocol.ErrUnknownMemberID
	}
	if g.is(stateDead) {
		return protocol.ErrCoordinatorNotAvailable
	}
	if err := g.validateMember(memberID, instanceID); err != protocol.ErrNone {
		return err
	}
	if generation != g.generation {
		return protocol.ErrIllegalGeneration
	}
	m := g.members[memberID]
	switch g.state {
	case statePreparingRebalance:
		m.deadline = now.Add(m.sessionTimeout)
		return protocol.ErrRebalanceInProgress
	case stateCompletingRebalance, stateStable:
		// Members may heartbeat between their JoinGroup and SyncGroup.
		m.deadline = now.Add(m.sessionTimeout)
		return protocol.ErrNone
	}
	return protocol.ErrUnknownMemberID
}

// leaveMember names a member leaving the group, by member id or (with an
// empty member id) by instance id.
type leaveMember struct {
	memberID   string
	instanceID *string
	reason     string
}

// leave handles a LeaveGroup: a group-level error, else one per member.
func (s *shard) leave(now time.Time, groupID string, leaving []leaveMember) (protocol.ErrorCode, []protocol.ErrorCode) {
	s.begin(now)
	g := s.groups[groupID]
	errs := make([]protocol.ErrorCode, len(leaving))
	if g == nil {
		for i := range errs {
			errs[i] = protocol.ErrUnknownMemberID
		}
		s.end(nil, now)
		return protocol.ErrNone, errs
	}
	if g.is(stateDead) {
		s.end(g, now)
		return protocol.ErrCoordinatorNotAvailable, nil
	}
	for i, l := range leaving {
		switch {
		case l.memberID == "":
			// Administrative removal by instance id.
			id, ok := "", false
			if l.instanceID != nil {
				id, ok = g.static[*l.instanceID]
			}
			if !ok {
				errs[i] = protocol.ErrUnknownMemberID
				continue
			}
			s.removeMember(g, g.members[id], withReason("removed by instance id", l.reason), now)
		case g.isPending(l.memberID):
			s.removePending(g, l.memberID, now)
		default:
			if errs[i] = g.validateMember(l.memberID, l.instanceID); errs[i] == protocol.ErrNone {
				s.removeMember(g, g.members[l.memberID], withReason("left the group", l.reason), now)
			}
		}
	}
	s.end(g, now)
	return protocol.ErrNone, errs
}

// onSessionTimer fires when m's session or new-member join timeout ends.
func (s *shard) onSessionTimer(g *group, m *member, now time.Time) {
	if !m.isNew && (m.awaitingJoin() || m.awaitingSync()) {
		// Waiting on the group counts as alive; the session restarts
		// when the wait ends.
		return
	}
	s.log.Info("member session expired", "group", g.id, "member_id", m.id)
	s.removeMember(g, m, "session expired", now)
}

// dropMember removes m, answering its waiting requests with
// UNKNOWN_MEMBER_ID so that a client still waiting rejoins.
func (s *shard) dropMember(g *group, m *member) {
	if m.joinWaiter != 0 {
		s.replyJoin(m.joinWaiter, joinError("", protocol.ErrUnknownMemberID))
		g.setJoinWaiter(m, 0)
	}
	if m.syncWaiter != 0 {
		s.replySync(m.syncWaiter, &syncResult{err: protocol.ErrUnknownMemberID})
		m.syncWaiter = 0
	}
	g.remove(m.id)
}

// removeMember removes m and lets the group react: a rebalance, or the
// completion of the one under way.
func (s *shard) removeMember(g *group, m *member, reason string, now time.Time) {
	s.log.Info("member removed", "group", g.id, "member_id", m.id, "reason", reason)
	s.dropMember(g, m)
	switch g.state {
	case stateStable, stateCompletingRebalance:
		s.maybePrepareRebalance(g, reason, now)
	case statePreparingRebalance:
		s.tryCompleteJoin(g, now)
	}
}

// removePending forgets a member id handed out by MEMBER_ID_REQUIRED.
func (s *shard) removePending(g *group, id string, now time.Time) {
	delete(g.pending, id)
	if g.is(statePreparingRebalance) {
		s.tryCompleteJoin(g, now)
	}
}
