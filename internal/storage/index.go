package storage

// Sparse offset index of a log segment (<base>.index) and the machinery it
// shares with the time index (<base>.timeindex, timeindex.go).
//
// File format (Kafka's, byte-compatible): a sequence of fixed-size
// big-endian entries and nothing else. Unlike Kafka the file is neither
// preallocated nor memory-mapped: it holds exactly the entries written so
// far, so its size is always entries × entry size.
//
// The entries live in memory in that same encoding (one []byte); lookups
// are binary searches over it. The file is only written by Flush and Sync,
// which append the not-yet-written tail with one WriteAt. Index files are
// trusted only up to the log's recovery point (the storage engine rebuilds
// the active segment's indexes from the log after an unclean shutdown), so
// appends need not be synced one by one.
//
// # Concurrency
//
// Every method is safe for concurrent use. Appends must come from a single
// writer (the segment's), since their order defines the index; lookups may
// run concurrently with it and with each other. Two locks:
//
//   - mu (sync.RWMutex) guards the in-memory entries. Lookups hold it
//     shared; Append/MaybeAppend hold it exclusively for a few
//     nanoseconds. No file I/O ever happens under mu.
//   - ioMu (sync.Mutex) serializes file operations (Flush, Sync,
//     TruncateTo, Reset, ReleaseFile, Unload, Rename, Delete, Close and the
//     lazy load). Flush and Sync copy the unwritten tail under mu, release
//     it, then write and fsync holding only ioMu, so appends and lookups
//     never wait for the disk.
//
// Lock order: ioMu before mu.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"sort"
	"sync"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// ErrCorruptIndex is wrapped by the error returned when an index file fails
// validation: its size is not a multiple of the entry size, or its entries
// are not strictly increasing, or hold out-of-range values. The caller
// rebuilds the index from the log.
var ErrCorruptIndex = errors.New("storage: corrupt index")

// ErrIndexClosed is wrapped by the error of a write to a closed or deleted
// index.
var ErrIndexClosed = errors.New("storage: index closed")

// ErrInvalidIndexEntry is wrapped by the error of an append that would break
// the index's ordering or range rules. It is a caller bug; the index is
// left unchanged.
var ErrInvalidIndexEntry = errors.New("storage: invalid index entry")

// DefaultIndexMaxBytes is Kafka's default segment.index.bytes (10 MiB),
// used when a constructor is given maxBytes <= 0.
const DefaultIndexMaxBytes = 10 << 20

// OffsetIndexEntrySize is the size of an offset index entry: relative
// offset int32, position int32, big-endian.
const OffsetIndexEntrySize = 8

// idxCore is the part common to both index kinds: entries in memory, the
// file, flushing, lazy loading and the file-handle life cycle.
type idxCore struct {
	fs         vfs.FS
	base       int64
	entrySize  int
	relOff     int // where the relative offset sits inside an entry
	maxEntries int
	check      func(data []byte) error // validates entries; plain error, wrapped by the caller

	ioMu sync.Mutex
	// Guarded by ioMu.
	file     vfs.File // nil when released (or never opened)
	fileSize int64    // size of the file as we left it; -1 when unknown
	durable  int      // buf[:durable] is known to be durable in the file
	dirty    bool     // the file changed since the last successful Sync

	mu sync.RWMutex
	// Guarded by mu; path and flushed are written holding both ioMu and mu,
	// so holders of either may read them.
	path    string
	buf     []byte // entries, encoded as in the file
	flushed int    // buf[:flushed] is in the file at the same place
	loaded  bool   // buf reflects the file (false for a lazy index until first use)
	loadErr error  // why the lazy load failed; sticky until Reset or Unload
	closed  bool
}

func newIdxCore(fsys vfs.FS, path string, base int64, maxBytes, entrySize, relOff int, check func([]byte) error) (*idxCore, error) {
	if fsys == nil {
		return nil, fmt.Errorf("index %s: nil file system", path)
	}
	if base < 0 {
		return nil, fmt.Errorf("index %s: negative base offset %d", path, base)
	}
	if maxBytes <= 0 {
		maxBytes = DefaultIndexMaxBytes
	}
	return &idxCore{
		fs:         fsys,
		path:       path,
		base:       base,
		entrySize:  entrySize,
		relOff:     relOff,
		maxEntries: maxBytes / entrySize,
		check:      check,
		fileSize:   -1,
	}, nil
}

