package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// OpenOptions describes a log to open.
type OpenOptions struct {
	FS     vfs.FS
	Dir    string // <log dir>/<topic>-<partition>
	TP     TopicPartition
	Config Config
	// RecoveryPoint comes from recovery-point-offset-checkpoint; 0 when
	// unknown, which recovers every segment.
	RecoveryPoint int64
	// LogStartOffset comes from log-start-offset-checkpoint; 0 when
	// unknown.
	LogStartOffset int64
	// CleanShutdown is true when the log directory's clean-shutdown
	// marker was present: segments are trusted without scanning.
	CleanShutdown bool
	Flusher       *Flusher
	Logger        *slog.Logger
	Now           func() time.Time
	// DuplicateCounter, when set, is incremented with every retried
	// batch the log recognises (a total over logs).
	DuplicateCounter *atomic.Uint64
	// OnSync, when set, is told how long each Sync's segment fdatasyncs
	// took (for metrics); it must not block.
	OnSync func(time.Duration)
	// PersistRecoveryPoint, when set, writes the recovery points where
	// the next Open's RecoveryPoint comes from. Sync calls it after a
	// truncation lowered this log's, before anything appended since
	// counts as durable. It may not call into this log.
	PersistRecoveryPoint func() error
}

// Open opens the log in o.Dir, creating an empty one if the directory
// holds no segment. After an unclean shutdown every segment from the
// recovery point on is scanned: each batch's framing, CRC and offsets are
// checked, the indexes are rebuilt, and the log is cut at the first bad
// batch, whatever follows it — the segment truncated there, every later
// segment removed — since a power loss may have kept unsynced writes out
// of order. A cut with valid data after the bad batch is logged at Error
// and counted (CorruptionsDetected). A segment synced whole (below the
// recovery point, or any after a clean shutdown) is scanned only if its
// indexes fail; a bad batch there with data after it is a
// *CorruptionError and the log does not open. Everything recovered is
// fsynced before Open returns, so the whole log counts as durable.
func Open(o OpenOptions) (*Log, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &Log{
		fs:         o.FS,
		dir:        o.Dir,
		tp:         o.TP,
		logger:     o.Logger.With("topic", o.TP.Topic, "partition", o.TP.Partition),
		now:        o.Now,
		flusher:    o.Flusher,
		producers:  newProducerState(),
		dupCounter: o.DuplicateCounter,
		onSync:     o.OnSync,
		persistRP:  o.PersistRecoveryPoint,
	}
	cfg := o.Config
	l.cfg.Store(&cfg)
	ch := make(chan struct{})
	l.notify.Store(&ch)
	endCh := make(chan struct{})
	l.endNotify.Store(&endCh)
	l.lastSync = o.Now()

	if err := vfs.MkdirAllDurable(o.FS, o.Dir); err != nil {
		return nil, fmt.Errorf("open log %s: %w", o.Dir, err)
	}
	epochs, err := OpenLeaderEpochCache(o.FS, o.Dir)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", o.Dir, err)
	}
	l.epochs = epochs
	segs, err := l.loadSegments(&cfg, o)
	if err != nil {
		for _, s := range segs {
			s.closeFiles()
		}
		return nil, err
	}
	l.setSegments(segs)
	last := segs[len(segs)-1]
	if o.LogStartOffset > last.nextOffset.Load() {
		// Every record is below the checkpointed log start (it was moved
		// past the data, by DeleteRecords or a truncation): start afresh
		// there.
		l.mu.Lock()
		err := l.truncateFullyLocked(o.LogStartOffset)
		l.mu.Unlock()
		if err != nil {
			l.closeSegments()
			return nil, err
		}
		segs = l.segments()
		last = segs[0]
	}
	l.endOffset.Store(last.nextOffset.Load())
	l.startOffset.Store(min(max(o.LogStartOffset, segs[0].base), l.endOffset.Load()))
	if err := epochs.TruncateFromEnd(l.endOffset.Load()); err != nil {
		l.closeSegments()
		return nil, err
	}
	if err := epochs.TruncateFromStart(l.startOffset.Load()); err != nil {
		l.closeSegments()
		return nil, err
	}

	if err := l.loadProducersLocked(); err != nil {
		l.closeSegments()
		return nil, fmt.Errorf("open log %s: producer state: %w", o.Dir, err)
	}

	// Whatever a scan recovered is on disk but maybe not yet synced (a
	// process crash keeps the page cache): sync it before calling it
	// durable.
	l.dirDirty = true
	if err := l.Sync(); err != nil {
		l.closeSegments()
		return nil, err
	}
	l.durable.Store(l.endOffset.Load())
	// Recovery may have cut a tail the cleaner's checkpoint lies in.
	l.truncatedTo.Store(l.endOffset.Load())
	return l, nil
}

