package group

import (
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// joinRequest is a JoinGroup as the state machine sees it.
type joinRequest struct {
	groupID          string
	memberID         string
	instanceID       *string
	clientID         string
	clientHost       string
	protocolType     string
	protocols        []protocolEntry
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	// requireKnownMemberID: JoinGroup v4+ from a dynamic member, which
	// must first obtain its member id (KIP-394).
	requireKnownMemberID bool
	// supportSkipAssignment: JoinGroup v9+ (KIP-814).
	supportSkipAssignment bool
	reason                string
}

// join handles a JoinGroup; the answer goes to waiter, now or when the
// rebalance completes.
func (s *shard) join(now time.Time, req joinRequest, waiter uint64) {
	s.begin(now)
	if req.sessionTimeout < s.cfg.MinSessionTimeout || req.sessionTimeout > s.cfg.MaxSessionTimeout {
		s.replyJoin(waiter, joinError(req.memberID, protocol.ErrInvalidSessionTimeout))
		s.end(nil, now)
		return
	}
	req.rebalanceTimeout = max(req.rebalanceTimeout, 0)
	unknown := req.memberID == ""
	g := s.groups[req.groupID]
	if g == nil {
		if !unknown {
			s.replyJoin(waiter, joinError(req.memberID, protocol.ErrUnknownMemberID))
			s.end(nil, now)
			return
		}
		g = newGroup(req.groupID, now.UnixMilli())
		s.groups[req.groupID] = g
	}
	switch {
	case !s.acceptJoining(g, req.memberID):
		// The member, if it was one, is out of the group: at most
		// group.max.size members may be (re)joining.
		if m, ok := g.members[req.memberID]; ok {
			s.dropMember(g, m)
		}
		delete(g.pending, req.memberID)
		s.replyJoin(waiter, joinError("", protocol.ErrGroupMaxSizeReached))
	case unknown:
		s.joinNewMember(g, req, waiter, now)
	default:
		s.joinCurrentMember(g, req, waiter, now)
	}
	if g.is(statePreparingRebalance) {
		s.tryCompleteJoin(g, now)
	}
	s.end(g, now)
}

// acceptJoining is Kafka's acceptJoiningMember: an Empty group takes
// anyone; during PreparingRebalance a member already rejoining is taken and
// others while fewer than group.max.size are rejoining; otherwise known
// members are taken, and new ones while the group is below the limit.
func (s *shard) acceptJoining(g *group, memberID string) bool {
	switch g.state {
	case statePreparingRebalance:
		if m, ok := g.members[memberID]; ok && m.awaitingJoin() {
			return true
		}
		return g.numAwaiting < s.cfg.MaxSize
	case stateCompletingRebalance, stateStable:
		return g.has(memberID) || g.size() < s.cfg.MaxSize
	}
	return true
}

func (s *shard) joinNewMember(g *group, req joinRequest, waiter uint64, now time.Time) {
	if g.is(stateDead) {
		s.replyJoin(waiter, joinError("", protocol.ErrCoordinatorNotAvailable))
		return
	}
	if !g.supportsProtocols(req.protocolType, req.protocols) {
		s.replyJoin(waiter, joinError("", protocol.ErrInconsistentGroupProtocol))
		return
	}
	prefix := req.clientID
	if req.instanceID != nil {
		prefix = *req.instanceID
	}
	newID := prefix + "-" + s.newID()
	if req.instanceID != nil {
		if oldID, ok := g.static[*req.instanceID]; ok {
			s.log.Info("static member rejoined with a new member id", "group", g.id,
				"instance_id", *req.instanceID, "old_member_id", oldID, "member_id", newID)
			s.replaceStaticMember(g, req, oldID, newID, waiter, now)
			return
		}
		s.addMember(g, req, newID, waiter, now)
		return
	}
	if req.requireKnownMemberID {
		g.pending[newID] = now.Add(req.sessionTimeout)
		s.replyJoin(waiter, joinError(newID, protocol.ErrMemberIDRequired))
		return
	}
	s.addMember(g, req, newID, waiter, now)
}

func (s *shard) joinCurrentMember(g *group, req joinRequest, waiter uint64, now time.Time) {
	if g.is(stateDead) {
		s.replyJoin(waiter, joinError(req.memberID, protocol.ErrCoordinatorNotAvailable))
		return
	}
	if !g.supportsProtocols(req.protocolType, req.protocols) {
		s.replyJoin(waiter, joinError(req.memberID, protocol.ErrInconsistentGroupProtocol))
		return
	}
	if g.isPending(req.memberID) && req.instanceID == nil {
		s.addMember(g, req, req.memberID, waiter, now)
		return
	}
	if err := g.validateMember(req.memberID, req.instanceID); err != protocol.ErrNone {
		s.replyJoin(waiter, joinError(req.memberID, err))
		return
	}
	m := g.members[req.memberID]
	switch g.state {
	case statePreparingRebalance:
		s.updateMemberAndRebalance(g, m, req, waiter, withReason("member rejoined during rebalance", req.reason), now)
	case stateCompletingRebalance:
		if m.matches(req.protocols) {
			// A repeated join (the first response was lost): answer with
			// the current generation.
			s.replyJoin(waiter, s.generationResult(g, m, m.id == g.leader))
			return
		}
		s.updateMemberAndRebalance(g, m, req, waiter, withReason("member metadata changed", req.reason), now)
	case stateStable:
		if m.id == g.leader || !m.matches(req.protocols) {
			// The leader rejoins to trigger a rebalance (topic metadata
			// changed); a follower with new metadata needs one too.
			s.updateMemberAndRebalance(g, m, req, waiter, withReason("leader or changed member rejoined", req.reason), now)
			return
		}
		s.replyJoin(waiter, s.generationResult(g, m, false))
	default:
		s.replyJoin(waiter, joinError(req.memberID, protocol.ErrUnknownMemberID))
	}
}

// generationResult is the JoinGroup answer of the current generation for
// m, listing the members when withMembers.
func (s *shard) generationResult(g *group, m *member, withMembers bool) *joinResult {
	r := &joinResult{
		memberID:     m.id,
		generation:   g.generation,
		protocolType: g.protocolTypePtr(),
		protocolName: g.protocolName(),
		leader:       g.leader,
	}
	if withMembers {
		r.members = g.joinedMembers()
	}
	return r
}

// addMember adds a member that has joined with memberID and rebalances.
func (s *shard) addMember(g *group, req joinRequest, memberID string, waiter uint64, now time.Time) {
	m := &member{
		id:               memberID,
		clientID:         req.clientID,
		clientHost:       req.clientHost,
		rebalanceTimeout: req.rebalanceTimeout,
		sessionTimeout:   req.sessionTimeout,
		protocolType:     req.protocolType,
		protocols:        req.protocols,
		joinWaiter:       waiter,
		isNew:            true,
		// Until its first join completes the member cannot heartbeat;
		// this bounds how long it may stay without rejoining.
		deadline: now.Add(newMemberJoinTimeout),
	}
	if req.instanceID != nil {
		m.instanceID, m.static = *req.instanceID, true
	}
	if g.is(statePreparingRebalance) && g.generation == 0 {
		g.newMemberAdded = true
	}
	g.add(m)
	s.log.Info("member joined", "group", g.id, "member_id", memberID, "client_id", req.clientID)
	s.maybePrepareRebalance(g, withReason("member joined", req.reason), now)
}

func (s *shard) updateMemberAndRebalance(g *group, m *member, req joinRequest, waiter uint64, reason string, now time.Time) {
	if m.joinWaiter != 0 && m.joinWaiter != waiter {
		// An earlier JoinGroup of the same member is superseded.
		s.replyJoin(m.joinWaiter, joinError(m.id, protocol.ErrRebalanceInProgress))
	}
	g.updateMember(m, req.protocols, req.rebalanceTimeout, req.sessionTimeout, waiter)
	s.maybePrepareRebalance(g, reason, now)
}

// maybePrepareRebalance starts a rebalance unless one is under way.
func (s *shard) maybePrepareRebalance(g *group, reason string, now time.Time) {
	switch g.state {
	case stateStable, stateCompletingRebalance, stateEmpty:
		s.prepareRebalance(g, reason, now)
	}
}

// prepareRebalance moves g to PreparingRebalance. Members waiting for an
// assignment are told to rejoin. A group coming from Empty waits
// group.initial.rebalance.delay for more members (Kafka's
// InitialDelayedJoin); otherwise the join completes once every member has
// rejoined, or after the rebalance timeout.
func (s *shard) prepareRebalance(g *group, reason string, now time.Time) {
	if g.is(stateCompletingRebalance) {
		s.resetAssignment(g, protocol.ErrRebalanceInProgress, now)
	}
	g.syncDeadline = time.Time{}
	if g.is(stateEmpty) {
		g.initialJoin = true
		g.joinDelay = s.cfg.InitialRebalanceDelay
		g.joinRemaining = max(g.rebalanceTimeout()-s.cfg.InitialRebalanceDelay, 0)
		g.joinDeadline = now.Add(g.joinDelay)
	} else {
		g.initialJoin = false
		g.joinDeadline = now.Add(g.rebalanceTimeout())
	}
	s.log.Info("preparing to rebalance group", "group", g.id, "state", g.state.String(),
		"generation", g.generation, "reason", reason)
	g.transition(statePreparingRebalance, now.UnixMilli())
	s.tryCompleteJoin(g, now)
}

// tryCompleteJoin completes the join phase once every member has rejoined
// (never early during an initial delayed join).
func (s *shard) tryCompleteJoin(g *group, now time.Time) {
	if g.is(statePreparingRebalance) && !g.initialJoin && g.hasAllMembersJoined() {
		s.completeJoin(g, now)
	}
}

// onJoinTimer fires when the join phase's delay ends.
func (s *shard) onJoinTimer(g *group, now time.Time) {
	if !g.is(statePreparingRebalance) {
		return
	}
	if g.initialJoin && g.newMemberAdded && g.joinRemaining != 0 {
		// Members kept arriving: wait another delay, within the
		// rebalance timeout.
		g.newMemberAdded = false
		delay := min(s.cfg.InitialRebalanceDelay, g.joinRemaining)
		g.joinRemaining = max(g.joinRemaining-g.joinDelay, 0)
		g.joinDelay = delay
		g.joinDeadline = now.Add(delay)
		return
	}
	s.completeJoin(g, now)
}

// completeJoin ends the join phase: dynamic members that did not rejoin
// are removed, and the next generation starts with the rejoined members
// (Kafka's onCompleteJoin).
func (s *shard) completeJoin(g *group, now time.Time) {
	g.joinDeadline, g.initialJoin = time.Time{}, false
	for _, m := range g.allMembers() {
		if !m.awaitingJoin() && !m.static {
			s.log.Info("member removed as it did not rejoin", "group", g.id, "member_id", m.id)
			s.dropMember(g, m)
		}
	}
	if g.is(stateDead) {
		return
	}
	if !s.electJoinedLeader(g) && g.size() > 0 {
		// Only static members that have not rejoined are left: wait for
		// them, or for their sessions to end.
		s.log.Warn("rebalance incomplete as no member rejoined", "group", g.id)
		g.joinDeadline = now.Add(max(g.rebalanceTimeout(), minRejoinWait))
		return
	}
	g.initNextGeneration(now)
	s.out.rebalances++
	if g.is(stateEmpty) {
		s.log.Info("group is empty", "group", g.id, "generation", g.generation)
		s.emit(&write{kind: writeGroup, group: g.id, generation: g.generation, ops: []op{g.metadataOp(nil)}})
		return
	}
	s.log.Info("group stabilized", "group", g.id, "generation", g.generation, "members", g.size(),
		"protocol", *g.protocol)
	for _, m := range g.allMembers() {
		if m.awaitingJoin() {
			s.replyJoin(m.joinWaiter, s.generationResult(g, m, m.id == g.leader))
			g.setJoinWaiter(m, 0)
		}
		m.deadline = now.Add(m.sessionTimeout)
		m.isNew = false
	}
	for _, m := range g.members {
		g.pendingSync[m.id] = true
	}
	g.syncGeneration = g.generation
	g.syncDeadline = now.Add(g.rebalanceTimeout())
}

// electJoinedLeader keeps the leader if it rejoined, else makes the
// earliest rejoined member the leader; false if nobody rejoined.
func (s *shard) electJoinedLeader(g *group) bool {
	if g.leader == "" {
		return false
	}
	if l := g.members[g.leader]; l != nil && l.awaitingJoin() {
		return true
	}
	for _, m := range g.allMembers() {
		if m.awaitingJoin() {
			g.leader = m.id
			return true
		}
	}
	return false
}

// initNextGeneration bumps the generation and selects its protocol. Its
// caller counts the generation in the shard's effects (rebalances).
func (g *group) initNextGeneration(now time.Time) {
	g.generation++
	if g.size() > 0 {
		g.protocol = ptr(g.selectProtocol())
		g.subscribed = g.computeSubscribed()
		g.transition(stateCompletingRebalance, now.UnixMilli())
	} else {
		g.protocol = nil
		g.subscribed = g.computeSubscribed()
		g.transition(stateEmpty, now.UnixMilli())
	}
	clear(g.pendingSync)
	g.syncDeadline = time.Time{}
}

// withReason appends the reason a client gave (JoinGroup v8+, LeaveGroup
// v5+) to ours.
func withReason(what, client string) string {
	if client == "" {
		return what
	}
	return what + "; client reason: " + client
}
