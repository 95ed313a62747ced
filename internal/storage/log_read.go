package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// ReadResult is the outcome of a read: a byte range of one segment file,
// holding whole batches except perhaps a partial last one (Kafka's fetch
// semantics: the client drops it), to be sent as is — with sendfile where
// the file has a descriptor. Release must be called once the bytes have
// been sent.
type ReadResult struct {
	File     vfs.File // nil when Len is 0
	Position int64
	Len      int64
	// FirstOffset is the base offset of the first batch in the range.
	FirstOffset int64
	release     func()
}

// Release lets go of the segment file.
func (r *ReadResult) Release() {
	if r.release != nil {
		r.release()
		r.release = nil
	}
}

// Bytes reads the range into memory (for tests and for the copy path).
func (r *ReadResult) Bytes() ([]byte, error) {
	if r.Len == 0 {
		return nil, nil
	}
	b := make([]byte, r.Len)
	if _, err := r.File.ReadAt(b, r.Position); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

// Read returns the batches from the one holding offset onward, up to
// maxBytes, stopping before the first batch that reaches maxOffset (the
// high watermark for consumers, the log end for followers). With
// minOneBatch the first batch is returned whole even when larger than
// maxBytes (KIP-74); without it such a batch yields an empty result.
//
// An offset below the log start or above the log end is
// ErrOffsetOutOfRange; at the log end, or at or above maxOffset, the
// result is empty.
func (l *Log) Read(offset int64, maxBytes int, maxOffset int64, minOneBatch bool) (ReadResult, error) {
	if err := l.Err(); err != nil {
		return ReadResult{}, err
	}
	start, end := l.startOffset.Load(), l.endOffset.Load()
	if offset < start || offset > end {
		return ReadResult{}, fmt.Errorf("%w: offset %d, log spans [%d, %d)", ErrOffsetOutOfRange, offset, start, end)
	}
	maxOffset = min(maxOffset, end)
	if offset >= maxOffset || maxBytes < 0 {
		return ReadResult{}, nil
	}
	// A segment the cleaner replaced while this read looked at the old
	// list is read again from the new one. Each retry follows another
	// swap, and swaps are few, so the loop ends.
	for {
		res, err := l.readFrom(offset, maxBytes, maxOffset, minOneBatch)
		if !errors.Is(err, errSegmentReplaced) {
			return res, err
		}
	}
}

// acquireForRead is segment.acquire for readers: a segment the cleaner
// replaced is errSegmentReplaced, so the caller retries with the new list.
func (l *Log) acquireForRead(s *segment) (vfs.File, func(), error) {
	f, release, err := s.acquire(l.now().UnixNano())
	if err == errSegmentDeleted && s.replaced.Load() {
		return nil, nil, errSegmentReplaced
	}
	return f, release, err
}

// errSegmentReplaced: a read found a segment the cleaner had replaced.
var errSegmentReplaced = errors.New("storage: segment replaced by a cleaned one")

func (l *Log) readFrom(offset int64, maxBytes int, maxOffset int64, minOneBatch bool) (ReadResult, error) {
	segs := l.segments()
	i, _ := segmentFor(segs, offset)
	if i < 0 {
		i = 0
	}
	for ; i < len(segs); i++ {
		s := segs[i]
		if s.base >= maxOffset {
			return ReadResult{}, nil
		}
		res, found, err := l.readSegment(s, offset, maxBytes, maxOffset, minOneBatch)
		if err != nil || found {
			return res, err
		}
	}
	return ReadResult{}, nil
}

// readSegment reads from one segment; found is false when the segment has
// no batch at or after offset (the read continues in the next one).
func (l *Log) readSegment(s *segment, offset int64, maxBytes int, maxOffset int64, minOneBatch bool) (ReadResult, bool, error) {
	f, release, err := l.acquireForRead(s)
	if err != nil {
		if err == errSegmentDeleted {
			return ReadResult{}, false, fmt.Errorf("%w: segment %d was deleted", ErrOffsetOutOfRange, s.base)
		}
		return ReadResult{}, false, err
	}
	size := s.size.Load()
	first, err := s.positionOf(f, offset, size)
	if err != nil {
		release()
		return ReadResult{}, false, fmt.Errorf("read segment %d: %w", s.base, err)
	}
	startPos, firstSize, firstBase := first.pos, first.size, first.base
	if startPos >= size {
		release()
		return ReadResult{}, false, nil
	}
	if firstBase >= maxOffset {
		release()
		return ReadResult{}, true, nil
	}
	limit := size
	if maxOffset < s.nextOffset.Load() {
		end, err := s.positionOf(f, maxOffset, size)
		if err != nil {
			release()
			return ReadResult{}, false, fmt.Errorf("read segment %d: %w", s.base, err)
		}
		limit = end.pos
	}
	n := min(limit-startPos, int64(maxBytes))
	if int64(firstSize) > n {
		if !minOneBatch {
			release()
			return ReadResult{}, true, nil
		}
		n = min(int64(firstSize), limit-startPos)
	}
	if n <= 0 {
		release()
		return ReadResult{}, true, nil
	}
	return ReadResult{File: f, Position: startPos, Len: n, FirstOffset: firstBase, release: release}, true, nil
}

// TimestampOffset is the answer to a lookup by timestamp.
type TimestampOffset struct {
	Offset    int64
	Timestamp int64
}

// OffsetForTimestamp returns the first record whose timestamp is at least
// ts, or false if every record is older (ListOffsets by timestamp).
func (l *Log) OffsetForTimestamp(ts int64) (TimestampOffset, bool, error) {
	for {
		res, ok, err := l.offsetForTimestamp(ts)
		if !errors.Is(err, errSegmentReplaced) {
			return res, ok, err
		}
	}
}

func (l *Log) offsetForTimestamp(ts int64) (TimestampOffset, bool, error) {
	start := l.startOffset.Load()
	for _, s := range l.segments() {
		if s.maxTimestamp.Load() < ts || s.nextOffset.Load() <= start {
			continue
		}
		_, off := s.timeIndex.Lookup(ts)
		_, pos := s.index.Lookup(max(off, start))
		res, ok, err := l.scanForTimestamp(s, int64(pos), ts, start)
		if err != nil || ok {
			return res, ok, err
		}
	}
	return TimestampOffset{}, false, nil
}

// scanForTimestamp reads batches of s from pos and returns the first
// record at or after minOffset whose timestamp is at least ts.
func (l *Log) scanForTimestamp(s *segment, pos int64, ts, minOffset int64) (TimestampOffset, bool, error) {
	f, release, err := l.acquireForRead(s)
	if err != nil {
		return TimestampOffset{}, false, err
	}
	defer release()
	size := s.size.Load()
	var it record.Records
	defer it.Close()
	var found TimestampOffset
	var ok bool
	var ferr error
	buf := make([]byte, 0, 64<<10)
	err = scanPositions(f, pos, size, func(p, _, last int64, n int32) bool {
		if last < minOffset {
			return true
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := f.ReadAt(buf, p); err != nil {
			ferr = err
			return false
		}
		h, err := record.ParseHeader(buf)
		if err != nil {
			ferr = err
			return false
		}
		if h.MaxTimestamp < ts {
			return true
		}
		if err := it.Reset(buf, record.Options{MaxDecompressedBytes: 1 << 30}); err != nil {
			ferr = err
			return false
		}
		for it.Next() {
			if o := it.Offset(); o >= minOffset && it.Timestamp() >= ts {
				found, ok = TimestampOffset{Offset: o, Timestamp: it.Timestamp()}, true
				return false
			}
		}
		if err := it.Err(); err != nil {
			ferr = err
			return false
		}
		return true
	})
	if err == nil {
		err = ferr
	}
	return found, ok, err
}

// MaxTimestamp returns the record with the largest timestamp at or after
// the log start (the first one, if several share it), or false for an
// empty log (ListOffsets MAX_TIMESTAMP, KIP-734). Whole segments answer
// from their largest timestamp; the one holding the log start is read, as
// records below the start do not count. If that timestamp is a batch's
// that compaction emptied, the headers are read again for the largest
// one a record still has (Kafka's lookup answers -1 then).
func (l *Log) MaxTimestamp() (TimestampOffset, bool, error) {
	for {
		res, ok, err := l.maxTimestamp()
		if !errors.Is(err, errSegmentReplaced) {
			return res, ok, err
		}
	}
}

func (l *Log) maxTimestamp() (TimestampOffset, bool, error) {
	start := l.startOffset.Load()
	best, err := l.largestTimestamp(start, false)
	if err != nil || best < 0 {
		return TimestampOffset{}, false, err
	}
	if res, ok, err := l.offsetForTimestamp(best); ok || err != nil {
		return res, ok, err
	}
	// No record has the largest timestamp a segment records: it was a
	// batch's compaction emptied (the record-less batch keeps its max
	// timestamp, as Kafka's does, for retention). Read the headers for
	// the largest timestamp a record still has.
	if best, err = l.largestTimestamp(start, true); err != nil || best < 0 {
		return TimestampOffset{}, false, err
	}
	return l.offsetForTimestamp(best)
}

// largestTimestamp returns the largest timestamp at or after start, -1 if
// none: from each whole segment's largest timestamp, or, with exact, from
// the headers of the batches with records. The segment holding start is
// always read, as records below the start do not count.
func (l *Log) largestTimestamp(start int64, exact bool) (int64, error) {
	best := int64(-1)
	for _, s := range l.segments() {
		switch {
		case s.nextOffset.Load() <= start:
		case s.base >= start && !exact:
			best = max(best, s.maxTimestamp.Load())
		default:
			ts, err := l.maxTimestampFrom(s, max(start, s.base))
			if err != nil {
				return -1, err
			}
			best = max(best, ts)
		}
	}
	return best, nil
}

// maxTimestampFrom returns the largest record timestamp in s at or after
// offset, -1 if none. A batch without records does not count.
func (l *Log) maxTimestampFrom(s *segment, offset int64) (int64, error) {
	f, release, err := l.acquireForRead(s)
	if err != nil {
		return -1, err
	}
	defer release()
	_, pos := s.index.Lookup(offset)
	best := int64(-1)
	var it record.Records
	defer it.Close()
	var buf []byte
	var ferr error
	err = scanHeaders(f, int64(pos), s.size.Load(), func(b batchPos) bool {
		switch {
		case b.last < offset, binary.BigEndian.Uint32(b.header[offNumRecords:]) == 0:
		case b.base >= offset:
			best = max(best, b.maxTimestamp)
		default:
			// The batch straddles offset: only its records from there count.
			if cap(buf) < int(b.size) {
				buf = make([]byte, b.size)
			}
			buf = buf[:b.size]
			if _, err := f.ReadAt(buf, b.pos); err != nil {
				ferr = err
				return false
			}
			if err := it.Reset(buf, record.Options{MaxDecompressedBytes: 1 << 30}); err != nil {
				ferr = err
				return false
			}
			for it.Next() {
				if it.Offset() >= offset {
					best = max(best, it.Timestamp())
				}
			}
			ferr = it.Err()
		}
		return ferr == nil
	})
	if err == nil {
		err = ferr
	}
	return best, err
}
