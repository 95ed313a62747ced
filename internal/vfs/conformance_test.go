package vfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

// TestConformance runs the same semantic checks against the OS FS (in a
// temp dir) and MemFS, so MemFS behaves like the disk it stands in for.
func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, fsys FS, root string)
	}{
		{"ReadWriteSeek", testReadWriteSeek},
		{"ReadAtWriteAtTruncate", testReadAtWriteAtTruncate},
		{"CreateTruncatesOpenReadWriteKeeps", testCreateVsOpenReadWrite},
		{"OpenIsReadOnly", testOpenReadOnly},
		{"NotExistErrors", testNotExist},
		{"RenameReplaces", testRenameReplaces},
		{"RenameDirectory", testRenameDir},
		{"RemoveAndRemoveAll", testRemove},
		{"MkdirAllAndReadDir", testMkdirReadDir},
		{"SyncAndSyncDir", testSyncCalls},
		{"LockExclusive", testLockExclusive},
		{"ClosedFile", testClosedFile},
		{"SharedInode", testSharedInode},
	}
	for _, fc := range allFS {
		t.Run(fc.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					fsys, root := fc.make(t)
					tc.fn(t, fsys, root)
				})
			}
		})
	}
}

func testReadWriteSeek(t *testing.T, fsys FS, root string) {
	name := fsys.PathJoin(root, "seg.log")
	f, err := fsys.Create(name)
	must(t, err)
	defer f.Close()
	for _, s := range []string{"hello", " ", "world"} {
		n, err := f.Write([]byte(s))
		must(t, err)
		if n != len(s) {
			t.Fatalf("Write = %d, want %d", n, len(s))
		}
	}
	if pos, err := f.Seek(0, io.SeekCurrent); err != nil || pos != 11 {
		t.Fatalf("Seek(current) = %d, %v; want 11", pos, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	must(t, err)
	if string(got) != "hello world" {
		t.Fatalf("ReadAll = %q", got)
	}
	if n, err := f.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("Read at EOF = %d, %v; want 0, EOF", n, err)
	}
	if _, err := f.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("Seek to negative offset succeeded")
	}
	end, err := f.Seek(0, io.SeekEnd)
	must(t, err)
	if end != 11 {
		t.Fatalf("Seek(end) = %d", end)
	}
	_, err = f.Write([]byte("!"))
	must(t, err)
	info, err := f.Stat()
	must(t, err)
	if info.Size() != 12 || info.Name() != "seg.log" || info.IsDir() {
		t.Fatalf("Stat = %q size %d dir %v", info.Name(), info.Size(), info.IsDir())
	}
	wantContent(t, fsys, name, "hello world!")
}

func testReadAtWriteAtTruncate(t *testing.T, fsys FS, root string) {
	name := fsys.PathJoin(root, "00000.index")
	f, err := fsys.Create(name)
	must(t, err)
	defer f.Close()
	steps := []struct {
		do   func() error
		want string
	}{
		{func() error { _, err := f.WriteAt([]byte("abcdef"), 0); return err }, "abcdef"},
		{func() error { _, err := f.WriteAt([]byte("XY"), 2); return err }, "abXYef"},
		{func() error { _, err := f.WriteAt([]byte("z"), 8); return err }, "abXYef\x00\x00z"},
		{func() error { return f.Truncate(3) }, "abX"},
		{func() error { return f.Truncate(5) }, "abX\x00\x00"}, // no stale bytes
		{func() error { _, err := f.WriteAt([]byte("Q"), 4); return err }, "abX\x00Q"},
		{func() error { return f.Truncate(0) }, ""},
	}
	for i, st := range steps {
		must(t, st.do())
		wantContent(t, fsys, name, st.want)
		info, err := f.Stat()
		must(t, err)
		if info.Size() != int64(len(st.want)) {
			t.Fatalf("step %d: size %d, want %d", i, info.Size(), len(st.want))
		}
	}
	// The offset is untouched by WriteAt/Truncate.
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != 0 {
		t.Fatalf("offset moved to %d", pos)
	}
	_, err = f.WriteAt([]byte("0123456789"), 0)
	must(t, err)
	buf := make([]byte, 4)
	if n, err := f.ReadAt(buf, 3); n != 4 || err != nil || string(buf) != "3456" {
		t.Fatalf("ReadAt = %d %v %q", n, err, buf)
	}
	if n, err := f.ReadAt(buf, 8); n != 2 || err != io.EOF || string(buf[:n]) != "89" {
		t.Fatalf("short ReadAt = %d %v %q; want 2 EOF \"89\"", n, err, buf[:n])
	}
	if n, err := f.ReadAt(buf, 100); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt past end = %d %v", n, err)
	}
	if _, err := f.ReadAt(buf, -1); err == nil {
		t.Fatal("ReadAt(-1) succeeded")
	}
	if err := f.Truncate(-1); err == nil {
		t.Fatal("Truncate(-1) succeeded")
	}
}

