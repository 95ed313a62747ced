package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

var errNoTarget = errors.New("faultproxy: no target set")

// Proxy is a fault-injecting TCP proxy. Its methods are safe for concurrent
// use.
type Proxy struct {
	ln     net.Listener
	log    *slog.Logger
	dialer net.Dialer
	target atomic.Pointer[string]

	ctx    context.Context // cancelled by Close: aborts dials
	cancel context.CancelFunc

	faultMu sync.Mutex // serialises fault setters
	faults  atomic.Pointer[faultSet]

	stats counters

	mu     sync.Mutex
	closed bool
	nextID uint64
	conns  map[uint64]*conn
	wg     sync.WaitGroup // the accept loop and one goroutine per connection
}

// Listen starts a proxy listening on 127.0.0.1:0 (see WithListenAddr) that
// forwards each accepted connection to target, dialled per connection. The
// target may be empty and set later with SetTarget, so that a broker can be
// told to advertise the proxy's address before it starts; until then
// accepted connections are closed at once.
func Listen(target string, opts ...Option) (*Proxy, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	ln, err := net.Listen("tcp", o.listenAddr)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen on %s: %w", o.listenAddr, err)
	}
	p := &Proxy{
		ln:     ln,
		log:    o.logger,
		dialer: net.Dialer{Timeout: o.dialTimeout},
		conns:  make(map[uint64]*conn),
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.target.Store(&target)
	p.faults.Store(noFaults())
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the address clients should connect to, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetTarget sets the address dialled for connections accepted from now on.
// Open connections keep their broker.
func (p *Proxy) SetTarget(addr string) { p.target.Store(&addr) }

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats { return p.stats.snapshot() }

// CutAll cuts every open connection now. Each counts as a cut.
func (p *Proxy) CutAll() {
	for _, c := range p.openConns() {
		if c.close(causeCutAll, nil) {
			p.log.Debug("connection cut", "conn", c.id, "reason", causeCutAll.String())
		}
	}
}

// Close closes the listener and every connection, and returns once every
// goroutine of the proxy has finished. Closing is not a cut. Later calls
// wait the same way and return nil.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	p.mu.Unlock()

	p.cancel()
	err := p.ln.Close()
	for _, c := range p.openConns() {
		c.close(causeNone, nil)
	}
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("faultproxy: close listener: %w", err)
	}
	return nil
}

func (p *Proxy) openConns() []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := make([]*conn, 0, len(p.conns))
	for _, c := range p.conns {
		cs = append(cs, c)
	}
	return cs
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	backoff := time.Duration(0)
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			p.log.Warn("accept failed", "err", err, "retry_in", backoff)
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		p.stats.accepted.Add(1)
		c, ok := p.register(nc)
		if !ok {
			nc.Close()
			return
		}
		go p.serve(c)
	}
}

// register records a new connection and counts its goroutine in p.wg, unless
// the proxy is closed. Numbering in accept order makes connection numbers,
// and so Random's sources, reproducible.
func (p *Proxy) register(nc net.Conn) (*conn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, false
	}
	p.nextID++
	c := newConn(p.nextID, nc, &p.stats)
	p.conns[c.id] = c
	p.stats.open.Add(1)
	p.wg.Add(1)
	return c, true
}

func (p *Proxy) forget(c *conn) {
	c.close(causeNone, nil)
	p.mu.Lock()
	delete(p.conns, c.id)
	p.mu.Unlock()
	p.stats.open.Add(-1)
}

// serve dials the target for c, then runs the up pump in this goroutine and
// the down pump in one it owns and waits for.
func (p *Proxy) serve(c *conn) {
	defer p.wg.Done()
	defer p.forget(c)

	target := *p.target.Load()
	log := p.log.With("conn", c.id)
	if target == "" {
		p.stats.dialFailures.Add(1)
		log.Warn("dial target failed", "err", errNoTarget)
		return
	}
	bc, err := p.dialer.DialContext(p.ctx, "tcp", target)
	if err != nil {
		if !c.isClosed() && p.ctx.Err() == nil {
			p.stats.dialFailures.Add(1)
			log.Warn("dial target failed", "target", target, "err", fmt.Errorf("faultproxy: dial %s: %w", target, err))
		}
		return
	}
	if !c.attach(bc) {
		bc.Close()
		return
	}
	log.Debug("connection opened", "client", c.client.RemoteAddr().String(), "target", target)

	down := newPump(p, c, Down, bc, c.client, log)
	done := make(chan struct{})
	go func() {
		defer close(done)
		down.run()
	}()
	newPump(p, c, Up, c.client, bc, log).run()
	<-done
	log.Debug("connection closed")
}
