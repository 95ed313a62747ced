package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
)

// cleanState is what the cleaner knows of a compacted log at one moment:
// where the next pass starts indexing, how far it may go, and how dirty
// the log is.
type cleanState struct {
	// firstDirty is the first offset not yet indexed by a completed pass
	// (the cleaner-offset-checkpoint, or the log start).
	firstDirty int64
	// upper is the first offset no pass may index or rewrite: a segment
	// base at or below the active segment's, the high watermark's segment,
	// the recovery point and the first segment younger than
	// min.compaction.lag.ms.
	upper int64
	// cleanBytes are the bytes of the segments entirely below the first
	// dirty one; dirtyBytes those of the segments from it up to upper.
	cleanBytes, dirtyBytes int64
	// ratio is dirtyBytes / (cleanBytes + dirtyBytes).
	ratio float64
	// overdue: a dirty segment's first batch is older than
	// max.compaction.lag.ms, so the log is cleaned whatever its ratio.
	overdue bool
}

// eligible reports whether the cleaner should take the log now.
func (c cleanState) eligible(minRatio float64) bool {
	return c.dirtyBytes > 0 && (c.overdue || c.ratio > minRatio)
}

// segStat is the part of a segment that cleaning decisions look at.
type segStat struct {
	base, next, size int64
	maxTs, firstTs   int64
}

// planClean computes a log's cleanState from its segments (the last one
// active), log start and end, the checkpointed first dirty offset (-1 if
// none), the offset below which data may be cleaned (the high watermark;
// data above it may still be truncated away) and the recovery point (a
// segment above it may still be cut by a crash). It is a pure function.
func planClean(segs []segStat, start, end, checkpoint, bound, recoveryPoint int64, cfg *Config, nowMs int64) cleanState {
	st := cleanState{firstDirty: checkpoint}
	if st.firstDirty < start || st.firstDirty > end {
		st.firstDirty = start
	}
	if len(segs) == 0 {
		st.upper = st.firstDirty
		return st
	}
	baseAt := func(off int64) int64 { // base of the segment holding off
		b := segs[0].base
		for _, s := range segs {
			if s.base > off {
				break
			}
			b = s.base
		}
		return b
	}
	st.upper = segs[len(segs)-1].base
	st.upper = min(st.upper, baseAt(bound), baseAt(recoveryPoint))
	firstDirtyBase := baseAt(st.firstDirty)
	if cfg.MinCompactionLag > 0 {
		cutoff := nowMs - cfg.MinCompactionLag.Milliseconds()
		for _, s := range segs[:len(segs)-1] {
			if s.base >= firstDirtyBase && s.base < st.upper && s.maxTs > cutoff {
				st.upper = s.base
				break
			}
		}
	}
	earliest := int64(math.MaxInt64)
	for _, s := range segs[:len(segs)-1] {
		switch {
		case s.base < firstDirtyBase:
			st.cleanBytes += s.size
		case s.base < st.upper:
			st.dirtyBytes += s.size
			ts := s.firstTs
			if ts < 0 {
				ts = s.maxTs
			}
			if ts >= 0 {
				earliest = min(earliest, ts)
			}
		}
	}
	if total := st.cleanBytes + st.dirtyBytes; total > 0 {
		st.ratio = float64(st.dirtyBytes) / float64(total)
	}
	if cfg.MaxCompactionLag != Forever && earliest != math.MaxInt64 {
		st.overdue = earliest < nowMs-cfg.MaxCompactionLag.Milliseconds()
	}
	return st
}

// cleanState returns the log's cleaning state now.
func (l *Log) cleanState(checkpoint, bound int64, now time.Time) cleanState {
	l.mu.Lock()
	segs := l.segments()
	stats := make([]segStat, len(segs))
	for i, s := range segs {
		stats[i] = segStat{base: s.base, next: s.nextOffset.Load(), size: s.size.Load(),
			maxTs: s.maxTimestamp.Load(), firstTs: s.firstBatchTS}
	}
	l.mu.Unlock()
	cfg := l.cfg.Load()
	return planClean(stats, l.startOffset.Load(), l.endOffset.Load(), checkpoint, bound, l.recoveryPoint.Load(), cfg, now.UnixMilli())
}

// errCleanAborted: the log changed under a cleaning pass (truncation,
// retention, closing), which is given up; the next pass starts over.
var errCleanAborted = errors.New("storage: cleaning aborted: the log changed")

// cleanWork is one cleaner thread's reusable state: its offset map and
// buffers, and the throttle shared by every thread.
type cleanWork struct {
	m        *offsetMap
	read     []byte
	write    []byte
	infos    []batchInfo
	throttle *throttler
	// hook, when set (tests), is called at each step of a segment swap.
	hook func(step string)
}

// newCleanWork allocates a thread's state: a map of mapBytes and an
// initial read buffer of ioBuffer bytes.
func newCleanWork(mapBytes int, loadFactor float64, ioBuffer int, t *throttler) *cleanWork {
	return &cleanWork{m: newOffsetMap(mapBytes, loadFactor), read: make([]byte, max(ioBuffer, record.HeaderSize)), throttle: t}
}

