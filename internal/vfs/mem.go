package vfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxMemFileSize bounds a MemFS file so that a bogus offset fails with
// EFBIG instead of exhausting memory.
const maxMemFileSize = 1 << 31

// MemFS is an in-memory FS that records what is durable, so tests can
// simulate power loss with CrashClone. See the package documentation for
// the exact model. Names are "/"-separated; relative names are resolved
// against the root "/". All methods are safe for concurrent use.
//
// Differences from the OS implementation, all deliberate: Open on a
// directory fails with EISDIR, and SyncDir on a file fails with ENOTDIR.
type MemFS struct {
	mu   sync.Mutex
	root *memNode
}

// NewMem returns an empty MemFS containing only the root directory.
func NewMem() *MemFS { return &MemFS{root: newMemDir()} }

// memNode is an inode: a file or a directory. Names live in directories,
// so a node survives a rename and can outlive its last name while handles
// (or a durable directory entry) still point at it.
type memNode struct {
	isDir bool

	// Files.
	live     []byte   // what reads return now
	durable  []byte   // what a crash is guaranteed to keep
	pending  []fileOp // un-synced operations, oldest first
	locked   bool
	modified time.Time // the last write or truncation, as a file's mtime

	// Directories.
	entries    map[string]*memNode // live listing
	durEntries map[string]*memNode // listing as of the last SyncDir
	dirOps     [][]dirChange       // un-synced changes since the last SyncDir
}

// fileOp is an un-synced write (data != nil) or truncation to size.
type fileOp struct {
	off  int64 // write offset, or truncation size
	data []byte
	trun bool
}

// dirChange sets name to node in a directory, or unlinks it if node is
// nil. A []dirChange is applied atomically (a rename within a directory).
type dirChange struct {
	name string
	node *memNode
}

func newMemDir() *memNode {
	return &memNode{
		isDir:      true,
		entries:    make(map[string]*memNode),
		durEntries: make(map[string]*memNode),
	}
}

func (d *memNode) change(ch ...dirChange) {
	for _, c := range ch {
		if c.node == nil {
			delete(d.entries, c.name)
		} else {
			d.entries[c.name] = c.node
		}
	}
	d.dirOps = append(d.dirOps, ch)
}

func (n *memNode) size() int64 { return int64(len(n.live)) }

func (n *memNode) write(off int64, p []byte) {
	if len(p) == 0 {
		return
	}
	n.live = applyWrite(n.live, off, p)
	n.pending = append(n.pending, fileOp{off: off, data: bytes.Clone(p)})
	n.modified = time.Now()
}

func (n *memNode) truncate(size int64) {
	n.live = applyTruncate(n.live, size)
	n.pending = append(n.pending, fileOp{off: size, trun: true})
	n.modified = time.Now()
}

// sync makes every pending operation durable. Applying the operations
// (rather than copying live) keeps writes that a failed sync discarded out
// of the durable image, and costs O(bytes written) instead of O(file size).
func (n *memNode) sync() {
	for _, op := range n.pending {
		n.durable = op.apply(n.durable)
	}
	n.pending = nil
}

func (op fileOp) apply(buf []byte) []byte {
	if op.trun {
		return applyTruncate(buf, op.off)
	}
	return applyWrite(buf, op.off, op.data)
}

// applyWrite writes p at off, zero-filling any gap. Extending always goes
// through append of zeros so stale bytes beyond len(buf) (left by an
// earlier truncate) never reappear.
func applyWrite(buf []byte, off int64, p []byte) []byte {
	if end := off + int64(len(p)); end > int64(len(buf)) {
		buf = append(buf, make([]byte, end-int64(len(buf)))...)
	}
	copy(buf[off:], p)
	return buf
}

func applyTruncate(buf []byte, size int64) []byte {
	if size <= int64(len(buf)) {
		return buf[:size]
	}
	return append(buf, make([]byte, size-int64(len(buf)))...)
}

// ---------------------------------------------------------------------------
// Path resolution. Callers hold m.mu.

func memClean(name string) string {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return path.Clean(name)
}

// errnoOf extracts the errno of a path-resolution error.
func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return syscall.EIO
}

func perr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// walk returns the node at name.
func (m *MemFS) walk(op, name string) (*memNode, error) {
	p := memClean(name)
	n := m.root
	if p == "/" {
		return n, nil
	}
	for _, comp := range strings.Split(p[1:], "/") {
		if !n.isDir {
			return nil, perr(op, name, syscall.ENOTDIR)
		}
		c, ok := n.entries[comp]
		if !ok {
			return nil, perr(op, name, syscall.ENOENT)
		}
		n = c
	}
	return n, nil
}

