package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// FS is the file system the storage engine uses. Every method is safe for
// concurrent use. Names follow the host conventions ("/" separated on Linux);
// use the Path* helpers to build them so that code works unchanged on every
// implementation.
//
// Errors are *fs.PathError values (*os.LinkError for Rename, as with the os
// package) wrapping the usual sentinels, so
// errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrExist) and
// errors.Is(err, syscall.ENOTEMPTY) behave the same on every implementation.
type FS interface {
	// Create creates name, or truncates it to zero length if it exists,
	// and opens it read-write at offset 0. The new directory entry is not
	// durable until the parent directory is synced with SyncDir.
	Create(name string) (File, error)

	// OpenReadWrite opens name read-write at offset 0, creating it empty if
	// it does not exist. Existing contents are kept. To append, Seek to
	// the end or use WriteAt.
	OpenReadWrite(name string) (File, error)

	// Open opens an existing file read-only.
	Open(name string) (File, error)

	// Remove removes a file or an empty directory. The removal is not
	// durable until the parent directory is synced.
	Remove(name string) error

	// RemoveAll removes name and everything below it. It returns nil if
	// name does not exist.
	RemoveAll(name string) error

	// Rename atomically renames oldname to newname, replacing newname if
	// it exists (a file, or an empty directory when oldname is a
	// directory). The change is durable only once the directories holding
	// both names have been synced.
	Rename(oldname, newname string) error

	// MkdirAll creates dir and any missing parents. Each new directory's
	// entry becomes durable once its own parent is synced.
	MkdirAll(dir string, perm os.FileMode) error

	// ReadDir lists dir, sorted by name.
	ReadDir(dir string) ([]DirEntry, error)

	// Stat describes name.
	Stat(name string) (fs.FileInfo, error)

	// SyncDir makes the current set of entries in dir durable: creates,
	// renames and removals in dir that happened before the call survive a
	// crash once it returns nil. It says nothing about file contents; sync
	// those with File.Sync.
	SyncDir(dir string) error

	// Lock takes an exclusive lock on the file name (creating it if
	// needed), typically "<datadir>/LOCK". It fails with an error wrapping
	// ErrLocked if the lock is already held, by this process or (for the
	// OS implementation) another one. Close releases the lock; the lock
	// file itself is left in place.
	Lock(name string) (io.Closer, error)

	// PathJoin joins path elements with the separator of this FS.
	PathJoin(elem ...string) string
	// PathBase returns the last element of p.
	PathBase(p string) string
	// PathDir returns all but the last element of p.
	PathDir(p string) string
}

// File is an open file. A File keeps a current offset shared by Read,
// Write and Seek; ReadAt and WriteAt ignore and do not move it. Methods may
// be called concurrently, but concurrent Read/Write/Seek on one File race
// for the offset (exactly as with *os.File); use ReadAt/WriteAt for
// concurrent access.
//
// Log segments are written with Write (after Seek(0, io.SeekEnd) when
// reopening) and index files may be patched in place with WriteAt.
//
// Files returned by the OS implementation additionally implement
// interface{ Fd() uintptr } and interface{ OSFile() *os.File }; use the
// OSFile function, which also sees through the wrappers of this package, to
// get the *os.File for sendfile/splice. Files of MemFS have no descriptor.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.WriterAt
	io.Seeker
	io.Closer

	// Stat describes the open file; Size is the current (not necessarily
	// durable) size.
	Stat() (fs.FileInfo, error)

	// Sync makes the file's data durable (fdatasync on Linux): all writes
	// and truncations done through any handle of this file before the call
	// survive a crash once Sync returns nil. It does not make the file's
	// directory entry durable; that needs SyncDir on the parent.
	//
	// If Sync returns an error, callers must treat every write since the
	// last successful Sync as lost: a later successful Sync does not
	// promise to persist it (Linux drops the dirty pages on writeback
	// errors; MemFS behind ErrorFS models exactly that).
	Sync() error

	// Truncate changes the file's size, zero-extending if it grows. It
	// does not move the offset.
	Truncate(size int64) error
}

// DirEntry is one entry of a directory listing.
type DirEntry struct {
	Name  string
	IsDir bool
	Size  int64 // current size of a file; 0 for a directory
}

// ErrLocked is wrapped by the error Lock returns when the lock is held.
var ErrLocked = errors.New("vfs: lock already held")

// ReadFile reads the whole file name from fsys.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return data, nil
}

// OSFile returns the *os.File behind f, looking through the wrappers of
// this package (WithCounters, WithErrors), or false if f is not backed by
// an operating-system file (e.g. it belongs to a MemFS). I/O done directly
// on the returned *os.File bypasses counting and fault injection; the
// caller must not close it.
func OSFile(f File) (*os.File, bool) {
	for f != nil {
		if o, ok := f.(interface{ OSFile() *os.File }); ok {
			return o.OSFile(), true
		}
		u, ok := f.(interface{ Unwrap() File })
		if !ok {
			break
		}
		f = u.Unwrap()
	}
	return nil, false
}

var (
	_ FS   = osFS{}
	_ FS   = (*MemFS)(nil)
	_ FS   = (*ErrorFS)(nil)
	_ FS   = (*CountingFS)(nil)
	_ File = (*osFile)(nil)
	_ File = (*memFile)(nil)
	_ File = (*errFile)(nil)
	_ File = (*countingFile)(nil)
)

// MkdirAllDurable creates dir and any missing parents, then syncs the
// parent of each directory it created, so the new entries survive a power
// loss before anything in them is relied on.
func MkdirAllDurable(fsys FS, dir string) error {
	var created []string
	for d := dir; ; d = fsys.PathDir(d) {
		if _, err := fsys.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		created = append(created, d)
		if fsys.PathDir(d) == d {
			break
		}
	}
	if len(created) == 0 {
		return nil
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range created {
		if err := fsys.SyncDir(fsys.PathDir(d)); err != nil {
			return err
		}
	}
	return nil
}
