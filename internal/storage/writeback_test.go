package storage

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// TestAppendStartsWriteback checks which appends start their own
// writeback: a durable one of writebackKickBytes or more, over exactly
// the bytes it wrote; not a small one, and not one in page-cache mode.
// The writeback is real on Linux (the hook calls through), and every
// record still reads back.
func TestAppendStartsWriteback(t *testing.T) {
	var kicks []writtenRange
	orig := kickWriteback
	kickWriteback = func(w writtenRange) { kicks = append(kicks, w); orig(w) }
	t.Cleanup(func() { kickWriteback = orig })

	big := strings.Repeat("x", 1000) // 40 records: over 32 KiB
	for _, c := range []struct {
		name    string
		durable bool
		tag     string
		want    bool
	}{
		{"durable large", true, big, true},
		{"durable small", true, "small", false},
		{"page cache large", false, big, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			kicks = nil
			cfg := DefaultConfig()
			if !c.durable {
				cfg.FlushMessages = 1 << 40
			}
			clock := &testClock{t: time.Unix(1_700_000_000, 0)}
			l, err := Open(OpenOptions{FS: vfs.Default, Dir: filepath.Join(t.TempDir(), "t-0"), TP: testTP, Config: cfg, Now: clock.now})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var sizes []int
			var end int64
			for range 3 {
				b := batch(t, c.tag, 40, clock.now().UnixMilli())
				res, err := l.Append(b, AppendOptions{LeaderEpoch: 1})
				if err != nil {
					t.Fatal(err)
				}
				sizes, end = append(sizes, len(b)), res.EndOffset
			}
			if !c.want {
				if len(kicks) != 0 {
					t.Fatalf("%d writebacks started, want none", len(kicks))
				}
			} else {
				if len(kicks) != len(sizes) {
					t.Fatalf("%d writebacks started, want %d", len(kicks), len(sizes))
				}
				var off int64
				for i, k := range kicks {
					if k.file == nil || k.off != off || k.n != int64(sizes[i]) {
						t.Fatalf("writeback %d over [%d, +%d), want [%d, +%d)", i, k.off, k.n, off, sizes[i])
					}
					off += int64(sizes[i])
				}
			}
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if got := len(readAll(t, l, 0)); int64(got) != end {
				t.Fatalf("read %d records back, want %d", got, end)
			}
		})
	}
}
