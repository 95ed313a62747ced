package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-mq/sluice/internal/ctxtime"
)

// Transport carries raft messages between voters. Send must not block
// and may drop messages (raft retries); the handler is called with each
// message received for this node.
//
// It also carries forwarded commands: Forward sends an encoded command
// to a voter and returns its answer, which the receiving voter's forward
// handler computes.
type Transport interface {
	Send(msgs []*pb.Message)
	SetHandler(func(*pb.Message))
	Forward(ctx context.Context, to uint64, req []byte) ([]byte, error)
	SetForwardHandler(func(ctx context.Context, req []byte) []byte)
}

// ErrUnreachable: a forwarded command could not reach its voter.
var ErrUnreachable = errors.New("controller: voter unreachable")

// MemNetwork is an in-memory network of voters for tests, with fault
// hooks: partitions, message loss and delay.
type MemNetwork struct {
	mu       sync.Mutex
	nodes    map[uint64]*memEndpoint
	cut      map[[2]uint64]bool
	dropRate float64
	delay    time.Duration
	rng      *rand.Rand
	sent     int
	dropped  int
}

// NewMemNetwork returns an empty network; seed drives message loss.
func NewMemNetwork(seed uint64) *MemNetwork {
	return &MemNetwork{nodes: map[uint64]*memEndpoint{}, cut: map[[2]uint64]bool{}, rng: rand.New(rand.NewPCG(seed, 99))}
}

// Endpoint returns the transport of node id.
func (n *MemNetwork) Endpoint(id uint64) Transport {
	n.mu.Lock()
	defer n.mu.Unlock()
	e := &memEndpoint{net: n, id: id}
	n.nodes[id] = e
	return e
}

// Partition cuts the links between every node of a and every node of b.
func (n *MemNetwork) Partition(a, b []uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			n.cut[[2]uint64{x, y}] = true
			n.cut[[2]uint64{y, x}] = true
		}
	}
}

// Isolate cuts node id off from every other node.
func (n *MemNetwork) Isolate(id uint64) {
	var others []uint64
	n.mu.Lock()
	for o := range n.nodes {
		if o != id {
			others = append(others, o)
		}
	}
	n.mu.Unlock()
	n.Partition([]uint64{id}, others)
}

// Rejoin restores every link of node id.
func (n *MemNetwork) Rejoin(id uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k := range n.cut {
		if k[0] == id || k[1] == id {
			delete(n.cut, k)
		}
	}
}

// Connected reports whether a and b can reach each other (no cut between
// them): tests route other traffic between the nodes by it.
func (n *MemNetwork) Connected(a, b uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.cut[[2]uint64{a, b}] && !n.cut[[2]uint64{b, a}]
}

// Heal restores every link.
func (n *MemNetwork) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut = map[[2]uint64]bool{}
}

// SetDropRate drops each message with probability p.
func (n *MemNetwork) SetDropRate(p float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dropRate = p
}

// SetDelay delays every message by d.
func (n *MemNetwork) SetDelay(d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.delay = d
}

// Stats returns messages sent and dropped.
func (n *MemNetwork) Stats() (sent, dropped int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sent, n.dropped
}

type memEndpoint struct {
	net     *MemNetwork
	id      uint64
	mu      sync.Mutex
	handler func(*pb.Message)
	forward func(ctx context.Context, req []byte) []byte
}

func (e *memEndpoint) SetForwardHandler(h func(ctx context.Context, req []byte) []byte) {
	e.mu.Lock()
	e.forward = h
	e.mu.Unlock()
}

// Forward delivers req to voter to's forward handler unless the link is
// cut (or the request or its answer is dropped), after the network's
// delay each way.
func (e *memEndpoint) Forward(ctx context.Context, to uint64, req []byte) ([]byte, error) {
	n := e.net
	lost := func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.nodes[to] == nil || n.cut[[2]uint64{e.id, to}] || n.cut[[2]uint64{to, e.id}] ||
			(n.dropRate > 0 && n.rng.Float64() < n.dropRate)
	}
	wait := func() error {
		n.mu.Lock()
		d := n.delay
		n.mu.Unlock()
		if d > 0 {
			return ctxtime.Sleep(ctx, d)
		}
		return ctx.Err()
	}
	if err := wait(); err != nil {
		return nil, err
	}
	if lost() {
		return nil, fmt.Errorf("%w: %d", ErrUnreachable, to)
	}
	n.mu.Lock()
	target := n.nodes[to]
	n.mu.Unlock()
	target.mu.Lock()
	h := target.forward
	target.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("%w: %d serves no commands", ErrUnreachable, to)
	}
	resp := h(ctx, bytes.Clone(req))
	if err := wait(); err != nil {
		return nil, err
	}
	if lost() {
		return nil, fmt.Errorf("%w: %d", ErrUnreachable, to)
	}
	return resp, nil
}

func (e *memEndpoint) SetHandler(h func(*pb.Message)) {
	e.mu.Lock()
	e.handler = h
	e.mu.Unlock()
}

func (e *memEndpoint) Send(msgs []*pb.Message) {
	n := e.net
	for _, m := range msgs {
		n.mu.Lock()
		n.sent++
		to := n.nodes[m.GetTo()]
		drop := to == nil || n.cut[[2]uint64{e.id, m.GetTo()}] || (n.dropRate > 0 && n.rng.Float64() < n.dropRate)
		if drop {
			n.dropped++
		}
		delay := n.delay
		n.mu.Unlock()
		if drop {
			continue
		}
		to.mu.Lock()
		h := to.handler
		to.mu.Unlock()
		if h == nil {
			continue
		}
		// Nodes share nothing: the receiver gets its own copy, as if the
		// message had crossed a wire.
		c := proto.Clone(m).(*pb.Message)
		if delay > 0 {
			time.AfterFunc(delay, func() { h(c) })
		} else {
			h(c)
		}
	}
}
