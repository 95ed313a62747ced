package storage

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/sluice-mq/sluice/internal/record"
)

// producerWindow is how many batches of each producer a partition
// remembers: a retry of any of them is recognised as a duplicate (Kafka's
// max.in.flight.requests.per.connection bound for idempotence).
const producerWindow = 5

// Errors of the idempotent producer checks.
var (
	// ErrOutOfOrderSequence: a batch's sequence does not follow its
	// producer's last one (OUT_OF_ORDER_SEQUENCE_NUMBER).
	ErrOutOfOrderSequence = errors.New("storage: out of order sequence number")
	// ErrInvalidProducerEpoch: a batch's producer epoch is older than the
	// producer's current one (INVALID_PRODUCER_EPOCH).
	ErrInvalidProducerEpoch = errors.New("storage: invalid producer epoch")
)

// producerBatch is what a partition remembers of one appended batch of
// an idempotent producer.
type producerBatch struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64
	timestamp               int64 // the batch's max timestamp
}

// producerEntry is one producer's state on a partition: its epoch and its
// last batches, oldest first.
type producerEntry struct {
	epoch   int16
	n       int
	batches [producerWindow]producerBatch
	// lastAppend is when (unix ms, the broker's clock) the last batch was
	// appended or replayed; producers expire producer.id.expiration.ms
	// after it.
	lastAppend int64
}

func (e *producerEntry) last() *producerBatch { return &e.batches[e.n-1] }

// add remembers b, forgetting the oldest batch when the window is full.
func (e *producerEntry) add(b producerBatch) {
	if e.n == producerWindow {
		copy(e.batches[:], e.batches[1:])
		e.n--
	}
	e.batches[e.n] = b
	e.n++
}

// producerState is a partition's table of idempotent producers. It is a
// pure state machine: the log calls check before an append, update after
// it, and rebuilds it from a snapshot and the batches after it.
type producerState struct {
	producers map[int64]*producerEntry
}

func newProducerState() *producerState {
	return &producerState{producers: map[int64]*producerEntry{}}
}

// idempotent reports whether a batch header carries producer state.
func idempotent(h *record.BatchHeader) bool { return h.ProducerID >= 0 && h.BaseSequence >= 0 }

// lastSequence is the sequence of a batch's last record; sequences wrap
// from MaxInt32 to 0, as Kafka's do.
func lastSequence(h *record.BatchHeader) int32 {
	return addSequence(h.BaseSequence, h.LastOffsetDelta)
}

func addSequence(seq, delta int32) int32 {
	if seq > math.MaxInt32-delta {
		return delta - (math.MaxInt32 - seq) - 1
	}
	return seq + delta
}

// check decides on an idempotent batch before it is appended: nil to
// append it, a duplicate (the batch it retries) to answer with that
// batch's offsets, or an error. A producer the partition does not know is
// accepted at any sequence; a new epoch must start at sequence 0.
func (ps *producerState) check(h *record.BatchHeader) (*producerBatch, error) {
	e := ps.producers[h.ProducerID]
	if e == nil || e.n == 0 {
		return nil, nil
	}
	switch {
	case h.ProducerEpoch < e.epoch:
		return nil, fmt.Errorf("%w: producer %d epoch %d is older than its current epoch %d",
			ErrInvalidProducerEpoch, h.ProducerID, h.ProducerEpoch, e.epoch)
	case h.ProducerEpoch > e.epoch:
		if h.BaseSequence != 0 {
			return nil, fmt.Errorf("%w: producer %d starts epoch %d at sequence %d, not 0",
				ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)
		}
		return nil, nil
	}
	last := lastSequence(h)
	for i := 0; i < e.n; i++ {
		if b := &e.batches[i]; b.firstSeq == h.BaseSequence && b.lastSeq == last {
			dup := *b
			return &dup, nil
		}
	}
	if want := addSequence(e.last().lastSeq, 1); h.BaseSequence != want {
		return nil, fmt.Errorf("%w: producer %d epoch %d sent sequence %d, expected %d",
			ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence, want)
	}
	return nil, nil
}

// update records an appended batch (by a leader, a follower or a replay)
// without checking it; firstOffset and lastOffset are its offsets in the
// log and now the broker's clock in unix ms.
func (ps *producerState) update(h *record.BatchHeader, firstOffset, lastOffset, now int64) {
	e := ps.producers[h.ProducerID]
	if e == nil {
		e = &producerEntry{epoch: h.ProducerEpoch}
		ps.producers[h.ProducerID] = e
	}
	if h.ProducerEpoch != e.epoch {
		if h.ProducerEpoch < e.epoch {
			return // a follower copying an old epoch's batch: keep the newer state
		}
		e.epoch, e.n = h.ProducerEpoch, 0
	}
	e.add(producerBatch{firstSeq: h.BaseSequence, lastSeq: lastSequence(h),
		firstOffset: firstOffset, lastOffset: lastOffset, timestamp: h.MaxTimestamp})
	e.lastAppend = max(e.lastAppend, now)
}

// truncate forgets every batch at or after offset (a truncated log tail);
// producers left without a batch are forgotten.
func (ps *producerState) truncate(offset int64) {
	for id, e := range ps.producers {
		n := 0
		for i := 0; i < e.n; i++ {
			if e.batches[i].lastOffset < offset {
				e.batches[n] = e.batches[i]
				n++
			}
		}
		e.n = n
		if n == 0 {
			delete(ps.producers, id)
		}
	}
}

// expire forgets the producers whose last append is at or before cutoff
// (unix ms); it returns how many.
func (ps *producerState) expire(cutoff int64) int {
	n := 0
	for id, e := range ps.producers {
		if e.lastAppend <= cutoff {
			delete(ps.producers, id)
			n++
		}
	}
	return n
}

// ids returns the producer ids, sorted (for snapshots and tests).
func (ps *producerState) ids() []int64 {
	out := make([]int64, 0, len(ps.producers))
	for id := range ps.producers {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
