package faultproxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ioTimeout = 5 * time.Second

// server is a TCP server for tests: it runs handle for each connection, and
// close closes the listener and every connection and waits for the handlers.
type server struct {
	ln     net.Listener
	handle func(net.Conn)
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func startServer(t *testing.T, handle func(net.Conn)) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln, handle: handle, conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *server) addr() string { return s.ln.Addr().String() }

func (s *server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.handle(c)
		}()
	}
}

func (s *server) close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

// startEcho starts a server that writes back what it reads and half-closes
// at EOF.
func startEcho(t *testing.T) *server {
	return startServer(t, func(c net.Conn) {
		if _, err := io.Copy(c, c); err == nil {
			c.(*net.TCPConn).CloseWrite()
		}
	})
}

// sink is a server that reads each connection to its end and reports how
// many bytes it received, in the order the connections end.
type sink struct {
	*server
	counts chan int64
}

func startSink(t *testing.T) *sink {
	s := &sink{counts: make(chan int64, 16)}
	s.server = startServer(t, func(c net.Conn) {
		n, _ := io.Copy(io.Discard, c)
		s.counts <- n
	})
	return s
}

func (s *sink) next(t *testing.T) int64 {
	t.Helper()
	select {
	case n := <-s.counts:
		return n
	case <-time.After(ioTimeout):
		t.Fatal("sink: no connection ended")
		return 0
	}
}

// fakeBroker reads size-prefixed requests and answers each with a
// size-prefixed response "resp-" + request body, recording the requests it
// received in full. Responses to requests read together are written
// together. With pieces set, it writes responses one byte per write.
type fakeBroker struct {
	*server
	pieces bool

	mu       sync.Mutex
	requests []string
}

func startFakeBroker(t *testing.T, pieces bool) *fakeBroker {
	b := &fakeBroker{pieces: pieces}
	b.server = startServer(t, b.serve)
	return b
}

func (b *fakeBroker) serve(c net.Conn) {
	r := bufio.NewReader(c)
	var out []byte
	for {
		body, err := readFrame(r)
		if err != nil {
			return
		}
		b.mu.Lock()
		b.requests = append(b.requests, string(body))
		b.mu.Unlock()
		out = append(out, frame([]byte("resp-"+string(body)))...)
		if r.Buffered() > 0 {
			continue
		}
		if b.pieces {
			for i := range out {
				if _, err := c.Write(out[i : i+1]); err != nil {
					return
				}
			}
		} else if _, err := c.Write(out); err != nil {
			return
		}
		out = out[:0]
	}
}

func (b *fakeBroker) received() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

func frame(body []byte) []byte {
	f := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(f, body...)
}

func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("bad frame size %d", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
}

func listen(t *testing.T, target string, opts ...Option) *Proxy {
	t.Helper()
	p, err := Listen(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close proxy: %v", err)
		}
	})
	return p
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(ioTimeout))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// request sends body as a frame and reads one response frame.
func request(c net.Conn, body string) (string, error) {
	if _, err := c.Write(frame([]byte(body))); err != nil {
		return "", err
	}
	resp, err := readFrame(c)
	return string(resp), err
}

// expectEnd reads c to its end and fails unless it ends (EOF or reset) with
// at most max more bytes.
func expectEnd(t *testing.T, c net.Conn, max int) {
	t.Helper()
	rest, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", ioTimeout)
	}
	if len(rest) > max {
		t.Fatalf("got %d more bytes before the end, want at most %d", len(rest), max)
	}
}

// eventually polls cond until it holds or fails the test.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
