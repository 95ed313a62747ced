package replica

import (
	"math/rand/v2"
	"testing"

	"github.com/sluice-mq/sluice/internal/storage"
)

// epochLog is a log as a list of (epoch, start offset) and an end, for
// the divergence tests.
type epochLog struct {
	epochs []storage.EpochEntry
	end    int64
}

// ends answers like storage.LeaderEpochCache.EndOffsetFor.
func (l epochLog) ends(epoch int32) (int32, int64) {
	best := -1
	for i, e := range l.epochs {
		if e.Epoch <= epoch {
			best = i
		}
	}
	if best < 0 {
		return storage.UndefinedEpoch, storage.UndefinedEpochOffset
	}
	if best == len(l.epochs)-1 {
		return l.epochs[best].Epoch, l.end
	}
	return l.epochs[best].Epoch, l.epochs[best+1].StartOffset
}

// epochAt returns the epoch of offset o in l.
func (l epochLog) epochAt(o int64) int32 {
	e := storage.UndefinedEpoch
	for _, x := range l.epochs {
		if x.StartOffset <= o {
			e = x.Epoch
		}
	}
	return e
}

// TestTruncationConverges builds a leader log and a follower log that
// share a prefix and then diverge (the follower wrote in epochs the
// leader never had, or longer in a shared epoch), and runs the fetch
// loop: divergence answers and truncations until none diverges. The
// follower must end on exactly the common prefix, never below it.
func TestTruncationConverges(t *testing.T) {
	for seed := range uint64(500) {
		rng := rand.New(rand.NewPCG(seed, 5))
		// The common history.
		var common []storage.EpochEntry
		off := int64(0)
		epoch := int32(0)
		for range 1 + rng.IntN(4) {
			epoch += int32(1 + rng.IntN(2))
			common = append(common, storage.EpochEntry{Epoch: epoch, StartOffset: off})
			off += int64(1 + rng.IntN(20))
		}
		prefix := off
		leader := epochLog{epochs: append([]storage.EpochEntry(nil), common...), end: prefix}
		follower := epochLog{epochs: append([]storage.EpochEntry(nil), common...), end: prefix}
		// The follower wrote more in the last common epoch and maybe in
		// epochs of its own, the leader in newer epochs.
		follower.end += int64(rng.IntN(10))
		fe := epoch
		for range rng.IntN(3) {
			fe += int32(1 + rng.IntN(2))
			follower.epochs = append(follower.epochs, storage.EpochEntry{Epoch: fe, StartOffset: follower.end})
			follower.end += int64(1 + rng.IntN(10))
		}
		le := max(fe, epoch)
		for range 1 + rng.IntN(3) {
			le += int32(1 + rng.IntN(2))
			leader.epochs = append(leader.epochs, storage.EpochEntry{Epoch: le, StartOffset: leader.end})
			leader.end += int64(1 + rng.IntN(10))
		}
		for round := 0; ; round++ {
			if round > 20 {
				t.Fatalf("seed %d: no convergence", seed)
			}
			last := storage.UndefinedEpoch
			if follower.end > 0 {
				last = follower.epochAt(follower.end - 1)
			}
			e, end, diverges, _ := divergingEpoch(leader.ends, last, follower.end)
			if !diverges {
				break
			}
			to := truncationOffset(follower.ends, e, end, follower.end)
			if to < prefix {
				t.Fatalf("seed %d: truncated to %d, below the common prefix %d", seed, to, prefix)
			}
			if to >= follower.end {
				t.Fatalf("seed %d: a divergence that truncates nothing (to %d, end %d)", seed, to, follower.end)
			}
			follower.end = to
			for len(follower.epochs) > 0 && follower.epochs[len(follower.epochs)-1].StartOffset >= to {
				follower.epochs = follower.epochs[:len(follower.epochs)-1]
			}
		}
		if follower.end != prefix {
			t.Fatalf("seed %d: the follower ends at %d, the common prefix at %d", seed, follower.end, prefix)
		}
	}
}
