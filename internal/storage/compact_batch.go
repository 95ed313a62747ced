package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/sluice-mq/sluice/internal/record"
)

// compactDecision says, for one cleaning pass, what survives.
type compactDecision struct {
	// m maps each key indexed by the pass to its latest offset.
	m *offsetMap
	// deleteHorizonMs: tombstones (null value) in batches whose max
	// timestamp is below it are removed (delete.retention.ms passed).
	deleteHorizonMs int64
	// keepProducerLast: the last offset of each idempotent producer's last
	// batch in the log (from producer state); such batches are kept,
	// emptied of records if need be, so idempotence state survives.
	keepProducerLast map[int64]int64 // producer id → last offset of its last batch
	// maxDecompressedBytes bounds a compressed batch's records once
	// decompressed, zero meaning record.DefaultMaxDecompressedBytes. It
	// must be at least the bound Append used (maxDecompressed), or a batch
	// the log accepted could not be cleaned.
	maxDecompressedBytes int64
}

// compactStats counts what compactBatches read and wrote.
type compactStats struct {
	batchesRead    int64
	batchesCopied  int64 // written back byte for byte
	batchesRebuilt int64 // written with fewer records
	batchesEmptied int64 // a producer's last batch, kept with no records
	batchesDropped int64

	recordsRead int64
	recordsKept int64
	// tombstonesRemoved counts tombstones that were their key's latest
	// record and went because the delete horizon passed: keys deleted for
	// good. Tombstones superseded by a later record are not counted.
	tombstonesRemoved int64
	// nullKeysRemoved counts records without a key, which a compacted
	// log never keeps (written before the topic became compacted).
	nullKeysRemoved int64

	bytesRead    int64
	bytesWritten int64
}

// add accumulates o into s.
func (s *compactStats) add(o compactStats) {
	s.batchesRead += o.batchesRead
	s.batchesCopied += o.batchesCopied
	s.batchesRebuilt += o.batchesRebuilt
	s.batchesEmptied += o.batchesEmptied
	s.batchesDropped += o.batchesDropped
	s.recordsRead += o.recordsRead
	s.recordsKept += o.recordsKept
	s.tombstonesRemoved += o.tombstonesRemoved
	s.nullKeysRemoved += o.nullKeysRemoved
	s.bytesRead += o.bytesRead
	s.bytesWritten += o.bytesWritten
}

// Byte positions of the header fields a rebuilt batch has rewritten (see
// the layout in package record; offMaxTimestamp is in segment.go).
const (
	hdrAttributes      = 21
	hdrLastOffsetDelta = 23
	hdrBaseTimestamp   = 27
)

// compactBatches appends to dst the cleaned form of the batches in src
// (whole v2 batches, back to back, as stored in a segment).
//
// A record without a key goes (a compacted topic accepts none; such
// records were written before the topic became compacted). Any other
// record survives if its offset is above m.latestOffset() (not indexed by
// this pass), or the map has no later offset for its key — its own offset, or no entry at all, which happens for keys last
// written below where this pass started indexing. A surviving tombstone
// (null value) still goes if its batch's max timestamp is below
// deleteHorizonMs. These are the rules of Kafka's cleaner.
//
// Each batch is then written in one of four ways:
//   - all its records survive: copied byte for byte, never recompressed;
//   - some survive: rebuilt with the same codec, base offset, last offset
//     delta, partition leader epoch, producer id, epoch and base sequence,
//     attributes, and the surviving records' offset deltas (compaction
//     leaves gaps and never renumbers); the first timestamp becomes the
//     first survivor's and the max timestamp theirs too (a LogAppendTime
//     batch keeps its max timestamp, which is its records' timestamp; a
//     batch whose base timestamp is a delete horizon keeps it);
//   - none survive and it is its producer's last batch (keepProducerLast):
//     kept as Kafka keeps it, a 61-byte batch with no records, no
//     compression, base timestamp -1 and its max timestamp, base offset,
//     last offset delta and producer metadata unchanged, so the producer's
//     last sequence and offset can still be read from the log;
//   - none survive otherwise: dropped.
//
// Control and transactional batches are copied as they are; cleaning
// transactions (aborted data, markers) is not done here.
//
// Every batch's CRC is checked and every record decoded, those of batches
// copied as they are included, so all that is written decodes; any error —
// truncated or corrupt input, a codec the log cannot hold, the
// decompression bound — stops the call and is returned wrapped, with dst
// as it was given and the stats of the batches before it.
func compactBatches(dst, src []byte, d *compactDecision) ([]byte, compactStats, error) {
	c := compactor{d: d, m: d.m, start: len(dst)}
	if c.m == nil {
		c.m = &offsetMap{latest: -1} // nothing indexed: every record is kept
	}
	c.latest = c.m.latestOffset()
	c.opts = record.Options{MaxDecompressedBytes: d.maxDecompressedBytes}
	defer c.it.Close()

	it := record.NewBatches(src)
	for it.Next() {
		var err error
		if dst, err = c.batch(dst, it.Batch()); err != nil {
			return dst[:c.start], c.st, fmt.Errorf("storage: compacting the batch at byte %d (base offset %d): %w",
				it.Offset(), it.Header().BaseOffset, err)
		}
	}
	if err := it.Err(); err != nil {
		return dst[:c.start], c.st, fmt.Errorf("storage: compacting: bytes at %d are not a batch: %w", it.Offset(), err)
	}
	c.st.bytesWritten = int64(len(dst) - c.start)
	return dst, c.st, nil
}

// compactor is the state of one compactBatches call: the decision, a
// record iterator and a batch builder reused from batch to batch.
type compactor struct {
	d      *compactDecision
	m      *offsetMap
	opts   record.Options
	latest int64 // m.latestOffset()
	start  int   // len(dst) on entry
	it     record.Records
	b      *record.Builder
	st     compactStats
}

