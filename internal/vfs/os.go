package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Default is the operating-system file system.
var Default FS = NewOS()

// NewOS returns the operating-system file system. File.Sync uses fdatasync
// on Linux (fsync elsewhere), SyncDir opens the directory and fsyncs it,
// and Lock uses flock(2) on Linux plus an in-process table, so a second
// Lock on the same file fails even from the same process.
func NewOS() FS { return osFS{} }

type osFS struct{}

func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &osFile{f}, nil
}

func (osFS) OpenReadWrite(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &osFile{f}, nil
}

func (osFS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return &osFile{f}, nil
}

func (osFS) Remove(name string) error                    { return os.Remove(name) }
func (osFS) RemoveAll(name string) error                 { return os.RemoveAll(name) }
func (osFS) Rename(oldname, newname string) error        { return os.Rename(oldname, newname) }
func (osFS) MkdirAll(dir string, perm os.FileMode) error { return os.MkdirAll(dir, perm) }
func (osFS) Stat(name string) (fs.FileInfo, error)       { return os.Stat(name) }
func (osFS) PathJoin(elem ...string) string              { return filepath.Join(elem...) }
func (osFS) PathBase(p string) string                    { return filepath.Base(p) }
func (osFS) PathDir(p string) string                     { return filepath.Dir(p) }

func (osFS) ReadDir(dir string) ([]DirEntry, error) {
	ents, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, err
	}
	out := make([]DirEntry, 0, len(ents))
	for _, e := range ents {
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the directory was read
		}
		if err != nil {
			return nil, err
		}
		de := DirEntry{Name: e.Name(), IsDir: info.IsDir()}
		if !de.IsDir {
			de.Size = info.Size()
		}
		out = append(out, de)
	}
	return out, nil
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync() // fsync: fdatasync is not enough to guarantee entries
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// processLocks records the lock files held by this process, by absolute
// path. flock(2) already excludes a second open file description, but the
// table also covers file systems (NFS) where flock degrades to per-process
// POSIX locks, and platforms without flock.
var processLocks struct {
	sync.Mutex
	held map[string]bool
}

func (osFS) Lock(name string) (io.Closer, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, &fs.PathError{Op: "lock", Path: name, Err: err}
	}
	processLocks.Lock()
	defer processLocks.Unlock()
	if processLocks.held[abs] {
		return nil, &fs.PathError{Op: "lock", Path: name, Err: ErrLocked}
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "lock", Path: name, Err: err}
	}
	if processLocks.held == nil {
		processLocks.held = make(map[string]bool)
	}
	processLocks.held[abs] = true
	return &osLock{f: f, abs: abs}, nil
}

type osLock struct {
	once sync.Once
	f    *os.File
	abs  string
}

func (l *osLock) Close() error {
	err := os.ErrClosed
	l.once.Do(func() {
		processLocks.Lock()
		defer processLocks.Unlock()
		delete(processLocks.held, l.abs)
		err = l.f.Close() // closing the descriptor releases the flock
	})
	return err
}

// osFile is a File backed by an *os.File. Embedding forwards everything but
// Sync, which is replaced by fdatasync.
type osFile struct {
	*os.File
}

// OSFile returns the underlying *os.File (for sendfile and the like).
func (f *osFile) OSFile() *os.File { return f.File }

func (f *osFile) Sync() error {
	if err := datasync(f.File); err != nil {
		return &fs.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	return nil
}

func (f *osFile) String() string { return fmt.Sprintf("osFile(%s)", f.Name()) }