// corrupt wraps a validation failure in ErrCorruptIndex.
func (c *idxCore) corrupt(err error) error {
	return fmt.Errorf("%w: %s: %v", ErrCorruptIndex, c.path, err)
}

// validate checks data as the content of an index file.
func (c *idxCore) validate(data []byte) error {
	if len(data)%c.entrySize != 0 {
		return c.corrupt(fmt.Errorf("size %d is not a multiple of the entry size %d", len(data), c.entrySize))
	}
	if err := c.check(data); err != nil {
		return c.corrupt(err)
	}
	return nil
}

// maxIndexFileSize bounds what a load reads into memory. A real index is
// far smaller (a segment is at most 2 GiB of batches of at least 61
// bytes); a larger file is garbage and must not exhaust memory.
const maxIndexFileSize = 1 << 30

// readAll reads the whole index file f. A size that cannot be an index's
// gives an error wrapping ErrCorruptIndex.
func (c *idxCore) readAll(f vfs.File, path string) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat index %s: %w", path, err)
	}
	size := fi.Size()
	if size < 0 || size > maxIndexFileSize {
		return nil, fmt.Errorf("%w: %s: implausible size %d", ErrCorruptIndex, path, size)
	}
	data := make([]byte, size)
	n, err := f.ReadAt(data, 0)
	if n == len(data) {
		return data, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, fmt.Errorf("read index %s: %w", path, err)
}

// openEager opens or creates the file, loads and validates it, and keeps
// the handle open.
func (c *idxCore) openEager() error {
	f, err := c.fs.OpenReadWrite(c.path)
	if err != nil {
		return fmt.Errorf("open index %s: %w", c.path, err)
	}
	data, err := c.readAll(f, c.path)
	if err == nil {
		err = c.validate(data)
	}
	if err != nil {
		f.Close()
		return err
	}
	c.file = f
	c.fileSize = int64(len(data))
	c.buf, c.flushed, c.loaded = data, len(data), true
	// What a previous process left may not be durable yet: have the first
	// Sync fsync it.
	c.dirty = len(data) > 0
	return nil
}

// openFresh creates the file empty (truncating it) and keeps it open.
func (c *idxCore) openFresh() error {
	f, err := c.fs.Create(c.path)
	if err != nil {
		return fmt.Errorf("create index %s: %w", c.path, err)
	}
	c.file = f
	c.fileSize = 0
	c.loaded = true
	c.dirty = true // the truncation of an existing file is not durable yet
	return nil
}

// loadIOLocked loads a lazy index's entries if they are not in memory.
// Called with ioMu held (and mu not held).
func (c *idxCore) loadIOLocked() error {
	c.mu.RLock()
	loaded, loadErr, closed, path := c.loaded, c.loadErr, c.closed, c.path
	c.mu.RUnlock()
	if loaded {
		return loadErr
	}
	if closed {
		return fmt.Errorf("index %s: %w", path, ErrIndexClosed)
	}
	var data []byte
	f, err := c.fs.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = nil // not created yet: empty
	case err != nil:
		err = fmt.Errorf("open index %s: %w", path, err)
	default:
		data, err = c.readAll(f, path)
		f.Close()
		if err == nil {
			err = c.validate(data)
		}
	}
	c.mu.Lock()
	c.loaded = true
	if err != nil {
		c.loadErr, c.buf, c.flushed = err, nil, 0
	} else {
		c.loadErr, c.buf, c.flushed = nil, data, len(data)
	}
	c.mu.Unlock()
	if err != nil {
		c.fileSize = -1
	} else {
		c.fileSize = int64(len(data))
	}
	c.durable = 0
	c.dirty = len(data) > 0
	return err
}

func (c *idxCore) load() error {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	return c.loadIOLocked()
}

