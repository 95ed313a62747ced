//go:build linux

package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// residentPages counts the pages of path in the page cache.
func residentPages(t *testing.T, path string) (resident, total int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	for _, v := range vec {
		if v&1 != 0 {
			resident++
		}
	}
	return resident, len(vec)
}

// TestDropCacheAfterSync checks a log set to drop its cache leaves no
// synced page of its segment cached, one not set keeps them, and both
// still read back every record.
func TestDropCacheAfterSync(t *testing.T) {
	for _, drop := range []bool{false, true} {
		dir := t.TempDir()
		clock := &testClock{t: time.Unix(1_700_000_000, 0)}
		l, err := Open(OpenOptions{FS: vfs.Default, Dir: filepath.Join(dir, "t-0"), TP: testTP, Config: DefaultConfig(), Now: clock.now})
		if err != nil {
			t.Fatal(err)
		}
		l.SetDropCache(drop)
		value := strings.Repeat("x", 4000)
		for range 64 {
			if _, err := l.Append(batch(t, value, 16, clock.now().UnixMilli()), AppendOptions{LeaderEpoch: 1}); err != nil {
				t.Fatal(err)
			}
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		resident, total := residentPages(t, filepath.Join(dir, "t-0", "00000000000000000000.log"))
		if total < 200 {
			t.Fatalf("segment of %d pages; want a few MiB", total)
		}
		switch {
		case drop && resident > 2: // at most the partial last page (and one at a sync's edge)
			t.Errorf("drop: %d of %d pages still cached", resident, total)
		case !drop && resident < total-1:
			t.Errorf("keep: %d of %d pages cached", resident, total)
		}
		if got := len(readAll(t, l, 0)); got != 64*16 {
			t.Errorf("drop %v: read %d records back, want %d", drop, got, 64*16)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
