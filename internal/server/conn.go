package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// connGoroutines is the number of goroutines per connection: reader,
// processor, writer.
const connGoroutines = 3

// readBufferBytes sizes the reader's bufio buffer: small requests arrive in
// one read, and a connection costs little memory.
const readBufferBytes = 16 << 10

// maxKeptWriteBuffer bounds the encoding buffer a writer keeps between
// responses; a larger one (a big fetch) is dropped after use.
const maxKeptWriteBuffer = 1 << 20

// Conn is one client connection, as handlers see it.
type Conn struct {
	s   *Server
	nc  net.Conn
	id  uint64
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	toProcess chan *request // reader → processor
	toWrite   chan *request // processor → writer
	slots     chan struct{} // in-flight slots: taken by the reader, released by the writer
	inFlight  atomic.Int64  // slots taken

	lastActivity atomic.Int64 // unix nanos of the last byte read or response written
	clientID     atomic.Pointer[string]

	stopping  atomic.Bool   // Shutdown: the reader must stop
	stopRead  chan struct{} // closed with stopping
	stopOnce  sync.Once
	closeOnce sync.Once
	running   atomic.Int32 // goroutines not yet exited
}

// request is one request on its way through a connection.
type request struct {
	hdr     protocol.RequestHeader
	msg     protocol.Message // nil when early is set
	frame   *[]byte          // the frame msg aliases
	pooled  bool
	early   protocol.Message // the server's own answer (KIP-511), at version 0
	resp    Response
	handled bool
	start   time.Time // when the frame had arrived (kept for an Observer only)
}

