package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// Defaults of the Config limits, Kafka's.
const (
	DefaultMaxFrameBytes = 100 << 20 // socket.request.max.bytes
	DefaultMaxInFlight   = 100
	DefaultIdleTimeout   = 10 * time.Minute // connections.max.idle.ms
)

// minRequestBytes is the smallest request: api key, api version and
// correlation id (request header v0).
const minRequestBytes = 8

// ErrServerClosed is returned by Serve after Close or Shutdown.
var ErrServerClosed = errors.New("server: closed")

// Config configures a Server. Zero limits take their defaults.
type Config struct {
	// Listener is already listening; the caller binds it. Close closes it.
	Listener net.Listener
	// MaxFrameBytes bounds a request's size (socket.request.max.bytes).
	MaxFrameBytes int32
	// MaxInFlight bounds the requests of one connection that are queued or
	// being answered; the reader stops reading when it is reached.
	MaxInFlight int
	// IdleTimeout closes connections without traffic or in-flight
	// requests (connections.max.idle.ms).
	IdleTimeout time.Duration
	// MaxConnections bounds open connections (max.connections); 0 means
	// unlimited. MaxConnectionsNow, when set, is asked instead at each
	// accept, for a bound that changes at runtime.
	MaxConnections    int
	MaxConnectionsNow func() int
	// Versions returns the versions of key that are advertised and
	// accepted; ok=false means key is not served. Nil means
	// DefaultVersions.
	Versions VersionsFunc
	// Handler answers requests. Required.
	Handler Handler
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// NoSendfile makes responses that carry file records (fetches) read
	// them into the frame instead of sending them with sendfile; for
	// measuring the difference, and for tests of the copy path.
	NoSendfile bool
	// Observer, when set, is told of every request answered (for metrics).
	Observer Observer
}

// Observer is told of each request once its response is written (or,
// for a request answered with no response, once it was handled). It is
// called on connections' goroutines, concurrently, and must not block.
type Observer interface {
	// ObserveRequest reports a request of key, the time from its frame's
	// arrival to its response written, and the response (nil when none
	// is sent); resp must not be kept.
	ObserveRequest(key protocol.APIKey, d time.Duration, resp protocol.Message)
}

// Handler answers requests. See the package documentation.
type Handler interface {
	// Handle runs on the connection's processing goroutine, one request at
	// a time in arrival order, so a request's effects (e.g. log appends)
	// happen before the next request's. It returns the response or a Wait
	// that the connection's writer calls, in order, to get it (so a
	// produce can append now and wait for durability later while the next
	// request is processed).
	Handle(ctx context.Context, c *Conn, h *protocol.RequestHeader, req protocol.Message) Response
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *Conn, h *protocol.RequestHeader, req protocol.Message) Response

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, c *Conn, h *protocol.RequestHeader, req protocol.Message) Response {
	return f(ctx, c, h, req)
}

// Response is what a Handler returns for one request. Exactly one of Msg,
// Wait and None should be set; Close may be added to any.
type Response struct {
	// Msg is a ready response, encoded at the request's version.
	Msg protocol.Message
	// Wait is called by the writer, in request order, to get the response;
	// it may block. Its context is cancelled when the connection closes.
	Wait func(ctx context.Context) protocol.Message
	// None means no response is written (an acks=0 produce).
	None bool
	// Close closes the connection after this response, and no request
	// behind this one is handled.
	Close bool
}

// Stats are the server's counters since New.
type Stats struct {
	ConnectionsOpen     int64  // connections open now
	ConnectionsAccepted uint64 // connections accepted and served
	ConnectionsRejected uint64 // closed at once: MaxConnections reached
	ClosedBadFrame      uint64 // closed for a frame size out of bounds, a truncated frame or a malformed request
	ClosedUnsupported   uint64 // closed for an API key or version not served
	ClosedIdle          uint64 // closed by IdleTimeout
	HandlerPanics       uint64 // Handle, Wait or response encoding panicked
	RequestsHandled     uint64 // requests answered (or completed without a response)
	InFlight            int64  // requests queued or being answered, all connections
	PeakInFlight        int64  // the most requests one connection ever had in flight
	BytesIn             uint64 // bytes read, size prefixes included
	BytesOut            uint64 // bytes written, BytesSendfile included
	BytesSendfile       uint64 // bytes of file records sent from their files with sendfile
}

type counters struct {
	open, inFlight, peakInFlight                            atomic.Int64
	accepted, rejected, badFrame, unsupported, idle, panics atomic.Uint64
	handled, bytesIn, bytesOut, bytesSendfile               atomic.Uint64
}

// Server serves Kafka's protocol on one listener.
type Server struct {
	cfg      Config
	log      *slog.Logger
	versions VersionsFunc
	stats    counters
	nextID   atomic.Uint64

	// done is closed by Close and Shutdown: stop accepting.
	done chan struct{}

	// wg counts the accept loop and every connection goroutine. Add only
	// under mu while !closed, so Add never races with Wait.
	wg sync.WaitGroup

	mu struct {
		sync.Mutex
		closed  bool
		serving bool
		conns   map[*Conn]struct{}
	}
}