// rlock returns with mu held shared and the entries loaded, or returns the
// load error with no lock held.
func (c *idxCore) rlock() error {
	for {
		c.mu.RLock()
		if c.loaded {
			if c.loadErr != nil {
				err := c.loadErr
				c.mu.RUnlock()
				return err
			}
			return nil
		}
		c.mu.RUnlock()
		if err := c.load(); err != nil {
			return err
		}
		// Loop: an Unload may have raced with us.
	}
}

// lock is rlock with mu held exclusively.
func (c *idxCore) lock() error {
	for {
		c.mu.Lock()
		if c.loaded {
			if c.loadErr != nil {
				err := c.loadErr
				c.mu.Unlock()
				return err
			}
			return nil
		}
		c.mu.Unlock()
		if err := c.load(); err != nil {
			return err
		}
	}
}

// n returns the number of entries. mu held.
func (c *idxCore) n() int { return len(c.buf) / c.entrySize }

// rel returns the relative offset of entry i. mu held.
func (c *idxCore) rel(i int) int32 {
	return int32(binary.BigEndian.Uint32(c.buf[i*c.entrySize+c.relOff:]))
}

// relative converts offset to a relative offset, or reports it out of the
// range an entry can hold.
func (c *idxCore) relative(offset int64) (int32, bool) {
	if offset < c.base || offset-c.base > math.MaxInt32 {
		return 0, false
	}
	return int32(offset - c.base), true
}

// countOffsets returns the number of entries whose offset is below target
// (orEqual false) or at most target (orEqual true). Relative offsets must be
// non-decreasing. mu held.
func (c *idxCore) countOffsets(target int64, orEqual bool) int {
	n := c.n()
	if target < c.base {
		return 0
	}
	if target-c.base > math.MaxInt32 {
		return n
	}
	t := int32(target - c.base)
	if orEqual {
		return sort.Search(n, func(i int) bool { return c.rel(i) > t })
	}
	return sort.Search(n, func(i int) bool { return c.rel(i) >= t })
}

// fullLocked reports whether MaxEntries entries are held. mu held.
func (c *idxCore) fullLocked() bool { return c.n() >= c.maxEntries }

// openLocked makes sure a read-write handle is open. ioMu held.
func (c *idxCore) openLocked() error {
	if c.file != nil {
		return nil
	}
	f, err := c.fs.OpenReadWrite(c.path)
	if err != nil {
		return fmt.Errorf("open index %s: %w", c.path, err)
	}
	c.file = f
	return nil
}

// flushLocked writes the entries not yet in the file. ioMu held.
func (c *idxCore) flushLocked() error {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return fmt.Errorf("index %s: %w", c.path, ErrIndexClosed)
	}
	if !c.loaded || c.loadErr != nil {
		c.mu.RUnlock()
		return nil // nothing in memory to write
	}
	start, end := c.flushed, len(c.buf)
	var tail []byte
	if end > start {
		// A copy: once mu is released, the single writer may append (and,
		// after a TruncateTo, which needs ioMu, overwrite) buf.
		tail = append([]byte(nil), c.buf[start:end]...)
	}
	c.mu.RUnlock()

	if len(tail) == 0 && c.fileSize == int64(start) {
		return nil
	}
	if err := c.openLocked(); err != nil {
		return err
	}
	if c.fileSize != int64(start) {
		// After a failed write, a failed Sync or a failed truncation the
		// file may hold more than buf[:start]: cut it back first.
		c.dirty = true
		if err := c.file.Truncate(int64(start)); err != nil {
			c.fileSize = -1
			return fmt.Errorf("truncate index %s: %w", c.path, err)
		}
		c.fileSize = int64(start)
	}
	if len(tail) > 0 {
		c.dirty = true
		if _, err := c.file.WriteAt(tail, int64(start)); err != nil {
			c.fileSize = -1 // possibly partly written
			return fmt.Errorf("write index %s: %w", c.path, err)
		}
		c.fileSize = int64(end)
	}
	c.mu.Lock()
	c.flushed = end // buf[:end] is unchanged: shrinking it needs ioMu
	c.mu.Unlock()
	return nil
}