func testCreateVsOpenReadWrite(t *testing.T, fsys FS, root string) {
	name := fsys.PathJoin(root, "f")
	writeFile(t, fsys, name, "old contents", false)

	f, err := fsys.OpenReadWrite(name)
	must(t, err)
	_, err = f.Write([]byte("NEW"))
	must(t, err)
	must(t, f.Close())
	wantContent(t, fsys, name, "NEW contents")

	f, err = fsys.Create(name)
	must(t, err)
	must(t, f.Close())
	wantContent(t, fsys, name, "")

	fresh := fsys.PathJoin(root, "fresh")
	f, err = fsys.OpenReadWrite(fresh)
	must(t, err)
	must(t, f.Close())
	wantContent(t, fsys, fresh, "")

	if _, err := fsys.Create(fsys.PathJoin(root, "nodir", "f")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Create in missing dir: %v, want ErrNotExist", err)
	}
	if _, err := fsys.Create(root); !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("Create on a directory: %v, want EISDIR", err)
	}
}

func testOpenReadOnly(t *testing.T, fsys FS, root string) {
	name := fsys.PathJoin(root, "ro")
	writeFile(t, fsys, name, "data", false)
	f, err := fsys.Open(name)
	must(t, err)
	defer f.Close()
	if _, err := f.Write([]byte("x")); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("Write on read-only file: %v, want EBADF", err)
	}
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("WriteAt on read-only file succeeded")
	}
	if err := f.Truncate(0); err == nil {
		t.Fatal("Truncate on read-only file succeeded")
	}
	must(t, f.Sync()) // fsync of a read-only descriptor is allowed
	wantContent(t, fsys, name, "data")
}

func testNotExist(t *testing.T, fsys FS, root string) {
	missing := fsys.PathJoin(root, "missing")
	checks := map[string]error{}
	_, checks["Open"] = fsys.Open(missing)
	_, checks["Stat"] = fsys.Stat(missing)
	_, checks["ReadDir"] = fsys.ReadDir(missing)
	checks["Remove"] = fsys.Remove(missing)
	checks["Rename"] = fsys.Rename(missing, fsys.PathJoin(root, "x"))
	checks["SyncDir"] = fsys.SyncDir(missing)
	for op, err := range checks {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s(missing) = %v, want ErrNotExist", op, err)
		}
		var pe *fs.PathError
		var le *os.LinkError
		if op == "Rename" && !errors.As(err, &le) {
			t.Errorf("Rename error %T is not an *os.LinkError", err)
		} else if op != "Rename" && !errors.As(err, &pe) {
			t.Errorf("%s error %T is not a *fs.PathError", op, err)
		}
	}
	if err := fsys.RemoveAll(missing); err != nil {
		t.Errorf("RemoveAll(missing) = %v, want nil", err)
	}
}

func testRenameReplaces(t *testing.T, fsys FS, root string) {
	a, b := fsys.PathJoin(root, "a"), fsys.PathJoin(root, "b")
	writeFile(t, fsys, a, "new", false)
	writeFile(t, fsys, b, "old", false)
	must(t, fsys.Rename(a, b))
	wantMissing(t, fsys, a)
	wantContent(t, fsys, b, "new")
	must(t, fsys.Rename(b, b)) // no-op
	wantContent(t, fsys, b, "new")
	sub := fsys.PathJoin(root, "sub")
	must(t, fsys.MkdirAll(sub, 0o755))
	if err := fsys.Rename(b, sub); !errors.Is(err, syscall.EISDIR) && !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Rename file over dir: %v, want EISDIR", err)
	}
	must(t, fsys.Rename(b, fsys.PathJoin(sub, "b")))
	wantContent(t, fsys, fsys.PathJoin(sub, "b"), "new")
}

func testRenameDir(t *testing.T, fsys FS, root string) {
	d1, d2 := fsys.PathJoin(root, "d1"), fsys.PathJoin(root, "d2")
	must(t, fsys.MkdirAll(d1, 0o755))
	writeFile(t, fsys, fsys.PathJoin(d1, "f"), "x", false)
	must(t, fsys.Rename(d1, d2))
	wantContent(t, fsys, fsys.PathJoin(d2, "f"), "x")
	if _, err := fsys.Stat(d1); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("old dir still there: %v", err)
	}
	if err := fsys.Rename(d2, fsys.PathJoin(d2, "inner")); err == nil {
		t.Fatal("renaming a directory into itself succeeded")
	}
}

