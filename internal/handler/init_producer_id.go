package handler

import (
	"context"
	"errors"
	"sync"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// producerIDs hands out the producer ids of the block the controller last
// allocated to this broker (AllocateProducerIDs, recorded in the metadata
// log, so no id is handed out twice, across restarts included). sem lets
// one request at a time ask the controller for a new block.
type producerIDs struct {
	sem chan struct{}

	mu        sync.Mutex
	next, end int64 // ids [next, end) are left
}

func newProducerIDs() *producerIDs { return &producerIDs{sem: make(chan struct{}, 1)} }

func (p *producerIDs) take() (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next >= p.end {
		return 0, false
	}
	p.next++
	return p.next - 1, true
}

func (p *producerIDs) left() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.end - p.next
}

func (p *producerIDs) set(b controller.ProducerIDBlock) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next, p.end = b.Start, b.Start+int64(b.Len)
}

// InitProducerId gives an idempotent producer (no transactional id) a
// fresh producer id at epoch 0 (versions 0-5); the producer id and epoch
// a v3+ request carries are ignored, as Kafka ignores them without a
// transactional id. A transactional id is refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED: transactions are not supported.
// When no id can be allocated the answer is COORDINATOR_LOAD_IN_PROGRESS,
// which every client retries.
func (h *Handler) InitProducerId(ctx context.Context, req *protocol.InitProducerIdRequest, version int16) *protocol.InitProducerIdResponse {
	resp := &protocol.InitProducerIdResponse{}
	resp.Default()
	switch {
	case req.TransactionalID != nil && *req.TransactionalID == "":
		// As Kafka's coordinator: an empty transactional id is no id.
		resp.ErrorCode = int16(protocol.ErrInvalidRequest)
		return resp
	case req.TransactionalID != nil:
		resp.ErrorCode = int16(protocol.ErrTransactionalIDAuthorizationFailed)
		return resp
	case version >= 3 && (req.ProducerID == -1) != (req.ProducerEpoch == -1):
		// As Kafka: a producer id and epoch go together.
		resp.ErrorCode = int16(protocol.ErrInvalidRequest)
		return resp
	}
	id, err := h.nextProducerID(ctx)
	if err != nil {
		// Whatever went wrong, the client is told to retry: Java
		// producers treat codes outside their short list (a timeout, an
		// unknown error) as fatal, as Kafka's broker knows.
		h.logger.Warn("allocating producer ids failed", "err", err)
		resp.ErrorCode = int16(protocol.ErrCoordinatorLoadInProgress)
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp
}

// nextProducerID takes an id from the current block, asking the
// controller for the next block when it is used up (requests that find
// the block empty meanwhile may use up a new one first: then ask again).
func (h *Handler) nextProducerID(ctx context.Context) (int64, error) {
	for {
		if id, ok := h.pids.take(); ok {
			return id, nil
		}
		if err := h.allocateProducerIDs(ctx); err != nil {
			return 0, err
		}
	}
}

// allocateProducerIDs gets the next block from the controller, unless
// another request got one while this one waited its turn.
func (h *Handler) allocateProducerIDs(ctx context.Context) error {
	select {
	case h.pids.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.pids.sem }()
	if h.pids.left() > 0 {
		return nil
	}
	b, ok := h.image().Broker(h.cfg.NodeID)
	if !ok {
		return errors.New("the broker is not registered yet")
	}
	ctx, cancel := h.timeout(ctx, 0)
	defer cancel()
	reply, err := h.submit(ctx, controller.AllocateProducerIDs(h.cfg.NodeID, b.Epoch))
	if err != nil {
		return err
	}
	h.pids.set(reply.(controller.ProducerIDBlock))
	return nil
}
