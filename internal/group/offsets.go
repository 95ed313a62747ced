package group

import (
	"encoding/binary"
	"maps"
	"slices"
	"time"
	"unicode/utf16"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// commitOffset is one partition of an OffsetCommit.
type commitOffset struct {
	tp          topicPartition
	offset      int64
	leaderEpoch int32
	metadata    *string
	commitTime  int64 // ms; -1: now (only v1 sends one)
}

// commitRequest is an OffsetCommit as the state machine sees it.
type commitRequest struct {
	groupID    string
	memberID   string
	instanceID *string
	generation int32
	// retentionMs is the commit's own retention (v2-4); -1: the
	// broker's offsets.retention applies.
	retentionMs int64
	offsets     []commitOffset
}

// commitDecision is the immediate outcome of an OffsetCommit: an error for
// every partition (err), or per-partition OFFSET_METADATA_TOO_LARGE
// (tooLarge) and, when waiting, the error of the write for the others,
// which the waiter receives once the write is done.
type commitDecision struct {
	err      protocol.ErrorCode
	tooLarge []bool
	waiting  bool
}

// commit handles an OffsetCommit.
func (s *shard) commit(now time.Time, req commitRequest, waiter uint64) commitDecision {
	s.begin(now)
	g := s.groups[req.groupID]
	d := s.commitLocked(g, req, waiter, now)
	s.end(s.groups[req.groupID], now)
	return d
}

func (s *shard) commitLocked(g *group, req commitRequest, waiter uint64, now time.Time) commitDecision {
	if g == nil {
		if req.generation >= 0 {
			// A member of a generation this coordinator does not know.
			return commitDecision{err: protocol.ErrIllegalGeneration}
		}
		// Generation -1 commits to a group that does not exist yet,
		// whatever member or instance id it names (librdkafka sends its
		// group.instance.id with assign()'s commits), as in Kafka.
	} else if err := s.validateCommit(g, req, now); err != protocol.ErrNone {
		return commitDecision{err: err}
	}
	d := commitDecision{tooLarge: make([]bool, len(req.offsets))}
	nowMs := now.UnixMilli()
	var ops []op
	var keys []topicPartition
	for i, c := range req.offsets {
		md := ""
		if c.metadata != nil {
			md = *c.metadata
		}
		if utf16Len(md) > s.cfg.MaxMetadataBytes {
			d.tooLarge[i] = true
			continue
		}
		e := offsetEntry{offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: md, commitTime: nowMs, expireTime: -1}
		if c.commitTime != -1 {
			e.commitTime = c.commitTime
		}
		if req.retentionMs != -1 {
			// Written as OffsetCommitValue version 1, which has no
			// leader epoch (nor do the requests that set a retention).
			e.expireTime = max(nowMs+req.retentionMs, 0)
			e.leaderEpoch = -1
		}
		ops = append(ops, op{group: req.groupID, tp: c.tp, offset: &e})
		keys = append(keys, c.tp)
	}
	if len(ops) == 0 {
		return d
	}
	if g == nil {
		// A group that only stores offsets (no members), created by its
		// first commit.
		g = newGroup(req.groupID, nowMs)
		s.groups[req.groupID] = g
	}
	for _, k := range keys {
		g.pendingCommits[k]++
	}
	s.emit(&write{kind: writeCommit, group: g.id, generation: g.generation, waiter: waiter, ops: ops, keys: keys})
	d.waiting = true
	return d
}

// validateCommit is Kafka's validateOffsetCommit plus its state checks:
// generation -1 commits to an Empty group; otherwise a member needs the
// current generation, and a commit without member identity is allowed
// only while the group is Empty.
func (s *shard) validateCommit(g *group, req commitRequest, now time.Time) protocol.ErrorCode {
	if g.is(stateDead) {
		return protocol.ErrCoordinatorNotAvailable
	}
	if req.generation < 0 && g.is(stateEmpty) {
		// As Kafka: generation -1 (an admin client, or a consumer that
		// does not use the group's management) commits to an Empty group
		// whatever member or instance id it names.
		return protocol.ErrNone
	}
	if req.generation < 0 && req.memberID == "" && req.instanceID == nil {
		// Without member identity (so generation -1) only an Empty group
		// takes commits, and it took this one above.
		return protocol.ErrUnknownMemberID
	}
	if err := g.validateMember(req.memberID, req.instanceID); err != protocol.ErrNone {
		return err
	}
	if req.generation != g.generation {
		return protocol.ErrIllegalGeneration
	}
	switch g.state {
	case stateStable, statePreparingRebalance:
		// A commit counts as a sign of life; during PreparingRebalance
		// the heartbeat response tells the member to rejoin.
		m := g.members[req.memberID]
		m.deadline = now.Add(m.sessionTimeout)
	case stateCompletingRebalance:
		// The member knows the new generation but has no assignment yet.
		return protocol.ErrRebalanceInProgress
	}
	return protocol.ErrNone
}

// utf16Len is the length of s as Java counts it (offset.metadata.max.bytes
// is checked against String.length()).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// fetchedOffset is one partition of an OffsetFetch answer.
type fetchedOffset struct {
	tp          topicPartition
	offset      int64 // -1: none committed
	leaderEpoch int32
	metadata    string
	err         protocol.ErrorCode
}

// fetch returns the committed offsets of tps, or all of the group's
// (sorted) when all is set. A partition without an offset answers -1.
// With stable (OffsetFetch's RequireStable, which the Java consumer
// always sets), a partition with a commit still being written answers
// UNSTABLE_OFFSET_COMMIT, which the client retries, rather than the
// offset that commit is about to replace, as Kafka's coordinator does.
func (s *shard) fetch(now time.Time, groupID string, tps []topicPartition, all, stable bool) []fetchedOffset {
	s.begin(now)
	defer s.end(nil, now)
	g := s.groups[groupID]
	if g != nil && g.is(stateDead) {
		g = nil
	}
	if all {
		if g == nil {
			return nil
		}
		tps = make([]topicPartition, 0, len(g.offsets))
		for tp := range g.offsets {
			tps = append(tps, tp)
		}
		slices.SortFunc(tps, compareTP)
	}
	out := make([]fetchedOffset, 0, len(tps))
	for _, tp := range tps {
		f := fetchedOffset{tp: tp, offset: -1, leaderEpoch: -1}
		if g != nil {
			if stable && g.pendingCommits[tp] > 0 {
				f.err = protocol.ErrUnstableOffsetCommit
			} else if e, ok := g.offsets[tp]; ok {
				f.offset, f.leaderEpoch, f.metadata = e.offset, e.leaderEpoch, e.metadata
			}
		}
		out = append(out, f)
	}
	return out
}

func compareTP(a, b topicPartition) int {
	if a.topic != b.topic {
		if a.topic < b.topic {
			return -1
		}
		return 1
	}
	return int(a.partition) - int(b.partition)
}

// deleteOffsets handles an OffsetDelete: a group-level error, or one per
// partition; when waiting, the partitions without an error get the write's
// error, sent to waiter.
func (s *shard) deleteOffsets(now time.Time, groupID string, tps []topicPartition, waiter uint64) (protocol.ErrorCode, []protocol.ErrorCode, bool) {
	s.begin(now)
	g := s.groups[groupID]
	defer s.end(g, now)
	if g == nil || g.is(stateDead) {
		return protocol.ErrGroupIDNotFound, nil, false
	}
	errs := make([]protocol.ErrorCode, len(tps))
	switch {
	case g.is(stateEmpty):
	case g.protocolType == consumerProtocolType:
		for i, tp := range tps {
			// An unknown subscription (metadata that does not parse)
			// counts as subscribed, to be safe, as in Kafka.
			if g.subscribed == nil || g.subscribed[tp.topic] {
				errs[i] = protocol.ErrGroupSubscribedToTopic
			}
		}
	default:
		return protocol.ErrNonEmptyGroup, nil, false
	}
	var ops []op
	seen := map[topicPartition]bool{}
	for i, tp := range tps {
		if errs[i] != protocol.ErrNone || seen[tp] {
			continue
		}
		seen[tp] = true
		if _, ok := g.offsets[tp]; ok {
			ops = append(ops, op{group: g.id, tp: tp})
		}
	}
	if len(ops) == 0 {
		return protocol.ErrNone, errs, false
	}
	ops = append(ops, s.maybeRetire(g, len(ops))...)
	s.emit(&write{kind: writeOffsetDelete, group: g.id, generation: g.generation, waiter: waiter, ops: ops})
	return protocol.ErrNone, errs, true
}

// maybeRetire marks an Empty group whose offsets are all about to go
// (removing of them) Dead, returning the tombstone of its metadata if it
// ever had a generation. The group leaves the map once the write is done.
func (s *shard) maybeRetire(g *group, removing int) []op {
	if !g.is(stateEmpty) || len(g.pending) > 0 || len(g.pendingCommits) > 0 || len(g.offsets) > removing {
		return nil
	}
	s.log.Info("group is dead", "group", g.id, "generation", g.generation)
	g.state = stateDead
	if g.generation > 0 {
		return []op{{group: g.id, isGroup: true}}
	}
	return nil
}

// expire runs the offsets retention check over every group: expired
// offsets get tombstones, and an Empty group left without offsets is
// deleted.
func (s *shard) expire(now time.Time) {
	nowMs := now.UnixMilli()
	total := 0
	for _, id := range slices.Sorted(maps.Keys(s.groups)) {
		g := s.groups[id]
		if g.is(stateDead) {
			continue
		}
		expired := g.expiredOffsets(nowMs, s.cfg.OffsetsRetention.Milliseconds())
		total += len(expired)
		if !s.removeOffsets(g, expired) && g.is(stateDead) {
			delete(s.groups, id)
		}
	}
	if total > 0 {
		s.log.Info("expired offsets", "offsets", total)
	}
}

// deleteTopics removes every group's offsets of the deleted topics (as
// Kafka's coordinator does when partitions are deleted): a recreated
// topic of the same name must not resume at the old offsets. An Empty
// group left without offsets is deleted.
func (s *shard) deleteTopics(topics map[string]bool) {
	for _, id := range slices.Sorted(maps.Keys(s.groups)) {
		g := s.groups[id]
		if g.is(stateDead) {
			continue
		}
		var gone []topicPartition
		for tp := range g.offsets {
			if topics[tp.topic] {
				gone = append(gone, tp)
			}
		}
		if len(gone) == 0 {
			continue
		}
		slices.SortFunc(gone, compareTP)
		s.removeOffsets(g, gone)
		s.log.Info("deleted offsets of deleted topics", "group", id, "offsets", len(gone))
	}
}

// removeOffsets writes tombstones for g's offsets of tps, with the group's
// own if that leaves an Empty group without offsets (maybeRetire), and
// reports whether it wrote anything.
func (s *shard) removeOffsets(g *group, tps []topicPartition) bool {
	ops := make([]op, 0, len(tps)+1)
	for _, tp := range tps {
		ops = append(ops, op{group: g.id, tp: tp})
	}
	ops = append(ops, s.maybeRetire(g, len(tps))...)
	if len(ops) == 0 {
		return false
	}
	s.emit(&write{kind: writeExpire, group: g.id, generation: g.generation, ops: ops})
	return true
}

// expiredOffsets returns the offsets of g past retention, as Kafka ≥ 2.1
// decides: in an Empty group, retention counts from when it became Empty
// (or from the commit, if that time is unknown); in a Stable consumer
// group that knows its subscription, offsets of topics it no longer
// consumes count from their commit; offsets of a group without a protocol
// (simple consumers) count from their commit. An offset committed with an
// explicit retention (v2-4) expires at its own time. Offsets with a commit
// in flight never expire.
func (g *group) expiredOffsets(nowMs, retentionMs int64) []topicPartition {
	var base func(e offsetEntry) int64
	var skip map[string]bool
	switch {
	case g.protocolType != "" && g.is(stateEmpty):
		base = func(e offsetEntry) int64 {
			if g.stateTime >= 0 {
				return g.stateTime
			}
			return e.commitTime
		}
	case g.protocolType == consumerProtocolType && g.subscribed != nil && g.is(stateStable):
		base, skip = func(e offsetEntry) int64 { return e.commitTime }, g.subscribed
	case g.protocolType == "":
		base = func(e offsetEntry) int64 { return e.commitTime }
	default:
		return nil
	}
	var out []topicPartition
	for tp, e := range g.offsets {
		if skip[tp.topic] || g.pendingCommits[tp] > 0 {
			continue
		}
		if e.expireTime >= 0 {
			if nowMs >= e.expireTime {
				out = append(out, tp)
			}
		} else if nowMs-base(e) >= retentionMs {
			out = append(out, tp)
		}
	}
	slices.SortFunc(out, compareTP)
	return out
}

// metadataOp is the GroupMetadata record of g with the given assignment
// (nil: the members' current ones).
func (g *group) metadataOp(assignment map[string][]byte) op {
	v := &protocol.GroupMetadataValue{
		ProtocolType:          g.protocolType,
		Generation:            g.generation,
		Protocol:              g.protocol,
		CurrentStateTimestamp: g.stateTime,
	}
	if g.leader != "" {
		v.Leader = ptr(g.leader)
	}
	name := ""
	if g.protocol != nil {
		name = *g.protocol
	}
	for _, m := range g.allMembers() {
		a := m.assignment
		if assignment != nil {
			a = assignment[m.id]
		}
		mm := protocol.GroupMetadataValueMemberMetadata{
			MemberID:         m.id,
			ClientID:         m.clientID,
			ClientHost:       m.clientHost,
			RebalanceTimeout: int32(min(m.rebalanceTimeout.Milliseconds(), 1<<31-1)),
			SessionTimeout:   int32(min(m.sessionTimeout.Milliseconds(), 1<<31-1)),
			Subscription:     nonNil(m.metadataFor(name)),
			Assignment:       nonNil(a),
		}
		if m.static {
			mm.GroupInstanceID = ptr(m.instanceID)
		}
		v.Members = append(v.Members, mm)
	}
	return op{group: g.id, isGroup: true, meta: v}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// computeSubscribed returns the topics the members of a consumer group
// subscribe to, or nil when unknown (another protocol type, or metadata
// that does not parse).
func (g *group) computeSubscribed() map[string]bool {
	if g.protocolType != consumerProtocolType {
		return nil
	}
	topics := map[string]bool{}
	if g.size() == 0 {
		return topics
	}
	if g.protocol == nil {
		return nil
	}
	for _, m := range g.members {
		ts, ok := subscriptionTopics(m.metadataFor(*g.protocol))
		if !ok {
			return nil
		}
		for _, t := range ts {
			topics[t] = true
		}
	}
	return topics
}

// subscriptionTopics reads the topics of a consumer protocol subscription
// (ConsumerProtocolSubscription): a version, then the fields of version 0,
// which prefix every later version: the topics and the user data.
func subscriptionTopics(b []byte) ([]string, bool) {
	if len(b) < 6 || int16(binary.BigEndian.Uint16(b)) < 0 {
		return nil, false
	}
	n := int32(binary.BigEndian.Uint32(b[2:]))
	b = b[6:]
	if n < 0 || int64(n)*2 > int64(len(b)) {
		return nil, false
	}
	topics := make([]string, 0, n)
	for range n {
		if len(b) < 2 {
			return nil, false
		}
		l := int(int16(binary.BigEndian.Uint16(b)))
		if l < 0 || len(b) < 2+l {
			return nil, false
		}
		topics = append(topics, string(b[2:2+l]))
		b = b[2+l:]
	}
	if len(b) < 4 {
		return nil, false
	}
	if l := int32(binary.BigEndian.Uint32(b)); l < -1 || int64(l) > int64(len(b)-4) {
		return nil, false
	}
	return topics, true
}