// loadSegments lists the directory, clears leftovers and opens (and, when
// needed, recovers) every segment, ascending.
func (l *Log) loadSegments(cfg *Config, o OpenOptions) ([]*segment, error) {
	entries, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", l.dir, err)
	}
	rescan, err := l.completeSwaps(entries)
	if err != nil {
		return nil, err
	}
	if len(rescan) > 0 {
		if entries, err = l.fs.ReadDir(l.dir); err != nil {
			return nil, fmt.Errorf("list %s: %w", l.dir, err)
		}
	}
	sizes := map[int64]int64{}
	var bases []int64
	for _, e := range entries {
		if e.IsDir {
			continue
		}
		name := e.Name
		base, suffix, ok := parseSegmentName(name)
		switch {
		case strings.HasSuffix(name, deletedSuffix), strings.HasSuffix(name, ".tmp"),
			strings.HasSuffix(name, ".cleaned"), strings.HasSuffix(name, ".swap"):
			// Leftovers of a deletion or a replacement cut short.
			if err := l.fs.Remove(l.fs.PathJoin(l.dir, name)); err != nil {
				return nil, fmt.Errorf("remove leftover %s: %w", name, err)
			}
			l.dirDirty = true
		case ok && suffix == logSuffix:
			sizes[base] = e.Size
			bases = append(bases, base)
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	// Index files without a log are stale.
	for _, e := range entries {
		base, suffix, ok := parseSegmentName(e.Name)
		if ok && (suffix == indexSuffix || suffix == timeIndexSuffix) {
			if _, has := sizes[base]; !has {
				if err := l.fs.Remove(l.fs.PathJoin(l.dir, e.Name)); err != nil {
					return nil, fmt.Errorf("remove stale index %s: %w", e.Name, err)
				}
			}
		}
	}
	if len(bases) == 0 {
		s, err := createSegment(l.fs, l.dir, o.LogStartOffset, cfg)
		if err != nil {
			return nil, err
		}
		return []*segment{s}, nil
	}

	var segs []*segment
	var laterBytes int64 // in the segments after the current one
	for _, base := range bases {
		laterBytes += sizes[base]
	}
	for i, base := range bases {
		laterBytes -= sizes[base]
		s := &segment{fs: l.fs, dir: l.dir, base: base, firstBatchTS: -1, createdAt: l.now()}
		s.maxTimestamp.Store(-1)
		s.nextOffset.Store(base)
		s.size.Store(sizes[base])
		isLast := i == len(bases)-1
		nextBase := int64(-1)
		s.limit = math.MaxInt64
		if !isLast {
			nextBase = bases[i+1]
			s.limit = nextBase
		}
		// After an unclean shutdown a segment may hold writes no sync
		// covered if it may hold data past the recovery point: the last
		// segment below it and every one after. Those are scanned, and
		// cut at their first bad batch. The others were synced whole
		// (all of them after a clean shutdown); one is scanned only when
		// its indexes fail or a swap completion asks for it, and a bad
		// batch there with data after it is a *CorruptionError.
		unsynced := !o.CleanShutdown && (isLast || nextBase > o.RecoveryPoint)
		needScan := rescan[base] || unsynced
		rules := scanRules{cut: unsynced, laterBytes: laterBytes}
		if err := l.openSegment(s, cfg, needScan, isLast, rules); err != nil {
			var ce *CorruptionError
			if errors.As(err, &ce) || errors.Is(err, ErrStorage) {
				return segs, err
			}
			return segs, fmt.Errorf("open segment %d of %s: %w", base, l.dir, err)
		}
		segs = append(segs, s)
		if s.truncated && !isLast {
			// Recovery cut this segment short: the later segments go, as
			// Kafka's recovery drops them. For a segment synced whole,
			// recoverSegment has already refused the cut if they hold
			// any data.
			for _, later := range bases[i+1:] {
				l.logger.Warn("removed segment after a cut one", "base_offset", later, "cut_segment", base, "bytes", sizes[later])
				if err := l.removeSegmentFiles(later); err != nil {
					return segs, err
				}
			}
			s.limit = math.MaxInt64
			break
		}
	}
	return segs, nil
}

func (l *Log) removeSegmentFiles(base int64) error {
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		if err := l.fs.Remove(l.fs.PathJoin(l.dir, segmentName(base, suffix))); err != nil && !errors.Is(err, errNotExist) {
			return fmt.Errorf("remove segment %d: %w", base, err)
		}
	}
	l.dirDirty = true
	return nil
}