func (c *idxCore) flush() error {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	return c.flushLocked()
}

func (c *idxCore) sync() error {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	if err := c.flushLocked(); err != nil {
		return err
	}
	if !c.dirty {
		return nil
	}
	if err := c.openLocked(); err != nil {
		return err
	}
	if err := c.file.Sync(); err != nil {
		// Everything written since the last successful Sync must be
		// treated as lost (the kernel may have dropped the dirty pages):
		// rewrite it from memory on the next Flush/Sync.
		c.mu.Lock()
		if c.flushed > c.durable {
			c.flushed = c.durable
		}
		c.mu.Unlock()
		c.fileSize = -1
		return fmt.Errorf("sync index %s: %w", c.path, err)
	}
	c.mu.RLock()
	c.durable = c.flushed
	c.mu.RUnlock()
	c.dirty = false
	return nil
}

// truncateFileLocked cuts the file to size if it may be longer. ioMu held.
func (c *idxCore) truncateFileLocked(size int64) error {
	if c.fileSize >= 0 && c.fileSize <= size {
		return nil
	}
	if err := c.openLocked(); err != nil {
		return err
	}
	c.dirty = true
	if err := c.file.Truncate(size); err != nil {
		c.fileSize = -1 // retried by the next Flush
		return fmt.Errorf("truncate index %s: %w", c.path, err)
	}
	c.fileSize = size
	return nil
}

// truncateTo removes the entries whose offset is target or more.
func (c *idxCore) truncateTo(target int64) error {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	if err := c.loadIOLocked(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("index %s: %w", c.path, ErrIndexClosed)
	}
	keep := c.countOffsets(target, false) * c.entrySize
	if keep >= len(c.buf) {
		c.mu.Unlock()
		return nil
	}
	c.buf = c.buf[:keep]
	c.flushed = min(c.flushed, keep)
	c.mu.Unlock()
	c.durable = min(c.durable, keep)
	return c.truncateFileLocked(int64(keep))
}

// reset empties the index and its file, whatever they held (even if the
// lazy load found the file corrupt).
func (c *idxCore) reset() error {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("index %s: %w", c.path, ErrIndexClosed)
	}
	c.buf, c.flushed, c.loaded, c.loadErr = c.buf[:0], 0, true, nil
	c.mu.Unlock()
	c.durable = 0
	c.fileSize = -1
	return c.truncateFileLocked(0)
}

// closeFileLocked closes the handle, if open. ioMu held.
func (c *idxCore) closeFileLocked() error {
	if c.file == nil {
		return nil
	}
	err := c.file.Close()
	c.file = nil
	if err != nil {
		return fmt.Errorf("close index %s: %w", c.path, err)
	}
	return nil
}

func (c *idxCore) releaseFile() error {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return nil
	}
	if err := c.flushLocked(); err != nil {
		return err
	}
	return c.closeFileLocked()
}

func (c *idxCore) unload() error {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return nil
	}
	if err := c.flushLocked(); err != nil {
		return err
	}
	c.mu.Lock()
	c.buf, c.flushed, c.loaded, c.loadErr = nil, 0, false, nil
	c.mu.Unlock()
	return c.closeFileLocked()
}

func (c *idxCore) close() error {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return nil
	}
	err := c.flushLocked()
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return errors.Join(err, c.closeFileLocked())
}

func (c *idxCore) rename(newPath string) error {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if !closed {
		if err := c.flushLocked(); err != nil {
			return err
		}
	}
	cerr := c.closeFileLocked()
	if err := c.fs.Rename(c.path, newPath); err != nil {
		// A lazy index whose file was never created has nothing to move.
		if !errors.Is(err, fs.ErrNotExist) || c.flushed > 0 {
			return errors.Join(fmt.Errorf("rename index: %w", err), cerr)
		}
	}
	c.mu.Lock()
	c.path = newPath
	c.mu.Unlock()
	return cerr
}

func (c *idxCore) delete() error {
	c.ioMu.Lock()
	defer c.ioMu.Unlock()
	c.mu.Lock()
	c.closed = true
	c.buf, c.flushed, c.loaded, c.loadErr = nil, 0, true, nil
	c.mu.Unlock()
	cerr := c.closeFileLocked()
	if err := c.fs.Remove(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Join(fmt.Errorf("delete index: %w", err), cerr)
	}
	return cerr
}

