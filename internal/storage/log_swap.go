package storage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// swapCleaned replaces the run of segments group with cleaned (complete,
// synced, under .cleaned names) so that a crash at any point recovers to
// the old segments or to the cleaned one, never a mix that misses a key:
//
//  1. cleaned's files are renamed to their .swap names, the indexes first
//     and the log last, and the directory is synced. This is the commit
//     point: from here on recovery completes the replacement (see
//     completeSwaps).
//  2. The segment list takes cleaned in the group's place. Readers still
//     holding the old list read the old files until they let go, and a
//     reader that finds an old segment deleted retries with the new list.
//  3. The old segments' files are renamed to .deleted and the directory
//     synced; ReapDeleted removes them after file.delete.delay.ms.
//  4. The .swap files take their final names (indexes first), and the
//     directory is synced.
//
// The swap is given up (errCleanAborted, cleaned discarded) if the log
// changed since the pass began (gen) — a truncation, retention, another
// swap — or closed. It returns the log's new generation. Appends, reads
// and syncs go on meanwhile: the lock held across the directory syncs is
// structMu, which only truncation, deletion and closing take.
func (l *Log) swapCleaned(w *cleanWork, cleaned *segment, group []*segment, gen int64, discard func()) (int64, error) {
	l.structMu.Lock()
	defer l.structMu.Unlock()
	l.mu.Lock()
	ok := !l.closed.Load() && l.Err() == nil && l.gen.Load() == gen && holdsRun(l.segments(), group)
	l.mu.Unlock()
	if !ok {
		discard()
		return gen, errCleanAborted
	}
	step := func(name string) {
		if w.hook != nil {
			w.hook(name)
		}
	}
	step("renaming cleaned to swap")
	if err := l.renameCleaned(cleaned, cleanedSuffix, swapSuffix); err != nil {
		discard()
		return gen, l.fail(fmt.Errorf("swap in cleaned segment %d: %w", cleaned.base, err))
	}
	step("syncing swap")
	if err := l.fs.SyncDir(l.dir); err != nil {
		return gen, l.fail(fmt.Errorf("swap in cleaned segment %d: %w", cleaned.base, err))
	}
	step("committed")

	l.mu.Lock()
	segs := l.segments()
	i := indexOfSegment(segs, group[0])
	next := make([]*segment, 0, len(segs)-len(group)+1)
	next = append(append(append(next, segs[:i]...), cleaned), segs[i+len(group):]...)
	l.setSegments(next)
	gen = l.gen.Add(1)
	var errs []error
	for _, s := range group {
		s.replaced.Store(true)
		errs = append(errs, s.closeFiles())
		s.markDeleted()
	}
	l.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return gen, l.fail(fmt.Errorf("close replaced segments: %w", err))
	}
	step("renaming old to deleted")
	for _, s := range group {
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			p := s.path(suffix)
			if err := l.fs.Rename(p, p+deletedSuffix); err != nil && !errors.Is(err, errNotExist) {
				return gen, l.fail(fmt.Errorf("rename replaced segment %d: %w", s.base, err))
			}
		}
	}
	// Only now, with the .deleted files in place, may ReapDeleted see them.
	l.mu.Lock()
	now := l.now()
	for _, s := range group {
		s.deletedAt = now
		l.deleting = append(l.deleting, s)
	}
	l.mu.Unlock()
	step("syncing deleted")
	if err := l.fs.SyncDir(l.dir); err != nil {
		return gen, l.fail(fmt.Errorf("swap in cleaned segment %d: %w", cleaned.base, err))
	}
	step("renaming swap to final")
	if err := l.renameCleaned(cleaned, swapSuffix, ""); err != nil {
		return gen, l.fail(fmt.Errorf("swap in cleaned segment %d: %w", cleaned.base, err))
	}
	step("syncing final")
	if err := l.fs.SyncDir(l.dir); err != nil {
		return gen, l.fail(fmt.Errorf("swap in cleaned segment %d: %w", cleaned.base, err))
	}
	step("done")
	return gen, nil
}

