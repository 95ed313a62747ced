package storage

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sluice-mq/sluice/internal/record"
)

// compactDecision says, for one cleaning pass, what survives.
type compactDecision struct {
	// m maps each key indexed by the pass to its latest offset.
	m *offsetMap
	// nowMs is the pass's time: a tombstone (null value) in a batch
	// whose delete horizon is at or before it goes.
	nowMs int64
	// newHorizonMs is the delete horizon a batch gets when it keeps a
	// tombstone and has none yet: the pass's time plus
	// delete.retention.ms, or noHorizon when that is forever (such
	// batches stay as they are, their tombstones with them).
	newHorizonMs int64
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
	// horizonsSet counts batches given a delete horizon.
	horizonsSet int64
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
	s.horizonsSet += o.horizonsSet
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
// (null value) still goes if its batch carries a delete horizon at or
// before nowMs. A batch that keeps a tombstone and carries no delete
// horizon gets one, newHorizonMs, so that its tombstones stay readable
// for delete.retention.ms after the pass that first cleaned them, however
// old their timestamps (KIP-534). These are the rules of Kafka's cleaner.
//
// Each batch is then written in one of four ways:
//   - all its records survive and it needs no new delete horizon: copied
//     byte for byte, never recompressed;
//   - some survive, or it gets a delete horizon: rebuilt with the same
//     codec, base offset, last offset delta, partition leader epoch,
//     producer id, epoch and base sequence, attributes, and the surviving
//     records' offset deltas (compaction leaves gaps and never
//     renumbers); the base timestamp becomes the first survivor's, or the
//     delete horizon (with the attribute that says so) for a batch that
//     has or gets one, the records' timestamp deltas are written against
//     it, so every record keeps its timestamp, and the max timestamp is
//     the survivors' (a LogAppendTime batch keeps its max timestamp,
//     which is its records' timestamp);
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

// noHorizon, as compactDecision.newHorizonMs, gives no batch a delete
// horizon: tombstones are kept for ever.
const noHorizon int64 = math.MaxInt64

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
	if h.Attributes.IsControl() || h.Attributes.IsTransactional() {
		// Kept whole, but read through so that what is written back
		// is known to decode.
		if err := c.it.Reset(b, c.opts); err != nil {
			return dst, err
		}
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
	attrs := h.Attributes
	hasHorizon := attrs.HasDeleteHorizon()
	before := c.st
	bl := c.builder(&h, h.Attributes.Codec())
	kept, tombstones, err := c.fill(bl, b, &h, h.BaseTimestamp, hasHorizon)
	if err != nil {
		return dst, err
	}
	newHorizon := tombstones && !hasHorizon && c.d.newHorizonMs != noHorizon
	if newHorizon {
		// The same records again, their timestamps now written against
		// the horizon (counted once).
		c.st = before
		bl = c.builder(&h, h.Attributes.Codec())
		if kept, _, err = c.fill(bl, b, &h, c.d.newHorizonMs, true); err != nil {
			return dst, err
		}
		attrs |= record.AttrDeleteHorizon
		c.st.horizonsSet++
	}
	c.st.recordsKept += int64(kept)

	switch {
	case kept == 0 && !c.producerLast(&h):
		c.st.batchesDropped++
		return dst, nil
	case kept == h.NumRecords && !newHorizon:
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
	binary.BigEndian.PutUint16(out[hdrAttributes:], uint16(attrs))
	if err := record.UpdateCRC(out); err != nil {
		return dst[:start], fmt.Errorf("rebuilding: %w", err)
	}
	return dst, nil
}

// fill appends the surviving records of batch b, whose header is h, to
// bl, and reports how many there are and whether a tombstone is among
// them. With fixed, bl's base timestamp is base and each record's
// timestamp delta is rewritten against it; otherwise the base becomes the
// first survivor's timestamp.
func (c *compactor) fill(bl *record.Builder, b []byte, h *record.BatchHeader, base int64, fixed bool) (kept int32, tombstones bool, err error) {
	if err := c.it.Reset(b, c.opts); err != nil {
		return 0, false, err
	}
	bl.BaseTimestamp = base
	shift := h.BaseTimestamp - base // added to each timestamp delta
	for c.it.Next() {
		r := c.it.Record()
		c.st.recordsRead++
		if !c.keep(c.it.Offset(), r, h) {
			continue
		}
		if kept == 0 && !fixed {
			bl.BaseTimestamp = h.BaseTimestamp + r.TimestampDelta
			shift = -r.TimestampDelta
		}
		bl.Append(r.OffsetDelta, r.TimestampDelta+shift, r.Key, r.Value, r.Headers...)
		kept++
		tombstones = tombstones || r.Value == nil
	}
	return kept, tombstones, c.it.Err()
}

// keep decides on one record of the data batch whose header is h.
func (c *compactor) keep(offset int64, r *record.Record, h *record.BatchHeader) bool {
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
	if r.Value == nil && h.Attributes.HasDeleteHorizon() && h.BaseTimestamp <= c.d.nowMs {
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
