package record

import (
	"encoding/binary"
	"errors"
)

// BatchSize returns the number of bytes the batch at the front of b
// occupies, LengthFieldEnd + BatchLength, after checking only what is needed
// to trust that number: the magic byte and the length bounds. Nothing is
// allocated and nothing past the header is read.
//
// Errors, in the order they are checked:
//   - ErrTruncated: b is too short to show the magic byte.
//   - ErrLegacyFormat: magic 0 or 1 (checked before the length, which
//     means something else in the old format).
//   - *CorruptError (KindFraming): another unknown magic, or BatchLength
//     below MinBatchLength.
//   - ErrTruncated: b ends before the batch does.
func BatchSize(b []byte) (int, error) {
	if len(b) < magicPrefix {
		return 0, ErrTruncated
	}
	if err := checkMagic(b[offMagic]); err != nil {
		return 0, err
	}
	length := int32(binary.BigEndian.Uint32(b[offBatchLength:]))
	if length < MinBatchLength {
		return 0, corruptf(KindFraming, "batch length %d is below the minimum %d", length, MinBatchLength)
	}
	if int64(length) > int64(len(b)-LengthFieldEnd) {
		return 0, ErrTruncated
	}
	return LengthFieldEnd + int(length), nil
}

// Batches walks a byte slice holding batches back to back, such as a
// produce request's records field or a region of a segment file, handing
// out each batch as a subslice of the input without copying.
//
//	it := record.NewBatches(region)
//	for it.Next() {
//		b := it.Batch()
//		...
//	}
//	if it.Torn() { /* truncate the file at it.Offset() */ }
//	else if err := it.Err(); err != nil { ... }
//
// Only framing (BatchSize) is checked; validate each batch separately.
type Batches struct {
	buf []byte
	off int // start of the current batch, or of the unread rest
	end int // end of the current batch
	cur []byte
	err error
}

// NewBatches returns an iterator over the batches in b.
func NewBatches(b []byte) Batches { return Batches{buf: b} }

// Reset points the iterator at b, discarding any state.
func (it *Batches) Reset(b []byte) { *it = Batches{buf: b} }

// Next advances to the next batch and reports whether there is one. It
// returns false at the end of the input or at the first bytes that are not a
// complete batch; Err says which.
func (it *Batches) Next() bool {
	it.off, it.cur = it.end, nil
	if it.err != nil || it.off == len(it.buf) {
		return false
	}
	n, err := BatchSize(it.buf[it.off:])
	if err != nil {
		it.err = err
		return false
	}
	it.end = it.off + n
	it.cur = it.buf[it.off:it.end:it.end]
	return true
}

// Batch returns the current batch. Its capacity ends with the batch, so
// appending to it cannot overwrite the next one.
func (it *Batches) Batch() []byte { return it.cur }

// Header parses the current batch's header. Framing has already checked the
// magic byte and length, so it cannot fail.
func (it *Batches) Header() BatchHeader { return parseHeader(it.cur) }

// Offset is the position in the input of the current batch; after Next
// returns false it is where the iteration stopped: len(input) at a clean
// end, otherwise the start of the bytes that are not a complete batch.
func (it *Batches) Offset() int { return it.off }

// Err returns nil after a clean end, otherwise why iteration stopped:
// ErrTruncated, ErrLegacyFormat or a *CorruptError.
func (it *Batches) Err() error { return it.err }

// Torn reports whether iteration stopped at a partial batch at the end of
// the input: a torn tail to truncate at Offset during recovery, or an
// invalid request when producing.
func (it *Batches) Torn() bool { return errors.Is(it.err, ErrTruncated) }
