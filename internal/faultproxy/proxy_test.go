package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// roundTrip writes data through c in pieces of random length, half-closes,
// and returns everything read back until EOF.
func roundTrip(t *testing.T, c *net.TCPConn, data []byte, seed uint64) []byte {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(seed, 0))
		rest := data
		for len(rest) > 0 {
			n := min(len(rest), 1+rng.IntN(64<<10))
			if _, err := c.Write(rest[:n]); err != nil {
				errc <- err
				return
			}
			rest = rest[n:]
		}
		errc <- c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	return got
}

func TestForwardsLargePayload(t *testing.T) {
	echo := startEcho(t)
	p := listen(t, echo.addr())
	data := make([]byte, 8<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	got := roundTrip(t, dial(t, p.Addr()), data, 3)
	if !bytes.Equal(got, data) {
		t.Fatalf("echoed %d bytes, differing from the %d sent", len(got), len(data))
	}
	st := p.Stats()
	if st.BytesUp != int64(len(data)) || st.BytesDown != int64(len(data)) {
		t.Fatalf("BytesUp=%d BytesDown=%d, want %d each", st.BytesUp, st.BytesDown, len(data))
	}
	if st.Accepted != 1 || st.Cuts != 0 {
		t.Fatalf("stats = %+v, want 1 accepted, no cuts", st)
	}
}

func TestForwardsManySmallFrames(t *testing.T) {
	echo := startEcho(t)
	p := listen(t, echo.addr())
	const frames = 10000
	rng := rand.New(rand.NewPCG(4, 5))
	var data []byte
	for i := range frames {
		body := bytes.Repeat([]byte{byte(i)}, rng.IntN(200))
		data = append(data, frame(body)...)
	}
	got := roundTrip(t, dial(t, p.Addr()), data, 6)
	if !bytes.Equal(got, data) {
		t.Fatalf("echoed %d bytes, differing from the %d sent", len(got), len(data))
	}
	if st := p.Stats(); st.FramesUp != frames || st.FramesDown != frames {
		t.Fatalf("FramesUp=%d FramesDown=%d, want %d each", st.FramesUp, st.FramesDown, frames)
	}
}

func TestForwardsManyConnections(t *testing.T) {
	echo := startEcho(t)
	p := listen(t, echo.addr())
	const conns = 20
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		c := dial(t, p.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := bytes.Repeat([]byte{byte(i)}, 100<<10)
			go func() {
				c.Write(data)
				c.CloseWrite()
			}()
			got, err := io.ReadAll(c)
			if err == nil && !bytes.Equal(got, data) {
				err = errors.New("echo differs")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "connections to finish", func() bool { return p.Stats().Open == 0 })
	if st := p.Stats(); st.Accepted != conns {
		t.Fatalf("Accepted = %d, want %d", st.Accepted, conns)
	}
}

func TestSetTarget(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	p := listen(t, "", WithLogger(log))

	// No target yet: the connection is closed at once.
	expectEnd(t, dial(t, p.Addr()), 0)
	if st := p.Stats(); st.DialFailures != 1 {
		t.Fatalf("DialFailures = %d, want 1", st.DialFailures)
	}

	echo := startEcho(t)
	p.SetTarget(echo.addr())
	c := dial(t, p.Addr())
	if got := roundTrip(t, c, []byte("hello"), 1); string(got) != "hello" {
		t.Fatalf("echo = %q", got)
	}

	// A target that refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	p.SetTarget(refused)
	expectEnd(t, dial(t, p.Addr()), 0)
	eventually(t, "dial failure", func() bool { return p.Stats().DialFailures == 2 })

	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "dial target failed") {
		t.Fatalf("log lacks the dial failure:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func TestCutAll(t *testing.T) {
	b := startFakeBroker(t, false)
	p := listen(t, b.addr())
	c1, c2 := dial(t, p.Addr()), dial(t, p.Addr())
	for i, c := range []net.Conn{c1, c2} {
		if resp, err := request(c, "hi"); err != nil || resp != "resp-hi" {
			t.Fatalf("conn %d: %q, %v", i+1, resp, err)
		}
	}
	p.CutAll()
	expectEnd(t, c1, 0)
	expectEnd(t, c2, 0)
	if st := p.Stats(); st.Cuts != 2 {
		t.Fatalf("Cuts = %d, want 2", st.Cuts)
	}
	if resp, err := request(dial(t, p.Addr()), "again"); err != nil || resp != "resp-again" {
		t.Fatalf("after CutAll: %q, %v", resp, err)
	}
}

func TestCloseWithOpenConnections(t *testing.T) {
	// A broker that accepts and never reads: the up pump of a connection
	// that sends a lot ends up blocked writing to it.
	stop := make(chan struct{})
	stuck := startServer(t, func(net.Conn) { <-stop })
	t.Cleanup(func() { close(stop) }) // runs before the server's cleanup
	p, err := Listen(stuck.addr())
	if err != nil {
		t.Fatal(err)
	}

	idle1, idle2, busy := dial(t, p.Addr()), dial(t, p.Addr()), dial(t, p.Addr())
	wrote := make(chan error, 1)
	go func() {
		_, err := busy.Write(make([]byte, 64<<20))
		wrote <- err
	}()
	eventually(t, "three open connections", func() bool { return p.Stats().Open == 3 })
	eventually(t, "the busy connection to fill the buffers", func() bool { return p.Stats().BytesUp > 1<<20 })
	// Another one's up pump waits on a delay, the last one's on a read.
	p.Delay(Up, time.Hour, time.Hour)
	if _, err := idle1.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a delayed chunk", func() bool { return p.Stats().Delays > 0 })

	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := <-wrote; err == nil {
		t.Fatal("the busy client's write succeeded through a closed proxy")
	}
	expectEnd(t, idle1, 0)
	expectEnd(t, idle2, 0)
	if st := p.Stats(); st.Open != 0 || st.Cuts != 0 {
		t.Fatalf("after Close: %+v, want nothing open and no cuts", st)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("the proxy still accepts after Close")
	}
}
