package group

import (
	"slices"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// groupState is the state of a classic group.
type groupState int8

const (
	stateEmpty groupState = iota
	statePreparingRebalance
	stateCompletingRebalance
	stateStable
	stateDead
)

// String returns Kafka's name of the state, as DescribeGroups and
// ListGroups report it.
func (s groupState) String() string {
	switch s {
	case stateEmpty:
		return "Empty"
	case statePreparingRebalance:
		return "PreparingRebalance"
	case stateCompletingRebalance:
		return "CompletingRebalance"
	case stateStable:
		return "Stable"
	case stateDead:
		return "Dead"
	}
	return "Unknown"
}

// consumerProtocolType is the protocol type of Kafka's consumers, whose
// member metadata the coordinator can read (for the subscribed topics).
const consumerProtocolType = "consumer"

// protocolEntry is one protocol a member supports, in its preference order.
type protocolEntry struct {
	name     string
	metadata []byte
}

// member is one member of a group.
type member struct {
	id               string
	instanceID       string // group.instance.id of a static member
	static           bool
	clientID         string
	clientHost       string
	rebalanceTimeout time.Duration
	sessionTimeout   time.Duration
	protocolType     string
	protocols        []protocolEntry
	assignment       []byte

	joinWaiter uint64 // nonzero while a JoinGroup awaits the rebalance
	syncWaiter uint64 // nonzero while a SyncGroup awaits the assignment
	// isNew is set until the member's first join completes; such a member
	// may wait at most newMemberJoinTimeout.
	isNew bool
	// deadline is when the member's session (or, while new, its join)
	// expires; zero when no expiry is armed.
	deadline time.Time
}

func (m *member) awaitingJoin() bool { return m.joinWaiter != 0 }
func (m *member) awaitingSync() bool { return m.syncWaiter != 0 }

// metadataFor returns the member's metadata for protocol name.
func (m *member) metadataFor(name string) []byte {
	for _, p := range m.protocols {
		if p.name == name {
			return p.metadata
		}
	}
	return nil
}

// matches reports whether protocols are the member's, in the same order
// with the same metadata.
func (m *member) matches(protocols []protocolEntry) bool {
	return slices.EqualFunc(m.protocols, protocols, func(a, b protocolEntry) bool {
		return a.name == b.name && string(a.metadata) == string(b.metadata)
	})
}

// vote returns the member's most preferred protocol among candidates.
func (m *member) vote(candidates map[string]bool) string {
	for _, p := range m.protocols {
		if candidates[p.name] {
			return p.name
		}
	}
	return ""
}

// group is one classic group: membership, rebalance progress, timers and
// committed offsets.
type group struct {
	id         string
	state      groupState
	stateTime  int64 // ms of the last state change; -1 unknown
	generation int32
	// protocolType is "" for a group that only stores offsets.
	protocolType string
	protocol     *string // selected protocol; nil when none
	leader       string  // "" when none

	members     map[string]*member
	order       []string          // member ids in the order they joined
	static      map[string]string // instance id -> member id
	pending     map[string]time.Time
	pendingSync map[string]bool
	numAwaiting int
	supported   map[string]int // protocol name -> members supporting it

	// newMemberAdded records a join during the initial delayed join of a
	// new group, which extends the delay.
	newMemberAdded bool
	joinDeadline   time.Time
	initialJoin    bool          // the join timer is an initial delayed join
	joinDelay      time.Duration // its current delay
	joinRemaining  time.Duration // how far it may still be extended
	syncDeadline   time.Time
	syncGeneration int32

	// subscribed lists the topics the members consume, when known
	// (consumer protocol only).
	subscribed map[string]bool

	offsets        map[topicPartition]offsetEntry
	pendingCommits map[topicPartition]int

	armed time.Time // earliest deadline registered with the shard's heap
}

func newGroup(id string, nowMs int64) *group {
	return &group{
		id:             id,
		state:          stateEmpty,
		stateTime:      nowMs,
		members:        map[string]*member{},
		static:         map[string]string{},
		pending:        map[string]time.Time{},
		pendingSync:    map[string]bool{},
		supported:      map[string]int{},
		offsets:        map[topicPartition]offsetEntry{},
		pendingCommits: map[topicPartition]int{},
	}
}

func (g *group) transition(s groupState, nowMs int64) {
	g.state = s
	g.stateTime = nowMs
}

func (g *group) is(s groupState) bool { return g.state == s }

func (g *group) has(id string) bool { _, ok := g.members[id]; return ok }

func (g *group) isPending(id string) bool { _, ok := g.pending[id]; return ok }

func (g *group) size() int { return len(g.members) }

// protocolName returns the selected protocol, or nil.
func (g *group) protocolName() *string { return g.protocol }

// protocolTypePtr returns the protocol type, or nil when the group has none.
func (g *group) protocolTypePtr() *string {
	if g.protocolType == "" {
		return nil
	}
	t := g.protocolType
	return &t
}

// rebalanceTimeout is the longest rebalance timeout of the members.
func (g *group) rebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// allMembers returns the members in join order.
func (g *group) allMembers() []*member {
	out := make([]*member, 0, len(g.order))
	for _, id := range g.order {
		out = append(out, g.members[id])
	}
	return out
}

// supportsProtocols is Kafka's check that a joining member fits the group:
// any non-empty type and protocol list while the group is Empty, otherwise
// the group's type and at least one protocol every member supports.
func (g *group) supportsProtocols(protocolType string, protocols []protocolEntry) bool {
	if g.is(stateEmpty) {
		return protocolType != "" && len(protocols) > 0
	}
	if g.protocolType != protocolType {
		return false
	}
	for _, p := range protocols {
		if g.supportCount(p.name) == len(g.members) {
			return true
		}
	}
	return false
}

// supportCount is how many members support protocol name.
func (g *group) supportCount(name string) int { return g.supported[name] }

// countProtocols adds delta to the support counts of m's protocols (each
// name once, however often the member lists it).
func (g *group) countProtocols(m *member, delta int) {
	for i, p := range m.protocols {
		dup := false
		for _, q := range m.protocols[:i] {
			dup = dup || q.name == p.name
		}
		if dup {
			continue
		}
		if g.supported[p.name] += delta; g.supported[p.name] <= 0 {
			delete(g.supported, p.name)
		}
	}
}

// updateMember replaces m's protocols and timeouts and sets its pending
// JoinGroup (0 for none).
func (g *group) updateMember(m *member, protocols []protocolEntry, rebalance, session time.Duration, waiter uint64) {
	g.countProtocols(m, -1)
	m.protocols = protocols
	g.countProtocols(m, +1)
	m.rebalanceTimeout = rebalance
	m.sessionTimeout = session
	g.setJoinWaiter(m, waiter)
}

// candidates returns the protocols every member supports.
func (g *group) candidates() map[string]bool {
	c := map[string]bool{}
	for name, n := range g.supported {
		if n == len(g.members) {
			c[name] = true
		}
	}
	return c
}

// selectProtocol picks the protocol for the next generation, as Kafka's
// selectProtocol does: each member votes for its most preferred protocol
// among those every member supports, and the most votes win. Kafka breaks
// ties arbitrarily; here the leader's preference order breaks them (then
// the first member's), so the choice is deterministic.
func (g *group) selectProtocol() string {
	cands := g.candidates()
	votes := map[string]int{}
	for _, m := range g.allMembers() {
		if v := m.vote(cands); v != "" {
			votes[v]++
		}
	}
	var pref []protocolEntry
	if l, ok := g.members[g.leader]; ok {
		pref = l.protocols
	} else if len(g.order) > 0 {
		pref = g.members[g.order[0]].protocols
	}
	best, bestVotes := "", 0
	for _, p := range pref {
		if n := votes[p.name]; n > bestVotes {
			best, bestVotes = p.name, n
		}
	}
	return best
}

// add adds m to the group, possibly making it the leader.
func (g *group) add(m *member) {
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	if g.leader == "" {
		g.leader = m.id
	}
	if m.static {
		g.static[m.instanceID] = m.id
	}
	g.members[m.id] = m
	g.order = append(g.order, m.id)
	g.countProtocols(m, +1)
	if m.awaitingJoin() {
		g.numAwaiting++
	}
	delete(g.pending, m.id)
}

// remove drops member id; a new leader is the earliest joined member left.
func (g *group) remove(id string) {
	m, ok := g.members[id]
	if !ok {
		return
	}
	delete(g.members, id)
	g.countProtocols(m, -1)
	g.order = slices.DeleteFunc(g.order, func(s string) bool { return s == id })
	if m.awaitingJoin() {
		g.numAwaiting--
	}
	if m.static && g.static[m.instanceID] == id {
		delete(g.static, m.instanceID)
	}
	delete(g.pendingSync, id)
	if g.leader == id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
}

// setJoinWaiter sets or clears (0) the member's pending JoinGroup.
func (g *group) setJoinWaiter(m *member, w uint64) {
	if w != 0 && !m.awaitingJoin() {
		g.numAwaiting++
	} else if w == 0 && m.awaitingJoin() {
		g.numAwaiting--
	}
	m.joinWaiter = w
}

// hasAllMembersJoined reports whether every member has rejoined and no
// member id handed out is still outstanding.
func (g *group) hasAllMembersJoined() bool {
	return len(g.members) == g.numAwaiting && len(g.pending) == 0
}

// joinedMembers returns the members of the generation as the leader sees
// them in its JoinGroup response.
func (g *group) joinedMembers() []joinMember {
	out := make([]joinMember, 0, len(g.order))
	name := ""
	if g.protocol != nil {
		name = *g.protocol
	}
	for _, m := range g.allMembers() {
		jm := joinMember{id: m.id, metadata: m.metadataFor(name)}
		if m.static {
			jm.instanceID = ptr(m.instanceID)
		}
		out = append(out, jm)
	}
	return out
}

// validateMember is Kafka's validateCurrentMember: with an instance id,
// it must map to memberID (FENCED_INSTANCE_ID when it maps to another
// member, UNKNOWN_MEMBER_ID when to none); without, memberID must exist.
func (g *group) validateMember(memberID string, instanceID *string) protocol.ErrorCode {
	if instanceID != nil {
		cur, ok := g.static[*instanceID]
		switch {
		case !ok:
			return protocol.ErrUnknownMemberID
		case cur != memberID:
			return protocol.ErrFencedInstanceID
		}
		return protocol.ErrNone
	}
	if !g.has(memberID) {
		return protocol.ErrUnknownMemberID
	}
	return protocol.ErrNone
}

// nextDeadline is the earliest armed timer of the group, zero if none.
func (g *group) nextDeadline() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	consider(g.joinDeadline)
	consider(g.syncDeadline)
	for _, t := range g.pending {
		consider(t)
	}
	for _, m := range g.members {
		consider(m.deadline)
	}
	return next
}

func ptr[T any](v T) *T { return &v }
