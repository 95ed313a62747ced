package replica

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// leaderServe answers a follower's fetch as the leader's log l (with high
// watermark hw) would: out of range below its start or above its end,
// DivergingEpoch when the follower's last epoch ends earlier here, else
// up to n records.
func leaderServe(l epochLog, start, hw int64, req fetchRequest) fetchResponse {
	// The handler's order: the epoch check first, then the range; an
	// out-of-range answer carries the high watermark, which the follower
	// takes for the leader's end.
	e, end, div, undefined := divergingEpoch(l.ends, req.LastFetchedEpoch, req.FetchOffset)
	if undefined || (!div && (req.FetchOffset < start || req.FetchOffset > l.end)) {
		return fetchResponse{Err: protocol.ErrOffsetOutOfRange, LogStartOffset: start, LeaderEndOffset: hw}
	}
	if div {
		return fetchResponse{Diverging: true, DivergingEpoch: e, DivergingEndOffset: end, HighWatermark: hw, LogStartOffset: start}
	}
	return fetchResponse{HighWatermark: hw, LogStartOffset: start, HasRecords: req.FetchOffset < l.end}
}

// TestFollowerCatchesUp runs a follower with a divergent tail against a
// leader until it has the leader's log: it truncates only its divergent
// tail, appends what it lacks, and its high watermark never passes its
// log end nor the leader's.
func TestFollowerCatchesUp(t *testing.T) {
	for seed := range uint64(500) {
		rng := rand.New(rand.NewPCG(seed, 9))
		var common []storage.EpochEntry
		off, epoch := int64(0), int32(0)
		for range 1 + rng.IntN(3) {
			epoch += int32(1 + rng.IntN(2))
			common = append(common, storage.EpochEntry{Epoch: epoch, StartOffset: off})
			off += int64(1 + rng.IntN(20))
		}
		prefix := off
		leader := epochLog{epochs: slices.Clone(common), end: prefix}
		follower := epochLog{epochs: slices.Clone(common), end: prefix}
		follower.end += int64(rng.IntN(8))
		fe := epoch
		if rng.IntN(2) == 0 {
			fe++
			follower.epochs = append(follower.epochs, storage.EpochEntry{Epoch: fe, StartOffset: follower.end})
			follower.end += int64(1 + rng.IntN(8))
		}
		le := fe + 1
		leader.epochs = append(leader.epochs, storage.EpochEntry{Epoch: le, StartOffset: leader.end})
		leader.end += int64(1 + rng.IntN(30))
		hw := prefix + int64(rng.IntN(int(leader.end-prefix)+1))
		last := func(l epochLog) int32 {
			if l.end == 0 {
				return storage.UndefinedEpoch
			}
			return l.epochAt(l.end - 1)
		}
		fs := newFetchState(le, follower.end, last(follower), prefix)
		for round := 0; ; round++ {
			if round > 100 {
				t.Fatalf("seed %d: no progress", seed)
			}
			steps := fs.response(leaderServe(leader, 0, hw, fs.request()), follower.ends)
			if len(steps) == 0 {
				break
			}
			for _, s := range steps {
				switch s.Kind {
				case stepTruncate:
					if s.Offset < prefix {
						t.Fatalf("seed %d: truncated to %d below the common prefix %d", seed, s.Offset, prefix)
					}
					follower.end = s.Offset
					for len(follower.epochs) > 0 && follower.epochs[len(follower.epochs)-1].StartOffset >= s.Offset {
						follower.epochs = follower.epochs[:len(follower.epochs)-1]
					}
					fs.truncated(follower.end, last(follower))
				case stepAppend:
					// Copy up to 7 records of the leader's log from the fetch offset.
					n := min(int64(1+rng.IntN(7)), leader.end-follower.end)
					for o := follower.end; o < follower.end+n; o++ {
						e := leader.epochAt(o)
						if len(follower.epochs) == 0 || follower.epochs[len(follower.epochs)-1].Epoch != e {
							follower.epochs = append(follower.epochs, storage.EpochEntry{Epoch: e, StartOffset: o})
						}
					}
					follower.end += n
					fs.appended(follower.end, last(follower), hw)
				default:
					t.Fatalf("seed %d: step %v", seed, s.Kind)
				}
				if fs.hw > follower.end || fs.hw > hw {
					t.Fatalf("seed %d: high watermark %d, log end %d, leader's %d", seed, fs.hw, follower.end, hw)
				}
			}
		}
		if follower.end != leader.end || !slices.Equal(follower.epochs, leader.epochs) || fs.hw != hw {
			t.Fatalf("seed %d: follower %v end %d hw %d, leader %v end %d hw %d", seed, follower.epochs, follower.end, fs.hw, leader.epochs, leader.end, hw)
		}
	}
}

// TestFollowerErrors: the leader's errors map to truncation, a wait for
// metadata, or a backoff.
func TestFollowerErrors(t *testing.T) {
	none := func(int32) (int32, int64) { return storage.UndefinedEpoch, storage.UndefinedEpochOffset }
	for _, tc := range []struct {
		name string
		r    fetchResponse
		want step
	}{
		{"above the leader's end", fetchResponse{Err: protocol.ErrOffsetOutOfRange, LogStartOffset: 10, LeaderEndOffset: 80}, step{Kind: stepTruncate, Offset: 80}},
		{"below the leader's start", fetchResponse{Err: protocol.ErrOffsetOutOfRange, LogStartOffset: 150, LeaderEndOffset: 200}, step{Kind: stepTruncateFully, Offset: 150}},
		{"fenced epoch", fetchResponse{Err: protocol.ErrFencedLeaderEpoch}, step{Kind: stepAwaitMetadata}},
		{"leader moved, or not a leader yet", fetchResponse{Err: protocol.ErrNotLeaderOrFollower}, step{Kind: stepBackoff}},
		{"partition not there yet", fetchResponse{Err: protocol.ErrUnknownTopicOrPartition}, step{Kind: stepBackoff}},
		{"leader behind on metadata", fetchResponse{Err: protocol.ErrUnknownLeaderEpoch}, step{Kind: stepBackoff}},
		{"storage error", fetchResponse{Err: protocol.ErrKafkaStorageError}, step{Kind: stepBackoff}},
	} {
		fs := newFetchState(3, 100, 2, 90)
		got := fs.response(tc.r, none)
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	fs := newFetchState(3, 100, 2, 90)
	if req := fs.request(); req != (fetchRequest{CurrentLeaderEpoch: 3, FetchOffset: 100, LastFetchedEpoch: 2}) {
		t.Fatalf("request %+v", req)
	}
	// A high watermark above the follower's end is bounded by it.
	fs.response(fetchResponse{HighWatermark: 500}, none)
	if fs.hw != 100 {
		t.Fatalf("high watermark %d past the log end 100", fs.hw)
	}
}
