//go:build !linux

package vfs

import "os"

// datasync falls back to fsync where fdatasync is not available.
func datasync(f *os.File) error { return f.Sync() }

// lockFile is a no-op off Linux: only the in-process table in Lock
// excludes other holders there. Sluice supports Linux in production.
func lockFile(*os.File) error { return nil }

// DiskUsage is unknown off Linux.
func DiskUsage(string) (total, usable int64, err error) { return -1, -1, nil }