// walkParent returns the directory that holds name, and name's last
// element. The root has no parent: EINVAL.
func (m *MemFS) walkParent(op, name string) (*memNode, string, error) {
	p := memClean(name)
	if p == "/" {
		return nil, "", perr(op, name, syscall.EINVAL)
	}
	dir, base := path.Split(p)
	d, err := m.walk(op, dir)
	if err != nil {
		return nil, "", perr(op, name, err.(*fs.PathError).Err)
	}
	if !d.isDir {
		return nil, "", perr(op, name, syscall.ENOTDIR)
	}
	return d, base, nil
}

// ---------------------------------------------------------------------------
// FS methods.

// Create implements FS.
func (m *MemFS) Create(name string) (File, error) {
	return m.open("open", name, true)
}

// OpenReadWrite implements FS.
func (m *MemFS) OpenReadWrite(name string) (File, error) {
	return m.open("open", name, false)
}

// Open implements FS.
func (m *MemFS) Open(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.walk("open", name)
	if err != nil {
		return nil, err
	}
	if n.isDir {
		return nil, perr("open", name, syscall.EISDIR)
	}
	return &memFile{fs: m, n: n, name: name, readable: true}, nil
}

func (m *MemFS) open(op, name string, trunc bool) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, created, err := m.openLocked(op, name)
	if err != nil {
		return nil, err
	}
	if trunc && !created {
		// Recorded even if the file looks empty: its durable image may not be.
		n.truncate(0)
	}
	return &memFile{fs: m, n: n, name: name, readable: true, writable: true}, nil
}

// openLocked returns the file at name, creating it if missing.
func (m *MemFS) openLocked(op, name string) (n *memNode, created bool, err error) {
	d, base, err := m.walkParent(op, name)
	if err != nil {
		return nil, false, err
	}
	n, ok := d.entries[base]
	if !ok {
		n = &memNode{modified: time.Now()}
		d.change(dirChange{base, n})
		return n, true, nil
	}
	if n.isDir {
		return nil, false, perr(op, name, syscall.EISDIR)
	}
	return n, false, nil
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.walkParent("remove", name)
	if err != nil {
		return err
	}
	n, ok := d.entries[base]
	if !ok {
		return perr("remove", name, syscall.ENOENT)
	}
	if n.isDir && len(n.entries) > 0 {
		return perr("remove", name, syscall.ENOTEMPTY)
	}
	d.change(dirChange{name: base})
	return nil
}

// RemoveAll implements FS.
func (m *MemFS) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.walkParent("removeall", name)
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok && pe.Err == syscall.ENOENT {
			return nil
		}
		return err
	}
	n, ok := d.entries[base]
	if !ok {
		return nil
	}
	removeTree(n)
	d.change(dirChange{name: base})
	return nil
}

// removeTree unlinks everything below directory n, bottom-up and in name
// order, the way a recursive unlink would.
func removeTree(n *memNode) {
	if !n.isDir {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(n.entries)) {
		removeTree(n.entries[name])
		n.change(dirChange{name: name})
	}
}

// Rename implements FS.
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if errno := m.renameLocked(oldname, newname); errno != 0 {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: errno}
	}
	return nil
}

func (m *MemFS) renameLocked(oldname, newname string) syscall.Errno {
	od, obase, err := m.walkParent("rename", oldname)
	if err != nil {
		return errnoOf(err)
	}
	src, ok := od.entries[obase]
	if !ok {
		return syscall.ENOENT
	}
	nd, nbase, err := m.walkParent("rename", newname)
	if err != nil {
		return errnoOf(err)
	}
	op, np := memClean(oldname), memClean(newname)
	if op == np {
		return 0
	}
	if src.isDir && strings.HasPrefix(np, op+"/") {
		return syscall.EINVAL
	}
	if dst, ok := nd.entries[nbase]; ok {
		switch {
		case dst == src:
			return 0 // two links to one file (possible in crash clones)
		case src.isDir && !dst.isDir:
			return syscall.ENOTDIR
		case !src.isDir && dst.isDir:
			return syscall.EISDIR
		case dst.isDir && len(dst.entries) > 0:
			return syscall.ENOTEMPTY
		}
	}
	if od == nd {
		od.change(dirChange{name: obase}, dirChange{nbase, src})
	} else {
		od.change(dirChange{name: obase})
		nd.change(dirChange{nbase, src})
	}
	return 0
}

// MkdirAll implements FS. perm is ignored.
func (m *MemFS) MkdirAll(dir string, perm os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := memClean(dir)
	n := m.root
	if p == "/" {
		return nil
	}
	for _, comp := range strings.Split(p[1:], "/") {
		c, ok := n.entries[comp]
		if !ok {
			c = newMemDir()
			n.change(dirChange{comp, c})
		} else if !c.isDir {
			return perr("mkdir", dir, syscall.ENOTDIR)
		}
		n = c
	}
	return nil
}

