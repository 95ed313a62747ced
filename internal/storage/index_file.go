package storage

// indexFile is what the offset and time indexes share: storage, flushing,
// lifecycle and truncation of fixed-size entries, all in idxCore. Each
// index embeds it and adds its own entry layout, lookups and Full.
type indexFile struct {
	c *idxCore
}

// BaseOffset returns the segment's base offset.
func (x indexFile) BaseOffset() int64 { return x.c.base }

// Path returns the index file's current name.
func (x indexFile) Path() string { return x.c.getPath() }

// MaxEntries returns how many entries fit in segment.index.bytes.
func (x indexFile) MaxEntries() int { return x.c.maxEntries }

// TruncateTo removes the entries whose offset is target or more, and
// truncates the file if some of them had been written.
func (x indexFile) TruncateTo(target int64) error { return x.c.truncateTo(target) }

// Reset removes every entry and truncates the file to zero, to rebuild the
// index from the log. It also clears a failed lazy load.
func (x indexFile) Reset() error { return x.c.reset() }

// Entries returns the number of entries (0 if the lazy load failed).
func (x indexFile) Entries() int { return x.c.entries() }

// SizeBytes returns the size of the entries: Entries() × the entry size,
// which is the file's size once flushed.
func (x indexFile) SizeBytes() int64 { return x.c.sizeBytes() }

// Flush writes the entries appended since the last flush to the file with
// one write, without syncing it.
func (x indexFile) Flush() error { return x.c.flush() }

// Sync flushes, then fsyncs the file if it changed since the last
// successful Sync. The entries lock is not held during the write and the
// fsync. After a failed Sync, the data written since the previous
// successful one is rewritten by the next Flush or Sync.
func (x indexFile) Sync() error { return x.c.sync() }

// ReleaseFile flushes and closes the file handle, keeping the entries in
// memory; the next write reopens the file. For inactive segments, so that
// idle partitions hold no descriptors. A later Sync still fsyncs what was
// written.
func (x indexFile) ReleaseFile() error { return x.c.releaseFile() }

// Unload flushes, closes the file and drops the entries from memory; the
// next use reloads them from the file, as for a lazily opened index.
func (x indexFile) Unload() error { return x.c.unload() }

// Load reads the entries of a lazily opened index now, returning the load
// error (wrapping ErrCorruptIndex if the file is invalid).
func (x indexFile) Load() error {
	if err := x.c.rlock(); err != nil {
		return err
	}
	x.c.mu.RUnlock()
	return nil
}

// Loaded reports whether the entries are in memory.
func (x indexFile) Loaded() bool { return x.c.isLoaded() }

// Sanity loads the entries if needed and validates them; the error wraps
// ErrCorruptIndex when they are invalid.
func (x indexFile) Sanity() error { return x.c.sanity() }

// Close flushes and closes the file (it does not sync: call Sync first for
// durability). Later writes fail with ErrIndexClosed; lookups keep
// answering from memory. Closing again is a no-op.
func (x indexFile) Close() error { return x.c.close() }

// Rename flushes, closes the file handle and renames the file to newPath
// (for the .deleted/.cleaned/.swap suffixes); the index stays usable and
// reopens the file under its new name when next written. It works on a
// closed index too. The directory is not synced.
func (x indexFile) Rename(newPath string) error { return x.c.rename(newPath) }

// Delete closes the index, drops its entries and removes its file (a
// missing file is not an error). The directory is not synced.
func (x indexFile) Delete() error { return x.c.delete() }