// sanity loads the entries if needed and validates them again.
func (c *idxCore) sanity() error {
	if err := c.rlock(); err != nil {
		return err
	}
	defer c.mu.RUnlock()
	return c.validate(c.buf)
}

func (c *idxCore) entries() int {
	if c.rlock() != nil {
		return 0
	}
	defer c.mu.RUnlock()
	return c.n()
}

func (c *idxCore) sizeBytes() int64 {
	if c.rlock() != nil {
		return 0
	}
	defer c.mu.RUnlock()
	return int64(len(c.buf))
}

func (c *idxCore) isLoaded() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.loaded
}

func (c *idxCore) getPath() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.path
}

// OffsetIndex maps offsets to positions in the segment's .log file. It is
// sparse: an entry every index.interval.bytes of log. See the top of this
// file for the format and the concurrency rules.
type OffsetIndex struct {
	indexFile
}

func newOffsetIndex(fsys vfs.FS, path string, baseOffset int64, maxBytes int) (*OffsetIndex, error) {
	c, err := newIdxCore(fsys, path, baseOffset, maxBytes, OffsetIndexEntrySize, 0, checkOffsetEntries)
	if err != nil {
		return nil, err
	}
	return &OffsetIndex{indexFile{c}}, nil
}

// OpenOffsetIndex opens the offset index at path, creating it empty if it
// does not exist, loads and validates its entries and keeps the file open
// for appends. A file that fails validation gives an error wrapping
// ErrCorruptIndex; rebuild it with NewOffsetIndexForRebuild. maxBytes is
// segment.index.bytes (<= 0 means DefaultIndexMaxBytes). Creating the file
// does not sync its directory; the caller does.
func OpenOffsetIndex(fsys vfs.FS, path string, baseOffset int64, maxBytes int) (*OffsetIndex, error) {
	x, err := newOffsetIndex(fsys, path, baseOffset, maxBytes)
	if err != nil {
		return nil, err
	}
	if err := x.c.openEager(); err != nil {
		return nil, err
	}
	return x, nil
}

// OpenOffsetIndexLazy returns an offset index that touches nothing on disk
// until first used: the first lookup or append reads and validates the
// file (a missing file is an empty index) without keeping it open. For the
// many inactive segments of a log. If that load fails, lookups answer
// (baseOffset, 0), which is always correct (scan from the segment start),
// and Sanity, Load and writes return the error. The error is only for
// invalid arguments.
func OpenOffsetIndexLazy(fsys vfs.FS, path string, baseOffset int64, maxBytes int) (*OffsetIndex, error) {
	return newOffsetIndex(fsys, path, baseOffset, maxBytes)
}

// NewOffsetIndexForRebuild creates an empty offset index at path,
// truncating any existing file, to be filled by Append from the log.
func NewOffsetIndexForRebuild(fsys vfs.FS, path string, baseOffset int64, maxBytes int) (*OffsetIndex, error) {
	x, err := newOffsetIndex(fsys, path, baseOffset, maxBytes)
	if err != nil {
		return nil, err
	}
	if err := x.c.openFresh(); err != nil {
		return nil, err
	}
	return x, nil
}

// checkOffsetEntries validates offset index entries: relative offsets and
// positions non-negative and strictly increasing.
func checkOffsetEntries(data []byte) error {
	var prevRel, prevPos int32
	for i := 0; i+OffsetIndexEntrySize <= len(data); i += OffsetIndexEntrySize {
		n := i / OffsetIndexEntrySize
		rel := int32(binary.BigEndian.Uint32(data[i:]))
		pos := int32(binary.BigEndian.Uint32(data[i+4:]))
		switch {
		case rel < 0:
			return fmt.Errorf("entry %d: negative relative offset %d", n, rel)
		case pos < 0:
			return fmt.Errorf("entry %d: negative position %d", n, pos)
		case n > 0 && rel <= prevRel:
			return fmt.Errorf("entry %d: relative offset %d not above the previous %d", n, rel, prevRel)
		case n > 0 && pos <= prevPos:
			return fmt.Errorf("entry %d: position %d not above the previous %d", n, pos, prevPos)
		}
		prevRel, prevPos = rel, pos
	}
	return nil
}

