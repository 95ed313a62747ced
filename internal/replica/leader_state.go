package replica

import (
	"slices"
	"time"
)

// leaderState is a partition leader's view of its replicas, as Kafka's
// Partition keeps it: what each follower has fetched and when it was last
// caught up, the ISR, and the high watermark over it. It is a pure state
// machine: the replica layer feeds it the followers' fetches, the
// leader's own durable end and the clock, and asks it for the high
// watermark and for the ISR changes to propose (AlterPartition).
type leaderState struct {
	leader int32
	// epochStart is the offset where the leader's epoch began (its log
	// end when it became leader): a follower joins the ISR only once it
	// has reached it.
	epochStart int64
	replicas   []int32
	// isr is the committed ISR; pending adds the followers whose
	// addition is proposed but not committed. The high watermark is
	// computed over both (the maximal ISR, as in Kafka), so that an
	// addition never lets it move past the new member.
	isr     []int32
	pending []int32
	hw      int64

	followers map[int32]*followerState
}

// followerState is what the leader knows of one follower.
type followerState struct {
	// end is the offset the follower fetches from next: every offset
	// below it is on the follower (durably, in the durable mode, which
	// syncs before the next fetch reports it). -1 until it fetches.
	end int64
	// lastCaughtUp is the last time the follower had everything the
	// leader had, by Kafka's rule (see fetched).
	lastCaughtUp time.Time
	// leaderEndAtLastFetch and lastFetch are the leader's log end and
	// the time at the follower's previous fetch.
	leaderEndAtLastFetch int64
	lastFetch            time.Time
	// logStart is the follower's log start offset as its last fetch
	// reported it; -1 until then.
	logStart int64
}

// newLeaderState starts a leader's state when it takes over (or when its
// replicas change): followers in the ISR count as caught up now, as
// Kafka resets them, so a new leader does not shrink its ISR before the
// followers had a replica.lag.time.max.ms to fetch from it.
func newLeaderState(leader int32, epochStart int64, replicas, isr []int32, hw int64, now time.Time) *leaderState {
	s := &leaderState{leader: leader, epochStart: epochStart, replicas: slices.Clone(replicas), isr: slices.Clone(isr),
		hw: hw, followers: map[int32]*followerState{}}
	for _, r := range replicas {
		if r == leader {
			continue
		}
		f := &followerState{end: -1, leaderEndAtLastFetch: -1, logStart: -1}
		if slices.Contains(isr, r) {
			f.lastCaughtUp = now
		}
		s.followers[r] = f
	}
	return s
}

// fetched records a fetch of follower id from offset end (it has every
// offset below, and only those) at now, when the leader's log ends at
// leaderEnd. Kafka's
// rule for lastCaughtUp: the follower is caught up now if it asked for
// the leader's end; it was caught up at its previous fetch if it asks for
// at least what the leader had then. Under steady load a follower that
// keeps fetching is therefore never behind by more than the time between
// two fetches. It reports false for a replica that is not a follower.
func (s *leaderState) fetched(id int32, end, leaderEnd int64, now time.Time) bool {
	f, ok := s.followers[id]
	if !ok {
		return false
	}
	switch {
	case end >= leaderEnd:
		f.lastCaughtUp = now
	case f.leaderEndAtLastFetch >= 0 && end >= f.leaderEndAtLastFetch && f.lastFetch.After(f.lastCaughtUp):
		f.lastCaughtUp = f.lastFetch
	}
	// The latest fetch says what the follower has, even below what it
	// said before (as Kafka keeps it): a broker that came back with less
	// (a lost disk, a new incarnation) must not count for what it lost.
	// The high watermark itself never moves back.
	f.end = end
	f.leaderEndAtLastFetch, f.lastFetch = leaderEnd, now
	return true
}

// lowWatermark is the smallest log start offset over the leader's
// (leaderStart) and its followers' on live brokers (alive), as they last
// reported them: Kafka's low watermark, which DeleteRecords waits on. It
// is -1 while such a follower has not reported one. Every live replica
// counts, in the ISR or not, as in Kafka: an unclean election may make
// any of them leader.
func (s *leaderState) lowWatermark(leaderStart int64, alive func(id int32) bool) int64 {
	low := leaderStart
	for _, r := range s.replicas {
		if r == s.leader || !alive(r) {
			continue
		}
		f, ok := s.followers[r]
		if !ok || f.logStart < 0 {
			return -1
		}
		low = min(low, f.logStart)
	}
	return low
}

// maximalISR is the committed ISR with the pending additions. It may be
// the ISR itself, clipped so that an append copies it: callers must not
// write its elements.
func (s *leaderState) maximalISR() []int32 {
	if len(s.pending) == 0 {
		return slices.Clip(s.isr) // read on every high watermark check
	}
	out := slices.Clone(s.isr)
	for _, r := range s.pending {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// advance recomputes the high watermark from the leader's durable end:
// the smallest end over the maximal ISR, the leader's durable end
// included. It never moves back, and it reports whether it moved.
func (s *leaderState) advance(leaderDurable int64) bool {
	hw := leaderDurable
	for _, r := range s.maximalISR() {
		if r == s.leader {
			continue
		}
		f := s.followers[r]
		if f == nil || f.end < 0 {
			return false // an ISR member not heard from yet holds it
		}
		hw = min(hw, f.end)
	}
	if hw <= s.hw {
		return false
	}
	s.hw = hw
	return true
}

// shrinkTo returns the ISR to propose when some followers have not been
// caught up for longer than lagMax (replica.lag.time.max.ms), and
// whether there is one.
func (s *leaderState) shrinkTo(now time.Time, lagMax time.Duration) ([]int32, bool) {
	out := slices.DeleteFunc(slices.Clone(s.isr), func(r int32) bool {
		if r == s.leader {
			return false
		}
		f := s.followers[r]
		return f == nil || now.Sub(f.lastCaughtUp) > lagMax
	})
	return out, len(out) != len(s.isr)
}

// expandable returns the followers outside the maximal ISR that may join
// it: they have fetched up to the high watermark and to the start of the
// leader's epoch. (Their being unfenced and on their current broker epoch
// is the caller's check, against the metadata.)
func (s *leaderState) expandable() []int32 {
	var out []int32
	isr := s.maximalISR()
	for _, r := range s.replicas {
		f := s.followers[r]
		if r == s.leader || f == nil || slices.Contains(isr, r) {
			continue
		}
		if f.end >= s.hw && f.end >= s.epochStart {
			out = append(out, r)
		}
	}
	return out
}

// propose marks additions as pending (an AlterPartition in flight).
func (s *leaderState) propose(add []int32) {
	for _, r := range add {
		if !slices.Contains(s.pending, r) {
			s.pending = append(s.pending, r)
		}
	}
}

// committed installs the ISR the metadata now holds; pending additions it
// includes (or that failed) are dropped.
func (s *leaderState) committed(isr []int32) {
	s.isr = slices.Clone(isr)
	s.pending = nil
}

// setReplicas follows a change of the replica set (a reassignment): new
// followers start unknown, removed ones are forgotten.
func (s *leaderState) setReplicas(replicas []int32, now time.Time) {
	s.replicas = slices.Clone(replicas)
	for _, r := range replicas {
		if r != s.leader && s.followers[r] == nil {
			s.followers[r] = &followerState{end: -1, leaderEndAtLastFetch: -1, logStart: -1}
		}
	}
	for id := range s.followers {
		if !slices.Contains(replicas, id) {
			delete(s.followers, id)
		}
	}
}
