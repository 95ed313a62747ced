package vfs

import "sync/atomic"

// Counts is a snapshot of a CountingFS. Every call is counted, whether it
// succeeds or not.
type Counts struct {
	Syncs        int64 // File.Sync calls (fdatasync on the OS FS)
	SyncDirs     int64 // FS.SyncDir calls (directory fsync)
	Writes       int64 // File.Write and File.WriteAt calls
	BytesWritten int64 // bytes reported written by them
}

// Fsyncs returns Syncs + SyncDirs: the number of flushes a storage
// benchmark divides by the number of acknowledged appends.
func (c Counts) Fsyncs() int64 { return c.Syncs + c.SyncDirs }

// CountingFS wraps any FS, including the OS one, and counts durability
// calls and writes with atomic counters. Methods it does not count are
// those of the embedded FS.
type CountingFS struct {
	FS
	syncs, syncDirs, writes, bytes atomic.Int64
}

// WithCounters wraps fsys with counters starting at zero.
func WithCounters(fsys FS) *CountingFS { return &CountingFS{FS: fsys} }

// Counts returns the current counters. Each field is read atomically; the
// snapshot as a whole is not.
func (c *CountingFS) Counts() Counts {
	return Counts{
		Syncs:        c.syncs.Load(),
		SyncDirs:     c.syncDirs.Load(),
		Writes:       c.writes.Load(),
		BytesWritten: c.bytes.Load(),
	}
}

// Syncs returns the number of File.Sync calls so far.
func (c *CountingFS) Syncs() int64 { return c.syncs.Load() }

// SyncDirs returns the number of SyncDir calls so far.
func (c *CountingFS) SyncDirs() int64 { return c.syncDirs.Load() }

// Reset sets every counter to zero.
func (c *CountingFS) Reset() {
	c.syncs.Store(0)
	c.syncDirs.Store(0)
	c.writes.Store(0)
	c.bytes.Store(0)
}

// Unwrap returns the wrapped FS.
func (c *CountingFS) Unwrap() FS { return c.FS }

// Create implements FS; the file counts its writes and syncs.
func (c *CountingFS) Create(name string) (File, error) {
	return c.wrap(c.FS.Create(name))
}

// OpenReadWrite implements FS; the file counts its writes and syncs.
func (c *CountingFS) OpenReadWrite(name string) (File, error) {
	return c.wrap(c.FS.OpenReadWrite(name))
}

// Open implements FS; the file counts its syncs.
func (c *CountingFS) Open(name string) (File, error) {
	return c.wrap(c.FS.Open(name))
}

// SyncDir implements FS and counts the call.
func (c *CountingFS) SyncDir(dir string) error {
	c.syncDirs.Add(1)
	return c.FS.SyncDir(dir)
}

func (c *CountingFS) wrap(f File, err error) (File, error) {
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, c: c}, nil
}

type countingFile struct {
	File
	c *CountingFS
}

func (f *countingFile) Unwrap() File { return f.File }

func (f *countingFile) Sync() error {
	f.c.syncs.Add(1)
	return f.File.Sync()
}

func (f *countingFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.c.writes.Add(1)
	f.c.bytes.Add(int64(n))
	return n, err
}

func (f *countingFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	f.c.writes.Add(1)
	f.c.bytes.Add(int64(n))
	return n, err
}
