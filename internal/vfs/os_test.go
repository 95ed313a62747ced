package vfs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

const lockHelperEnv = "VFS_TEST_LOCK_HELPER"

// lockHelper runs in a child process: it tries to take the lock named by
// the environment and reports through its exit code.
func lockHelper() int {
	l, err := NewOS().Lock(os.Getenv(lockHelperEnv))
	switch {
	case errors.Is(err, ErrLocked):
		return 3
	case err != nil:
		return 1
	}
	l.Close()
	return 0
}

// TestOSLockExcludesOtherProcess proves the OS lock is a real flock, not
// only the in-process table: a child process cannot take a held lock, and
// can once it is released.
func TestOSLockExcludesOtherProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("flock is used on Linux only")
	}
	name := filepath.Join(t.TempDir(), "LOCK")
	tryInChild := func() int {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), lockHelperEnv+"="+name)
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		must(t, err)
		return 0
	}
	l, err := NewOS().Lock(name)
	must(t, err)
	if code := tryInChild(); code != 3 {
		t.Fatalf("child with lock held exited %d, want 3 (ErrLocked)", code)
	}
	must(t, l.Close())
	if code := tryInChild(); code != 0 {
		t.Fatalf("child after unlock exited %d, want 0", code)
	}
}

// TestOSFileExposesDescriptor: sendfile needs the *os.File, also through
// the counting and error wrappers; MemFS files have none.
func TestOSFileExposesDescriptor(t *testing.T) {
	dir := t.TempDir()
	fsys := WithCounters(WithErrors(NewOS()))
	f, err := fsys.Create(filepath.Join(dir, "seg"))
	must(t, err)
	defer f.Close()
	of, ok := OSFile(f)
	if !ok || of == nil || of.Name() != filepath.Join(dir, "seg") {
		t.Fatalf("OSFile = %v, %v", of, ok)
	}
	if _, ok := f.(interface{ Fd() uintptr }); ok {
		t.Fatal("wrapper unexpectedly exposes Fd directly; use OSFile")
	}
	raw, err := NewOS().Create(filepath.Join(dir, "raw"))
	must(t, err)
	defer raw.Close()
	if fd, ok := raw.(interface{ Fd() uintptr }); !ok || int(fd.Fd()) < 0 {
		t.Fatal("OS file does not expose a descriptor")
	}
	mf, err := NewMem().Create("/x")
	must(t, err)
	if _, ok := OSFile(mf); ok {
		t.Fatal("MemFS file claims an OS file")
	}
}

// TestOSSyncDirErrors: SyncDir opens the directory, so a missing one fails.
func TestOSSyncDirErrors(t *testing.T) {
	dir := t.TempDir()
	must(t, Default.SyncDir(dir))
	if err := Default.SyncDir(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("SyncDir(missing) = %v", err)
	}
}