// cleanResult is what one pass did.
type cleanResult struct {
	end      int64 // the new first dirty offset, to checkpoint
	segments int   // segments rewritten (source segments)
	stats    compactStats
}

// clean runs one cleaning pass over l from st (Kafka's Cleaner.doClean):
// it indexes the latest offset of every key from st.firstDirty towards
// st.upper (as far as the map holds), then rewrites every segment below
// where indexing stopped, in groups that each become one segment, and
// swaps each group's cleaned segment in. It returns the offset indexing
// stopped at, the next pass's first dirty offset.
func (l *Log) clean(ctx context.Context, w *cleanWork, st cleanState, now time.Time) (cleanResult, error) {
	gen := l.gen.Load()
	cfg := l.cfg.Load()
	segs := l.segments()
	res := cleanResult{end: st.firstDirty}
	if st.upper <= st.firstDirty {
		return res, nil
	}
	// An error while the log changed under the pass (a truncation cuts
	// a segment being read) is the change's doing: give up the pass.
	changed := func(err error) error {
		if err != nil && l.gen.Load() != gen {
			return fmt.Errorf("%w: %w", errCleanAborted, err)
		}
		return err
	}
	end, err := l.indexKeys(ctx, w, segs, st.firstDirty, st.upper, cfg)
	if err != nil {
		return res, changed(err)
	}
	d := &compactDecision{
		m:                    w.m,
		nowMs:                now.UnixMilli(),
		newHorizonMs:         noHorizon,
		keepProducerLast:     l.producerLastOffsets(),
		maxDecompressedBytes: maxDecompressed(cfg),
	}
	if r := cfg.DeleteRetention.Milliseconds(); cfg.DeleteRetention != Forever && r < noHorizon-d.nowMs {
		d.newHorizonMs = d.nowMs + r
	}
	var below []*segment
	for _, s := range segs[:len(segs)-1] {
		if s.base < end {
			below = append(below, s)
		}
	}
	for _, group := range groupSegments(below, cfg) {
		if gen, err = l.cleanGroup(ctx, w, group, d, cfg, gen, &res.stats); err != nil {
			return res, changed(err)
		}
		res.segments += len(group)
	}
	res.end = end
	return res, nil
}

// indexKeys fills w.m with the latest offset of each key in the segments
// holding [from, upper), stopping early when the map is full. It returns
// the first offset not indexed.
func (l *Log) indexKeys(ctx context.Context, w *cleanWork, segs []*segment, from, upper int64, cfg *Config) (int64, error) {
	w.m.resetFor(upper - from)
	opts := record.Options{MaxDecompressedBytes: maxDecompressed(cfg)}
	var recs record.Records
	defer recs.Close()
	end := upper
	full := false
	for i, s := range segs[:len(segs)-1] {
		if s.base >= upper || full {
			break
		}
		if i+1 < len(segs) && segs[i+1].base <= from {
			continue
		}
		err := w.eachChunk(ctx, l, s, cfg, func(chunk []byte) error {
			it := record.NewBatches(chunk)
			for it.Next() {
				b := it.Batch()
				h := it.Header()
				if h.LastOffset() < from || h.Attributes.IsControl() || h.Attributes.IsTransactional() {
					continue
				}
				// Checked here, before any segment is rewritten: a corrupt
				// key indexed at a later offset would remove a good
				// record's only copy.
				if err := record.CheckCRC(b); err != nil {
					return err
				}
				if err := recs.Reset(b, opts); err != nil {
					return err
				}
				for recs.Next() {
					off := recs.Offset()
					if off < from || off >= upper {
						continue
					}
					if r := recs.Record(); r.Key != nil && !w.m.put(r.Key, off) {
						end, full = off, true
						return errMapFull
					}
				}
				if err := recs.Err(); err != nil {
					return err
				}
			}
			return it.Err()
		})
		if errors.Is(err, errMapFull) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("indexing segment %d: %w", s.base, err)
		}
	}
	if full && w.m.len() == 0 {
		return 0, fmt.Errorf("storage: log.cleaner.dedupe.buffer.size holds no key (%d slots)", w.m.capacity())
	}
	return end, nil
}

var errMapFull = errors.New("offset map full")

// producerLastOffsets returns each idempotent producer's last batch's
// last offset, the batches cleaning must keep.
func (l *Log) producerLastOffsets() map[int64]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[int64]int64, len(l.producers.producers))
	for id, e := range l.producers.producers {
		if e.n > 0 {
			out[id] = e.last().lastOffset
		}
	}
	return out
}