// scanRules says what recovery may do with a segment's first bad batch.
type scanRules struct {
	// cut is set for a segment that may hold writes no sync covered (see
	// loadSegments): its first bad batch ends the log, whatever follows.
	cut bool
	// laterBytes is the size of all the segments after this one.
	laterBytes int64
}

// openSegment opens one existing segment. With scan, every batch is
// validated and the indexes are rebuilt; otherwise the indexes are
// trusted and only the tail after the last index entry is read to find
// the end offset — and if that fails, the segment is scanned after all.
func (l *Log) openSegment(s *segment, cfg *Config, scan, last bool, rules scanRules) error {
	if !scan {
		err := l.openTrusted(s, cfg, last)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrCorruptIndex) && !errors.Is(err, errTornBatch) {
			return err
		}
		l.logger.Warn("rebuilding segment indexes", "base_offset", s.base, "err", err)
	}
	return l.openScanned(s, cfg, rules)
}

// openTrusted opens a segment written before a clean shutdown.
func (l *Log) openTrusted(s *segment, cfg *Config, last bool) (err error) {
	f, err := l.fs.Open(s.path(logSuffix))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.openIndexes(cfg, false); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.closeFiles()
		}
	}()
	if s.index.Entries() == 0 && s.size.Load() > 0 {
		return fmt.Errorf("%w: empty index for a segment of %d bytes", ErrCorruptIndex, s.size.Load())
	}
	if err := s.loadTail(f); err != nil {
		return err
	}
	s.syncedSize.Store(s.size.Load())
	if !last {
		s.retired = true
		return errors.Join(s.index.ReleaseFile(), s.timeIndex.ReleaseFile())
	}
	s.file, err = l.fs.OpenReadWrite(s.path(logSuffix))
	return err
}

// openScanned validates every batch of a segment, rebuilding its indexes
// and cutting it at its first bad batch when rules allow. The segment
// keeps its writer handle so the next Sync makes the recovered state
// durable (and retires it if it is not the last).
func (l *Log) openScanned(s *segment, cfg *Config, rules scanRules) (err error) {
	f, err := l.fs.OpenReadWrite(s.path(logSuffix))
	if err != nil {
		return err
	}
	s.file = f
	defer func() {
		if err != nil {
			s.closeFiles() // the file and whichever indexes were opened
		}
	}()
	if err := s.openIndexes(cfg, true); err != nil {
		return err
	}
	if err := l.recoverSegment(s, f, cfg, rules); err != nil {
		return err
	}
	if s.truncated {
		if err := f.Truncate(s.size.Load()); err != nil {
			return fmt.Errorf("truncate segment %d at %d: %w", s.base, s.size.Load(), err)
		}
		// The next sync must cover the cut even when nothing is left
		// below it (a size of 0 looks synced).
		s.dirty.Store(true)
	}
	if err := s.sealTimeIndex(); err != nil {
		return err
	}
	if err := s.index.Flush(); err != nil {
		return err
	}
	return s.timeIndex.Flush()
}

// recoverSegment validates every batch of s, rebuilding its indexes, and
// ends the segment at the first bad batch. What follows that batch decides
// how: nothing valid (a write cut short, a torn tail) is truncated and
// logged at Warn. A valid batch further on, too much data to rule one out,
// or data in later segments is corruption: with rules.cut the segment is
// truncated there all the same (Kafka's rule above the recovery point),
// logged at Error and counted; without it the data after the bad batch was
// known synced, and recovery stops with a *CorruptionError.
func (l *Log) recoverSegment(s *segment, f vfs.File, cfg *Config, rules scanRules) error {
	size := s.size.Load()
	var buf []byte
	pos := int64(0)
	prevLast := s.base - 1
	s.size.Store(0)
	for pos < size {
		bad, n, err := l.readValidBatch(f, pos, size, &buf, prevLast, s.maxOffset())
		if err != nil {
			return err
		}
		if bad != nil {
			return l.endSegmentAt(s, f, pos, size, prevLast, bad, rules)
		}
		h, _ := record.ParseHeader(buf[:n])
		info := batchInfo{baseOffset: h.BaseOffset, nextOffset: h.NextOffset(), maxTimestamp: h.MaxTimestamp, size: n}
		s.size.Store(pos)
		if err := s.indexRecovered(&info, cfg); err != nil {
			return err
		}
		if l.epochs != nil && h.PartitionLeaderEpoch >= 0 {
			// Only epochs newer than the cache's latest are new starts;
			// re-assigning an older one would truncate the cache.
			if latest, ok := l.epochs.LatestEpoch(); !ok || h.PartitionLeaderEpoch > latest {
				if err := l.epochs.Assign(h.PartitionLeaderEpoch, h.BaseOffset); err != nil {
					return err
				}
			}
		}
		prevLast = h.LastOffset()
		pos += int64(n)
		s.size.Store(pos)
		s.nextOffset.Store(info.nextOffset)
	}
	return nil
}