// renameCleaned renames a cleaned segment's three files from names ending
// in from to names ending in to (none for the final names), the indexes
// first. The log file's rename and the segment's new extra suffix change
// together under the segment's reader lock, so a reader opening the file
// finds it under the name it asks for.
func (l *Log) renameCleaned(s *segment, from, to string) error {
	at := func(suffix, extra string) string {
		return l.fs.PathJoin(l.dir, segmentName(s.base, suffix)+extra)
	}
	if err := s.index.Rename(at(indexSuffix, to)); err != nil {
		return err
	}
	if err := s.timeIndex.Rename(at(timeIndexSuffix, to)); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := l.fs.Rename(at(logSuffix, from), at(logSuffix, to)); err != nil {
		return err
	}
	if to == "" {
		s.extra.Store(nil)
	} else {
		s.extra.Store(&to)
	}
	return nil
}

// holdsRun reports whether run appears in segs, consecutively, before the
// active segment.
func holdsRun(segs, run []*segment) bool {
	i := indexOfSegment(segs, run[0])
	if i < 0 || i+len(run) >= len(segs) {
		return false
	}
	for j, s := range run {
		if segs[i+j] != s {
			return false
		}
	}
	return true
}

func indexOfSegment(segs []*segment, s *segment) int {
	for i, x := range segs {
		if x == s {
			return i
		}
	}
	return -1
}

// completeSwaps finishes, on open, every replacement a crash cut short
// after its commit point: for each <base>.log.swap, the segments it
// replaces — every segment whose base is in [base, the swap's end) — are
// removed and the swap takes its final name. It returns the bases of the
// completed segments, whose indexes must be rebuilt.
func (l *Log) completeSwaps(entries []vfs.DirEntry) (map[int64]bool, error) {
	done := map[int64]bool{}
	var bases []int64
	for _, e := range entries {
		if base, suffix, ok := parseSegmentName(e.Name); ok && suffix == logSuffix+swapSuffix {
			bases = append(bases, base)
		}
	}
	for _, base := range bases {
		swapPath := l.fs.PathJoin(l.dir, segmentName(base, logSuffix+swapSuffix))
		end, err := l.swapEnd(swapPath)
		if err != nil {
			return nil, fmt.Errorf("cleaned segment %d cannot be swapped in: %w", base, err)
		}
		end = max(end, base+1)
		for _, e := range entries {
			b, suffix, ok := parseSegmentName(e.Name)
			if !ok || b < base || b >= end || suffix == logSuffix+swapSuffix {
				continue
			}
			if suffix == logSuffix || suffix == indexSuffix || suffix == timeIndexSuffix ||
				(b == base && strings.HasSuffix(suffix, swapSuffix)) {
				if err := l.fs.Remove(l.fs.PathJoin(l.dir, e.Name)); err != nil && !errors.Is(err, errNotExist) {
					return nil, fmt.Errorf("remove segment file %s replaced by cleaning: %w", e.Name, err)
				}
			}
		}
		if err := l.fs.Rename(swapPath, l.fs.PathJoin(l.dir, segmentName(base, logSuffix))); err != nil {
			return nil, fmt.Errorf("complete the swap of cleaned segment %d: %w", base, err)
		}
		l.dirDirty = true
		done[base] = true
		l.logger.Warn("completed an interrupted swap of a cleaned segment", "base_offset", base, "replaced_up_to", end)
	}
	return done, nil
}

// swapEnd returns the offset after the last batch of a complete segment
// file.
func (l *Log) swapEnd(path string) (int64, error) {
	f, err := l.fs.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := int64(-1)
	size := info.Size()
	err = scanHeaders(f, 0, size, func(b batchPos) bool {
		if b.pos+int64(b.size) > size {
			end = -2
			return false
		}
		end = b.last + 1
		return true
	})
	if err == nil && end == -2 {
		err = errTornBatch
	}
	return end, err
}
