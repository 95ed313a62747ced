package handler

import (
	"context"
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
func (h *Handler) InitProducerId(ctx context.Context, req *protocol.InitProducerIdRequest, version int16) *protocol.InitProducerIdResponse {
	resp := &protocol.InitProducerIdResponse{}
	resp.Default()
	if req.TransactionalID != nil {
		resp.ErrorCode = int16(protocol.ErrTransactionalIDAuthorizationFailed)
		return resp
	}
	id, err := h.nextProducerID(ctx)
	if err != nil {
		h.logger.Warn("allocating producer ids failed", "err", err)
		resp.ErrorCode = int16(controllerErrorCode(err))
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp
}

// nextProducerID takes an id from the current block, asking the
// controller for the next block when it is used up.
func (h *Handler) nextProducerID(ctx context.Context) (int64, error) {
	if id, ok := h.pids.take(); ok {
		return id, nil
	}
	select {
	case h.pids.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-h.pids.sem }()
	if id, ok := h.pids.take(); ok { // another request got a block meanwhile
		return id, nil
	}
	b, ok := h.image().Broker(h.cfg.NodeID)
	if !ok {
		return 0, &controller.CommandError{Code: protocol.ErrCoordinatorNotAvailable, Message: "the broker is not registered yet"}
	}
	ctx, cancel := h.timeout(ctx, 0)
	defer cancel()
	reply, err := h.submit(ctx, controller.AllocateProducerIDs(h.cfg.NodeID, b.Epoch))
	if err != nil {
		return 0, err
	}
	h.pids.set(reply.(controller.ProducerIDBlock))
	id, _ := h.pids.take()
	return id, nil
}
