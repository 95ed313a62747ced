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

// flipAt flips a bit of byte at (from the end if negative) of segment
// file i of the given suffix (from the end if negative).
func flipAt(t *testing.T, fsys vfs.FS, suffix string, i, at int) {
	files := segFiles(t, fsys, suffix)
	if i < 0 {
		i += len(files)
	}
	mutate(t, fsys, files[i], func(b []byte) []byte {
		if at < 0 {
			at += len(b)
		}
		b[at] ^= 0x10
		return b
	})
}

// zeroIndex zeroes the offset index of segment i, so that even a trusted
// segment is scanned.
func zeroIndex(t *testing.T, fsys vfs.FS, i int) {
	mutate(t, fsys, segFiles(t, fsys, indexSuffix)[i], func(b []byte) []byte { return make([]byte, len(b)) })
}

// TestCorruptionTable damages the fixture's two segments (offsets 0–17 in
// six batches of 100 bytes, 18–29 in four) and opens it. Above the
// recovery point (the fixture's recovery point is 0 unless belowRP) the
// log is cut at the first bad batch, whatever follows it; a segment synced
// whole (below the recovery point, or any after a clean shutdown) that has
// a bad batch with data after it refuses to open.
func TestCorruptionTable(t *testing.T) {
	cases := []struct {
		name  string
		clean bool
		// belowRP opens with the recovery point at the second segment's
		// base: the first was synced whole.
		belowRP bool
		damage  func(t *testing.T, fsys vfs.FS)
		// keep is how many leading values survive, and the log end (-1:
		// the open must fail with a *CorruptionError); counted is whether
		// recovery counts a corruption.
		keep    int
		counted bool
	}{
		{name: "flipped bit mid last segment", damage: func(t *testing.T, fsys vfs.FS) {
			flipAt(t, fsys, logSuffix, -1, 70)
		}, keep: 18, counted: true},
		{name: "flipped bit mid last segment, recovery point at its base", belowRP: true, damage: func(t *testing.T, fsys vfs.FS) {
			flipAt(t, fsys, logSuffix, -1, 170)
		}, keep: 21, counted: true},
		{name: "flipped bit in the last batch", damage: func(t *testing.T, fsys vfs.FS) {
			flipAt(t, fsys, logSuffix, -1, -3)
		}, keep: 27},
		{name: "truncated tail", damage: func(t *testing.T, fsys vfs.FS) {
			logs := segFiles(t, fsys, logSuffix)
			mutate(t, fsys, logs[len(logs)-1], func(b []byte) []byte { return b[:len(b)-10] })
		}, keep: 27},
		{name: "garbage tail", damage: func(t *testing.T, fsys vfs.FS) {
			logs := segFiles(t, fsys, logSuffix)
			mutate(t, fsys, logs[len(logs)-1], func(b []byte) []byte {
				return append(b, []byte("garbage garbage garbage garbage garbage garbage garbage!!")...)
			})
		}, keep: 30},
		{name: "zeroed tail", damage: func(t *testing.T, fsys vfs.FS) {
			logs := segFiles(t, fsys, logSuffix)
			mutate(t, fsys, logs[len(logs)-1], func(b []byte) []byte { return append(b, make([]byte, 4096)...) })
		}, keep: 30},
		{name: "zeroed index", clean: true, damage: func(t *testing.T, fsys vfs.FS) {
			for _, p := range segFiles(t, fsys, indexSuffix) {
				mutate(t, fsys, p, func(b []byte) []byte { return make([]byte, len(b)) })
			}
		}, keep: 30},
		{name: "short index", clean: true, damage: func(t *testing.T, fsys vfs.FS) {
			for _, p := range segFiles(t, fsys, indexSuffix) {
				mutate(t, fsys, p, func(b []byte) []byte { return b[:5] })
			}
		}, keep: 30},
		{name: "missing indexes", clean: true, damage: func(t *testing.T, fsys vfs.FS) {
			for _, sfx := range []string{indexSuffix, timeIndexSuffix} {
				for _, p := range segFiles(t, fsys, sfx) {
					if err := fsys.Remove(p); err != nil {
						t.Fatal(err)
					}
				}
			}
		}, keep: 30},
		{name: "index past the end", clean: true, damage: func(t *testing.T, fsys vfs.FS) {
			idx := segFiles(t, fsys, indexSuffix)
			mutate(t, fsys, idx[len(idx)-1], func(b []byte) []byte { return append(b, 0, 0, 0, 90, 0, 1, 0, 0) })
		}, keep: 30},
		{name: "garbage time index", clean: true, damage: func(t *testing.T, fsys vfs.FS) {
			for _, p := range segFiles(t, fsys, timeIndexSuffix) {
				mutate(t, fsys, p, func(b []byte) []byte { return append(b, 1, 2, 3) })
			}
		}, keep: 30},
		// Above the recovery point: the older segment is cut and the
		// later one removed.
		{name: "corrupt last batch of the older segment after the recovery point", damage: func(t *testing.T, fsys vfs.FS) {
			flipAt(t, fsys, logSuffix, 0, -3)
		}, keep: 15, counted: true},
		{name: "corrupt first batch of the older segment after the recovery point", damage: func(t *testing.T, fsys vfs.FS) {
			flipAt(t, fsys, logSuffix, 0, 70)
		}, keep: 0, counted: true},
		{name: "corrupt older segment after the recovery point, index lost", damage: func(t *testing.T, fsys vfs.FS) {
			flipAt(t, fsys, logSuffix, 0, 270)
			zeroIndex(t, fsys, 0)
		}, keep: 6, counted: true},
		// Below the recovery point, or after a clean shutdown, the data
		// after a bad batch was synced: the log does not open.
		{name: "corrupt batch below the recovery point, index lost", belowRP: true, damage: func(t *testing.T, fsys vfs.FS) {
			flipAt(t, fsys, logSuffix, 0, 270)
			zeroIndex(t, fsys, 0)
		}, keep: -1},
		{name: "corrupt last batch below the recovery point, index lost", belowRP: true, damage: func(t *testing.T, fsys vfs.FS) {
			flipAt(t, fsys, logSuffix, 0, -3)
			zeroIndex(t, fsys, 0)
		}, keep: -1},
		{name: "torn end below the recovery point, index lost", belowRP: true, damage: func(t *testing.T, fsys vfs.FS) {
			logs := segFiles(t, fsys, logSuffix)
			mutate(t, fsys, logs[0], func(b []byte) []byte { return b[:len(b)-10] })
			zeroIndex(t, fsys, 0)
		}, keep: -1},
		{name: "corrupt batch after a clean shutdown, index lost", clean: true, damage: func(t *testing.T, fsys vfs.FS) {
			flipAt(t, fsys, logSuffix, -1, 170)
			zeroIndex(t, fsys, 1)
		}, keep: -1},
		{name: "corrupt older segment after a clean shutdown, index lost", clean: true, damage: func(t *testing.T, fsys vfs.FS) {
			flipAt(t, fsys, logSuffix, 0, -3)
			zeroIndex(t, fsys, 0)
		}, keep: -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys, want, clock := corruptFixture(t)
			c.damage(t, fsys)
			rp := int64(0)
			if c.belowRP {
				rp = 18
			}
			before := CorruptionsDetected()
			l, err := Open(OpenOptions{FS: fsys, Dir: "/data/t-0", TP: testTP, Config: DefaultConfig(), Now: clock.now, CleanShutdown: c.clean, RecoveryPoint: rp})
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
			if got := CorruptionsDetected() - before; got != int64(fzB2i(c.counted)) {
				t.Fatalf("%d corruptions counted, want %d", got, fzB2i(c.counted))
			}
			got, err := readValues(l)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !slices.Equal(got, want[:c.keep]) {
				t.Fatalf("got %d values %v, want %d", len(got), got, c.keep)
			}
			if l.EndOffset() != int64(c.keep) {
				t.Fatalf("log end %d, want %d", l.EndOffset(), c.keep)
			}
			// A cut removes every segment file past the log end.
			for _, sfx := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
				for _, p := range segFiles(t, fsys, sfx) {
					if base, _, _ := parseSegmentName(p[len("/data/t-0/"):]); base > l.EndOffset() {
						t.Fatalf("%s is left past the log end %d", p, l.EndOffset())
					}
				}
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
