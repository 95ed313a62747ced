package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// File name suffixes of a segment.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	deletedSuffix   = ".deleted"
	// A cleaned segment is written under .cleaned names, renamed to
	// .swap names once complete (the commit point of a replacement), and
	// to its final names once the segments it replaces are gone.
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"
)

// segmentName is the file name of a segment's file: the base offset in 20
// digits, as Kafka names them.
func segmentName(base int64, suffix string) string {
	return fmt.Sprintf("%020d%s", base, suffix)
}

// parseSegmentName returns the base offset and suffix of a segment file
// name, or false.
func parseSegmentName(name string) (int64, string, bool) {
	if len(name) < 21 {
		return 0, "", false
	}
	base, err := strconv.ParseInt(name[:20], 10, 64)
	if err != nil || base < 0 {
		return 0, "", false
	}
	return base, name[20:], true
}

// segment is one file of a partition log with its two indexes. The log's
// writer appends; readers see the bytes below size, which is published
// after the bytes are written.
type segment struct {
	fs   vfs.FS
	dir  string
	base int64

	// size is the number of bytes readers may see.
	size atomic.Int64
	// nextOffset is the offset after the last batch in the segment.
	nextOffset atomic.Int64
	// maxTimestamp is the largest batch max timestamp, -1 if none.
	maxTimestamp atomic.Int64
	// syncedSize is the size covered by the last successful fsync.
	syncedSize atomic.Int64

	// Writer state, guarded by the owning log's mutex.
	file            vfs.File // open for the active segment; nil once released
	index           *OffsetIndex
	timeIndex       *TimeIndex
	bytesSinceIndex int
	offsetOfMaxTS   int64
	// firstBatchTS is the max timestamp of the first batch, -1 if none;
	// segment.ms counts from it, or from createdAt without one.
	firstBatchTS int64
	createdAt    time.Time
	// dirty is set by a truncation: the next sync must cover the cut.
	dirty atomic.Bool
	// retired is set once a segment that stopped being active has been
	// synced with its indexes and its writer handles released; the
	// recovery point may then pass it.
	retired   bool
	truncated bool      // recovery cut the segment at a bad batch
	limit     int64     // offsets in the segment are below this (the next segment's base)
	deletedAt time.Time // when retention or DeleteRecords removed it

	// refs counts readers holding the file open for a read; a deleted
	// segment closes its file when the last one lets go.
	mu       sync.Mutex
	refs     int
	readers  vfs.File
	lastRead int64 // unix nanoseconds of the last acquire
	deleted  bool

	// replaced is set when the cleaner swapped a cleaned segment in for
	// this one: a reader that finds it deleted retries with the new list.
	replaced atomic.Bool
	// extra is appended to every file name of a segment being written by
	// the cleaner (.cleaned, then .swap); nil once it has its final names.
	extra atomic.Pointer[string]
}

func (s *segment) path(suffix string) string {
	name := segmentName(s.base, suffix)
	if x := s.extra.Load(); x != nil {
		name += *x
	}
	return s.fs.PathJoin(s.dir, name)
}

// createSegment creates an empty segment at base.
func createSegment(fsys vfs.FS, dir string, base int64, cfg *Config) (*segment, error) {
	return createSegmentAs(fsys, dir, base, cfg, "")
}

// createSegmentAs creates an empty segment at base whose file names end
// with extra (none for a log's own segments).
func createSegmentAs(fsys vfs.FS, dir string, base int64, cfg *Config, extra string) (*segment, error) {
	s := &segment{fs: fsys, dir: dir, base: base, firstBatchTS: -1, createdAt: time.Now()}
	s.maxTimestamp.Store(-1)
	s.nextOffset.Store(base)
	if extra != "" {
		s.extra.Store(&extra)
	}
	f, err := fsys.Create(s.path(logSuffix))
	if err != nil {
		return nil, fmt.Errorf("create segment %d: %w", base, err)
	}
	s.file = f
	if err := s.openIndexes(cfg, true); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// openIndexes opens (or, with fresh, recreates empty) both indexes.
func (s *segment) openIndexes(cfg *Config, fresh bool) error {
	if fresh {
		for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
			if err := s.fs.Remove(s.path(suffix)); err != nil && !errors.Is(err, errNotExist) {
				return fmt.Errorf("reset index of segment %d: %w", s.base, err)
			}
		}
	}
	ix, err := OpenOffsetIndex(s.fs, s.path(indexSuffix), s.base, cfg.SegmentIndexBytes)
	if err != nil {
		return fmt.Errorf("segment %d: %w", s.base, err)
	}
	tix, err := OpenTimeIndex(s.fs, s.path(timeIndexSuffix), s.base, cfg.SegmentIndexBytes)
	if err != nil {
		ix.Close()
		return fmt.Errorf("segment %d: %w", s.base, err)
	}
	s.index, s.timeIndex = ix, tix
	return nil
}

