package storage

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// corruptFixture writes a log of batches b0..b9 (3 records each) in two
// segments and closes it cleanly; it returns the FS and the expected
// values.
func corruptFixture(t *testing.T) (*vfs.MemFS, []string, *testClock) {
	fsys := vfs.NewMem()
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	cfg.SegmentBytes = 600
	cfg.IndexIntervalBytes = 1
	l := openTestLog(t, fsys, cfg, clock, false, 0)
	var want []string
	for i := range 10 {
		if _, err := l.Append(batch(t, fmt.Sprintf("b%d", i), 3, clock.now().UnixMilli()), AppendOptions{}); err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			want = append(want, fmt.Sprintf("b%d-%d", i, j))
		}
	}
	if l.NumSegments() < 2 {
		t.Fatalf("fixture has %d segments", l.NumSegments())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return fsys, want, clock
}

func segFiles(t *testing.T, fsys vfs.FS, suffix string) []string {
	ents, err := fsys.ReadDir("/data/t-0")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, sfx, ok := parseSegmentName(e.Name); ok && sfx == suffix {
			out = append(out, "/data/t-0/"+e.Name)
		}
	}
	return out
}

func mutate(t *testing.T, fsys vfs.FS, path string, fn func([]byte) []byte) {
	data, err := vfs.ReadFile(fsys, path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fsys.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(fn(data)); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestCorruptionTable(t *testing.T) {
	cases := []struct {
		name  string
		clean bool
		// damage changes the files; keep is how many leading values
		// survive (-1: the open must fail with a *CorruptionError).
		damage func(t *testing.T, fsys vfs.FS)
		keep   int
	}{
		{"flipped bit mid last segment", false, func(t *testing.T, fsys vfs.FS) {
			logs := segFiles(t, fsys, logSuffix)
			mutate(t, fsys, logs[len(logs)-1], func(b []byte) []byte { b[70] ^= 0x10; return b })
		}, -1},
		{"flipped bit in the last batch", false, func(t *testing.T, fsys vfs.FS) {
			logs := segFiles(t, fsys, logSuffix)
			mutate(t, fsys, logs[len(logs)-1], func(b []byte) []byte { b[len(b)-3] ^= 0x01; return b })
		}, 27},
		{"truncated tail", false, func(t *testing.T, fsys vfs.FS) {
			logs := segFiles(t, fsys, logSuffix)
			mutate(t, fsys, logs[len(logs)-1], func(b []byte) []byte { return b[:len(b)-10] })
		}, 27},
		{"garbage tail", false, func(t *testing.T, fsys vfs.FS) {
			logs := segFiles(t, fsys, logSuffix)
			mutate(t, fsys, logs[len(logs)-1], func(b []byte) []byte {
				return append(b, []byte("garbage garbage garbage garbage garbage garbage garbage!!")...)
			})
		}, 30},
		{"zeroed tail", false, func(t *testing.T, fsys vfs.FS) {
			logs := segFiles(t, fsys, logSuffix)
			mutate(t, fsys, logs[len(logs)-1], func(b []byte) []byte { return append(b, make([]byte, 4096)...) })
		}, 30},
		{"zeroed index", true, func(t *testing.T, fsys vfs.FS) {
			for _, p := range segFiles(t, fsys, indexSuffix) {
				mutate(t, fsys, p, func(b []byte) []byte { return make([]byte, len(b)) })
			}
		}, 30},
		{"short index", true, func(t *testing.T, fsys vfs.FS) {
			for _, p := range segFiles(t, fsys, indexSuffix) {
				mutate(t, fsys, p, func(b []byte) []byte { return b[:5] })
			}
		}, 30},
		{"missing indexes", true, func(t *testing.T, fsys vfs.FS) {
			for _, sfx := range []string{indexSuffix, timeIndexSuffix} {
				for _, p := range segFiles(t, fsys, sfx) {
					if err := fsys.Remove(p); err != nil {
						t.Fatal(err)
					}
				}
			}
		}, 30},
		{"index past the end", true, func(t *testing.T, fsys vfs.FS) {
			idx := segFiles(t, fsys, indexSuffix)
			mutate(t, fsys, idx[len(idx)-1], func(b []byte) []byte { return append(b, 0, 0, 0, 90, 0, 1, 0, 0) })
		}, 30},
		{"garbage time index", true, func(t *testing.T, fsys vfs.FS) {
			for _, p := range segFiles(t, fsys, timeIndexSuffix) {
				mutate(t, fsys, p, func(b []byte) []byte { return append(b, 1, 2, 3) })
			}
		}, 30},
		{"corrupt older segment after the recovery point", false, func(t *testing.T, fsys vfs.FS) {
			logs := segFiles(t, fsys, logSuffix)
			mutate(t, fsys, logs[0], func(b []byte) []byte { b[len(b)-3] ^= 0x01; return b })
		}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys, want, clock := corruptFixture(t)
			c.damage(t, fsys)
			before := CorruptionsDetected()
			l, err := Open(OpenOptions{FS: fsys, Dir: "/data/t-0", TP: testTP, Config: DefaultConfig(), Now: clock.now, CleanShutdown: c.clean})
			if c.keep < 0 {
				var ce *CorruptionError
				if !errors.As(err, &ce) {
					t.Fatalf("open: %v, want a CorruptionError", err)
				}
				if CorruptionsDetected() != before+1 {
					t.Fatalf("corruption not counted")
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer l.Close()
			got, err := readValues(l)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !slices.Equal(got, want[:c.keep]) {
				t.Fatalf("got %d values %v, want %d", len(got), got, c.keep)
			}
			// Lookups by offset go through the (rebuilt) index.
			if c.keep > 10 {
				res, err := l.Read(10, 1, l.EndOffset(), true)
				if err != nil || res.FirstOffset != 9 {
					t.Fatalf("read at 10: first offset %d, %v", res.FirstOffset, err)
				}
				res.Release()
			}
		})
	}
}
