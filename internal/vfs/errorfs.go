package vfs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
)

// ErrInjected is the default error of a fault rule. It wraps syscall.EIO,
// so errors.Is(err, syscall.EIO) holds for it.
var ErrInjected = fmt.Errorf("vfs: injected fault: %w", syscall.EIO)

// Op is a set of operations a fault Rule applies to.
type Op uint32

// Operations that can be made to fail.
const (
	OpCreate   Op = 1 << iota // FS.Create, FS.OpenReadWrite
	OpOpen                    // FS.Open
	OpRead                    // File.Read, File.ReadAt
	OpWrite                   // File.Write, File.WriteAt
	OpSync                    // File.Sync
	OpTruncate                // File.Truncate
	OpSyncDir                 // FS.SyncDir
	OpRename                  // FS.Rename (matches if either name matches)
	OpRemove                  // FS.Remove, FS.RemoveAll
	OpMkdir                   // FS.MkdirAll
	OpStat                    // FS.Stat, File.Stat
	OpReadDir                 // FS.ReadDir
	OpLock                    // FS.Lock

	OpAll Op = 1<<iota - 1
)

var opNames = []string{"create", "open", "read", "write", "sync", "truncate",
	"syncdir", "rename", "remove", "mkdir", "stat", "readdir", "lock"}

func (o Op) String() string {
	var parts []string
	for i, name := range opNames {
		if o&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// Rule describes a fault. The zero value of every field but Ops means
// "always": all paths, error ErrInjected, from the first call, forever.
type Rule struct {
	Ops   Op                     // operations that fail
	Path  func(name string) bool // which names; nil matches every name
	Err   error                  // error wrapped in the returned *fs.PathError; nil means ErrInjected
	After int                    // let this many matching calls succeed first
	Limit int                    // fail at most this many calls; 0 means no limit
}

// PathIs matches exactly name.
func PathIs(name string) func(string) bool {
	return func(p string) bool { return p == name }
}

// PathHasSuffix matches names ending in suffix (e.g. ".index", "/CHECKPOINT").
func PathHasSuffix(suffix string) func(string) bool {
	return func(p string) bool { return strings.HasSuffix(p, suffix) }
}

// Fault is an armed Rule.
type Fault struct {
	efs      *ErrorFS
	rule     Rule
	matched  int // matching calls seen, guarded by efs.mu
	hits     int // calls failed, guarded by efs.mu
	disarmed bool
}

// Hits returns how many calls the fault has failed so far.
func (f *Fault) Hits() int {
	f.efs.mu.Lock()
	defer f.efs.mu.Unlock()
	return f.hits
}

// Disarm stops the fault; calls after Disarm returns are not affected.
func (f *Fault) Disarm() {
	f.efs.mu.Lock()
	defer f.efs.mu.Unlock()
	f.disarmed = true
}

// ErrorFS wraps any FS (MemFS or the OS one) and makes selected operations
// fail. A failing operation is not passed to the wrapped FS at all: an
// injected Write writes nothing, an injected Rename renames nothing, and an
// injected Sync or SyncDir makes nothing durable.
//
// Moreover, when the wrapped file belongs to a MemFS (possibly through
// other wrappers of this package), an injected Sync failure discards the
// file's un-synced writes from the durable path, as Linux does after a
// writeback error: reads still return them, but no later Sync persists
// them, so a crash loses them for sure. This catches code that "retries"
// a failed fsync instead of treating the data as lost.
type ErrorFS struct {
	fs     FS
	mu     sync.Mutex
	faults []*Fault
}

// WithErrors wraps fsys for fault injection. With no faults armed, it
// behaves exactly like fsys.
func WithErrors(fsys FS) *ErrorFS { return &ErrorFS{fs: fsys} }

// Inject arms a fault rule and returns a handle to observe or disarm it.
// When several faults match a call, the first armed one decides.
func (e *ErrorFS) Inject(r Rule) *Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := &Fault{efs: e, rule: r}
	e.faults = append(e.faults, f)
	return f
}

// DisarmAll disarms every fault.
func (e *ErrorFS) DisarmAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range e.faults {
		f.disarmed = true
	}
	e.faults = nil
}

// Unwrap returns the wrapped FS.
func (e *ErrorFS) Unwrap() FS { return e.fs }

// check returns the injected error for an operation on names, or nil.
func (e *ErrorFS) check(op Op, opName string, names ...string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range e.faults {
		r := &f.rule
		if f.disarmed || r.Ops&op == 0 || (r.Limit > 0 && f.hits >= r.Limit) {
			continue
		}
		match := r.Path == nil
		for _, n := range names {
			if !match && r.Path(n) {
				match = true
			}
		}
		if !match {
			continue
		}
		f.matched++
		if f.matched <= r.After {
			continue
		}
		f.hits++
		err := r.Err
		if err == nil {
			err = ErrInjected
		}
		return &fs.PathError{Op: opName, Path: names[0], Err: err}
	}
	return nil
}

