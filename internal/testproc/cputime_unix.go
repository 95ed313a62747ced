//go:build unix

package testproc

import (
	"syscall"
	"testing"
	"time"
)

// CPUTime returns the CPU time (user and system) the test process has
// used so far, for benchmarks that report CPU per operation.
func CPUTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
