package faultproxy

import (
	"net"
	"sync"
)

// conn is one proxied connection: the client socket accepted by the proxy
// and, once dialled, the broker socket.
type conn struct {
	id     uint64
	client net.Conn
	stats  *counters
	done   chan struct{} // closed by close: stops pumps waiting on a delay

	mu     sync.Mutex
	broker net.Conn // nil until attach
	closed bool
}

func newConn(id uint64, client net.Conn, stats *counters) *conn {
	return &conn{id: id, client: client, stats: stats, done: make(chan struct{})}
}

// attach records the dialled broker socket. It returns false if the
// connection was closed meanwhile; the caller then closes b.
func (c *conn) attach(b net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.broker = b
	return true
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// close closes both sockets, which stops both pumps. It reports whether this
// call closed the connection. A cut (why is not causeNone) is counted once,
// by the call that closes, before anything is closed: whoever sees the
// connection end also sees the cut in Stats. If drain is not nil, it is
// half-closed first, so that the bytes already written to it arrive before
// the end of stream.
func (c *conn) close(why cause, drain net.Conn) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.closed = true
	b := c.broker
	c.mu.Unlock()

	if why != causeNone {
		c.stats.countCut(why)
	}
	close(c.done)
	if drain != nil {
		closeWrite(drain)
	}
	c.client.Close()
	if b != nil {
		b.Close()
	}
	return true
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// cause is why a connection was cut.
type cause int

const (
	causeNone     cause = iota
	causeBytes          // CutAfter, CutEachAfter
	causeDrop           // a response frame dropped
	causeTruncate       // a request frame truncated
	causeCutAll         // CutAll
)

func (c cause) String() string {
	switch c {
	case causeBytes:
		return "byte_limit"
	case causeDrop:
		return "drop_response"
	case causeTruncate:
		return "truncate_request"
	case causeCutAll:
		return "cut_all"
	}
	return "none"
}
