//go:build !linux

package storage

import "github.com/sluice-mq/sluice/internal/vfs"

// dropCached does nothing where posix_fadvise is not used.
func dropCached(vfs.File, int64, int64) {}

// startWriteback does nothing where sync_file_range is not used: the
// fdatasync does all the writing.
func startWriteback(vfs.File, int64, int64) {}
