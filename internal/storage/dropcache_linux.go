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
	of, ok := vfs.OSFile(f)
	if !ok || to <= from {
		return
	}
	// From the start of from's page: the part below from was synced
	// before, so the whole page is clean now (the kernel drops whole
	// pages only).
	from -= from % int64(os.Getpagesize())
	rc, err := of.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.Fadvise(int(fd), from, to-from, unix.FADV_DONTNEED)
	})
}