// ReadDir implements FS.
func (m *MemFS) ReadDir(dir string) ([]DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.walk("readdir", dir)
	if err != nil {
		return nil, err
	}
	if !d.isDir {
		return nil, perr("readdir", dir, syscall.ENOTDIR)
	}
	out := make([]DirEntry, 0, len(d.entries))
	for _, name := range slices.Sorted(maps.Keys(d.entries)) {
		n := d.entries[name]
		e := DirEntry{Name: name, IsDir: n.isDir}
		if !n.isDir {
			e.Size = n.size()
		}
		out = append(out, e)
	}
	return out, nil
}

// Stat implements FS.
func (m *MemFS) Stat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.walk("stat", name)
	if err != nil {
		return nil, err
	}
	return memInfo{name: path.Base(memClean(name)), size: n.size(), dir: n.isDir, modified: n.modified}, nil
}

// SyncDir implements FS: dir's current listing becomes its durable one.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.walk("syncdir", dir)
	if err != nil {
		return err
	}
	if !d.isDir {
		return perr("syncdir", dir, syscall.ENOTDIR)
	}
	d.durEntries = maps.Clone(d.entries)
	d.dirOps = nil
	return nil
}

// Lock implements FS. The lock belongs to the file (inode), as with flock:
// removing and re-creating the lock file yields an unlocked file.
func (m *MemFS) Lock(name string) (io.Closer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, _, err := m.openLocked("lock", name)
	if err != nil {
		return nil, err
	}
	if n.locked {
		return nil, perr("lock", name, ErrLocked)
	}
	n.locked = true
	return &memLock{fs: m, n: n, name: name}, nil
}

// PathJoin implements FS.
func (m *MemFS) PathJoin(elem ...string) string { return path.Join(elem...) }

// PathBase implements FS.
func (m *MemFS) PathBase(p string) string { return path.Base(p) }

// PathDir implements FS.
func (m *MemFS) PathDir(p string) string { return path.Dir(p) }

// SyncAll makes the entire current state durable, as if every file and
// directory had been synced successfully: handy to set up a fixture before
// the part of a test that exercises crashes. Unlike File.Sync it also
// persists writes that a failed Sync had discarded.
func (m *MemFS) SyncAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := make(map[*memNode]bool)
	var walk func(n *memNode)
	walk = func(n *memNode) {
		if seen[n] {
			return
		}
		seen[n] = true
		if !n.isDir {
			n.durable = bytes.Clone(n.live)
			n.pending = nil
			return
		}
		n.durEntries = maps.Clone(n.entries)
		n.dirOps = nil
		for _, c := range n.entries {
			walk(c)
		}
	}
	walk(m.root)
}

// ---------------------------------------------------------------------------
// Crashes.

// CrashOptions selects how CrashCloneWith simulates a power loss.
type CrashOptions struct {
	// Rand chooses which un-synced operations survive. Nil means a strict
	// power loss: nothing un-synced survives at all.
	Rand *rand.Rand

	// DirOps additionally keeps, per directory, a random prefix of the
	// un-synced entry changes (creates, unlinks, renames) instead of
	// reverting the directory to its durable listing, the way a kernel
	// that flushes metadata on its own may. A rename within one directory
	// is kept or dropped as a whole. Ignored when Rand is nil.
	DirOps bool
}

// CrashClone returns a new MemFS holding what survives a power loss at this
// instant: every file has its durable content plus a random prefix of its
// un-synced writes and truncations, the last write possibly torn at any
// byte; every directory reverts to its durable listing. A nil rng gives a
// strict crash (see CrashCloneStrict). The same rng seed on the same state
// yields the same clone.
//
// m is not modified and stays fully usable (it is "the process that was
// running"); the clone shares nothing with it, has no open handles and no
// locks held.
func (m *MemFS) CrashClone(rng *rand.Rand) *MemFS {
	return m.CrashCloneWith(CrashOptions{Rand: rng})
}

// CrashCloneStrict is CrashClone with every un-synced change dropped: the
// clone contains exactly the durable state. Deterministic.
func (m *MemFS) CrashCloneStrict() *MemFS {
	return m.CrashCloneWith(CrashOptions{})
}

// CrashCloneWith is CrashClone with options.
func (m *MemFS) CrashCloneWith(o CrashOptions) *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := crasher{opts: o, files: make(map[*memNode]*memNode), dirs: make(map[*memNode]bool)}
	return &MemFS{root: c.dir(m.root)}
}

type crasher struct {
	opts  CrashOptions
	files map[*memNode]*memNode // old file node -> clone, keeps hard links shared
	dirs  map[*memNode]bool     // directories already placed
}