// append writes batches (whole, contiguous, offsets assigned) to the
// segment and indexes them. Called by the log's writer only.
func (s *segment) append(batches []byte, infos []batchInfo, cfg *Config) error {
	pos := s.size.Load()
	if _, err := s.file.WriteAt(batches, pos); err != nil {
		return fmt.Errorf("write segment %d: %w", s.base, err)
	}
	at := pos
	for i := range infos {
		b := &infos[i]
		if s.firstBatchTS < 0 && at == 0 {
			s.firstBatchTS = b.maxTimestamp
		}
		if b.maxTimestamp > s.maxTimestamp.Load() {
			s.maxTimestamp.Store(b.maxTimestamp)
			s.offsetOfMaxTS = b.baseOffset
		}
		if s.bytesSinceIndex >= cfg.IndexIntervalBytes || at == 0 {
			if err := s.index.Append(b.baseOffset, int32(at)); err != nil {
				return fmt.Errorf("segment %d: %w", s.base, err)
			}
			if err := s.timeIndex.MaybeAppend(s.maxTimestamp.Load(), s.offsetOfMaxTS); err != nil {
				return fmt.Errorf("segment %d: %w", s.base, err)
			}
			s.bytesSinceIndex = 0
		}
		s.bytesSinceIndex += b.size
		at += int64(b.size)
	}
	s.nextOffset.Store(infos[len(infos)-1].nextOffset)
	s.size.Store(at)
	return nil
}

// batchInfo is what the writer learned about one batch it appends.
type batchInfo struct {
	baseOffset   int64
	nextOffset   int64
	maxTimestamp int64
	size         int
	header       record.BatchHeader // as the producer sent it (offsets not yet assigned)
}

// acquire returns a file for reading the segment and a release function.
// The read handle is opened on demand and kept for the next reader;
// closeIdleReader closes it once unused, so idle partitions hold no
// descriptors for reading.
func (s *segment) acquire(nowNanos int64) (vfs.File, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleted {
		return nil, nil, errSegmentDeleted
	}
	if s.readers == nil {
		f, err := s.fs.Open(s.path(logSuffix))
		if err != nil {
			return nil, nil, fmt.Errorf("open segment %d: %w", s.base, err)
		}
		s.readers = f
	}
	s.refs++
	s.lastRead = nowNanos
	return s.readers, s.release, nil
}

func (s *segment) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs--
	if s.refs == 0 && s.deleted && s.readers != nil {
		s.readers.Close()
		s.readers = nil
	}
}

// closeIdleReader closes the read handle if no reader holds it and it has
// not been used since before cutoff (unix nanoseconds).
func (s *segment) closeIdleReader(cutoff int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == 0 && s.readers != nil && s.lastRead < cutoff {
		s.readers.Close()
		s.readers = nil
	}
}

var errSegmentDeleted = errors.New("storage: segment deleted")

// headerBuf is large enough for the prefix of a batch header we read
// while scanning: base offset, length, and up to the last offset delta.
const scanHeaderLen = record.HeaderSize

// batchPos is what a header scan learns about one batch.
type batchPos struct {
	pos, base, last, maxTimestamp int64
	size                          int32
	// header is the batch's whole header as read, valid during the visit
	// only.
	header []byte
}

// scanHeaders walks batch headers in f from pos, below limit, calling
// visit for each batch; visit returns false to stop. It reads only the
// headers, one ReadAt each.
func scanHeaders(f io.ReaderAt, pos, limit int64, visit func(b batchPos) bool) error {
	var buf [scanHeaderLen]byte
	for pos < limit {
		n := int64(len(buf))
		if limit-pos < n {
			return fmt.Errorf("%w: partial batch header at %d", errTornBatch, pos)
		}
		if _, err := f.ReadAt(buf[:n], pos); err != nil {
			return fmt.Errorf("read batch header at %d: %w", pos, err)
		}
		length := int32(binary.BigEndian.Uint32(buf[8:]))
		if length < record.MinBatchLength {
			return fmt.Errorf("%w: batch length %d at %d", errTornBatch, length, pos)
		}
		b := batchPos{
			pos:          pos,
			base:         int64(binary.BigEndian.Uint64(buf[0:])),
			maxTimestamp: int64(binary.BigEndian.Uint64(buf[offMaxTimestamp:])),
			size:         int32(record.LengthFieldEnd) + length,
			header:       buf[:],
		}
		b.last = b.base + int64(int32(binary.BigEndian.Uint32(buf[23:])))
		if !visit(b) {
			return nil
		}
		pos += int64(b.size)
	}
	return nil
}

// scanPositions is scanHeaders for callers that need positions and
// offsets only.
func scanPositions(f io.ReaderAt, pos, limit int64, visit func(pos, base, last int64, size int32) bool) error {
	return scanHeaders(f, pos, limit, func(b batchPos) bool { return visit(b.pos, b.base, b.last, b.size) })
}

