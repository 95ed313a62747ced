package controller

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// TCP framing of raft messages on the controller listener:
//
//	length uint32 | raftpb.Message (length bytes)
//
// Each node dials every peer once and keeps the connection for its own
// messages to that peer; it reads the messages peers send it on the
// connections they dial. A frame above maxFrame closes the connection.
const (
	maxFrame        = 128 << 20
	sendQueue       = 4096
	dialTimeout     = 2 * time.Second
	maxRedialBackof = time.Second
)

// TCPTransport sends raft messages to peers over TCP and receives theirs
// on a listener.
type TCPTransport struct {
	id     uint64
	ln     net.Listener
	logger *slog.Logger

	mu      sync.Mutex
	handler func(*pb.Message)
	peers   map[uint64]*tcpPeer
	conns   map[net.Conn]struct{}
	closed  bool

	wg sync.WaitGroup
}

type tcpPeer struct {
	addr  string
	queue chan *pb.Message
}

// NewTCPTransport serves node id's raft traffic on ln and sends to the
// peers' addresses (controller.quorum.voters, without id itself).
func NewTCPTransport(id uint64, ln net.Listener, peers map[uint64]string, logger *slog.Logger) *TCPTransport {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := &TCPTransport{id: id, ln: ln, logger: logger.With("node_id", id), peers: map[uint64]*tcpPeer{}, conns: map[net.Conn]struct{}{}}
	for pid, addr := range peers {
		if pid == id {
			continue
		}
		p := &tcpPeer{addr: addr, queue: make(chan *pb.Message, sendQueue)}
		t.peers[pid] = p
		t.wg.Add(1)
		go t.sendLoop(pid, p)
	}
	t.wg.Add(1)
	go t.acceptLoop()
	return t
}

// Addr returns the listening address.
func (t *TCPTransport) Addr() net.Addr { return t.ln.Addr() }

// SetHandler implements Transport.
func (t *TCPTransport) SetHandler(h func(*pb.Message)) {
	t.mu.Lock()
	t.handler = h
	t.mu.Unlock()
}

// Send implements Transport: messages are queued per peer and dropped
// when the queue is full or the peer is unknown.
func (t *TCPTransport) Send(msgs []*pb.Message) {
	for _, m := range msgs {
		t.mu.Lock()
		p := t.peers[m.GetTo()]
		closed := t.closed
		t.mu.Unlock()
		if p == nil || closed {
			continue
		}
		select {
		case p.queue <- m:
		default:
		}
	}
}

// Close stops every goroutine and closes every connection.
func (t *TCPTransport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	for _, p := range t.peers {
		close(p.queue)
	}
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	err := t.ln.Close()
	t.wg.Wait()
	return err
}

func (t *TCPTransport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *TCPTransport) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	c.Close()
}

func (t *TCPTransport) acceptLoop() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				t.logger.Warn("controller listener accept failed", "err", err)
			}
			return
		}
		if !t.track(c) {
			return
		}
		t.wg.Add(1)
		go t.readLoop(c)
	}
}

func (t *TCPTransport) readLoop(c net.Conn) {
	defer t.wg.Done()
	defer t.untrack(c)
	r := bufio.NewReaderSize(c, 64<<10)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > maxFrame {
			t.logger.Warn("closing controller connection: frame too large", "remote", c.RemoteAddr().String(), "bytes", n)
			return
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		m := &pb.Message{}
		if err := proto.Unmarshal(buf, m); err != nil || m.GetTo() != t.id {
			t.logger.Warn("closing controller connection: bad message", "remote", c.RemoteAddr().String(), "err", err)
			return
		}
		t.mu.Lock()
		h := t.handler
		t.mu.Unlock()
		if h != nil {
			h(m)
		}
	}
}

// sendLoop owns the connection to one peer: it dials on demand, writes
// queued messages, and redials with backoff after an error.
func (t *TCPTransport) sendLoop(id uint64, p *tcpPeer) {
	defer t.wg.Done()
	var c net.Conn
	var w *bufio.Writer
	backoff := 50 * time.Millisecond
	defer func() {
		if c != nil {
			t.untrack(c)
		}
	}()
	for m := range p.queue {
		t.mu.Lock()
		closed := t.closed
		t.mu.Unlock()
		if closed {
			return
		}
		if c == nil {
			d := net.Dialer{Timeout: dialTimeout}
			conn, err := d.Dial("tcp", p.addr)
			if err != nil {
				// Drop this message; raft resends. Back off before the next
				// attempt without holding up Close: the queue drains.
				time.Sleep(backoff)
				backoff = min(2*backoff, maxRedialBackof)
				continue
			}
			if !t.track(conn) {
				return
			}
			c, w, backoff = conn, bufio.NewWriterSize(conn, 64<<10), 50*time.Millisecond
		}
		if err := writeFrame(w, m); err == nil && len(p.queue) == 0 {
			err = w.Flush()
			if err != nil {
				t.logger.Debug("controller peer write failed", "peer", id, "err", err)
				t.untrack(c)
				c = nil
			}
		} else if err != nil {
			t.untrack(c)
			c = nil
		}
	}
}

func writeFrame(w *bufio.Writer, m *pb.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > maxFrame {
		return fmt.Errorf("raft message of %d bytes exceeds the frame limit", len(b))
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
