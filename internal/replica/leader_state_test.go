package replica

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestLeaderStateSteadyFollowerStaysInISR: a follower that fetches every
// 100 ms under constant load, always one fetch behind the leader's end,
// is never a shrink candidate with a 30 s lag bound — Kafka's rule — and
// one that stops fetching becomes one once the bound passes.
func TestLeaderStateSteadyFollowerStaysInISR(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newLeaderState(1, 0, []int32{1, 2, 3}, []int32{1, 2, 3}, 0, now)
	leaderEnd := int64(0)
	for step := range 1000 {
		now = now.Add(100 * time.Millisecond)
		prev := leaderEnd
		leaderEnd += 50 // appends between two fetches
		s.fetched(2, prev, leaderEnd, now)
		if step < 10 {
			s.fetched(3, prev, leaderEnd, now)
		}
		s.advance(leaderEnd)
		if isr, shrink := s.shrinkTo(now, 30*time.Second); shrink && !slices.Contains(isr, 2) {
			t.Fatalf("step %d: the steady follower 2 would leave the ISR", step)
		}
	}
	isr, shrink := s.shrinkTo(now, 30*time.Second)
	if !shrink || !slices.Equal(isr, []int32{1, 2}) {
		t.Fatalf("follower 3 stopped 99 s ago: shrink %v to %v", shrink, isr)
	}
	// The high watermark waits for follower 3, still in the committed ISR.
	if s.hw > 10*50 {
		t.Fatalf("high watermark %d passed the stopped ISR member", s.hw)
	}
	s.committed(isr)
	if !s.advance(leaderEnd) || s.hw != leaderEnd-50 {
		t.Fatalf("after the shrink: high watermark %d, want %d", s.hw, leaderEnd-50)
	}
}

// TestLeaderStateProperties drives random fetches, appends and ISR changes
// and checks the invariants: the high watermark never moves back, never
// passes the leader's durable end nor any member of the maximal ISR, and
// a follower joins only once it has the high watermark and the epoch
// start.
func TestLeaderStateProperties(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 3))
		now := time.Unix(1000, 0)
		epochStart := int64(rng.IntN(100))
		replicas := []int32{1, 2, 3, 4}[:2+rng.IntN(3)]
		s := newLeaderState(1, epochStart, replicas, []int32{1}, 0, now)
		leaderEnd, durable := epochStart, epochStart
		ends := map[int32]int64{}
		for step := range 200 {
			now = now.Add(time.Duration(rng.IntN(500)) * time.Millisecond)
			switch rng.IntN(5) {
			case 0:
				leaderEnd += int64(rng.IntN(20))
			case 1:
				durable = leaderEnd
			case 2:
				r := replicas[1+rng.IntN(len(replicas)-1)]
				end := min(ends[r]+int64(rng.IntN(30)), leaderEnd)
				ends[r] = end
				s.fetched(r, end, leaderEnd, now)
			case 3:
				if add := s.expandable(); len(add) > 0 {
					for _, r := range add {
						if ends[r] < s.hw || ends[r] < epochStart {
							t.Fatalf("seed %d step %d: follower %d at %d may join with high watermark %d, epoch start %d", seed, step, r, ends[r], s.hw, epochStart)
						}
					}
					s.propose(add)
					if rng.IntN(2) == 0 {
						s.committed(s.maximalISR())
					}
				}
			case 4:
				if isr, ok := s.shrinkTo(now, 2*time.Second); ok {
					s.committed(isr)
				}
			}
			before := s.hw
			s.advance(durable)
			if s.hw < before {
				t.Fatalf("seed %d step %d: high watermark moved back from %d to %d", seed, step, before, s.hw)
			}
			if s.hw > before {
				if s.hw > durable {
					t.Fatalf("seed %d step %d: high watermark %d past the leader's durable end %d", seed, step, s.hw, durable)
				}
				for _, r := range s.maximalISR() {
					if r != 1 && ends[r] < s.hw {
						t.Fatalf("seed %d step %d: high watermark %d past ISR member %d at %d", seed, step, s.hw, r, ends[r])
					}
				}
			}
		}
	}
}