// loadTail recomputes what the writer tracks about a segment's data — its
// next offset, largest timestamp and the offset holding it, the first
// batch's timestamp — from the indexes and the batches after the last
// offset index entry. Used when opening a trusted segment and after a
// truncation.
func (s *segment) loadTail(f io.ReaderAt) error {
	size := s.size.Load()
	_, pos := s.index.Lookup(math.MaxInt64)
	if int64(pos) > size {
		return fmt.Errorf("%w: index points past the end of segment %d", ErrCorruptIndex, s.base)
	}
	maxTS, maxOff := s.timeIndex.LastEntry()
	if maxTS < 0 {
		maxTS, maxOff = -1, s.base
	}
	next := s.base
	torn := false
	err := scanHeaders(f, int64(pos), size, func(b batchPos) bool {
		if b.pos+int64(b.size) > size {
			torn = true
			return false
		}
		next = b.last + 1
		if b.maxTimestamp > maxTS {
			maxTS, maxOff = b.maxTimestamp, b.base
		}
		return true
	})
	if err != nil || torn {
		return fmt.Errorf("%w: segment %d does not end on a batch boundary", errTornBatch, s.base)
	}
	if pos > 0 || size > 0 {
		// The index's last entry covers the batches before it.
		next = max(next, s.index.LastOffset()+1)
	}
	s.nextOffset.Store(max(next, s.base))
	s.maxTimestamp.Store(maxTS)
	s.offsetOfMaxTS = maxOff
	s.bytesSinceIndex = int(size - int64(pos))
	s.firstBatchTS = -1
	if size > 0 {
		return scanHeaders(f, 0, size, func(b batchPos) bool {
			s.firstBatchTS = b.maxTimestamp
			return false
		})
	}
	return nil
}

// sealTimeIndex adds the segment's largest timestamp to its time index, as
// Kafka does when a segment stops being written, so lookups and time
// retention see it after a restart.
func (s *segment) sealTimeIndex() error {
	if ts := s.maxTimestamp.Load(); ts >= 0 {
		return s.timeIndex.MaybeAppend(ts, s.offsetOfMaxTS)
	}
	return nil
}

var errTornBatch = errors.New("storage: torn batch")

// positionOf returns the header of the first batch whose last offset is
// at least target; if there is none, a batchPos at limit with size 0.
func (s *segment) positionOf(f io.ReaderAt, target int64, limit int64) (batchPos, error) {
	_, start := s.index.Lookup(target)
	found := batchPos{pos: limit}
	err := scanHeaders(f, int64(start), limit, func(b batchPos) bool {
		if b.last >= target {
			found = b
			return false
		}
		return true
	})
	return found, err
}

// retire releases the writer's handles of a segment that is no longer
// active and fully synced; its indexes stay loaded for lookups.
func (s *segment) retire() error {
	if err := s.index.Sync(); err != nil {
		return err
	}
	if err := s.timeIndex.Sync(); err != nil {
		return err
	}
	errs := []error{s.index.ReleaseFile(), s.timeIndex.ReleaseFile()}
	if s.file != nil {
		errs = append(errs, s.file.Close())
		s.file = nil
	}
	s.retired = true
	return errors.Join(errs...)
}

// setMaxTimestamp rewrites a batch's max timestamp and its CRC.
func setMaxTimestamp(b []byte, ts int64) error {
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(ts))
	return record.UpdateCRC(b)
}

// partitionLeaderEpoch reads the epoch of the batch at the front of b.
func partitionLeaderEpoch(b []byte) int32 {
	return int32(binary.BigEndian.Uint32(b[offLeaderEpoch:]))
}

// Byte offsets of header fields (see record's layout).
const (
	offLeaderEpoch  = 12
	offMaxTimestamp = 35
	offNumRecords   = 57
)

// closeFiles releases the writer's handles (flushing indexes).
func (s *segment) closeFiles() error {
	var errs []error
	if s.index != nil {
		errs = append(errs, s.index.Close())
	}
	if s.timeIndex != nil {
		errs = append(errs, s.timeIndex.Close())
	}
	if s.file != nil {
		errs = append(errs, s.file.Close())
		s.file = nil
	}
	return errors.Join(errs...)
}

// markDeleted stops new readers; the reader file closes with the last
// release.
func (s *segment) markDeleted() {
	s.mu.Lock()
	s.deleted = true
	if s.refs == 0 && s.readers != nil {
		s.readers.Close()
		s.readers = nil
	}
	s.mu.Unlock()
}

// maxOffset is the largest offset the segment may hold: below the next
// segment's base, and within the int32 range its indexes address.
func (s *segment) maxOffset() int64 {
	m := s.base + math.MaxInt32
	if s.limit > 0 && s.limit-1 < m {
		m = s.limit - 1
	}
	return m
}
