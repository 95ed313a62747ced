package group

import (
	"container/heap"
	"log/slog"
	"slices"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// shard is the pure state machine of the groups of one __consumer_offsets
// partition. Every method takes the time it happens at; none blocks, reads
// a clock or does I/O. Its outputs accumulate in out until the driver takes
// them with drain: replies to waiting requests (named by the waiter tokens
// the driver passed in) and writes to append to the partition, whose
// outcome the driver reports back through writeDone.
type shard struct {
	partition int32
	cfg       Config
	newID     func() string // suffix of new member ids
	log       *slog.Logger

	groups    map[string]*group
	timers    timerHeap
	nextCheck time.Time // next offsets retention check
	out       effects
}

// effects are the outputs of the shard since the last drain.
type effects struct {
	replies []reply
	writes  []*write
	// rebalances is how many generations were formed: join phases that
	// completed and incremented a group's generation id.
	rebalances uint64
}

// reply answers a waiting request: a JoinGroup (join), a SyncGroup (sync),
// or a request that waited for a write (code).
type reply struct {
	to   uint64
	join *joinResult
	sync *syncResult
	code protocol.ErrorCode
}

// joinMember is a member as the leader's JoinGroup response lists it.
type joinMember struct {
	id         string
	instanceID *string
	metadata   []byte
}

// joinResult is the outcome of a JoinGroup.
type joinResult struct {
	err            protocol.ErrorCode
	memberID       string
	generation     int32
	protocolType   *string
	protocolName   *string
	leader         string
	skipAssignment bool
	members        []joinMember
}

func joinError(memberID string, err protocol.ErrorCode) *joinResult {
	return &joinResult{err: err, memberID: memberID, generation: -1}
}

// syncResult is the outcome of a SyncGroup.
type syncResult struct {
	err          protocol.ErrorCode
	protocolType *string
	protocolName *string
	assignment   []byte
}

// writeKind says what a write is for, and so what its completion does.
type writeKind uint8

const (
	writeCommit       writeKind = iota // OffsetCommit; answers the committer
	writeAssignment                    // the leader's SyncGroup; completes the rebalance
	writeStaticJoin                    // a static member replaced in a Stable group
	writeGroup                         // group metadata nobody waits for (an Empty generation)
	writeDelete                        // DeleteGroups tombstones
	writeOffsetDelete                  // OffsetDelete tombstones
	writeExpire                        // offsets retention tombstones
)

// write is a set of records to append to the shard's partition, in order
// with every other write of the shard.
type write struct {
	kind       writeKind
	group      string
	generation int32
	waiter     uint64 // 0: nobody waits
	ops        []op
	records    []kv
	assignment map[string][]byte // writeAssignment
	static     *staticJoin       // writeStaticJoin
	keys       []topicPartition  // writeCommit: the pending offsets it carries
}

// size is the number of record bytes of w.
func (w *write) size() int {
	n := 0
	for _, r := range w.records {
		n += len(r.key) + len(r.value)
	}
	return n
}

func newShard(partition int32, cfg Config, newID func() string, now time.Time) *shard {
	return &shard{
		partition: partition,
		cfg:       cfg,
		newID:     newID,
		log:       cfg.Logger.With("partition", partition),
		groups:    map[string]*group{},
		nextCheck: now.Add(cfg.OffsetsRetentionCheck),
	}
}

// drain returns and clears the accumulated outputs.
func (s *shard) drain() effects {
	e := s.out
	s.out = effects{}
	return e
}

func (s *shard) replyJoin(to uint64, r *joinResult) {
	if to != 0 {
		s.out.replies = append(s.out.replies, reply{to: to, join: r})
	}
}

func (s *shard) replySync(to uint64, r *syncResult) {
	if to != 0 {
		s.out.replies = append(s.out.replies, reply{to: to, sync: r})
	}
}

func (s *shard) replyCode(to uint64, c protocol.ErrorCode) {
	if to != 0 {
		s.out.replies = append(s.out.replies, reply{to: to, code: c})
	}
}

// emit queues a write of ops.
func (s *shard) emit(w *write) {
	w.records = make([]kv, len(w.ops))
	for i, o := range w.ops {
		w.records[i] = encodeOp(o)
	}
	s.out.writes = append(s.out.writes, w)
}

// begin runs before every event: timers that are due fire first, as they
// would have had the timer loop run at exactly their deadlines.
func (s *shard) begin(now time.Time) { s.tick(now) }

// end runs after every event on g: it registers g's timers and fires the
// ones already due (a zero delay).
func (s *shard) end(g *group, now time.Time) {
	if g != nil {
		s.arm(g)
	}
	s.tick(now)
}

// arm registers g's earliest deadline with the timer heap. Entries are
// lazy: a group keeps at most the entry for its armed time valid, and an
// entry that fires early just re-arms.
func (s *shard) arm(g *group) {
	next := g.nextDeadline()
	if next.IsZero() || (!g.armed.IsZero() && !next.Before(g.armed)) {
		return
	}
	g.armed = next
	heap.Push(&s.timers, timerEntry{at: next, group: g.id})
}

// nextDeadline is when tick has work next.
func (s *shard) nextDeadline() time.Time {
	next := s.nextCheck
	if len(s.timers) > 0 && s.timers[0].at.Before(next) {
		next = s.timers[0].at
	}
	return next
}

// maxFires bounds the timers one group fires per heap entry, and maxPops
// the heap entries one tick handles; what is left fires on the next tick.
const (
	maxFires = 64
	maxPops  = 1 << 16
)

// tick fires every timer due at now.
func (s *shard) tick(now time.Time) {
	for pops := 0; pops < maxPops && len(s.timers) > 0 && !s.timers[0].at.After(now); pops++ {
		e := heap.Pop(&s.timers).(timerEntry)
		g := s.groups[e.group]
		if g == nil || !g.armed.Equal(e.at) {
			continue // stale entry
		}
		g.armed = time.Time{}
		for range maxFires {
			if !s.fire(g, now) {
				break
			}
		}
		if s.groups[g.id] == g {
			s.arm(g)
		}
	}
	if !now.Before(s.nextCheck) {
		s.nextCheck = now.Add(s.cfg.OffsetsRetentionCheck)
		s.expire(now)
	}
}

// fire fires g's earliest timer due by now and reports whether one was.
func (s *shard) fire(g *group, now time.Time) bool {
	type due struct {
		at   time.Time
		kind int // 0 join, 1 sync, 2 pending member, 3 member
		id   string
	}
	var d due
	found := false
	consider := func(at time.Time, kind int, id string) {
		if at.IsZero() || at.After(now) {
			return
		}
		if !found || at.Before(d.at) || (at.Equal(d.at) && (kind < d.kind || (kind == d.kind && id < d.id))) {
			d, found = due{at, kind, id}, true
		}
	}
	consider(g.joinDeadline, 0, "")
	consider(g.syncDeadline, 1, "")
	for id, at := range g.pending {
		consider(at, 2, id)
	}
	for id, m := range g.members {
		consider(m.deadline, 3, id)
	}
	if !found {
		return false
	}
	// The timer acts at its deadline, however late the tick: what it
	// schedules counts from then, as if the timer loop had been on time.
	now = d.at
	switch d.kind {
	case 0:
		g.joinDeadline = time.Time{}
		s.onJoinTimer(g, now)
	case 1:
		g.syncDeadline = time.Time{}
		s.onSyncTimer(g, now)
	case 2:
		s.log.Info("pending member expired", "group", g.id, "member_id", d.id)
		s.removePending(g, d.id, now)
	case 3:
		m := g.members[d.id]
		m.deadline = time.Time{}
		s.onSessionTimer(g, m, now)
	}
	return true
}

// writeDone reports the outcome of w: code is the append's error code
// (ErrNone when the records are durable). On success the records are
// applied, exactly as a load replays them.
func (s *shard) writeDone(w *write, code protocol.ErrorCode, now time.Time) {
	s.begin(now)
	if code == protocol.ErrNone {
		for _, o := range w.ops {
			s.applyLive(o, now)
		}
	}
	g := s.groups[w.group]
	switch w.kind {
	case writeCommit:
		if g != nil {
			for _, k := range w.keys {
				if g.pendingCommits[k]--; g.pendingCommits[k] <= 0 {
					delete(g.pendingCommits, k)
				}
			}
		}
		s.replyCode(w.waiter, commitError(code))
	case writeAssignment:
		if g != nil {
			s.assignmentStored(g, w, storeError(code), now)
		}
	case writeStaticJoin:
		if g != nil {
			s.staticJoinStored(g, w, storeError(code), now)
		}
	case writeGroup:
		if code != protocol.ErrNone {
			s.log.Warn("empty group metadata not stored", "group", w.group, "error", code.Name())
		}
	case writeDelete, writeExpire, writeOffsetDelete:
		if g != nil && g.is(stateDead) {
			s.retired(g, w, code == protocol.ErrNone, now)
		}
		s.replyCode(w.waiter, adminError(code))
	}
	s.end(g, now)
}

// retired settles a group that was Dead while tombstones for it were
// written. Without them durable it is back to Empty. With them it goes,
// unless a commit that was already in flight landed meanwhile: the log
// then holds that offset after the tombstones, so the group lives on with
// it, as a reload would have it (without its metadata if that got a
// tombstone too).
func (s *shard) retired(g *group, w *write, durable bool, now time.Time) {
	switch {
	case !durable:
		g.state = stateEmpty
	case len(g.offsets) == 0 && len(g.pendingCommits) == 0:
		delete(s.groups, g.id)
	case slices.ContainsFunc(w.ops, func(o op) bool { return o.isGroup }):
		fresh := newGroup(g.id, now.UnixMilli())
		fresh.offsets, fresh.pendingCommits = g.offsets, g.pendingCommits
		s.groups[g.id] = fresh
	default:
		g.state = stateEmpty
	}
}

// applyLive applies a durable record to the live state. Offsets follow the
// records (the same code as a load); group metadata is the live state's own
// snapshot, so only a tombstone matters: it removes a group deleted by the
// write that carried it.
func (s *shard) applyLive(o op, now time.Time) {
	if o.isGroup {
		return
	}
	g := s.groups[o.group]
	if g == nil {
		if o.offset == nil {
			return
		}
		// A commit that became durable after its group went away: the
		// log holds it, so the group holds it too.
		g = newGroup(o.group, now.UnixMilli())
		s.groups[o.group] = g
	}
	applyOffset(g.offsets, o)
}

// applyOffset applies an offset record to offsets.
func applyOffset(offsets map[topicPartition]offsetEntry, o op) {
	if o.offset == nil {
		delete(offsets, o.tp)
		return
	}
	offsets[o.tp] = *o.offset
}

// commitError maps an append's error to an OffsetCommit's, as Kafka's
// commit path does.
func commitError(c protocol.ErrorCode) protocol.ErrorCode {
	switch c {
	case protocol.ErrUnknownTopicOrPartition, protocol.ErrNotEnoughReplicas, protocol.ErrNotEnoughReplicasAfterAppend:
		return protocol.ErrCoordinatorNotAvailable
	case protocol.ErrNotLeaderOrFollower, protocol.ErrKafkaStorageError:
		return protocol.ErrNotCoordinator
	case protocol.ErrMessageTooLarge, protocol.ErrRecordListTooLarge, protocol.ErrInvalidFetchSize:
		return protocol.ErrInvalidCommitOffsetSize
	}
	return c
}

// storeError maps an append's error to the error of a group metadata
// write, as Kafka's storeGroup does: a timeout makes members rejoin.
func storeError(c protocol.ErrorCode) protocol.ErrorCode {
	switch c {
	case protocol.ErrUnknownTopicOrPartition, protocol.ErrNotEnoughReplicas, protocol.ErrNotEnoughReplicasAfterAppend:
		return protocol.ErrCoordinatorNotAvailable
	case protocol.ErrNotLeaderOrFollower, protocol.ErrKafkaStorageError:
		return protocol.ErrNotCoordinator
	case protocol.ErrRequestTimedOut:
		return protocol.ErrRebalanceInProgress
	case protocol.ErrMessageTooLarge, protocol.ErrRecordListTooLarge, protocol.ErrInvalidFetchSize:
		return protocol.ErrUnknownServerError
	}
	return c
}

// adminError maps an append's error to the error of a deletion
// (DeleteGroups, OffsetDelete). Kafka's classic coordinator appends its
// tombstones without waiting for them, so it has no timeout to map; its
// newer one answers one COORDINATOR_NOT_AVAILABLE, which admin clients
// retry, as they do not retry REQUEST_TIMED_OUT.
func adminError(c protocol.ErrorCode) protocol.ErrorCode {
	switch c = commitError(c); c {
	case protocol.ErrInvalidCommitOffsetSize:
		return protocol.ErrUnknownServerError
	case protocol.ErrRequestTimedOut:
		return protocol.ErrCoordinatorNotAvailable
	}
	return c
}

// timerEntry registers a group's deadline.
type timerEntry struct {
	at    time.Time
	group string
}

type timerHeap []timerEntry

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].group < h[j].group
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