// Create implements FS; it fails if an armed fault matches.
func (e *ErrorFS) Create(name string) (File, error) {
	if err := e.check(OpCreate, "open", name); err != nil {
		return nil, err
	}
	f, err := e.fs.Create(name)
	if err != nil {
		return nil, err
	}
	return &errFile{File: f, efs: e, name: name}, nil
}

// OpenReadWrite implements FS; it fails if an armed fault matches.
func (e *ErrorFS) OpenReadWrite(name string) (File, error) {
	if err := e.check(OpCreate, "open", name); err != nil {
		return nil, err
	}
	f, err := e.fs.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return &errFile{File: f, efs: e, name: name}, nil
}

// Open implements FS; it fails if an armed fault matches.
func (e *ErrorFS) Open(name string) (File, error) {
	if err := e.check(OpOpen, "open", name); err != nil {
		return nil, err
	}
	f, err := e.fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &errFile{File: f, efs: e, name: name}, nil
}

// Remove implements FS; it fails if an armed fault matches.
func (e *ErrorFS) Remove(name string) error {
	if err := e.check(OpRemove, "remove", name); err != nil {
		return err
	}
	return e.fs.Remove(name)
}

// RemoveAll implements FS; it fails if an armed fault matches.
func (e *ErrorFS) RemoveAll(name string) error {
	if err := e.check(OpRemove, "removeall", name); err != nil {
		return err
	}
	return e.fs.RemoveAll(name)
}

// Rename implements FS; it fails if an armed fault matches.
func (e *ErrorFS) Rename(oldname, newname string) error {
	if err := e.check(OpRename, "rename", oldname, newname); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err.(*fs.PathError).Err}
	}
	return e.fs.Rename(oldname, newname)
}

// MkdirAll implements FS; it fails if an armed fault matches.
func (e *ErrorFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := e.check(OpMkdir, "mkdir", dir); err != nil {
		return err
	}
	return e.fs.MkdirAll(dir, perm)
}

// ReadDir implements FS; it fails if an armed fault matches.
func (e *ErrorFS) ReadDir(dir string) ([]DirEntry, error) {
	if err := e.check(OpReadDir, "readdir", dir); err != nil {
		return nil, err
	}
	return e.fs.ReadDir(dir)
}

// Stat implements FS; it fails if an armed fault matches.
func (e *ErrorFS) Stat(name string) (fs.FileInfo, error) {
	if err := e.check(OpStat, "stat", name); err != nil {
		return nil, err
	}
	return e.fs.Stat(name)
}

// SyncDir implements FS; it fails if an armed fault matches.
func (e *ErrorFS) SyncDir(dir string) error {
	if err := e.check(OpSyncDir, "syncdir", dir); err != nil {
		return err
	}
	return e.fs.SyncDir(dir)
}

// Lock implements FS; it fails if an armed fault matches.
func (e *ErrorFS) Lock(name string) (io.Closer, error) {
	if err := e.check(OpLock, "lock", name); err != nil {
		return nil, err
	}
	return e.fs.Lock(name)
}

// PathJoin implements FS.
func (e *ErrorFS) PathJoin(elem ...string) string { return e.fs.PathJoin(elem...) }

// PathBase implements FS.
func (e *ErrorFS) PathBase(p string) string { return e.fs.PathBase(p) }

// PathDir implements FS.
func (e *ErrorFS) PathDir(p string) string { return e.fs.PathDir(p) }

// errFile embeds the wrapped File so Seek and Close pass straight through.
type errFile struct {
	File
	efs  *ErrorFS
	name string
}

func (f *errFile) Unwrap() File { return f.File }

func (f *errFile) Read(p []byte) (int, error) {
	if err := f.efs.check(OpRead, "read", f.name); err != nil {
		return 0, err
	}
	return f.File.Read(p)
}

func (f *errFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.efs.check(OpRead, "read", f.name); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *errFile) Write(p []byte) (int, error) {
	if err := f.efs.check(OpWrite, "write", f.name); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *errFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.efs.check(OpWrite, "write", f.name); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f *errFile) Stat() (fs.FileInfo, error) {
	if err := f.efs.check(OpStat, "stat", f.name); err != nil {
		return nil, err
	}
	return f.File.Stat()
}

func (f *errFile) Truncate(size int64) error {
	if err := f.efs.check(OpTruncate, "truncate", f.name); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *errFile) Sync() error {
	if err := f.efs.check(OpSync, "sync", f.name); err != nil {
		dropUnsynced(f.File)
		return err
	}
	return f.File.Sync()
}

// dropUnsynced tells the MemFS file under f, if any, that a sync failed.
func dropUnsynced(f File) {
	for f != nil {
		if s, ok := f.(interface{ failSync() }); ok {
			s.failSync()
			return
		}
		u, ok := f.(interface{ Unwrap() File })
		if !ok {
			return
		}
		f = u.Unwrap()
	}
}
