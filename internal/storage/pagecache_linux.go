//go:build linux

package storage

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// dropCached asks the kernel to drop the clean cached pages of f's bytes
// [from, to) (posix_fadvise DONTNEED); files of other file systems, and
// failures, are left alone: it is advice.
func dropCached(f vfs.File, from, to int64) {
	if to <= from {
		return
	}
	// From the start of from's page: the part below from was synced
	// before, so the whole page is clean now (the kernel drops whole
	// pages only).
	from -= from % int64(os.Getpagesize())
	withFD(f, func(fd int) { _ = unix.Fadvise(fd, from, to-from, unix.FADV_DONTNEED) })
}

// startWriteback starts writing f's dirty bytes [off, off+n) to the disk
// without waiting (sync_file_range SYNC_FILE_RANGE_WRITE), so that the
// fdatasync that follows finds them on their way and only waits: the disk
// starts on an append as soon as it is in the page cache instead of when
// a flusher gets to it. Like dropCached it is advice: it changes no
// durability guarantee, and failures are ignored.
func startWriteback(f vfs.File, off, n int64) {
	withFD(f, func(fd int) { _ = unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WRITE) })
}

// withFD runs fn with f's descriptor if f is an operating system file
// that is still open.
func withFD(f vfs.File, fn func(fd int)) {
	of, ok := vfs.OSFile(f)
	if !ok {
		return
	}
	rc, err := of.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { fn(int(fd)) })
}
