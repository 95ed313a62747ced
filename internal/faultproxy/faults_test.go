package faultproxy

import (
	"bytes"
	"io"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestDropResponseAfterBrokerReceivedRequest(t *testing.T) {
	b := startFakeBroker(t, false)
	p := listen(t, b.addr())
	var mu sync.Mutex
	var seen []Frame
	p.DropResponse(func(f Frame) bool {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, f)
		return f.Conn == 1 && f.N == 2
	})

	c := dial(t, p.Addr())
	if resp, err := request(c, "req-1"); err != nil || resp != "resp-req-1" {
		t.Fatalf("request 1: %q, %v", resp, err)
	}
	if resp, err := request(c, "req-2"); err == nil {
		t.Fatalf("request 2 answered (%q) despite the drop", resp)
	}
	if got := b.received(); !slices.Equal(got, []string{"req-1", "req-2"}) {
		t.Fatalf("broker received %q, want req-1 and req-2", got)
	}
	// The client retries on a new connection, whose first response passes.
	if resp, err := request(dial(t, p.Addr()), "req-3"); err != nil || resp != "resp-req-3" {
		t.Fatalf("request 3: %q, %v", resp, err)
	}

	st := p.Stats()
	if st.ResponsesDropped != 1 || st.Cuts != 1 || st.RequestsTruncated != 0 || st.ByteCuts != 0 {
		t.Fatalf("stats = %+v, want one dropped response and one cut", st)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []Frame{{1, 1, 10}, {1, 2, 10}, {2, 1, 10}}
	if !slices.Equal(seen, want) {
		t.Fatalf("rule saw %v, want %v", seen, want)
	}
}

func TestDropResponsePipelined(t *testing.T) {
	for _, pieces := range []bool{false, true} {
		name := map[bool]string{false: "coalesced", true: "one byte per write"}[pieces]
		t.Run(name, func(t *testing.T) {
			b := startFakeBroker(t, pieces)
			p := listen(t, b.addr())
			p.DropResponse(func(f Frame) bool { return f.N == 2 })
			c := dial(t, p.Addr())
			reqs := slices.Concat(frame([]byte("req-1")), frame([]byte("req-2")), frame([]byte("req-3")))
			if _, err := c.Write(reqs); err != nil {
				t.Fatal(err)
			}
			if resp, err := readFrame(c); err != nil || string(resp) != "resp-req-1" {
				t.Fatalf("response 1: %q, %v", resp, err)
			}
			// When the broker writes byte by byte, the start of the size
			// prefix of response 2 may pass before the prefix is complete.
			maxRest := 0
			if pieces {
				maxRest = 3
			}
			expectEnd(t, c, maxRest)
			if got := b.received(); len(got) < 2 || got[1] != "req-2" {
				t.Fatalf("broker received %q, want req-2 among them", got)
			}
			if st := p.Stats(); st.ResponsesDropped != 1 || st.Cuts != 1 {
				t.Fatalf("stats = %+v, want one dropped response", st)
			}
		})
	}
}

func TestCutEachAfterUp(t *testing.T) {
	s := startSink(t)
	p := listen(t, s.addr())
	p.CutEachAfter(Up, 1000)

	// One write larger than the limit.
	c := dial(t, p.Addr())
	c.Write(make([]byte, 5000))
	if n := s.next(t); n != 1000 {
		t.Fatalf("broker received %d bytes, want 1000", n)
	}
	expectEnd(t, c, 0)

	// Many writes that reach the limit exactly within one of them.
	c = dial(t, p.Addr())
	for range 50 {
		if _, err := c.Write(make([]byte, 70)); err != nil {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	if n := s.next(t); n != 1000 {
		t.Fatalf("second connection: broker received %d bytes, want 1000", n)
	}

	// A connection under the limit is left alone.
	p.CutEachAfter(Up, -1)
	c = dial(t, p.Addr())
	c.Write(make([]byte, 5000))
	c.CloseWrite()
	if n := s.next(t); n != 5000 {
		t.Fatalf("without the limit: broker received %d bytes, want 5000", n)
	}

	if st := p.Stats(); st.Cuts != 2 || st.ByteCuts != 2 || st.BytesUp != 7000 {
		t.Fatalf("stats = %+v, want 2 byte cuts and 7000 bytes up", st)
	}
}

func TestCutEachAfterDown(t *testing.T) {
	echo := startEcho(t)
	p := listen(t, echo.addr())
	p.CutEachAfter(Down, 1234)
	c := dial(t, p.Addr())
	data := bytes.Repeat([]byte("abcdefgh"), 1000)
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	if !bytes.Equal(got, data[:1234]) {
		t.Fatalf("client received %d bytes, want the first 1234 sent", len(got))
	}
	if st := p.Stats(); st.BytesDown != 1234 || st.ByteCuts != 1 {
		t.Fatalf("stats = %+v, want 1234 bytes down and one byte cut", st)
	}
}

func TestCutAfterIsOneShotOverAllConnections(t *testing.T) {
	s := startSink(t)
	p := listen(t, s.addr())
	p.CutAfter(Up, 1000)

	a := dial(t, p.Addr())
	a.Write(make([]byte, 600))
	eventually(t, "600 bytes up", func() bool { return p.Stats().BytesUp == 600 })
	b := dial(t, p.Addr())
	b.Write(make([]byte, 600))
	if n := s.next(t); n != 400 {
		t.Fatalf("second connection: broker received %d bytes, want 400", n)
	}
	expectEnd(t, b, 0)

	// The budget is spent: the first connection goes on.
	if _, err := a.Write(make([]byte, 3000)); err != nil {
		t.Fatal(err)
	}
	a.CloseWrite()
	if n := s.next(t); n != 3600 {
		t.Fatalf("first connection: broker received %d bytes, want 3600", n)
	}
	if st := p.Stats(); st.Cuts != 1 || st.ByteCuts != 1 {
		t.Fatalf("stats = %+v, want one byte cut", st)
	}
}

func TestTruncateRequest(t *testing.T) {
	s := startSink(t)
	p := listen(t, s.addr())
	var mu sync.Mutex
	var seen []Frame
	p.TruncateRequest(func(f Frame) int {
		mu.Lock()
		seen = append(seen, f)
		mu.Unlock()
		if f.N == 2 {
			return 10
		}
		return -1
	})
	c := dial(t, p.Addr())
	stream := slices.Concat(frame(make([]byte, 50)), frame(make([]byte, 100)), frame(make([]byte, 7)))
	c.Write(stream)
	if n := s.next(t); n != 54+10 {
		t.Fatalf("broker received %d bytes, want %d", n, 54+10)
	}
	expectEnd(t, c, 0)
	mu.Lock()
	if want := []Frame{{1, 1, 50}, {1, 2, 100}}; !slices.Equal(seen, want) {
		t.Fatalf("rule saw %v, want %v", seen, want)
	}
	mu.Unlock()

	// A count beyond the frame still leaves it incomplete.
	p.TruncateRequest(func(Frame) int { return 1 << 30 })
	c = dial(t, p.Addr())
	c.Write(stream)
	if n := s.next(t); n != 53 {
		t.Fatalf("broker received %d bytes, want 53", n)
	}

	if st := p.Stats(); st.RequestsTruncated != 2 || st.Cuts != 2 {
		t.Fatalf("stats = %+v, want 2 truncated requests", st)
	}

	// Cleared, nothing is cut.
	p.ClearFaults()
	c = dial(t, p.Addr())
	c.Write(stream)
	c.CloseWrite()
	if n := s.next(t); n != int64(len(stream)) {
		t.Fatalf("after ClearFaults: broker received %d bytes, want %d", n, len(stream))
	}
}

func TestDelay(t *testing.T) {
	b := startFakeBroker(t, false)
	p := listen(t, b.addr())
	c := dial(t, p.Addr())

	measure := func() time.Duration {
		t.Helper()
		start := time.Now()
		if resp, err := request(c, "ping"); err != nil || resp != "resp-ping" {
			t.Fatalf("request: %q, %v", resp, err)
		}
		return time.Since(start)
	}

	p.Delay(Up, 30*time.Millisecond, 30*time.Millisecond)
	p.Delay(Down, 20*time.Millisecond, 0) // hi < lo: fixed
	if d := measure(); d < 50*time.Millisecond {
		t.Fatalf("round trip took %v, want at least 50ms", d)
	}
	p.Delay(Down, 0, 0)
	p.Delay(Up, 20*time.Millisecond, 40*time.Millisecond)
	for range 3 {
		if d := measure(); d < 20*time.Millisecond {
			t.Fatalf("round trip took %v, want at least 20ms", d)
		}
	}
	if st := p.Stats(); st.Delays != 5 {
		t.Fatalf("Delays = %d, want 5", st.Delays)
	}
	p.Delay(Up, 0, 0)
	measure()
	if st := p.Stats(); st.Delays != 5 {
		t.Fatalf("Delays = %d after clearing, want 5", st.Delays)
	}
}