// endSegmentAt ends s at the bad batch at pos (see recoverSegment).
func (l *Log) endSegmentAt(s *segment, f vfs.File, pos, size, prevLast int64, bad error, rules scanRules) error {
	next, found, exhausted := l.findValidBatchAfter(f, pos, size, prevLast, s.maxOffset())
	torn := errors.Is(bad, errTornBatch)
	var why error
	switch {
	case found:
		why = fmt.Errorf("%w; a valid batch follows at %d", bad, next)
	case exhausted:
		why = fmt.Errorf("%w; too much data follows to rule out valid batches", bad)
	case rules.laterBytes > 0 && (!torn || !rules.cut):
		// Above the recovery point a write cut short may precede later
		// segments (no sync completed after it: a sync covers every dirty
		// segment); a complete batch failing its checks may not.
		why = fmt.Errorf("%w; later segments hold %d bytes", bad, rules.laterBytes)
	}
	if why != nil && !rules.cut {
		return l.corruption(&CorruptionError{Segment: s.base, Position: pos, Err: why})
	}
	s.truncated = true
	if why == nil {
		l.logger.Warn("truncated torn tail", "base_offset", s.base, "position", pos, "bytes", size-pos, "reason", bad)
		return nil
	}
	if !found {
		next = -1
	}
	l.logger.Error("cut log at corrupt batch", "base_offset", s.base, "position", pos,
		"bytes_dropped", size-pos+rules.laterBytes, "valid_batch_at", next, "reason", why)
	corruptionsDetected.Add(1)
	return nil
}

// corruption logs and counts a corruption found by recovery.
func (l *Log) corruption(err *CorruptionError) error {
	l.logger.Error("corrupt batch followed by valid data", "base_offset", err.Segment, "position", err.Position, "err", err.Err)
	corruptionsDetected.Add(1)
	return err
}

// corruptionsDetected counts corrupt batches found by recovery.
var corruptionsDetected atomic.Int64

// CorruptionsDetected returns how many corrupt batches recovery has found
// in this process.
func CorruptionsDetected() int64 { return corruptionsDetected.Load() }

// readValidBatch reads the batch at pos into *buf and validates it. It
// returns bad != nil (and no error) when the bytes are not a valid batch
// following prevLast with offsets at most maxOffset; bad wraps
// errTornBatch when they look like a write cut short — a partial batch or
// zeros — rather than a complete batch that fails its checks.
func (l *Log) readValidBatch(f vfs.File, pos, size int64, buf *[]byte, prevLast, maxOffset int64) (bad error, n int, err error) {
	var hdr [record.HeaderSize]byte
	if size-pos < int64(len(hdr)) {
		return fmt.Errorf("%w: %d bytes at %d, less than a batch header", errTornBatch, size-pos, pos), 0, nil
	}
	if _, err := f.ReadAt(hdr[:], pos); err != nil {
		return nil, 0, fmt.Errorf("read at %d: %w", pos, err)
	}
	length := int64(int32(binary.BigEndian.Uint32(hdr[8:])))
	switch {
	case length < record.MinBatchLength && allZero(hdr[:]):
		return fmt.Errorf("%w: zeros at %d", errTornBatch, pos), 0, nil
	case length > size-pos-record.LengthFieldEnd:
		return fmt.Errorf("%w: batch at %d claims %d bytes past the end", errTornBatch, pos, length), 0, nil
	case length < record.MinBatchLength:
		return fmt.Errorf("batch length %d at %d", length, pos), 0, nil
	}
	n = record.LengthFieldEnd + int(length)
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if _, err := f.ReadAt(b, pos); err != nil {
		return nil, 0, fmt.Errorf("read at %d: %w", pos, err)
	}
	if sz, err := record.BatchSize(b); err != nil || sz != n {
		return fmt.Errorf("batch framing at %d: %v", pos, err), 0, nil
	}
	if err := record.CheckCRC(b); err != nil {
		return err, 0, nil
	}
	h, err := record.ParseHeader(b)
	if err != nil {
		return err, 0, nil
	}
	if h.BaseOffset <= prevLast || h.LastOffsetDelta < 0 || h.BaseOffset > maxOffset || h.LastOffset() > maxOffset {
		return fmt.Errorf("batch at %d has offsets %d..%d, outside (%d, %d]", pos, h.BaseOffset, h.LastOffset(), prevLast, maxOffset), 0, nil
	}
	*buf = b
	return nil, n, nil
}

