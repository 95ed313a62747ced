package faultproxy

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// decisions asks a fresh decider about n frames of varying sizes.
func decisions(cfg *randomConfig, conn uint64, dir Direction, n int) []int64 {
	d := newDecider(cfg, conn, dir)
	out := make([]int64, n)
	for i := range out {
		out[i] = d.frameCut(Frame{Conn: conn, N: i + 1, Size: int32(i % 300)})
	}
	return out
}

func TestDeciderReproducible(t *testing.T) {
	faults := Faults{DropResponse: 0.1, CutUpMidFrame: 0.1}
	cfg := &randomConfig{seed: 42, faults: faults}
	same := &randomConfig{seed: 42, faults: faults}
	other := &randomConfig{seed: 43, faults: faults}
	const n = 10000

	for _, dir := range []Direction{Up, Down} {
		a := decisions(cfg, 3, dir, n)
		if b := decisions(same, 3, dir, n); !slices.Equal(a, b) {
			t.Fatalf("%s: same seed, different decisions", dir)
		}
		if b := decisions(other, 3, dir, n); slices.Equal(a, b) {
			t.Fatalf("%s: different seeds, same decisions", dir)
		}
		if b := decisions(cfg, 4, dir, n); slices.Equal(a, b) {
			t.Fatalf("%s: different connections, same decisions", dir)
		}
		cuts := 0
		for i, k := range a {
			if k < 0 {
				continue
			}
			cuts++
			size := int64(i % 300)
			switch {
			case dir == Down && k != 0:
				t.Fatalf("down: cut at %d into a response, want 0 (drop)", k)
			case dir == Up && (k < 1 || k > size+3):
				t.Fatalf("up: cut at %d into a frame of %d bytes", k, size+4)
			}
		}
		if cuts < n/20 || cuts > n/5 {
			t.Fatalf("%s: %d cuts in %d frames at probability 0.1", dir, cuts, n)
		}
	}

	// The two directions of a connection have their own sources: asking
	// one does not change the other's sequence.
	down := decisions(cfg, 3, Down, n)
	up := newDecider(cfg, 3, Up)
	dn := newDecider(cfg, 3, Down)
	for i := range n {
		up.frameCut(Frame{Size: 100})
		if got := dn.frameCut(Frame{Conn: 3, N: i + 1, Size: int32(i % 300)}); got != down[i] {
			t.Fatalf("frame %d: interleaving changed the decision", i+1)
		}
	}

	if got := decisions(&randomConfig{seed: 1}, 1, Up, 1000); slices.ContainsFunc(got, func(k int64) bool { return k >= 0 }) {
		t.Fatal("zero probabilities cut a frame")
	}
	always := &randomConfig{seed: 1, faults: Faults{DropResponse: 1, CutUpMidFrame: 1}}
	for _, dir := range []Direction{Up, Down} {
		if got := decisions(always, 1, dir, 1000); slices.Contains(got, -1) {
			t.Fatalf("%s: probability 1 left a frame alone", dir)
		}
	}
}

// randomRun sends requests one at a time through a proxy in Random mode,
// reconnecting after each failure, and returns what the client saw and the
// proxy's fault counters.
func randomRun(t *testing.T, seed uint64) (trace []string, st Stats) {
	t.Helper()
	b := startFakeBroker(t, false)
	p := listen(t, b.addr())
	p.Random(seed, Faults{DropResponse: 0.05, CutUpMidFrame: 0.05, MaxDelay: 200 * time.Microsecond})
	var c net.Conn
	conns := 0
	for i := range 200 {
		if c == nil {
			c = dial(t, p.Addr())
			conns++
		}
		req := fmt.Sprintf("req-%d-%s", i, strings.Repeat("x", i%97))
		resp, err := request(c, req)
		switch {
		case err != nil:
			trace = append(trace, fmt.Sprintf("conn %d: %d failed", conns, i))
			c.Close()
			c = nil
		case resp != "resp-"+req:
			t.Fatalf("request %d: response %q", i, resp)
		}
	}
	if c != nil {
		c.Close()
	}
	eventually(t, "connections to finish", func() bool { return p.Stats().Open == 0 })
	st = p.Stats()
	if st.Accepted != int64(conns) {
		t.Fatalf("Accepted = %d, want %d", st.Accepted, conns)
	}
	if st.Cuts != st.ResponsesDropped+st.RequestsTruncated || st.Cuts != int64(len(trace)) {
		t.Fatalf("stats = %+v for %d failures", st, len(trace))
	}
	return trace, st
}

func TestRandomModeReproducible(t *testing.T) {
	trace1, st1 := randomRun(t, 7)
	trace2, st2 := randomRun(t, 7)
	if st1.ResponsesDropped == 0 || st1.RequestsTruncated == 0 {
		t.Fatalf("stats = %+v: both kinds of faults should have fired", st1)
	}
	if st1.Delays == 0 {
		t.Fatalf("stats = %+v: no delay", st1)
	}
	if !slices.Equal(trace1, trace2) {
		t.Fatalf("same seed, different runs:\n%q\n%q", trace1, trace2)
	}
	type faults struct{ accepted, dropped, truncated, up, down int64 }
	f1 := faults{st1.Accepted, st1.ResponsesDropped, st1.RequestsTruncated, st1.FramesUp, st1.FramesDown}
	f2 := faults{st2.Accepted, st2.ResponsesDropped, st2.RequestsTruncated, st2.FramesUp, st2.FramesDown}
	if f1 != f2 {
		t.Fatalf("same seed, different counters: %+v and %+v", f1, f2)
	}
	trace3, _ := randomRun(t, 8)
	if slices.Equal(trace1, trace3) {
		t.Fatalf("different seeds, same faults: %q", trace1)
	}
}

func TestRandomOffAndCombined(t *testing.T) {
	b := startFakeBroker(t, false)
	p := listen(t, b.addr())
	p.Random(1, Faults{DropResponse: 1})
	p.Random(1, Faults{}) // off again
	c := dial(t, p.Addr())
	if resp, err := request(c, "a"); err != nil || resp != "resp-a" {
		t.Fatalf("random off: %q, %v", resp, err)
	}
	// An explicit rule and Random together: the rule leaves the frame
	// alone, Random drops it.
	p.DropResponse(func(Frame) bool { return false })
	p.Random(1, Faults{DropResponse: 1})
	if resp, err := request(c, "b"); err == nil {
		t.Fatalf("response %q despite DropResponse probability 1", resp)
	}
	if st := p.Stats(); st.ResponsesDropped != 1 {
		t.Fatalf("ResponsesDropped = %d, want 1", st.ResponsesDropped)
	}
}
