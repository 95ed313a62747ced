package controller

import (
	"bufio"
	"context"
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

// The controller listener carries two kinds of connection, told apart by
// their first byte:
//
//	'R' then frames of  length uint32 | raftpb.Message
//	'F' then one frame  length uint32 | an encoded command (EncodeCommand)
//	    answered by one length uint32 | the answer (see forward.go)
//	'I' then one frame  length uint32 | the metadata offset an observer has
//	    answered by one length uint32 | the image after it (see observer.go)
//
// Each node dials every peer once and keeps the connection for its own
// raft messages to that peer; it reads the messages peers send it on the
// connections they dial. A forwarded command takes a connection of its
// own, closed after the answer. A frame above maxFrame closes the
// connection.
const (
	maxFrame        = 128 << 20
	sendQueue       = 4096
	dialTimeout     = 2 * time.Second
	maxRedialBackof = time.Second
	streamRaft      = 'R'
	streamForward   = 'F'
	streamImage     = 'I'
	// forwardTimeout bounds a forwarded command's run on the receiving
	// voter when the sender's deadline is not known.
	forwardTimeout = 30 * time.Second
)

// TCPTransport sends raft messages to peers over TCP and receives theirs
// on a listener.
type TCPTransport struct {
	id     uint64
	ln     net.Listener
	logger *slog.Logger

	mu      sync.Mutex
	handler func(*pb.Message)
	forward func(ctx context.Context, req []byte) []byte
	images  func(ctx context.Context, req []byte) []byte
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

// SetForwardHandler implements Transport.
func (t *TCPTransport) SetForwardHandler(h func(ctx context.Context, req []byte) []byte) {
	t.mu.Lock()
	t.forward = h
	t.mu.Unlock()
}

// Forward implements Transport: it dials peer to, sends req and reads the
// answer, within ctx's deadline.
func (t *TCPTransport) Forward(ctx context.Context, to uint64, req []byte) ([]byte, error) {
	t.mu.Lock()
	p := t.peers[to]
	t.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("%w: %d is not a peer", ErrUnreachable, to)
	}
	return callTCP(ctx, p.addr, streamForward, req)
}

// callTCP sends one request on a stream of kind to the controller
// listener at addr and returns the answer, within ctx's deadline.
func callTCP(ctx context.Context, addr string, kind byte, req []byte) ([]byte, error) {
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	w := bufio.NewWriter(c)
	w.WriteByte(kind)
	if err := writeBytesFrame(w, req); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, addr, err)
	}
	resp, err := readBytesFrame(bufio.NewReader(c))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, addr, err)
	}
	return resp, nil
}

// Send implements Transport: messages are queued per peer and dropped
// when the queue is full or the peer is unknown.
func (t *TCPTransport) Send(msgs []*pb.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	for _, m := range msgs {
		p := t.peers[m.GetTo()]
		if p == nil {
			continue
		}
		select { // never blocks; Close closes the queues under the same lock
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
	kind, err := r.ReadByte()
	if err != nil {
		return
	}
	switch kind {
	case streamRaft:
	case streamForward, streamImage:
		t.serveRequest(c, r, kind)
		return
	default:
		t.logger.Warn("closing controller connection: unknown stream", "remote", c.RemoteAddr().String(), "kind", kind)
		return
	}
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
			w.WriteByte(streamRaft)
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

// SetImageHandler sets the handler of observers' image fetches.
func (t *TCPTransport) SetImageHandler(h func(ctx context.Context, req []byte) []byte) {
	t.mu.Lock()
	t.images = h
	t.mu.Unlock()
}

// serveRequest answers one request on c: a forwarded command or an image
// fetch, by the stream's kind.
func (t *TCPTransport) serveRequest(c net.Conn, r *bufio.Reader, kind byte) {
	// A request is small (a command, an offset) and comes at once.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	req, err := readBytesFrameMax(r, maxRequest)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		t.logger.Warn("closing controller connection: bad request", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	t.mu.Lock()
	h := t.forward
	if kind == streamImage {
		h = t.images
	}
	t.mu.Unlock()
	if h == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
	defer cancel()
	// The sender gone, the answer has nowhere to go: stop waiting.
	go func() {
		var b [1]byte
		if _, err := r.Read(b[:]); err != nil {
			cancel()
		}
	}()
	resp := h(ctx, req)
	w := bufio.NewWriter(c)
	if err := writeBytesFrame(w, resp); err == nil {
		w.Flush()
	}
}

func writeBytesFrame(w *bufio.Writer, b []byte) error {
	if len(b) > maxFrame {
		return fmt.Errorf("a frame of %d bytes exceeds the limit", len(b))
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

func readBytesFrame(r *bufio.Reader) ([]byte, error) { return readBytesFrameMax(r, maxFrame) }

// maxRequest bounds a forwarded command or an image fetch request.
const maxRequest = 4 << 20

func readBytesFrameMax(r *bufio.Reader, limit uint32) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > limit {
		return nil, fmt.Errorf("a frame of %d bytes exceeds the limit", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