// New returns a Server; Serve starts it. It panics if cfg has no Handler.
func New(cfg Config) *Server {
	if cfg.Handler == nil {
		panic("server: Config.Handler is nil")
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if cfg.MaxFrameBytes < minRequestBytes {
		cfg.MaxFrameBytes = minRequestBytes
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxConnections < 0 {
		cfg.MaxConnections = 0
	}
	s := &Server{cfg: cfg, log: cfg.Logger, versions: cfg.Versions, done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.versions == nil {
		s.versions = DefaultVersions
	}
	s.mu.conns = make(map[*Conn]struct{})
	return s
}

// Serve accepts connections until Close or Shutdown, then returns
// ErrServerClosed; it returns other errors of the listener as they are.
// It may be called once.
func (s *Server) Serve() error {
	if s.cfg.Listener == nil {
		return errors.New("server: Config.Listener is nil")
	}
	s.mu.Lock()
	switch {
	case s.mu.closed:
		s.mu.Unlock()
		return ErrServerClosed
	case s.mu.serving:
		s.mu.Unlock()
		return errors.New("server: Serve called twice")
	}
	s.mu.serving = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	s.log.Info("serving", "addr", s.cfg.Listener.Addr().String())
	var backoff time.Duration
	for {
		nc, err := s.cfg.Listener.Accept()
		if err != nil {
			select {
			case <-s.done:
				return ErrServerClosed
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of file descriptors and the like: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed, retrying", "err", err, "backoff", backoff)
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-s.done:
					t.Stop()
					return ErrServerClosed
				}
				continue
			}
			s.log.Error("accept failed", "err", err)
			return err
		}
		backoff = 0
		s.serveConn(nc)
	}
}

// serveConn registers nc and starts its goroutines, or closes it when the
// server is closed or full.
func (s *Server) serveConn(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true) // responses are whole frames; do not wait for more
	}
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	maxConns := s.cfg.MaxConnections
	if s.cfg.MaxConnectionsNow != nil {
		maxConns = s.cfg.MaxConnectionsNow()
	}
	if maxConns > 0 && len(s.mu.conns) >= maxConns {
		s.mu.Unlock()
		s.stats.rejected.Add(1)
		s.log.Info("connection rejected: max.connections reached", "remote_addr", nc.RemoteAddr().String(), "max_connections", maxConns)
		_ = nc.Close()
		return
	}
	c := newConn(s, nc)
	s.mu.conns[c] = struct{}{}
	s.wg.Add(connGoroutines)
	s.mu.Unlock()

	s.stats.accepted.Add(1)
	s.stats.open.Add(1)
	c.start()
}

// removeConn is called by the last of a connection's goroutines to exit.
func (s *Server) removeConn(c *Conn) {
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
	s.stats.open.Add(-1)
}

// stopAccepting marks the server closed and closes the listener; it
// returns the connections open at that moment and whether this call did it.
func (s *Server) stopAccepting() ([]*Conn, bool) {
	s.mu.Lock()
	first := !s.mu.closed
	if first {
		s.mu.closed = true
		close(s.done)
	}
	conns := make([]*Conn, 0, len(s.mu.conns))
	for c := range s.mu.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var err error
	if first && s.cfg.Listener != nil {
		err = s.cfg.Listener.Close()
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Warn("closing listener", "err", err)
	}
	return conns, first
}

// Close stops accepting, closes every connection (responses not yet
// written are dropped) and waits for every goroutine of the server.
func (s *Server) Close() error {
	conns, _ := s.stopAccepting()
	for _, c := range conns {
		c.abort(slog.LevelDebug, "server closing")
	}
	s.wg.Wait()
	return nil
}

// Shutdown stops accepting and reading, lets the requests already read be
// handled and their responses written, and closes each connection when it
// has drained; then it waits for every goroutine. If ctx ends first it
// closes everything as Close does and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	conns, _ := s.stopAccepting()
	for _, c := range conns {
		c.stopReading()
	}
	drained := make(chan struct{})
	go func() { // owned here: Shutdown waits for it on both paths
		s.wg.Wait()
		close(drained)
	}()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		s.log.Warn("shutdown deadline reached, closing connections", "err", ctx.Err())
		_ = s.Close()
		<-drained
		return ctx.Err()
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	return Stats{
		ConnectionsOpen:     s.stats.open.Load(),
		ConnectionsAccepted: s.stats.accepted.Load(),
		ConnectionsRejected: s.stats.rejected.Load(),
		ClosedBadFrame:      s.stats.badFrame.Load(),
		ClosedUnsupported:   s.stats.unsupported.Load(),
		ClosedIdle:          s.stats.idle.Load(),
		HandlerPanics:       s.stats.panics.Load(),
		RequestsHandled:     s.stats.handled.Load(),
		InFlight:            s.stats.inFlight.Load(),
		PeakInFlight:        s.stats.peakInFlight.Load(),
		BytesIn:             s.stats.bytesIn.Load(),
		BytesOut:            s.stats.bytesOut.Load(),
		BytesSendfile:       s.stats.bytesSendfile.Load(),
	}
}

// Addr returns the listener's address.
func (s *Server) Addr() net.Addr {
	if s.cfg.Listener == nil {
		return nil
	}
	return s.cfg.Listener.Addr()
}

func (c *counters) notePeak(n int64) {
	for {
		p := c.peakInFlight.Load()
		if n <= p || c.peakInFlight.CompareAndSwap(p, n) {
			return
		}
	}
}
