package replica

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// ErrNotEnoughReplicas: the ISR has fewer members than
// min.insync.replicas, so an acks=all append is refused before it begins.
var ErrNotEnoughReplicas = errors.New("replica: the ISR is smaller than min.insync.replicas")

// ErrNotEnoughReplicasAfterAppend: the append was committed, but by then
// the ISR had fewer members than min.insync.replicas.
var ErrNotEnoughReplicasAfterAppend = errors.New("replica: the ISR shrank below min.insync.replicas")

// ErrUnknownReplica: a fetch from a broker that is not a replica.
var ErrUnknownReplica = errors.New("replica: not a replica of the partition")

// Partition is one partition this broker holds: its local log, and its
// role as the latest image gives it — leader (with the followers' state,
// the ISR and the high watermark over it) or follower (with the fetch
// state its fetcher works from).
type Partition struct {
	TP      storage.TopicPartition
	TopicID protocol.UUID
	Log     *storage.Log

	leader      atomic.Int32
	leaderEpoch atomic.Int32
	// hw is the high watermark: the leader's as last computed, or the
	// follower's, as its leader last told it (bounded by its log end).
	hw atomic.Int64

	// roleMu keeps role changes (applyImage, which holds it to write) out
	// of a leader's appends (AppendAsLeader, which hold it to read): an
	// append checked against the leader's role and epoch lands before the
	// role changes, or not at all. Order: roleMu, then mu.
	roleMu sync.RWMutex
	// mu guards the role state below. A follower's fetcher holds it while
	// it appends to or truncates the log, so a role change never races a
	// follower's write.
	mu sync.Mutex
	// ls is the leader's state; nil unless this broker leads.
	ls *leaderState
	// fetch is the follower's fetch state; nil unless this broker follows.
	// The fetcher acts on a response only while fetch is the state it
	// fetched with.
	fetch *fetchState
	// The partition as the latest image gives it.
	replicas       []int32
	partitionEpoch int32
	// altering is set while an ISR change is proposed and not yet in the
	// metadata; alterEpoch is the partition epoch that will show it.
	// alterSeq numbers the proposals: a reply counts only for the one in
	// flight (an image that moved the partition on, or a later proposal,
	// makes an earlier reply stale).
	altering   bool
	alterEpoch int32
	alterSeq   uint64
}

// AppendAsLeader appends records as the partition's leader, stamped with
// its current leader epoch, which it returns. It fails with ErrNotLeader
// when this broker does not lead the partition; no role change lands
// while it appends, so records never reach a log that has begun to
// follow (whose fetcher already stands at the old end) nor carry an
// epoch the broker is no longer leader in.
func (p *Partition) AppendAsLeader(records []byte) (storage.AppendResult, int32, error) {
	p.roleMu.RLock()
	defer p.roleMu.RUnlock()
	p.mu.Lock()
	leading := p.ls != nil
	p.mu.Unlock()
	if !leading {
		return storage.AppendResult{}, 0, ErrNotLeader
	}
	epoch := p.leaderEpoch.Load()
	res, err := p.Log.Append(records, storage.AppendOptions{LeaderEpoch: epoch})
	return res, epoch, err
}

// setAlteringLocked marks an ISR change proposed (on) or settled, and
// numbers it: a reply to any earlier proposal is stale from then on.
func (p *Partition) setAlteringLocked(on bool) {
	p.altering = on
	p.alterSeq++
}

// Leader returns the partition's leader and leader epoch as of the latest
// image applied.
func (p *Partition) Leader() (id int32, epoch int32) { return p.leader.Load(), p.leaderEpoch.Load() }

// HighWatermark is the offset below which records are committed and
// visible to consumers. On the leader it is the smallest durable end over
// the maximal ISR (the leader's own durable end included: with a single
// replica, just that); on a follower, the leader's as last fetched.
func (p *Partition) HighWatermark() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.highWatermarkLocked()
}

func (p *Partition) highWatermarkLocked() int64 {
	if p.ls == nil {
		return p.hw.Load()
	}
	p.ls.advance(p.Log.DurableEnd())
	p.hw.Store(p.ls.hw)
	return p.ls.hw
}

// EpochStartPending reports whether the leader's high watermark is still
// below the offset where its epoch began: until it reaches it, offsets
// answered from the high watermark may go back (Kafka answers
// OFFSET_NOT_AVAILABLE to ListOffsets meanwhile).
func (p *Partition) EpochStartPending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ls != nil && p.highWatermarkLocked() < p.ls.epochStart
}

// ISRSize is the size of the committed ISR as the leader knows it (the
// image's); 0 when this broker does not lead.
func (p *Partition) ISRSize() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ls == nil {
		return 0
	}
	return len(p.ls.isr)
}

// WaitCommitted blocks until the offsets below end are committed (the
// high watermark reached end) while this broker leads in leader epoch
// epoch; then the committed ISR must still have minISR members. It fails
// with ErrNotLeader when leadership moves (the appended records may be
// truncated away), with the log's error when it fails, and with ctx's.
func (p *Partition) WaitCommitted(ctx context.Context, end int64, epoch int32, minISR int) error {
	return p.watchLog(ctx, func() (bool, error) {
		p.mu.Lock()
		leading := p.ls != nil && p.leaderEpoch.Load() == epoch
		var hw int64
		var isr int
		if leading {
			hw, isr = p.highWatermarkLocked(), len(p.ls.isr)
		}
		p.mu.Unlock()
		switch {
		case !leading:
			return true, ErrNotLeader
		case p.Log.Err() != nil:
			return true, p.Log.Err()
		case hw >= end && isr < minISR:
			return true, ErrNotEnoughReplicasAfterAppend
		}
		return hw >= end, nil
	})
}