// TestQuotaRate: the replication quota's rate is the bytes over the
// window (or over the time since it started, at least one sample), and
// it is exceeded above the limit; an unlimited quota never is.
func TestQuotaRate(t *testing.T) {
	limit := int64(1000)
	q := newQuota(time.Second, 2, func() int64 { return limit })
	if q.Exceeded() {
		t.Fatal("an empty quota is exceeded")
	}
	q.Record(900)
	if r := q.Rate(); r < 450 || r > 900 {
		t.Fatalf("rate %.0f after 900 bytes in at most 2 s", r)
	}
	if q.Exceeded() {
		t.Fatalf("900 bytes exceed 1000/s (rate %.0f)", q.Rate())
	}
	q.Record(2000)
	if !q.Exceeded() {
		t.Fatalf("2900 bytes within 2 s do not exceed 1000/s (rate %.0f)", q.Rate())
	}
	limit = math.MaxInt64
	if q.Exceeded() {
		t.Fatal("an unlimited quota is exceeded")
	}
	// A rate of 0 lets bytes through only while none were counted in
	// the window, as Kafka's quota of 0 does.
	q0 := newQuota(time.Second, 2, func() int64 { return 0 })
	if q0.Exceeded() {
		t.Fatal("an empty quota of 0 is exceeded")
	}
	if q0.Record(1); !q0.Exceeded() {
		t.Fatal("one byte does not exceed a quota of 0")
	}
	// Samples older than the window fall out.
	q2 := newQuota(10*time.Millisecond, 2, func() int64 { return 1 })
	q2.Record(1 << 20)
	time.Sleep(40 * time.Millisecond)
	if r := q2.Rate(); r != 0 {
		t.Fatalf("rate %.0f once the window passed", r)
	}
}

// TestLeaderStateFollowerComesBackWithLess: a follower whose fetch
// offset goes back (it lost its disk) neither joins the ISR on what it
// had nor holds a high watermark it does not have.
func TestLeaderStateFollowerComesBackWithLess(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newLeaderState(1, 0, []int32{1, 2, 3}, []int32{1, 3}, 0, now)
	s.fetched(3, 100, 100, now)
	s.fetched(2, 100, 100, now)
	s.advance(100)
	if s.hw != 100 || !slices.Contains(s.expandable(), 2) {
		t.Fatalf("hw %d, expandable %v", s.hw, s.expandable())
	}
	s.fetched(2, 0, 100, now.Add(time.Second)) // back, empty
	if slices.Contains(s.expandable(), 2) {
		t.Fatal("a follower that went back to offset 0 may join the ISR at the high watermark 100")
	}
	s.propose([]int32{2}) // were it proposed anyway, it would hold the high watermark
	s.fetched(3, 150, 150, now.Add(time.Second))
	if s.advance(150); s.hw != 100 {
		t.Fatalf("hw %d with a maximal ISR member at 0", s.hw)
	}
}

// TestLeaderStateLowWatermark: DeleteRecords' low watermark is taken over
// every follower on a live broker, in the ISR or not, and none on a dead
// one; a live follower that has not reported its log start yet holds it
// at -1.
func TestLeaderStateLowWatermark(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newLeaderState(1, 0, []int32{1, 2, 3}, []int32{1, 2}, 0, now)
	all := func(int32) bool { return true }
	if low := s.lowWatermark(50, all); low != -1 {
		t.Fatalf("low watermark %d before any follower reported its start, want -1", low)
	}
	s.followers[2].logStart = 50
	if low := s.lowWatermark(50, all); low != -1 {
		t.Fatalf("low watermark %d with follower 3 (out of the ISR, live) unreported, want -1", low)
	}
	s.followers[3].logStart = 20
	if low := s.lowWatermark(50, all); low != 20 {
		t.Fatalf("low watermark %d, want 20 (follower 3, out of the ISR but live)", low)
	}
	if low := s.lowWatermark(50, func(id int32) bool { return id != 3 }); low != 50 {
		t.Fatalf("low watermark %d with broker 3 dead, want 50", low)
	}
	s.followers[2].logStart = 40
	if low := s.lowWatermark(50, func(id int32) bool { return id != 3 }); low != 40 {
		t.Fatalf("low watermark %d, want 40 (follower 2)", low)
	}
	if low := s.lowWatermark(30, func(int32) bool { return false }); low != 30 {
		t.Fatalf("low watermark %d with every follower dead, want the leader's start 30", low)
	}
}