func testRemove(t *testing.T, fsys FS, root string) {
	d := fsys.PathJoin(root, "d")
	must(t, fsys.MkdirAll(fsys.PathJoin(d, "e"), 0o755))
	writeFile(t, fsys, fsys.PathJoin(d, "e", "f"), "x", false)
	if err := fsys.Remove(d); !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Remove(non-empty dir) = %v, want ENOTEMPTY", err)
	}
	must(t, fsys.Remove(fsys.PathJoin(d, "e", "f")))
	wantMissing(t, fsys, fsys.PathJoin(d, "e", "f"))
	must(t, fsys.Remove(fsys.PathJoin(d, "e"))) // now empty
	writeFile(t, fsys, fsys.PathJoin(d, "g"), "y", false)
	must(t, fsys.RemoveAll(d))
	if _, err := fsys.Stat(d); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("RemoveAll left %s: %v", d, err)
	}
}

func testMkdirReadDir(t *testing.T, fsys FS, root string) {
	must(t, fsys.MkdirAll(fsys.PathJoin(root, "topic-0", "x"), 0o755))
	must(t, fsys.MkdirAll(fsys.PathJoin(root, "topic-0"), 0o755)) // idempotent
	writeFile(t, fsys, fsys.PathJoin(root, "b.log"), "12345", false)
	writeFile(t, fsys, fsys.PathJoin(root, "a.index"), "", false)
	got, err := fsys.ReadDir(root)
	must(t, err)
	want := []DirEntry{{"a.index", false, 0}, {"b.log", false, 5}, {"topic-0", true, 0}}
	if len(got) != len(want) {
		t.Fatalf("ReadDir = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ReadDir[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	info, err := fsys.Stat(fsys.PathJoin(root, "topic-0"))
	must(t, err)
	if !info.IsDir() || info.Name() != "topic-0" {
		t.Fatalf("Stat(dir) = %q dir=%v", info.Name(), info.IsDir())
	}
	if err := fsys.MkdirAll(fsys.PathJoin(root, "b.log", "sub"), 0o755); !errors.Is(err, syscall.ENOTDIR) {
		t.Fatalf("MkdirAll below a file = %v, want ENOTDIR", err)
	}
	if _, err := fsys.ReadDir(fsys.PathJoin(root, "b.log")); err == nil {
		t.Fatal("ReadDir of a file succeeded")
	}
	if fsys.PathBase(fsys.PathJoin(root, "x", "y")) != "y" || fsys.PathDir(fsys.PathJoin(root, "x")) != root {
		t.Fatal("path helpers disagree with PathJoin")
	}
}

func testSyncCalls(t *testing.T, fsys FS, root string) {
	name := fsys.PathJoin(root, "wal")
	f, err := fsys.Create(name)
	must(t, err)
	_, err = f.Write([]byte("rec"))
	must(t, err)
	must(t, f.Sync())
	must(t, f.Close())
	must(t, fsys.SyncDir(root))
	wantContent(t, fsys, name, "rec")
}

func testLockExclusive(t *testing.T, fsys FS, root string) {
	name := fsys.PathJoin(root, "LOCK")
	l1, err := fsys.Lock(name)
	must(t, err)
	if _, err := fsys.Lock(name); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	must(t, l1.Close())
	if err := l1.Close(); err == nil {
		t.Fatal("double unlock succeeded")
	}
	l2, err := fsys.Lock(name)
	must(t, err)
	must(t, l2.Close())
	if _, err := fsys.Stat(name); err != nil {
		t.Fatalf("lock file not left in place: %v", err)
	}
}

func testClosedFile(t *testing.T, fsys FS, root string) {
	f, err := fsys.Create(fsys.PathJoin(root, "c"))
	must(t, err)
	must(t, f.Close())
	errs := map[string]error{"Close": f.Close(), "Sync": f.Sync(), "Truncate": f.Truncate(0)}
	_, errs["Write"] = f.Write([]byte("x"))
	_, errs["Read"] = f.Read(make([]byte, 1))
	_, errs["ReadAt"] = f.ReadAt(make([]byte, 1), 0)
	_, errs["Stat"] = f.Stat()
	for op, err := range errs {
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("%s on closed file = %v, want ErrClosed", op, err)
		}
	}
}

// testSharedInode: handles share the file, and an unlinked file stays
// readable through an open handle.
func testSharedInode(t *testing.T, fsys FS, root string) {
	name := fsys.PathJoin(root, "shared")
	w, err := fsys.Create(name)
	must(t, err)
	defer w.Close()
	r, err := fsys.Open(name)
	must(t, err)
	defer r.Close()
	_, err = w.Write([]byte("abc"))
	must(t, err)
	buf := make([]byte, 3)
	if _, err := r.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, []byte("abc")) {
		t.Fatalf("reader sees %q, %v", buf, err)
	}
	must(t, fsys.Remove(name))
	_, err = w.Write([]byte("d"))
	must(t, err)
	got, err := io.ReadAll(r)
	must(t, err)
	if string(got) != "abcd" {
		t.Fatalf("unlinked file reads %q", got)
	}
	wantMissing(t, fsys, name)
}