func newConn(s *Server, nc net.Conn) *Conn {
	id := s.nextID.Add(1)
	c := &Conn{
		s:         s,
		nc:        nc,
		id:        id,
		log:       s.log.With("conn_id", id, "remote_addr", addrString(nc.RemoteAddr())),
		toProcess: make(chan *request, s.cfg.MaxInFlight),
		toWrite:   make(chan *request, s.cfg.MaxInFlight),
		slots:     make(chan struct{}, s.cfg.MaxInFlight),
		stopRead:  make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.touch()
	return c
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

func (c *Conn) start() {
	c.running.Store(connGoroutines)
	go c.readLoop()
	go c.processLoop()
	go c.writeLoop()
}

// exit is deferred by each of the connection's goroutines.
func (c *Conn) exit() {
	if c.running.Add(-1) == 0 {
		c.abort(slog.LevelDebug, "connection done") // no-op when already closed
		c.dropQueued()
		// Requests dropped by an abort never released their slots.
		c.s.stats.inFlight.Add(-c.inFlight.Swap(0))
		c.s.removeConn(c)
	}
	c.s.wg.Done()
}

// dropQueued lets go of the requests an abort left queued, once every
// goroutine has exited: their responses' file records are released.
func (c *Conn) dropQueued() {
	for _, ch := range []chan *request{c.toProcess, c.toWrite} {
		for {
			var r *request
			select {
			case r = <-ch:
			default:
			}
			if r == nil { // empty, or closed and drained
				break
			}
			r.dropResponse()
			r.release()
		}
	}
}

// ID returns the connection's id, unique within its server.
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr returns the client's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr returns the address the client connected to.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// ClientID returns the client id of the latest request handed to the
// handler ("" if none or null).
func (c *Conn) ClientID() string {
	if p := c.clientID.Load(); p != nil {
		return *p
	}
	return ""
}

// Context is cancelled when the connection closes.
func (c *Conn) Context() context.Context { return c.ctx }

// abort closes the connection now, once, logging why at level. Queued
// requests and unwritten responses are dropped.
func (c *Conn) abort(level slog.Level, msg string, args ...any) {
	c.closeOnce.Do(func() {
		c.log.Log(context.Background(), level, msg, args...)
		c.cancel()
		_ = c.nc.Close()
	})
}

// stopReading makes the reader stop at once (dropping a partial frame)
// and the connection drain: see Shutdown.
func (c *Conn) stopReading() {
	c.stopOnce.Do(func() {
		c.stopping.Store(true)
		close(c.stopRead)
		// Wake a blocked Read. The reader checks stopping after arming its
		// own deadline, so it cannot re-arm past this one unnoticed.
		_ = c.nc.SetReadDeadline(time.Now())
	})
}

func (c *Conn) touch() { c.lastActivity.Store(time.Now().UnixNano()) }

// releaseSlot ends a request's time in flight.
func (c *Conn) releaseSlot() {
	c.inFlight.Add(-1)
	c.s.stats.inFlight.Add(-1)
	<-c.slots
}

// dropResponse releases the file records of a response that will not be
// written.
func (r *request) dropResponse() {
	if r.resp.Msg != nil {
		protocol.ReleaseFiles(r.resp.Msg)
	}
}

// release gives the frame back; nothing may use r.msg afterwards.
func (r *request) release() {
	if r.pooled && r.frame != nil {
		putFrame(r.frame)
	}
	r.frame, r.msg, r.pooled = nil, nil, false
}

// Errors of the reader's socket reads.
var (
	errIdle     = errors.New("server: connection idle")
	errStopping = errors.New("server: reading stopped")
)

// socketReader reads the connection for the reader goroutine, enforcing
// the idle timeout and noticing Shutdown.
type socketReader struct{ c *Conn }

func (r socketReader) Read(p []byte) (int, error) {
	c := r.c
	idle := c.s.cfg.IdleTimeout
	for {
		deadline := time.Unix(0, c.lastActivity.Load()).Add(idle)
		if now := time.Now(); !deadline.After(now) {
			// A request in flight keeps the connection alive (the reader
			// holds one slot of its own while reading).
			if c.inFlight.Load() <= 1 {
				return 0, errIdle
			}
			deadline = now.Add(idle)
		}
		if err := c.nc.SetReadDeadline(deadline); err != nil {
			return 0, err
		}
		if c.stopping.Load() {
			return 0, errStopping
		}
		n, err := c.nc.Read(p)
		if n > 0 {
			c.touch()
			c.s.stats.bytesIn.Add(uint64(n))
			return n, err
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, err
		}
		if c.stopping.Load() {
			return 0, errStopping
		}
	}
}

// readLoop reads, checks and decodes requests and queues them for the
// processor. It closes toProcess when it stops without an error, so that
// the connection drains.
func (c *Conn) readLoop() {
	defer c.exit()
	br := bufio.NewReaderSize(socketReader{c}, readBufferBytes)
	var sizeBuf [4]byte
	for {
		select { // backpressure: no slot, no reading
		case c.slots <- struct{}{}:
		case <-c.ctx.Done():
			return
		case <-c.stopRead:
			close(c.toProcess)
			return
		}
		n := c.inFlight.Add(1)
		c.s.stats.inFlight.Add(1)
		c.s.stats.notePeak(n)

		r, ok := c.readRequest(br, sizeBuf[:])
		if !ok {
			c.releaseSlot()
			return
		}
		if r == nil { // clean end: drain
			c.releaseSlot()
			close(c.toProcess)
			return
		}
		select { // never blocks: the slot guarantees room
		case c.toProcess <- r:
		case <-c.ctx.Done():
			r.release()
			c.releaseSlot()
			return
		}
	}
}

// readRequest reads one request. It returns (nil, true) when the client
// closed the connection between requests or Shutdown stopped reading, and
// ok=false when the connection was aborted.
func (c *Conn) readRequest(br *bufio.Reader, sizeBuf []byte) (r *request, ok bool) {
	if _, err := io.ReadFull(br, sizeBuf); err != nil {
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, errStopping):
			c.log.Debug("client closed connection")
			return nil, true
		case errors.Is(err, io.ErrUnexpectedEOF):
			c.s.stats.badFrame.Add(1)
			c.abort(slog.LevelInfo, "closing connection: truncated frame")
		default:
			c.readFailed(err)
		}
		return nil, false
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf))
	if size < minRequestBytes || size > c.s.cfg.MaxFrameBytes {
		c.s.stats.badFrame.Add(1)
		c.abort(slog.LevelWarn, "closing connection: frame size out of bounds",
			"size", size, "min_size", minRequestBytes, "max_size", c.s.cfg.MaxFrameBytes)
		return nil, false
	}
	frame, pooled, err := readBody(br, int(size))
	if err != nil {
		switch {
		case errors.Is(err, errStopping):
			c.log.Debug("dropped partial frame at shutdown")
			return nil, true
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			c.s.stats.badFrame.Add(1)
			c.abort(slog.LevelInfo, "closing connection: truncated frame", "size", size)
		default:
			c.readFailed(err)
		}
		return nil, false
	}
	r = &request{frame: frame, pooled: pooled}
	if c.s.cfg.Observer != nil {
		r.start = time.Now()
	}
	if err := c.decode(r); err != nil {
		r.release()
		return nil, false
	}
	return r, true
}