// Append adds an entry mapping offset to position in the .log file, in
// memory only (Flush or Sync writes it). offset must be above the last
// entry's and fit the segment (base ≤ offset ≤ base+MaxInt32), position
// non-negative and above the last entry's; otherwise the error wraps
// ErrInvalidIndexEntry and nothing is added.
//
// Full is a soft limit: the segment rolls when it reports true, but an
// append past it (several batches indexed by one log append, a rebuild
// under a lowered segment.index.bytes) is accepted rather than failing the
// log. Without preallocation nothing physical bounds the file, and the
// strictly increasing positions bound it by the segment's size anyway.
func (x *OffsetIndex) Append(offset int64, position int32) error {
	c := x.c
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("index %s: %w", c.path, ErrIndexClosed)
	}
	rel, ok := c.relative(offset)
	if !ok {
		return fmt.Errorf("%w: %s: offset %d outside segment with base %d", ErrInvalidIndexEntry, c.path, offset, c.base)
	}
	if position < 0 {
		return fmt.Errorf("%w: %s: negative position %d", ErrInvalidIndexEntry, c.path, position)
	}
	if n := c.n(); n > 0 {
		last := c.buf[(n-1)*OffsetIndexEntrySize:]
		lastRel := int32(binary.BigEndian.Uint32(last))
		lastPos := int32(binary.BigEndian.Uint32(last[4:]))
		if rel <= lastRel {
			return fmt.Errorf("%w: %s: offset %d not above the last indexed offset %d", ErrInvalidIndexEntry, c.path, offset, c.base+int64(lastRel))
		}
		if position <= lastPos {
			return fmt.Errorf("%w: %s: position %d not above the last indexed position %d", ErrInvalidIndexEntry, c.path, position, lastPos)
		}
	}
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(rel))
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(position))
	return nil
}

// Lookup returns the entry with the largest offset at most target, or
// (baseOffset, 0) if there is none (or the lazy load failed). It does not
// allocate.
func (x *OffsetIndex) Lookup(target int64) (indexOffset int64, position int32) {
	c := x.c
	if c.rlock() != nil {
		return c.base, 0
	}
	defer c.mu.RUnlock()
	i := c.countOffsets(target, true) - 1
	if i < 0 {
		return c.base, 0
	}
	e := c.buf[i*OffsetIndexEntrySize:]
	return c.base + int64(binary.BigEndian.Uint32(e)), int32(binary.BigEndian.Uint32(e[4:]))
}

// Entry returns entry i (0 ≤ i < Entries()), or ok false.
func (x *OffsetIndex) Entry(i int) (offset int64, position int32, ok bool) {
	c := x.c
	if c.rlock() != nil {
		return 0, 0, false
	}
	defer c.mu.RUnlock()
	if i < 0 || i >= c.n() {
		return 0, 0, false
	}
	e := c.buf[i*OffsetIndexEntrySize:]
	return c.base + int64(binary.BigEndian.Uint32(e)), int32(binary.BigEndian.Uint32(e[4:])), true
}

// LastOffset returns the offset of the last entry, or the base offset if
// the index is empty (as Kafka's lastOffset).
func (x *OffsetIndex) LastOffset() int64 {
	c := x.c
	if c.rlock() != nil {
		return c.base
	}
	defer c.mu.RUnlock()
	if n := c.n(); n > 0 {
		return c.base + int64(c.rel(n-1))
	}
	return c.base
}

// Full reports whether the index holds MaxEntries() entries, that is
// Entries()×8 ≥ segment.index.bytes rounded down to a multiple of 8: the
// segment must roll before its next append (Append does not enforce it).
func (x *OffsetIndex) Full() bool {
	c := x.c
	if c.rlock() != nil {
		return false
	}
	defer c.mu.RUnlock()
	return c.fullLocked()
}