// WaitLowWatermark blocks until the log of every replica on a live
// broker (alive: registered and unfenced, Manager.BrokerAlive) starts at
// or after offset (DeleteRecords' completion) and returns the low
// watermark then, or, when ctx ends first, its error with the low
// watermark so far (-1 while such a follower has not reported its
// start). It fails with ErrNotLeader when this broker stops leading.
func (p *Partition) WaitLowWatermark(ctx context.Context, offset int64, alive func(id int32) bool) (int64, error) {
	low := int64(-1)
	err := p.watchLog(ctx, func() (bool, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.ls == nil {
			low = -1
			return true, ErrNotLeader
		}
		low = p.ls.lowWatermark(p.Log.StartOffset(), alive)
		return low >= offset, nil
	})
	return low, err
}

// watchLog calls check, and again after every change the log announces
// (Log.Watch), until check is done or fails, or ctx ends.
func (p *Partition) watchLog(ctx context.Context, check func() (done bool, err error)) error {
	for {
		ch, stop := p.Log.Watch()
		done, err := check()
		if done || err != nil {
			stop()
			return err
		}
		select {
		case <-ch:
			stop()
		case <-ctx.Done():
			stop()
			return ctx.Err()
		}
	}
}

// FollowerFetch records a follower's fetch from offset (it has every
// offset below) at now, with the log start offset it reported, and
// returns the high watermark after it. It reports whether the follower
// may now join the ISR (the caller checks it against the metadata and
// proposes it with Manager.expand).
func (p *Partition) FollowerFetch(id int32, offset, logStart int64, now time.Time) (hw int64, canJoin bool, err error) {
	p.mu.Lock()
	if p.ls == nil {
		p.mu.Unlock()
		return 0, false, ErrNotLeader
	}
	if !p.ls.fetched(id, offset, p.Log.EndOffset(), now) {
		p.mu.Unlock()
		return 0, false, ErrUnknownReplica
	}
	f := p.ls.followers[id]
	startMoved := f.logStart != logStart
	f.logStart = logStart
	before := p.hw.Load()
	hw = p.highWatermarkLocked()
	canJoin = !p.altering && slices.Contains(p.ls.expandable(), id)
	p.mu.Unlock()
	if hw != before || startMoved {
		// Delayed produces and consumer fetches look again, and
		// DeleteRecords waiting on the low watermark.
		p.Log.Wake()
	}
	return hw, canJoin, nil
}

// role is what an image makes this broker for a partition.
type role int

const (
	roleNone role = iota // no leader: neither lead nor fetch
	roleLeader
	roleFollower
)

// applyImage updates the partition's role from its metadata. It returns
// the fetch state to hand to a fetcher when the broker starts following
// (a new leader or leader epoch).
func (p *Partition) applyImage(part metadata.Partition, self int32, now time.Time) (r role, fs *fetchState) {
	p.roleMu.Lock()
	defer p.roleMu.Unlock()
	p.mu.Lock()
	oldLeader, oldEpoch := p.leader.Load(), p.leaderEpoch.Load()
	changed := oldLeader != part.Leader || oldEpoch != part.LeaderEpoch
	epochChanged := part.PartitionEpoch != p.partitionEpoch
	defer func() {
		p.mu.Unlock()
		if changed || epochChanged {
			// Pending produces re-check their leader epoch; an ISR change
			// may move the high watermark. Other images leave them be.
			p.Log.Wake()
		}
	}()
	p.leader.Store(part.Leader)
	p.leaderEpoch.Store(part.LeaderEpoch)
	p.replicas = slices.Clone(part.Replicas)
	if p.altering && part.PartitionEpoch >= p.alterEpoch {
		p.setAlteringLocked(false)
	}
	p.partitionEpoch = part.PartitionEpoch
	switch {
	case part.Leader == self:
		p.fetch = nil
		if p.ls == nil || changed {
			// The new epoch starts at the log end before any follower
			// fetches in it (see storage's BeginLeaderEpoch). A failure
			// takes the log offline, which every request then reports.
			_ = p.Log.BeginLeaderEpoch(part.LeaderEpoch)
			end := p.Log.EndOffset()
			hw := min(p.hw.Load(), end)
			p.ls = newLeaderState(self, end, part.Replicas, part.ISR, hw, now)
			p.setAlteringLocked(false)
		} else if epochChanged {
			p.ls.setReplicas(part.Replicas, now)
			p.ls.committed(part.ISR)
		}
		return roleLeader, nil
	case part.Leader == metadata.NoLeader:
		p.ls, p.fetch = nil, nil
		return roleNone, nil
	default:
		p.ls = nil
		if p.fetch != nil && !changed && !p.fetch.awaitingMetadata {
			return roleFollower, nil // the fetcher has it
		}
		lastEpoch, ok := p.Log.Epochs().LatestEpoch()
		if !ok {
			lastEpoch = -1
		}
		end := p.Log.EndOffset()
		p.hw.Store(min(p.hw.Load(), end))
		p.fetch = newFetchState(part.LeaderEpoch, end, lastEpoch, p.hw.Load())
		return roleFollower, p.fetch
	}
}

// stopFollowing drops the follower's fetch state (the partition leaves
// the broker or the manager closes).
func (p *Partition) stopFollowing() {
	p.mu.Lock()
	p.fetch = nil
	p.ls = nil
	p.mu.Unlock()
}