// plausibleHeader rules out, from its header alone, a batch that cannot
// be valid after prevLast, so the search reads whole batches only for
// candidates that might be.
func plausibleHeader(hdr []byte, prevLast, maxOffset int64) bool {
	h, err := record.ParseHeader(hdr)
	if err != nil {
		return false
	}
	body := int64(h.BatchLength) - (record.HeaderSize - record.LengthFieldEnd)
	switch {
	case h.BaseOffset <= prevLast, h.BaseOffset > maxOffset, h.LastOffsetDelta < 0,
		h.LastOffset() > maxOffset, h.NumRecords < 0, !h.Attributes.Codec().Valid():
		return false
	case h.Attributes.Codec() == record.CodecNone && (h.NumRecords == 0) != (body == 0):
		return false // an uncompressed batch's body is its records
	}
	return true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// findValidBatchAfter looks for any valid batch starting after pos: proof
// that the bad bytes at pos are corruption, not a torn tail. The search
// reads the rest of the segment in windows and checks a candidate only
// where a magic byte sits; its total reads are bounded (exhausted reports
// that the bound was hit before the end).
func (l *Log) findValidBatchAfter(f vfs.File, pos, size, prevLast, maxOffset int64) (at int64, found, exhausted bool) {
	budget := 2*(size-pos) + 16<<20
	var buf []byte
	window := make([]byte, 64<<10)
	for start := pos + 1; start+record.HeaderSize <= size; start += int64(len(window)) - record.HeaderSize {
		n := min(int64(len(window)), size-start)
		if _, err := f.ReadAt(window[:n], start); err != nil && !errors.Is(err, io.EOF) {
			return 0, false, false
		}
		budget -= n
		for i := int64(0); i+record.HeaderSize <= n; i++ {
			if window[i+16] != 2 {
				continue
			}
			length := int64(int32(binary.BigEndian.Uint32(window[i+8:])))
			if length < record.MinBatchLength || length > size-start-i-record.LengthFieldEnd ||
				!plausibleHeader(window[i:i+record.HeaderSize], prevLast, maxOffset) {
				continue
			}
			budget -= record.LengthFieldEnd + length
			if budget < 0 {
				return 0, false, true
			}
			if bad, _, err := l.readValidBatch(f, start+i, size, &buf, prevLast, maxOffset); err == nil && bad == nil {
				return start + i, true, false
			}
		}
		if n < int64(len(window)) {
			break
		}
	}
	return 0, false, false
}

// indexRecovered adds a recovered batch to the segment's indexes, as
// append does for new ones.
func (s *segment) indexRecovered(b *batchInfo, cfg *Config) error {
	at := s.size.Load()
	if b.maxTimestamp > s.maxTimestamp.Load() {
		s.maxTimestamp.Store(b.maxTimestamp)
		s.offsetOfMaxTS = b.baseOffset
	}
	if s.firstBatchTS < 0 && at == 0 {
		s.firstBatchTS = b.maxTimestamp
	}
	if s.bytesSinceIndex >= cfg.IndexIntervalBytes || at == 0 {
		if err := s.index.Append(b.baseOffset, int32(at)); err != nil {
			return err
		}
		if err := s.timeIndex.MaybeAppend(s.maxTimestamp.Load(), s.offsetOfMaxTS); err != nil {
			return err
		}
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += b.size
	return nil
}

func (l *Log) closeSegments() {
	for _, s := range l.segments() {
		s.closeFiles()
		s.markDeleted()
	}
}