// groupSegments splits segs into runs that each fit one segment: at most
// segment.bytes of data, indexes within segment.index.bytes, and offsets
// within int32 of the first base (Kafka's groupSegmentsBySize).
func groupSegments(segs []*segment, cfg *Config) [][]*segment {
	var groups [][]*segment
	for len(segs) > 0 {
		n := 1
		size := segs[0].size.Load()
		idx, tidx := indexEntries(segs[0])
		for n < len(segs) {
			s := segs[n]
			i, t := indexEntries(s)
			next := segs[n].nextOffset.Load()
			if n+1 < len(segs) {
				next = max(next, segs[n+1].base)
			}
			if size+s.size.Load() > cfg.SegmentBytes ||
				(idx+i)*OffsetIndexEntrySize > cfg.SegmentIndexBytes ||
				(tidx+t)*TimeIndexEntrySize > cfg.SegmentIndexBytes ||
				next-1-segs[0].base > math.MaxInt32 {
				break
			}
			size += s.size.Load()
			idx, tidx = idx+i, tidx+t
			n++
		}
		groups = append(groups, segs[:n])
		segs = segs[n:]
	}
	return groups
}

// indexEntries returns the entry counts of a segment's two indexes.
func indexEntries(s *segment) (int, int) {
	return s.index.Entries(), s.timeIndex.Entries()
}

// cleanGroup writes the cleaned form of group into a new segment and swaps
// it in. It returns the log generation after the swap.
func (l *Log) cleanGroup(ctx context.Context, w *cleanWork, group []*segment, d *compactDecision, cfg *Config, gen int64, st *compactStats) (int64, error) {
	first, last := group[0], group[len(group)-1]
	cleaned, err := createSegmentAs(l.fs, l.dir, first.base, cfg, cleanedSuffix)
	if err != nil {
		return gen, err
	}
	discard := func() {
		cleaned.closeFiles()
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			l.fs.Remove(cleaned.path(suffix))
		}
	}
	for _, s := range group {
		err := w.eachChunk(ctx, l, s, cfg, func(chunk []byte) error {
			out, cs, err := compactBatches(w.write[:0], chunk, d)
			st.add(cs)
			if err != nil {
				return err
			}
			w.write = out
			if len(out) == 0 {
				return nil
			}
			w.infos = w.infos[:0]
			it := record.NewBatches(out)
			for it.Next() {
				h := it.Header()
				w.infos = append(w.infos, batchInfo{baseOffset: h.BaseOffset, nextOffset: h.LastOffset() + 1,
					maxTimestamp: h.MaxTimestamp, size: len(it.Batch())})
			}
			if err := cleaned.append(out, w.infos, cfg); err != nil {
				return err
			}
			return w.throttle.wait(ctx, int64(len(out)))
		})
		if err != nil {
			discard()
			return gen, fmt.Errorf("cleaning segment %d: %w", s.base, err)
		}
	}
	// The cleaned segment covers the offsets its sources covered.
	cleaned.nextOffset.Store(max(cleaned.nextOffset.Load(), last.nextOffset.Load()))
	cleaned.limit = last.limit
	err = errors.Join(cleaned.sealTimeIndex(), cleaned.file.Sync(), cleaned.retire())
	if err != nil {
		discard()
		return gen, fmt.Errorf("writing cleaned segment %d: %w", first.base, err)
	}
	cleaned.syncedSize.Store(cleaned.size.Load())
	return l.swapCleaned(w, cleaned, group, gen, discard)
}

// eachChunk calls fn with s's batches, from its start, in chunks of whole
// batches of up to the read buffer's size (grown for a larger batch, up
// to a bound), throttled.
func (w *cleanWork) eachChunk(ctx context.Context, l *Log, s *segment, cfg *Config, fn func([]byte) error) error {
	f, release, err := s.acquire(l.now().UnixNano())
	if err != nil {
		if errors.Is(err, errSegmentDeleted) {
			return errCleanAborted
		}
		return err
	}
	defer release()
	maxBatch := max(4*int64(cfg.MaxMessageBytes), 16<<20)
	size := s.size.Load()
	for pos := int64(0); pos < size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		if l.closed.Load() {
			return errCleanAborted
		}
		buf := w.read[:min(int64(len(w.read)), size-pos)]
		if _, err := f.ReadAt(buf, pos); err != nil {
			return fmt.Errorf("read segment %d at %d: %w", s.base, pos, err)
		}
		// The whole batches at the front of buf; framing errors other
		// than a batch cut by the buffer's end are the segment's.
		it := record.NewBatches(buf)
		for it.Next() {
		}
		if err := it.Err(); err != nil && !it.Torn() {
			return fmt.Errorf("segment %d at %d: %w", s.base, pos+int64(it.Offset()), err)
		}
		n := it.Offset()
		if n == 0 {
			need := int64(-1)
			if len(buf) >= record.LengthFieldEnd {
				need = int64(record.LengthFieldEnd) + int64(int32(binary.BigEndian.Uint32(buf[8:])))
			}
			if need <= int64(len(buf)) || need > size-pos || need > maxBatch {
				return fmt.Errorf("segment %d: no whole batch at %d (%d bytes)", s.base, pos, need)
			}
			w.read = make([]byte, need)
			continue
		}
		if err := w.throttle.wait(ctx, int64(n)); err != nil {
			return err
		}
		if err := fn(buf[:n]); err != nil {
			return err
		}
		pos += int64(n)
	}
	return nil
}