func (c *crasher) dir(d *memNode) *memNode {
	c.dirs[d] = true
	listing := maps.Clone(d.durEntries)
	if c.opts.Rand != nil && c.opts.DirOps && len(d.dirOps) > 0 {
		for _, op := range d.dirOps[:c.opts.Rand.IntN(len(d.dirOps)+1)] {
			for _, ch := range op {
				if ch.node == nil {
					delete(listing, ch.name)
				} else {
					listing[ch.name] = ch.node
				}
			}
		}
	}
	nd := newMemDir()
	// Sorted order makes the clone a function of the seed.
	for _, name := range slices.Sorted(maps.Keys(listing)) {
		child := listing[name]
		if child.isDir {
			if c.dirs[child] {
				// A directory has one parent. Un-synced cross-directory
				// renames of directories can leave it durably listed
				// twice (or in a cycle); keep the first occurrence.
				continue
			}
			nd.entries[name] = c.dir(child)
		} else {
			nd.entries[name] = c.file(child)
		}
	}
	nd.durEntries = maps.Clone(nd.entries)
	return nd
}

func (c *crasher) file(n *memNode) *memNode {
	if nn, ok := c.files[n]; ok {
		return nn
	}
	content := bytes.Clone(n.durable)
	if rng := c.opts.Rand; rng != nil && len(n.pending) > 0 {
		k := rng.IntN(len(n.pending) + 1)
		for _, op := range n.pending[:k] {
			content = op.apply(content)
		}
		if k < len(n.pending) {
			if op := n.pending[k]; !op.trun && len(op.data) > 1 {
				if torn := rng.IntN(len(op.data)); torn > 0 {
					content = applyWrite(content, op.off, op.data[:torn])
				}
			}
		}
	}
	nn := &memNode{live: content, durable: bytes.Clone(content), modified: n.modified}
	c.files[n] = nn
	return nn
}

// ---------------------------------------------------------------------------
// Files.

type memFile struct {
	fs       *MemFS
	n        *memNode
	name     string
	readable bool
	writable bool
	off      int64 // guarded by fs.mu
	closed   bool  // guarded by fs.mu
}

func (f *memFile) check(op string, write bool) error {
	if f.closed {
		return perr(op, f.name, os.ErrClosed)
	}
	if write && !f.writable {
		return perr(op, f.name, syscall.EBADF)
	}
	if !write && !f.readable {
		return perr(op, f.name, syscall.EBADF)
	}
	return nil
}

func (f *memFile) Read(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if f.off >= f.n.size() {
		return 0, io.EOF
	}
	n := copy(p, f.n.live[f.off:])
	f.off += int64(n)
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, perr("read", f.name, syscall.EINVAL)
	}
	if off >= f.n.size() {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, f.n.live[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.writeLocked(p, f.off); err != nil {
		return 0, err
	}
	f.off += int64(len(p))
	return len(p), nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.writeLocked(p, off); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (f *memFile) writeLocked(p []byte, off int64) error {
	if err := f.check("write", true); err != nil {
		return err
	}
	if off < 0 {
		return perr("write", f.name, syscall.EINVAL)
	}
	if off+int64(len(p)) > maxMemFileSize {
		return perr("write", f.name, syscall.EFBIG)
	}
	f.n.write(off, p)
	return nil
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, perr("seek", f.name, os.ErrClosed)
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.n.size()
	default:
		return 0, perr("seek", f.name, syscall.EINVAL)
	}
	if offset < 0 {
		return 0, perr("seek", f.name, syscall.EINVAL)
	}
	f.off = offset
	return offset, nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return nil, perr("stat", f.name, os.ErrClosed)
	}
	return memInfo{name: path.Base(memClean(f.name)), size: f.n.size(), modified: f.n.modified}, nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return perr("sync", f.name, os.ErrClosed)
	}
	f.n.sync()
	return nil
}

// failSync models a failed fsync (see ErrorFS): the kernel has given up on
// the dirty pages, so the pending operations will never become durable,
// although reads keep returning them.
func (f *memFile) failSync() {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.n.pending = nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return perr("truncate", f.name, os.ErrClosed)
	}
	if !f.writable || size < 0 {
		return perr("truncate", f.name, syscall.EINVAL)
	}
	if size > maxMemFileSize {
		return perr("truncate", f.name, syscall.EFBIG)
	}
	f.n.truncate(size)
	return nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return perr("close", f.name, os.ErrClosed)
	}
	f.closed = true
	return nil
}

type memLock struct {
	fs       *MemFS
	n        *memNode
	name     string
	released bool
}

func (l *memLock) Close() error {
	l.fs.mu.Lock()
	defer l.fs.mu.Unlock()
	if l.released {
		return perr("unlock", l.name, os.ErrClosed)
	}
	l.released = true
	l.n.locked = false
	return nil
}

type memInfo struct {
	name     string
	size     int64
	dir      bool
	modified time.Time
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64 {
	if i.dir {
		return 0
	}
	return i.size
}
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return i.modified }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