// batch appends the cleaned form of one batch to dst.
func (c *compactor) batch(dst, b []byte) ([]byte, error) {
	c.st.batchesRead++
	c.st.bytesRead += int64(len(b))
	if err := record.CheckCRC(b); err != nil {
		return dst, err
	}
	h, err := record.ParseHeader(b)
	if err != nil {
		return dst, err
	}
	if err := c.it.Reset(b, c.opts); err != nil {
		return dst, err
	}
	if h.Attributes.IsControl() || h.Attributes.IsTransactional() {
		// Kept whole, but read through so that what is written back
		// is known to decode.
		for c.it.Next() {
			c.st.recordsRead++
		}
		if err := c.it.Err(); err != nil {
			return dst, err
		}
		c.st.recordsKept += int64(h.NumRecords)
		c.st.batchesCopied++
		return append(dst, b...), nil
	}
	bl := c.builder(&h, h.Attributes.Codec())
	keepHorizon := h.Attributes.HasDeleteHorizon()
	var kept int32
	var shift int64 // timestamp delta of the first survivor
	for c.it.Next() {
		r := c.it.Record()
		c.st.recordsRead++
		if !c.keep(c.it.Offset(), r, h.MaxTimestamp) {
			continue
		}
		if kept == 0 && !keepHorizon {
			shift = r.TimestampDelta
			bl.BaseTimestamp = h.BaseTimestamp + shift
		}
		bl.Append(r.OffsetDelta, r.TimestampDelta-shift, r.Key, r.Value, r.Headers...)
		kept++
	}
	if err := c.it.Err(); err != nil {
		return dst, err
	}
	c.st.recordsKept += int64(kept)

	switch {
	case kept == 0 && !c.producerLast(&h):
		c.st.batchesDropped++
		return dst, nil
	case kept == h.NumRecords:
		// Everything survives (or an already empty producer batch
		// stays one): the stored bytes are the answer.
		c.st.batchesCopied++
		return append(dst, b...), nil
	case kept == 0:
		c.st.batchesEmptied++
		return c.emptyBatch(dst, &h)
	}
	c.st.batchesRebuilt++
	start := len(dst)
	if dst, err = bl.Build(dst); err != nil {
		return dst, fmt.Errorf("rebuilding: %w", err)
	}
	out := dst[start:]
	binary.BigEndian.PutUint32(out[hdrLastOffsetDelta:], uint32(h.LastOffsetDelta))
	if h.Attributes.TimestampType() == record.LogAppendTime {
		binary.BigEndian.PutUint64(out[offMaxTimestamp:], uint64(h.MaxTimestamp))
	}
	// The builder writes the codec and timestamp type; the delete
	// horizon flag and any bit it does not know are the original's too.
	binary.BigEndian.PutUint16(out[hdrAttributes:], uint16(h.Attributes))
	if err := record.UpdateCRC(out); err != nil {
		return dst[:start], fmt.Errorf("rebuilding: %w", err)
	}
	return dst, nil
}

// keep decides on one record of a data batch whose max timestamp is maxTs.
func (c *compactor) keep(offset int64, r *record.Record, maxTs int64) bool {
	if r.Key == nil {
		c.st.nullKeysRemoved++
		return false
	}
	if offset > c.latest {
		return true
	}
	if latest, ok := c.m.get(r.Key); ok && offset < latest {
		return false
	}
	if r.Value == nil && maxTs < c.d.deleteHorizonMs {
		c.st.tombstonesRemoved++
		return false
	}
	return true
}

// producerLast reports whether h is the last batch of a producer whose
// state must survive.
func (c *compactor) producerLast(h *record.BatchHeader) bool {
	if h.ProducerID < 0 {
		return false
	}
	last, ok := c.d.keepProducerLast[h.ProducerID]
	return ok && last == h.LastOffset()
}

// builder returns the reused builder, reset and set up with h's header
// fields and codec.
func (c *compactor) builder(h *record.BatchHeader, codec record.Codec) *record.Builder {
	if c.b == nil {
		c.b = record.NewBuilder(codec)
	}
	bl := c.b
	bl.Reset()
	bl.Codec = codec
	bl.TimestampType = h.Attributes.TimestampType()
	bl.Transactional, bl.Control = false, false
	bl.BaseOffset = h.BaseOffset
	bl.PartitionLeaderEpoch = h.PartitionLeaderEpoch
	bl.BaseTimestamp = h.BaseTimestamp
	bl.ProducerID, bl.ProducerEpoch, bl.BaseSequence = h.ProducerID, h.ProducerEpoch, h.BaseSequence
	return bl
}

// emptyBatch appends the record-less form of h, as Kafka writes it.
func (c *compactor) emptyBatch(dst []byte, h *record.BatchHeader) ([]byte, error) {
	bl := c.builder(h, record.CodecNone)
	bl.BaseTimestamp = h.MaxTimestamp // an empty batch's max timestamp is its base
	start := len(dst)
	dst, err := bl.Build(dst)
	if err != nil {
		return dst, fmt.Errorf("writing an empty batch: %w", err)
	}
	out := dst[start:]
	binary.BigEndian.PutUint32(out[hdrLastOffsetDelta:], uint32(h.LastOffsetDelta))
	base := noTimestamp
	binary.BigEndian.PutUint64(out[hdrBaseTimestamp:], uint64(base))
	if err := record.UpdateCRC(out); err != nil {
		return dst[:start], fmt.Errorf("writing an empty batch: %w", err)
	}
	return dst, nil
}

// noTimestamp is Kafka's "no timestamp" value.
const noTimestamp int64 = -1