func (c *Conn) readFailed(err error) {
	if errors.Is(err, errIdle) {
		c.s.stats.idle.Add(1)
		c.abort(slog.LevelDebug, "closing idle connection", "idle_timeout", c.s.cfg.IdleTimeout)
		return
	}
	c.abort(slog.LevelDebug, "read failed", "err", err)
}

// decode checks the request's API and version and decodes it into r. On
// error the connection has been aborted.
func (c *Conn) decode(r *request) error {
	b := *r.frame
	key, version, err := protocol.PeekRequestKey(b)
	if err != nil { // cannot happen past the size check; kept for safety
		c.s.stats.badFrame.Add(1)
		c.abort(slog.LevelInfo, "closing connection: malformed request", "err", err)
		return err
	}
	lo, hi, served := servedRange(c.s.versions, key)
	if served && version >= lo && version <= hi {
		h, body, err := protocol.ParseRequestHeader(b)
		if err == nil {
			r.hdr = h
			r.msg = protocol.NewRequest(key)
			err = r.msg.Decode(body, version)
		}
		if err != nil {
			c.s.stats.badFrame.Add(1)
			c.abort(slog.LevelInfo, "closing connection: malformed request",
				"api_key", int16(key), "api_version", version, "err", err)
			return err
		}
		return nil
	}
	if key == protocol.KeyApiVersions {
		// KIP-511: answer at v0 with our ranges, without decoding a body
		// (or even a header) that may be newer than we know.
		r.hdr = protocol.RequestHeader{
			RequestApiKey:     int16(key),
			RequestApiVersion: version,
			CorrelationID:     int32(binary.BigEndian.Uint32(b[4:8])),
		}
		r.early = unsupportedAPIVersions(c.s.versions)
		r.release() // nothing aliases the frame
		return nil
	}
	c.s.stats.unsupported.Add(1)
	args := []any{"api_key", int16(key), "api_version", version}
	if served {
		args = append(args, "min_version", lo, "max_version", hi)
	}
	c.abort(slog.LevelInfo, "closing connection: unsupported api key or version", args...)
	return fmt.Errorf("server: unsupported %s v%d", key, version)
}

// processLoop hands requests to the handler one at a time, in order.
func (c *Conn) processLoop() {
	defer c.exit()
	for {
		var r *request
		select {
		case r0, ok := <-c.toProcess:
			if !ok {
				close(c.toWrite)
				return
			}
			r = r0
		case <-c.ctx.Done():
			return
		}
		if r.early == nil {
			if r.hdr.ClientID != nil {
				c.clientID.Store(r.hdr.ClientID)
			}
			resp, ok := c.handle(r)
			if !ok {
				r.release()
				c.releaseSlot()
				return
			}
			r.resp, r.handled = resp, true
			if resp.None {
				// Nothing aliases the frame once Handle returned.
				r.release()
			}
		}
		select { // never blocks: the slot guarantees room
		case c.toWrite <- r:
		case <-c.ctx.Done():
			r.dropResponse()
			r.release()
			c.releaseSlot()
			return
		}
		if r.resp.Close {
			close(c.toWrite) // the writer closes after this response
			return
		}
	}
}

// handle calls the handler, recovering a panic (which aborts the
// connection: ok=false).
func (c *Conn) handle(r *request) (resp Response, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.s.stats.panics.Add(1)
			c.abort(slog.LevelError, "handler panicked, closing connection",
				"api_key", r.hdr.RequestApiKey, "api_version", r.hdr.RequestApiVersion,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			ok = false
		}
	}()
	return c.s.cfg.Handler.Handle(c.ctx, c, &r.hdr, r.msg), true
}
