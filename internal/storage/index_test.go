package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// Helpers of this file are prefixed with ix: other files of the package
// have their own.

type ixFataler interface {
	Helper()
	Fatal(args ...any)
}

func ixMust(t ixFataler, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ixPair is an entry of either kind: (offset, position) for the offset
// index, (timestamp, offset) for the time index.
type ixPair struct{ a, b int64 }

// ixIndex is what both index kinds have in common, for tests run on both.
type ixIndex interface {
	Flush() error
	Sync() error
	Close() error
	TruncateTo(int64) error
	Reset() error
	Entries() int
	SizeBytes() int64
	Full() bool
	Sanity() error
	Load() error
	Loaded() bool
	ReleaseFile() error
	Unload() error
	Rename(string) error
	Delete() error
	Path() string
}

// ixKind describes one index kind to the table-driven tests.
type ixKind struct {
	name      string
	entrySize int
	open      func(fsys vfs.FS, path string, base int64, maxBytes int) (ixIndex, error)
	openLazy  func(fsys vfs.FS, path string, base int64, maxBytes int) (ixIndex, error)
	rebuild   func(fsys vfs.FS, path string, base int64, maxBytes int) (ixIndex, error)
	// gen returns the i-th entry of a valid sequence for base.
	gen func(base int64, i int) ixPair
	// genAlt is another valid sequence, differing from gen at every entry.
	genAlt func(base int64, i int) ixPair
	// offsetOf returns the offset of an entry.
	offsetOf func(p ixPair) int64
	// fallback is what Lookup returns when no entry qualifies.
	fallback func(base int64) ixPair
}

var ixKinds = []ixKind{
	{
		name:      "offset",
		entrySize: OffsetIndexEntrySize,
		open: func(fsys vfs.FS, path string, base int64, maxBytes int) (ixIndex, error) {
			return OpenOffsetIndex(fsys, path, base, maxBytes)
		},
		openLazy: func(fsys vfs.FS, path string, base int64, maxBytes int) (ixIndex, error) {
			return OpenOffsetIndexLazy(fsys, path, base, maxBytes)
		},
		rebuild: func(fsys vfs.FS, path string, base int64, maxBytes int) (ixIndex, error) {
			return NewOffsetIndexForRebuild(fsys, path, base, maxBytes)
		},
		gen:      func(base int64, i int) ixPair { return ixPair{base + 3*int64(i), 100 * int64(i)} },
		genAlt:   func(base int64, i int) ixPair { return ixPair{base + 3*int64(i) + 1, 100*int64(i) + 7} },
		offsetOf: func(p ixPair) int64 { return p.a },
		fallback: func(base int64) ixPair { return ixPair{base, 0} },
	},
	{
		name:      "time",
		entrySize: TimeIndexEntrySize,
		open: func(fsys vfs.FS, path string, base int64, maxBytes int) (ixIndex, error) {
			return OpenTimeIndex(fsys, path, base, maxBytes)
		},
		openLazy: func(fsys vfs.FS, path string, base int64, maxBytes int) (ixIndex, error) {
			return OpenTimeIndexLazy(fsys, path, base, maxBytes)
		},
		rebuild: func(fsys vfs.FS, path string, base int64, maxBytes int) (ixIndex, error) {
			return NewTimeIndexForRebuild(fsys, path, base, maxBytes)
		},
		gen:      func(base int64, i int) ixPair { return ixPair{1_700_000_000_000 + 10*int64(i), base + 3*int64(i)} },
		genAlt:   func(base int64, i int) ixPair { return ixPair{1_700_000_000_005 + 10*int64(i), base + 3*int64(i) + 1} },
		offsetOf: func(p ixPair) int64 { return p.b },
		fallback: func(base int64) ixPair { return ixPair{NoTimestamp, base} },
	},
}

func ixAppend(x ixIndex, p ixPair) error {
	switch x := x.(type) {
	case *OffsetIndex:
		return x.Append(p.a, int32(p.b))
	case *TimeIndex:
		return x.MaybeAppend(p.a, p.b)
	}
	panic("unknown index type")
}

func ixLookup(x ixIndex, target int64) ixPair {
	switch x := x.(type) {
	case *OffsetIndex:
		o, p := x.Lookup(target)
		return ixPair{o, int64(p)}
	case *TimeIndex:
		ts, o := x.Lookup(target)
		return ixPair{ts, o}
	}
	panic("unknown index type")
}

func ixEntries(t ixFataler, x ixIndex) []ixPair {
	t.Helper()
	var out []ixPair
	for i := 0; ; i++ {
		var p ixPair
		var ok bool
		switch x := x.(type) {
		case *OffsetIndex:
			var pos int32
			p.a, pos, ok = x.Entry(i)
			p.b = int64(pos)
		case *TimeIndex:
			p.a, p.b, ok = x.Entry(i)
		}
		if !ok {
			break
		}
		out = append(out, p)
	}
	if len(out) != x.Entries() {
		t.Fatal(fmt.Sprintf("Entry(i) gave %d entries, Entries() = %d", len(out), x.Entries()))
	}
	return out
}

// ixEncode is the file image of entries, encoded independently of the code
// under test.
func ixEncode(kind string, base int64, entries []ixPair) []byte {
	var b []byte
	for _, e := range entries {
		if kind == "offset" {
			b = binary.BigEndian.AppendUint32(b, uint32(e.a-base))
			b = binary.BigEndian.AppendUint32(b, uint32(e.b))
		} else {
			b = binary.BigEndian.AppendUint64(b, uint64(e.a))
			b = binary.BigEndian.AppendUint32(b, uint32(e.b-base))
		}
	}
	return b
}

func ixMemDir(t ixFataler) (*vfs.MemFS, string) {
	t.Helper()
	m := vfs.NewMem()
	ixMust(t, m.MkdirAll("/data", 0o755))
	ixMust(t, m.SyncDir("/"))
	return m, "/data"
}

func ixFile(t ixFataler, fsys vfs.FS, name string) []byte {
	t.Helper()
	b, err := vfs.ReadFile(fsys, name)
	ixMust(t, err)
	return b
}

func ixWriteFile(t ixFataler, fsys vfs.FS, name string, data []byte) {
	t.Helper()
	f, err := fsys.Create(name)
	ixMust(t, err)
	_, err = f.Write(data)
	ixMust(t, err)
	ixMust(t, f.Close())
}

// ---------------------------------------------------------------------------
// Round trip and byte layout.

func TestIndexRoundTrip(t *testing.T) {
	for _, k := range ixKinds {
		t.Run(k.name, func(t *testing.T) {
			fsys, dir := ixMemDir(t)
			const base, n = 5000, 1000
			path := dir + "/00000000000000005000.index"
			x, err := k.open(fsys, path, base, 0)
			ixMust(t, err)
			var want []ixPair
			for i := range n {
				p := k.gen(base, i)
				want = append(want, p)
				ixMust(t, ixAppend(x, p))
			}
			ixMust(t, x.Close()) // Close flushes
			if got := ixFile(t, fsys, path); !bytes.Equal(got, ixEncode(k.name, base, want)) {
				t.Fatalf("file holds %d bytes, not the %d entries", len(got), n)
			}
			for _, open := range []func(vfs.FS, string, int64, int) (ixIndex, error){k.open, k.openLazy} {
				y, err := open(fsys, path, base, 0)
				ixMust(t, err)
				if got := ixEntries(t, y); !slices.Equal(got, want) {
					t.Fatalf("reopened: %v..., want %v...", got[:min(3, len(got))], want[:3])
				}
				if y.SizeBytes() != int64(n*k.entrySize) {
					t.Fatalf("SizeBytes %d", y.SizeBytes())
				}
				for i, p := range want {
					key := p.a
					if got := ixLookup(y, key); got != p {
						t.Fatalf("Lookup(%d) = %v, want entry %d %v", key, got, i, p)
					}
				}
				ixMust(t, y.Close())
			}
		})
	}
}

func TestOffsetIndexFileLayout(t *testing.T) {
	fsys, dir := ixMemDir(t)
	path := dir + "/00000000000000000100.index"
	x, err := OpenOffsetIndex(fsys, path, 100, 0)
	ixMust(t, err)
	ixMust(t, x.Append(105, 0x1234))
	ixMust(t, x.Append(100+0x01020304, 0x0a0b0c0d))
	ixMust(t, x.Flush())
	want := []byte{
		0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x12, 0x34, // relative offset 5, position 0x1234
		0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d, // relative offset 0x01020304, position 0x0a0b0c0d
	}
	if got := ixFile(t, fsys, path); !bytes.Equal(got, want) {
		t.Fatalf("file = % x\nwant   % x", got, want)
	}
	ixMust(t, x.Close())
}

func TestTimeIndexFileLayout(t *testing.T) {
	fsys, dir := ixMemDir(t)
	path := dir + "/00000000000000000100.timeindex"
	x, err := OpenTimeIndex(fsys, path, 100, 0)
	ixMust(t, err)
	ixMust(t, x.MaybeAppend(1_700_000_000_000, 105)) // 0x0000018bcfe56800
	ixMust(t, x.MaybeAppend(0x0102030405060708, 100+0x7f000001))
	ixMust(t, x.Flush())
	want := []byte{
		0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x00, 0x05,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x7f, 0x00, 0x00, 0x01,
	}
	if got := ixFile(t, fsys, path); !bytes.Equal(got, want) {
		t.Fatalf("file = % x\nwant   % x", got, want)
	}
	ixMust(t, x.Close())
}

// ---------------------------------------------------------------------------
// Semantics of single operations.

func TestOffsetIndexAppendRejects(t *testing.T) {
	fsys, dir := ixMemDir(t)
	const base = 1000
	x, err := OpenOffsetIndex(fsys, dir+"/a.index", base, 0)
	ixMust(t, err)
	bad := []struct {
		name string
		off  int64
		pos  int32
	}{
		{"below base", base - 1, 0},
		{"relative offset beyond int32", base + math.MaxInt32 + 1, 0},
		{"min int64", math.MinInt64, 0},
		{"max int64", math.MaxInt64, 0},
		{"negative position", base, -1},
	}
	for _, b := range bad {
		if err := x.Append(b.off, b.pos); !errors.Is(err, ErrInvalidIndexEntry) {
			t.Errorf("empty index, %s: Append(%d, %d) = %v, want ErrInvalidIndexEntry", b.name, b.off, b.pos, err)
		}
	}
	ixMust(t, x.Append(base+10, 500))
	bad = []struct {
		name string
		off  int64
		pos  int32
	}{
		{"equal offset", base + 10, 600},
		{"smaller offset", base + 9, 600},
		{"equal position", base + 11, 500},
		{"smaller position", base + 11, 499},
	}
	for _, b := range bad {
		if err := x.Append(b.off, b.pos); !errors.Is(err, ErrInvalidIndexEntry) {
			t.Errorf("%s: Append(%d, %d) = %v, want ErrInvalidIndexEntry", b.name, b.off, b.pos, err)
		}
	}
	if x.Entries() != 1 || x.LastOffset() != base+10 {
		t.Fatalf("rejected appends changed the index: %d entries, last %d", x.Entries(), x.LastOffset())
	}
	ixMust(t, x.Append(base+math.MaxInt32, math.MaxInt32)) // the largest legal entry
	ixMust(t, x.Close())
	if err := x.Append(base+20, 1); !errors.Is(err, ErrIndexClosed) {
		t.Fatalf("Append after Close = %v, want ErrIndexClosed", err)
	}
	if err := x.Flush(); !errors.Is(err, ErrIndexClosed) {
		t.Fatalf("Flush after Close = %v, want ErrIndexClosed", err)
	}
	ixMust(t, x.Close()) // idempotent
	y, err := OpenOffsetIndex(fsys, dir+"/a.index", base, 0)
	ixMust(t, err)
	if got := ixEntries(t, y); !slices.Equal(got, []ixPair{{base + 10, 500}, {base + math.MaxInt32, math.MaxInt32}}) {
		t.Fatalf("reopened %v", got)
	}
	ixMust(t, y.Close())
}

func TestOffsetIndexLookupAndLastOffset(t *testing.T) {
	fsys, dir := ixMemDir(t)
	x, err := OpenOffsetIndex(fsys, dir+"/a.index", 50, 0)
	ixMust(t, err)
	if o, p := x.Lookup(1000); o != 50 || p != 0 {
		t.Fatalf("empty Lookup = (%d, %d), want (50, 0)", o, p)
	}
	if x.LastOffset() != 50 {
		t.Fatalf("empty LastOffset = %d, want the base 50", x.LastOffset())
	}
	ixMust(t, x.Append(50, 0)) // a single (0, 0) entry is legal
	ixMust(t, x.Append(60, 4096))
	ixMust(t, x.Append(75, 9000))
	for _, c := range []struct {
		target int64
		off    int64
		pos    int32
	}{
		{math.MinInt64, 50, 0}, {-1, 50, 0}, {49, 50, 0}, {50, 50, 0}, {59, 50, 0},
		{60, 60, 4096}, {74, 60, 4096}, {75, 75, 9000}, {76, 75, 9000},
		{50 + math.MaxInt32 + 10, 75, 9000}, {math.MaxInt64, 75, 9000},
	} {
		if o, p := x.Lookup(c.target); o != c.off || p != c.pos {
			t.Errorf("Lookup(%d) = (%d, %d), want (%d, %d)", c.target, o, p, c.off, c.pos)
		}
	}
	if x.LastOffset() != 75 {
		t.Fatalf("LastOffset = %d", x.LastOffset())
	}
	ixMust(t, x.Close())
}

// TestTimeIndexKafkaSemantics checks the behaviour of Kafka's TimeIndex:
// lookup of a timestamp below the first entry gives (NO_TIMESTAMP,
// baseOffset), appends only for a larger timestamp, offsets may repeat.
func TestTimeIndexKafkaSemantics(t *testing.T) {
	fsys, dir := ixMemDir(t)
	const base = 200
	x, err := OpenTimeIndex(fsys, dir+"/a.timeindex", base, 0)
	ixMust(t, err)
	if ts, o := x.Lookup(5); ts != -1 || o != base {
		t.Fatalf("empty Lookup = (%d, %d)", ts, o)
	}
	if ts, o := x.LastEntry(); ts != -1 || o != base {
		t.Fatalf("empty LastEntry = (%d, %d)", ts, o)
	}
	ixMust(t, x.MaybeAppend(NoTimestamp, 0)) // no timestamp: ignored, whatever the offset
	ixMust(t, x.MaybeAppend(-5, base))       // below NoTimestamp: ignored
	ixMust(t, x.MaybeAppend(1000, base))     // first entry
	ixMust(t, x.MaybeAppend(1000, base+5))   // equal timestamp: ignored
	ixMust(t, x.MaybeAppend(999, base+6))    // smaller timestamp: ignored
	ixMust(t, x.MaybeAppend(2000, base))     // same offset, larger timestamp: kept
	ixMust(t, x.MaybeAppend(3000, base+10))  // kept
	ixMust(t, x.MaybeAppend(3000, base-100)) // not appended, so not checked
	if err := x.MaybeAppend(4000, base+9); !errors.Is(err, ErrInvalidIndexEntry) {
		t.Fatalf("offset below the last: %v, want ErrInvalidIndexEntry", err)
	}
	if err := x.MaybeAppend(4000, base-1); !errors.Is(err, ErrInvalidIndexEntry) {
		t.Fatalf("offset below base: %v", err)
	}
	if err := x.MaybeAppend(4000, base+math.MaxInt32+1); !errors.Is(err, ErrInvalidIndexEntry) {
		t.Fatalf("offset beyond int32: %v", err)
	}
	want := []ixPair{{1000, base}, {2000, base}, {3000, base + 10}}
	if got := ixEntries(t, x); !slices.Equal(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	for _, c := range []struct{ target, ts, off int64 }{
		{math.MinInt64, -1, base}, {-1, -1, base}, {999, -1, base}, {1000, 1000, base},
		{1999, 1000, base}, {2000, 2000, base}, {2500, 2000, base}, {3000, 3000, base + 10},
		{math.MaxInt64, 3000, base + 10},
	} {
		if ts, o := x.Lookup(c.target); ts != c.ts || o != c.off {
			t.Errorf("Lookup(%d) = (%d, %d), want (%d, %d)", c.target, ts, o, c.ts, c.off)
		}
	}
	if ts, o := x.LastEntry(); ts != 3000 || o != base+10 {
		t.Fatalf("LastEntry = (%d, %d)", ts, o)
	}
	// TruncateTo removes entries whose offset is at least the target.
	ixMust(t, x.TruncateTo(base+10))
	if got := ixEntries(t, x); !slices.Equal(got, want[:2]) {
		t.Fatalf("after TruncateTo(base+10): %v", got)
	}
	ixMust(t, x.TruncateTo(base))
	if x.Entries() != 0 {
		t.Fatalf("after TruncateTo(base): %d entries", x.Entries())
	}
	ixMust(t, x.Close())
}

func TestIndexFull(t *testing.T) {
	fsys, dir := ixMemDir(t)
	t.Run("offset", func(t *testing.T) {
		for _, maxBytes := range []int{80, 87} { // 87 rounds down to 80: 10 entries
			x, err := NewOffsetIndexForRebuild(fsys, dir+"/full.index", 0, maxBytes)
			ixMust(t, err)
			if x.MaxEntries() != 10 {
				t.Fatalf("maxBytes %d: MaxEntries %d", maxBytes, x.MaxEntries())
			}
			for i := range 10 {
				if x.Full() {
					t.Fatalf("maxBytes %d: full at %d entries", maxBytes, i)
				}
				ixMust(t, x.Append(int64(i), int32(i)))
			}
			if !x.Full() || x.SizeBytes() != 80 {
				t.Fatalf("maxBytes %d: Full %v at %d bytes, want full at exactly 80", maxBytes, x.Full(), x.SizeBytes())
			}
			// Full is the roll signal, not a hard limit.
			ixMust(t, x.Append(10, 10))
			ixMust(t, x.Close())
		}
		x, err := NewOffsetIndexForRebuild(fsys, dir+"/full.index", 0, 0)
		ixMust(t, err)
		if x.MaxEntries() != DefaultIndexMaxBytes/8 {
			t.Fatalf("default MaxEntries %d", x.MaxEntries())
		}
		ixMust(t, x.Close())
	})
	t.Run("time", func(t *testing.T) {
		for _, maxBytes := range []int{120, 131} { // 131 rounds down to 120: 10 entries
			x, err := NewTimeIndexForRebuild(fsys, dir+"/full.timeindex", 0, maxBytes)
			ixMust(t, err)
			if x.MaxEntries() != 10 {
				t.Fatalf("MaxEntries %d", x.MaxEntries())
			}
			// Kafka's TimeIndex keeps the last slot for the entry appended on
			// roll: full at 9 entries.
			for i := range 9 {
				if x.Full() {
					t.Fatalf("full at %d entries", i)
				}
				ixMust(t, x.MaybeAppend(int64(i), int64(i)))
			}
			if !x.Full() {
				t.Fatalf("not full at 9 entries")
			}
			ixMust(t, x.MaybeAppend(100, 100)) // the roll's final entry
			if !x.Full() || x.SizeBytes() != 120 {
				t.Fatalf("after the final entry: Full %v, %d bytes, want exactly 120", x.Full(), x.SizeBytes())
			}
			ixMust(t, x.Close())
		}
	})
}

// TestIndexTruncateAndReset: TruncateTo cuts written entries from the file;
// Reset empties it; NewXForRebuild truncates an existing file.
func TestIndexTruncateAndReset(t *testing.T) {
	for _, k := range ixKinds {
		t.Run(k.name, func(t *testing.T) {
			fsys, dir := ixMemDir(t)
			const base = 10
			path := dir + "/t.idx"
			x, err := k.open(fsys, path, base, 0)
			ixMust(t, err)
			var all []ixPair
			for i := range 6 {
				all = append(all, k.gen(base, i))
				ixMust(t, ixAppend(x, all[i]))
			}
			ixMust(t, x.Flush())
			ixMust(t, ixAppend(x, k.gen(base, 6))) // in memory only
			ixMust(t, x.TruncateTo(k.offsetOf(all[4])))
			if got := ixFile(t, fsys, path); !bytes.Equal(got, ixEncode(k.name, base, all[:4])) {
				t.Fatalf("file after TruncateTo holds %d bytes, want 4 entries", len(got))
			}
			// TruncateTo beyond the end, or between entries.
			ixMust(t, x.TruncateTo(math.MaxInt64))
			ixMust(t, x.TruncateTo(k.offsetOf(all[3])+1))
			if got := ixEntries(t, x); !slices.Equal(got, all[:4]) {
				t.Fatalf("entries %v", got)
			}
			// Re-append different entries after the truncation point.
			alt := append(slices.Clone(all[:3]), k.genAlt(base, 3), k.genAlt(base, 4))
			ixMust(t, x.TruncateTo(k.offsetOf(all[3])))
			ixMust(t, ixAppend(x, alt[3]))
			ixMust(t, ixAppend(x, alt[4]))
			ixMust(t, x.Flush())
			if got := ixFile(t, fsys, path); !bytes.Equal(got, ixEncode(k.name, base, alt)) {
				t.Fatalf("file after re-append: % x", got)
			}
			ixMust(t, x.Reset())
			if x.Entries() != 0 || len(ixFile(t, fsys, path)) != 0 {
				t.Fatalf("Reset left %d entries, %d bytes", x.Entries(), len(ixFile(t, fsys, path)))
			}
			ixMust(t, ixAppend(x, all[0]))
			ixMust(t, x.Close())

			y, err := k.rebuild(fsys, path, base, 0)
			ixMust(t, err)
			if y.Entries() != 0 || len(ixFile(t, fsys, path)) != 0 {
				t.Fatalf("rebuild did not truncate")
			}
			ixMust(t, y.Close())
		})
	}
}

// ---------------------------------------------------------------------------
// Properties (rapid) against naive oracles.

func ixOracleOffsetLookup(model []ixPair, base, target int64) ixPair {
	res := ixPair{base, 0}
	for _, e := range model {
		if e.a <= target {
			res = e
		}
	}
	return res
}

func ixOracleTimeLookup(model []ixPair, base, target int64) ixPair {
	res := ixPair{NoTimestamp, base}
	for _, e := range model {
		if e.a <= target {
			res = e
		}
	}
	return res
}

// ixTargets draws lookup targets: every key, its neighbours, values below
// the first and above the last, extremes and random ones.
func ixTargets(t *rapid.T, keys []int64, lo int64) []int64 {
	targets := []int64{math.MinInt64, math.MaxInt64, lo - 1, lo, lo + 1}
	for _, k := range keys {
		targets = append(targets, k-1, k, k+1)
	}
	if len(keys) > 0 {
		last := keys[len(keys)-1]
		targets = append(targets, last+1_000_000, last+math.MaxInt32)
	}
	for range rapid.IntRange(0, 20).Draw(t, "randomTargets") {
		targets = append(targets, rapid.Int64Range(lo-10, lo+1<<33).Draw(t, "target"))
	}
	return targets
}

func TestOffsetIndexLookupProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		base := rapid.Int64Range(0, 1<<50).Draw(t, "base")
		n := rapid.IntRange(0, 150).Draw(t, "n")
		fsys := vfs.NewMem()
		x, err := OpenOffsetIndex(fsys, "/x.index", base, 0)
		ixMust(t, err)
		gap := rapid.OneOf(rapid.Int64Range(1, 4), rapid.Int64Range(1, 1<<26))
		rel := rapid.Int64Range(0, 3).Draw(t, "firstRel")
		pos := rapid.Int32Range(0, 100).Draw(t, "firstPos")
		var model []ixPair
		for range n {
			err := x.Append(base+rel, pos)
			if rel > math.MaxInt32 {
				if !errors.Is(err, ErrInvalidIndexEntry) {
					t.Fatalf("Append beyond int32 = %v", err)
				}
				break
			}
			ixMust(t, err)
			model = append(model, ixPair{base + rel, int64(pos)})
			rel += gap.Draw(t, "gap")
			step := rapid.Int32Range(1, 1<<20).Draw(t, "step")
			if pos > math.MaxInt32-step {
				break
			}
			pos += step
		}
		keys := make([]int64, len(model))
		for i, e := range model {
			keys[i] = e.a
		}
		targets := ixTargets(t, keys, base)
		check := func(what string, y *OffsetIndex) {
			for _, target := range targets {
				o, p := y.Lookup(target)
				if want := ixOracleOffsetLookup(model, base, target); (ixPair{o, int64(p)}) != want {
					t.Fatalf("%s: Lookup(%d) = (%d, %d), oracle %v", what, target, o, p, want)
				}
			}
		}
		check("in memory", x)
		ixMust(t, x.Flush())
		y, err := OpenOffsetIndex(fsys, "/x.index", base, 0)
		ixMust(t, err)
		check("reopened", y)
		z, err := OpenOffsetIndexLazy(fsys, "/x.index", base, 0)
		ixMust(t, err)
		check("lazy", z)
		ixMust(t, errors.Join(x.Close(), y.Close(), z.Close()))
	})
}

func TestTimeIndexLookupProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		base := rapid.Int64Range(0, 1<<50).Draw(t, "base")
		n := rapid.IntRange(0, 150).Draw(t, "n")
		fsys := vfs.NewMem()
		x, err := OpenTimeIndex(fsys, "/x.timeindex", base, 0)
		ixMust(t, err)
		ts := rapid.Int64Range(-3, 1<<41).Draw(t, "firstTS")
		off := base + rapid.Int64Range(0, 3).Draw(t, "firstRel")
		var model []ixPair
		last := NoTimestamp
		for range n {
			ixMust(t, x.MaybeAppend(ts, off))
			if ts > last {
				model = append(model, ixPair{ts, off})
				last = ts
			}
			// Timestamps wander (non-increasing ones are ignored); offsets
			// never go down.
			ts += rapid.Int64Range(-50, 1000).Draw(t, "dts")
			off += rapid.Int64Range(0, 100).Draw(t, "doff")
		}
		keys := make([]int64, len(model))
		for i, e := range model {
			keys[i] = e.a
		}
		targets := ixTargets(t, keys, 0)
		check := func(what string, y *TimeIndex) {
			if got := ixEntries(t, y); !slices.Equal(got, model) {
				t.Fatalf("%s: entries %v, model %v", what, got, model)
			}
			for _, target := range targets {
				ts, o := y.Lookup(target)
				if want := ixOracleTimeLookup(model, base, target); (ixPair{ts, o}) != want {
					t.Fatalf("%s: Lookup(%d) = (%d, %d), oracle %v", what, target, ts, o, want)
				}
			}
		}
		check("in memory", x)
		ixMust(t, x.Flush())
		y, err := OpenTimeIndex(fsys, "/x.timeindex", base, 0)
		ixMust(t, err)
		check("reopened", y)
		z, err := OpenTimeIndexLazy(fsys, "/x.timeindex", base, 0)
		ixMust(t, err)
		check("lazy", z)
		ixMust(t, errors.Join(x.Close(), y.Close(), z.Close()))
	})
}

// ixMachine runs random operations on an index of either kind against a
// model slice: appends (valid or not), truncations, flushes, syncs, handle
// releases, unloads and reopens; the invariant compares entries, lookups
// and, after a flush, the file's bytes.
type ixMachine struct {
	k     ixKind
	fsys  *vfs.MemFS
	path  string
	base  int64
	x     ixIndex
	model []ixPair
	next  int // gen index of the next valid entry
}

func (m *ixMachine) lastKey() (ixPair, bool) {
	if len(m.model) == 0 {
		return ixPair{}, false
	}
	return m.model[len(m.model)-1], true
}

// validAfter reports whether p may follow the model's last entry.
func (m *ixMachine) valid(p ixPair) (valid, ignored bool) {
	last, ok := m.lastKey()
	if m.k.name == "offset" {
		if p.a < m.base || p.a-m.base > math.MaxInt32 || p.b < 0 || p.b > math.MaxInt32 {
			return false, false
		}
		return !ok || (p.a > last.a && p.b > last.b), false
	}
	lastTS := NoTimestamp
	if ok {
		lastTS = last.a
	}
	if p.a <= lastTS {
		return true, true
	}
	if p.b < m.base || p.b-m.base > math.MaxInt32 {
		return false, false
	}
	return !ok || p.b >= last.b, false
}

func (m *ixMachine) Append(t *rapid.T) {
	var p ixPair
	if rapid.Bool().Draw(t, "valid") {
		// Generated entries increase with i, so this one follows any
		// truncation; it is rejected only after a random entry above it.
		p = m.k.gen(m.base, m.next)
		m.next++
	} else {
		p = ixPair{rapid.Int64Range(m.base-5, m.base+500).Draw(t, "a"), rapid.Int64Range(-5, 3000).Draw(t, "b")}
		if m.k.name == "time" {
			p.a = rapid.Int64Range(-2, 1_700_000_003_000).Draw(t, "ts")
			p.b = rapid.Int64Range(m.base-5, m.base+500).Draw(t, "off")
		}
	}
	valid, ignored := m.valid(p)
	err := ixAppend(m.x, p)
	switch {
	case valid && err != nil:
		t.Fatalf("append %v: %v", p, err)
	case !valid && !errors.Is(err, ErrInvalidIndexEntry):
		t.Fatalf("append %v = %v, want ErrInvalidIndexEntry (model %v)", p, err, m.model)
	case valid && !ignored:
		m.model = append(m.model, p)
	}
}

func (m *ixMachine) TruncateTo(t *rapid.T) {
	target := rapid.Int64Range(m.base-2, m.base+3*int64(m.next)+3).Draw(t, "target")
	ixMust(t, m.x.TruncateTo(target))
	m.model = slices.DeleteFunc(m.model, func(p ixPair) bool { return m.k.offsetOf(p) >= target })
}

func (m *ixMachine) Flush(t *rapid.T) {
	ixMust(t, m.x.Flush())
	if got, want := ixFile(t, m.fsys, m.path), ixEncode(m.k.name, m.base, m.model); !bytes.Equal(got, want) {
		t.Fatalf("file after Flush:\n% x\nwant\n% x", got, want)
	}
}

func (m *ixMachine) Sync(t *rapid.T)        { ixMust(t, m.x.Sync()) }
func (m *ixMachine) ReleaseFile(t *rapid.T) { ixMust(t, m.x.ReleaseFile()) }
func (m *ixMachine) Unload(t *rapid.T) {
	ixMust(t, m.x.Unload())
	if m.x.Loaded() {
		t.Fatalf("Loaded after Unload")
	}
}

func (m *ixMachine) Reopen(t *rapid.T) {
	ixMust(t, m.x.Close())
	open := m.k.open
	if rapid.Bool().Draw(t, "lazy") {
		open = m.k.openLazy
	}
	x, err := open(m.fsys, m.path, m.base, 0)
	ixMust(t, err)
	m.x = x
}

func (m *ixMachine) Check(t *rapid.T) {
	if got := ixEntries(t, m.x); !slices.Equal(got, m.model) {
		t.Fatalf("entries %v, model %v", got, m.model)
	}
	if m.x.SizeBytes() != int64(len(m.model)*m.k.entrySize) {
		t.Fatalf("SizeBytes %d for %d entries", m.x.SizeBytes(), len(m.model))
	}
	ixMust(t, m.x.Sanity())
	var targets []int64
	for _, p := range m.model {
		targets = append(targets, p.a-1, p.a, p.a+1)
	}
	targets = append(targets, math.MinInt64, m.base-1, m.base, math.MaxInt64)
	for _, target := range targets {
		got := ixLookup(m.x, target)
		var want ixPair
		if m.k.name == "offset" {
			want = ixOracleOffsetLookup(m.model, m.base, target)
		} else {
			want = ixOracleTimeLookup(m.model, m.base, target)
		}
		if got != want {
			t.Fatalf("Lookup(%d) = %v, oracle %v (model %v)", target, got, want, m.model)
		}
	}
	switch x := m.x.(type) {
	case *OffsetIndex:
		want := m.base
		if l, ok := m.lastKey(); ok {
			want = l.a
		}
		if x.LastOffset() != want {
			t.Fatalf("LastOffset %d, want %d", x.LastOffset(), want)
		}
	case *TimeIndex:
		want := m.k.fallback(m.base)
		if l, ok := m.lastKey(); ok {
			want = l
		}
		if ts, o := x.LastEntry(); (ixPair{ts, o}) != want {
			t.Fatalf("LastEntry (%d, %d), want %v", ts, o, want)
		}
	}
}

func TestIndexOperationsProperty(t *testing.T) {
	for _, k := range ixKinds {
		t.Run(k.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				fsys := vfs.NewMem()
				m := &ixMachine{k: k, fsys: fsys, path: "/m.idx", base: rapid.Int64Range(0, 1<<40).Draw(t, "base")}
				x, err := k.open(fsys, m.path, m.base, 0)
				ixMust(t, err)
				m.x = x
				t.Repeat(map[string]func(*rapid.T){
					"append":   m.Append,
					"truncate": m.TruncateTo,
					"flush":    m.Flush,
					"sync":     m.Sync,
					"release":  m.ReleaseFile,
					"unload":   m.Unload,
					"reopen":   m.Reopen,
					"":         m.Check,
				})
				ixMust(t, m.x.Close())
			})
		})
	}
}

// ---------------------------------------------------------------------------
// Corruption.

func ixOffBytes(entries ...[2]int64) []byte {
	var b []byte
	for _, e := range entries {
		b = binary.BigEndian.AppendUint32(b, uint32(e[0]))
		b = binary.BigEndian.AppendUint32(b, uint32(e[1]))
	}
	return b
}

func ixTimeBytes(entries ...[2]int64) []byte {
	var b []byte
	for _, e := range entries {
		b = binary.BigEndian.AppendUint64(b, uint64(e[0]))
		b = binary.BigEndian.AppendUint32(b, uint32(e[1]))
	}
	return b
}

func TestIndexCorruption(t *testing.T) {
	garbage := []byte("this is not an index file, it is some text!!")
	cases := []struct {
		kind    string
		name    string
		data    []byte
		entries int // when valid
		corrupt bool
	}{
		{"offset", "empty", nil, 0, false},
		{"offset", "single zero entry", make([]byte, 8), 1, false},
		{"offset", "valid", ixOffBytes([2]int64{0, 0}, [2]int64{3, 100}, [2]int64{9, 4000}), 3, false},
		{"offset", "zeroed 16 bytes", make([]byte, 16), 0, true},
		{"offset", "zeroed 4 KiB", make([]byte, 4096), 0, true},
		{"offset", "size 7", make([]byte, 7), 0, true},
		{"offset", "size 12", ixOffBytes([2]int64{1, 1}, [2]int64{2, 2})[:12], 0, true},
		{"offset", "torn last entry", append(ixOffBytes([2]int64{1, 1}, [2]int64{2, 2}), 0, 0, 0), 0, true},
		{"offset", "decreasing offsets", ixOffBytes([2]int64{5, 10}, [2]int64{3, 20}), 0, true},
		{"offset", "duplicate entries", ixOffBytes([2]int64{5, 10}, [2]int64{5, 10}), 0, true},
		{"offset", "equal offsets", ixOffBytes([2]int64{5, 10}, [2]int64{5, 20}), 0, true},
		{"offset", "equal positions", ixOffBytes([2]int64{5, 10}, [2]int64{6, 10}), 0, true},
		{"offset", "decreasing positions", ixOffBytes([2]int64{5, 10}, [2]int64{6, 9}), 0, true},
		{"offset", "negative position", ixOffBytes([2]int64{5, -1}), 0, true},
		{"offset", "negative relative offset", ixOffBytes([2]int64{-1, 0}), 0, true},
		{"offset", "relative offset with top bit", ixOffBytes([2]int64{0, 0}, [2]int64{0x80000000, 5}), 0, true},
		{"offset", "garbage", garbage[:40], 0, true},

		{"time", "empty", nil, 0, false},
		{"time", "single zero entry", make([]byte, 12), 1, false},
		{"time", "valid", ixTimeBytes([2]int64{10, 0}, [2]int64{20, 0}, [2]int64{30, 7}), 3, false},
		{"time", "zeroed 24 bytes", make([]byte, 24), 0, true},
		{"time", "zeroed 4 KiB", make([]byte, 4092), 0, true},
		{"time", "size 13", make([]byte, 13), 0, true},
		{"time", "size 8", make([]byte, 8), 0, true},
		{"time", "torn last entry", ixTimeBytes([2]int64{10, 0}, [2]int64{20, 1})[:20], 0, true},
		{"time", "decreasing timestamps", ixTimeBytes([2]int64{20, 0}, [2]int64{10, 1}), 0, true},
		{"time", "duplicate entries", ixTimeBytes([2]int64{20, 1}, [2]int64{20, 1}), 0, true},
		{"time", "equal timestamps", ixTimeBytes([2]int64{20, 1}, [2]int64{20, 2}), 0, true},
		{"time", "decreasing offsets", ixTimeBytes([2]int64{20, 5}, [2]int64{30, 4}), 0, true},
		{"time", "negative timestamp", ixTimeBytes([2]int64{-1, 0}), 0, true},
		{"time", "negative relative offset", ixTimeBytes([2]int64{10, -3}), 0, true},
		{"time", "garbage", garbage[:36], 0, true},
	}
	for _, c := range cases {
		k := ixKinds[0]
		if c.kind == "time" {
			k = ixKinds[1]
		}
		t.Run(c.kind+"/"+c.name, func(t *testing.T) {
			fsys, dir := ixMemDir(t)
			const base = 1 << 40
			path := dir + "/c.idx"
			ixWriteFile(t, fsys, path, c.data)

			// Eager open.
			x, err := k.open(fsys, path, base, 0)
			if c.corrupt {
				if !errors.Is(err, ErrCorruptIndex) {
					t.Fatalf("open = %v, want ErrCorruptIndex", err)
				}
			} else {
				ixMust(t, err)
				if x.Entries() != c.entries {
					t.Fatalf("%d entries, want %d", x.Entries(), c.entries)
				}
				ixMust(t, x.Close())
			}

			// Lazy open: nothing is read until used; then the same verdict,
			// lookups fall back to the segment start, writes fail.
			y, err := k.openLazy(fsys, path, base, 0)
			ixMust(t, err)
			if y.Loaded() {
				t.Fatalf("lazy index loaded at open")
			}
			err = y.Sanity()
			if c.corrupt != errors.Is(err, ErrCorruptIndex) || (!c.corrupt && err != nil) {
				t.Fatalf("lazy Sanity = %v, corrupt %v", err, c.corrupt)
			}
			if c.corrupt {
				if got := ixLookup(y, math.MaxInt64); got != k.fallback(base) {
					t.Fatalf("lookup in a corrupt index = %v, want the fallback", got)
				}
				if err := ixAppend(y, k.gen(base, 0)); !errors.Is(err, ErrCorruptIndex) {
					t.Fatalf("append to a corrupt index = %v", err)
				}
				if err := y.TruncateTo(base); !errors.Is(err, ErrCorruptIndex) {
					t.Fatalf("truncate of a corrupt index = %v", err)
				}
				// Reset clears the failure: the rebuild path.
				ixMust(t, y.Reset())
				ixMust(t, ixAppend(y, k.gen(base, 0)))
				ixMust(t, y.Flush())
				if got := ixFile(t, fsys, path); !bytes.Equal(got, ixEncode(k.name, base, []ixPair{k.gen(base, 0)})) {
					t.Fatalf("after Reset: % x", got)
				}
			} else if y.Entries() != c.entries {
				t.Fatalf("lazy: %d entries", y.Entries())
			}
			ixMust(t, y.Close())

			// Rebuild always starts empty.
			ixWriteFile(t, fsys, path, c.data)
			z, err := k.rebuild(fsys, path, base, 0)
			ixMust(t, err)
			if z.Entries() != 0 || len(ixFile(t, fsys, path)) != 0 {
				t.Fatalf("rebuild kept data")
			}
			ixMust(t, z.Close())
		})
	}
}

// ---------------------------------------------------------------------------
// Crashes and injected faults.

// ixIsPrefix reports whether got is a prefix of want.
func ixIsPrefix(got, want []ixPair) bool {
	return len(got) <= len(want) && slices.Equal(got, want[:len(got)])
}

// TestIndexCrash appends, syncs part, flushes more without syncing, then
// simulates power loss at random: reopening must give a prefix of what was
// appended, at least the synced part and none of the unflushed tail, or
// report ErrCorruptIndex (a torn entry). It never yields an entry that was
// not appended.
func TestIndexCrash(t *testing.T) {
	for _, k := range ixKinds {
		t.Run(k.name, func(t *testing.T) {
			const base = 777
			var corrupt, beyondSynced int
			for seed := range 300 {
				fsys, dir := ixMemDir(t)
				path := dir + "/crash.idx"
				x, err := k.open(fsys, path, base, 0)
				ixMust(t, err)
				ixMust(t, fsys.SyncDir(dir))
				var appended []ixPair
				add := func(n int) {
					for range n {
						p := k.gen(base, len(appended))
						appended = append(appended, p)
						ixMust(t, ixAppend(x, p))
					}
				}
				add(5)
				ixMust(t, x.Sync())
				const synced = 5
				add(3)
				ixMust(t, x.Flush())
				add(4)
				ixMust(t, x.Flush())
				const flushed = 12
				add(2) // never written

				clone := fsys.CrashClone(rand.New(rand.NewPCG(uint64(seed), 0x1dc)))
				y, err := k.open(clone, path, base, 0)
				if err != nil {
					if !errors.Is(err, ErrCorruptIndex) {
						t.Fatalf("seed %d: reopen: %v", seed, err)
					}
					corrupt++
					ixMust(t, x.Close())
					continue
				}
				got := ixEntries(t, y)
				if !ixIsPrefix(got, appended[:flushed]) || len(got) < synced {
					t.Fatalf("seed %d: reopened %v, want a prefix of %v of at least %d entries", seed, got, appended[:flushed], synced)
				}
				if len(got) > synced {
					beyondSynced++
				}
				ixMust(t, errors.Join(x.Close(), y.Close()))
			}
			// The seeds cover both a torn write and a surviving un-synced tail.
			if corrupt == 0 || beyondSynced == 0 {
				t.Fatalf("outcomes not covered: %d corrupt, %d beyond the synced prefix", corrupt, beyondSynced)
			}
		})
	}
}

// TestIndexCrashAfterTruncate: entries truncated and replaced by different
// ones before a crash come back as a prefix of the old sequence or of the
// new one, never a mix with invented entries.
func TestIndexCrashAfterTruncate(t *testing.T) {
	for _, k := range ixKinds {
		t.Run(k.name, func(t *testing.T) {
			const base = 0
			for seed := range 200 {
				fsys, dir := ixMemDir(t)
				path := dir + "/crash.idx"
				x, err := k.open(fsys, path, base, 0)
				ixMust(t, err)
				ixMust(t, fsys.SyncDir(dir))
				var old []ixPair
				for i := range 8 {
					old = append(old, k.gen(base, i))
					ixMust(t, ixAppend(x, old[i]))
				}
				ixMust(t, x.Sync())
				ixMust(t, x.TruncateTo(k.offsetOf(old[3])))
				replaced := slices.Clone(old[:3])
				for i := 3; i < 8; i++ {
					replaced = append(replaced, k.genAlt(base, i))
					ixMust(t, ixAppend(x, replaced[i]))
				}
				ixMust(t, x.Flush())
				clone := fsys.CrashClone(rand.New(rand.NewPCG(uint64(seed), 0x7a)))
				y, err := k.open(clone, path, base, 0)
				if err != nil {
					if !errors.Is(err, ErrCorruptIndex) {
						t.Fatalf("seed %d: %v", seed, err)
					}
					ixMust(t, x.Close())
					continue
				}
				if got := ixEntries(t, y); !ixIsPrefix(got, old) && !ixIsPrefix(got, replaced) {
					t.Fatalf("seed %d: %v is a prefix of neither %v nor %v", seed, got, old, replaced)
				}
				ixMust(t, errors.Join(x.Close(), y.Close()))
			}
		})
	}
}

func TestIndexFaults(t *testing.T) {
	for _, k := range ixKinds {
		t.Run(k.name, func(t *testing.T) {
			const base = 40
			entries := make([]ixPair, 8)
			for i := range entries {
				entries[i] = k.gen(base, i)
			}
			setup := func(t *testing.T) (*vfs.MemFS, *vfs.ErrorFS, string, ixIndex) {
				mem, dir := ixMemDir(t)
				efs := vfs.WithErrors(mem)
				path := dir + "/f.idx"
				x, err := k.open(efs, path, base, 0)
				ixMust(t, err)
				ixMust(t, efs.SyncDir(dir))
				return mem, efs, path, x
			}

			t.Run("write", func(t *testing.T) {
				_, efs, path, x := setup(t)
				for _, p := range entries[:3] {
					ixMust(t, ixAppend(x, p))
				}
				fault := efs.Inject(vfs.Rule{Ops: vfs.OpWrite, Path: vfs.PathIs(path)})
				if err := x.Flush(); !errors.Is(err, vfs.ErrInjected) {
					t.Fatalf("Flush = %v, want the injected error", err)
				}
				if err := x.Sync(); !errors.Is(err, vfs.ErrInjected) {
					t.Fatalf("Sync = %v, want the injected error", err)
				}
				fault.Disarm()
				ixMust(t, ixAppend(x, entries[3]))
				ixMust(t, x.Flush())
				if got := ixFile(t, efs, path); !bytes.Equal(got, ixEncode(k.name, base, entries[:4])) {
					t.Fatalf("after retry: % x", got)
				}
				efs.Inject(vfs.Rule{Ops: vfs.OpWrite, Path: vfs.PathIs(path)})
				ixMust(t, ixAppend(x, entries[4]))
				if err := x.Close(); !errors.Is(err, vfs.ErrInjected) {
					t.Fatalf("Close = %v, want the flush's injected error", err)
				}
			})

			t.Run("sync", func(t *testing.T) {
				mem, efs, path, x := setup(t)
				for _, p := range entries[:3] {
					ixMust(t, ixAppend(x, p))
				}
				ixMust(t, x.Sync())
				for _, p := range entries[3:6] {
					ixMust(t, ixAppend(x, p))
				}
				efs.Inject(vfs.Rule{Ops: vfs.OpSync, Path: vfs.PathIs(path), Limit: 1})
				if err := x.Sync(); !errors.Is(err, vfs.ErrInjected) {
					t.Fatalf("Sync = %v, want the injected error", err)
				}
				// The failed fsync made nothing durable...
				if got := ixFile(t, mem.CrashCloneStrict(), path); !bytes.Equal(got, ixEncode(k.name, base, entries[:3])) {
					t.Fatalf("durable after failed sync: % x", got)
				}
				// ...and the next Sync rewrites what it lost, so it does
				// become durable (retrying the fsync alone would not).
				ixMust(t, x.Sync())
				if got := ixFile(t, mem.CrashCloneStrict(), path); !bytes.Equal(got, ixEncode(k.name, base, entries[:6])) {
					t.Fatalf("durable after retried sync: % x", got)
				}
				ixMust(t, x.Close())
			})

			t.Run("truncate", func(t *testing.T) {
				_, efs, path, x := setup(t)
				for _, p := range entries[:6] {
					ixMust(t, ixAppend(x, p))
				}
				ixMust(t, x.Flush())
				fault := efs.Inject(vfs.Rule{Ops: vfs.OpTruncate, Path: vfs.PathIs(path)})
				if err := x.TruncateTo(k.offsetOf(entries[2])); !errors.Is(err, vfs.ErrInjected) {
					t.Fatalf("TruncateTo = %v", err)
				}
				if x.Entries() != 2 {
					t.Fatalf("%d entries after TruncateTo", x.Entries())
				}
				fault.Disarm()
				ixMust(t, x.Flush()) // retries the truncation
				if got := ixFile(t, efs, path); !bytes.Equal(got, ixEncode(k.name, base, entries[:2])) {
					t.Fatalf("after retried truncation: % x", got)
				}
				ixMust(t, x.Close())
			})

			t.Run("open", func(t *testing.T) {
				mem, dir := ixMemDir(t)
				path := dir + "/o.idx"
				ixWriteFile(t, mem, path, ixEncode(k.name, base, entries[:2]))
				efs := vfs.WithErrors(mem)
				for _, op := range []vfs.Op{vfs.OpCreate, vfs.OpRead, vfs.OpStat} {
					fault := efs.Inject(vfs.Rule{Ops: op})
					_, err := k.open(efs, path, base, 0)
					if !errors.Is(err, vfs.ErrInjected) || errors.Is(err, ErrCorruptIndex) {
						t.Fatalf("%v fault: open = %v, want the injected error, not corruption", op, err)
					}
					fault.Disarm()
				}
				fault := efs.Inject(vfs.Rule{Ops: vfs.OpOpen})
				y, err := k.openLazy(efs, path, base, 0)
				ixMust(t, err)
				if err := y.Load(); !errors.Is(err, vfs.ErrInjected) {
					t.Fatalf("lazy Load = %v", err)
				}
				if got := ixLookup(y, math.MaxInt64); got != k.fallback(base) {
					t.Fatalf("lookup after a failed load = %v", got)
				}
				fault.Disarm()
				ixMust(t, y.Unload()) // forgets the failure
				if y.Entries() != 2 {
					t.Fatalf("reload: %d entries", y.Entries())
				}
				ixMust(t, y.Close())
			})
		})
	}
}

// TestIndexFlushIsOneWrite: Flush writes the tail with one call, Sync
// fsyncs only when something changed.
func TestIndexFlushIsOneWrite(t *testing.T) {
	for _, k := range ixKinds {
		t.Run(k.name, func(t *testing.T) {
			mem, dir := ixMemDir(t)
			cfs := vfs.WithCounters(mem)
			x, err := k.rebuild(cfs, dir+"/w.idx", 0, 0)
			ixMust(t, err)
			ixMust(t, x.Sync())
			cfs.Reset()
			for i := range 5 {
				ixMust(t, ixAppend(x, k.gen(0, i)))
			}
			ixMust(t, x.Flush())
			ixMust(t, x.Flush())
			if c := cfs.Counts(); c.Writes != 1 || c.BytesWritten != int64(5*k.entrySize) || c.Syncs != 0 {
				t.Fatalf("counts %+v, want one write of 5 entries and no sync", c)
			}
			ixMust(t, x.Sync())
			ixMust(t, x.Sync())
			if c := cfs.Counts(); c.Writes != 1 || c.Syncs != 1 {
				t.Fatalf("counts %+v, want a single fsync", c)
			}
			ixMust(t, x.Close())
		})
	}
}

// ---------------------------------------------------------------------------
// File handles, laziness, rename, delete.

// ixCountingFS counts the files it has open.
type ixCountingFS struct {
	vfs.FS
	open, opens atomic.Int64
}

type ixCountedFile struct {
	vfs.File
	fs   *ixCountingFS
	once sync.Once
}

func (f *ixCountedFile) Close() error {
	f.once.Do(func() { f.fs.open.Add(-1) })
	return f.File.Close()
}

func (c *ixCountingFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	c.open.Add(1)
	c.opens.Add(1)
	return &ixCountedFile{File: f, fs: c}, nil
}

func (c *ixCountingFS) Create(name string) (vfs.File, error) { return c.wrap(c.FS.Create(name)) }
func (c *ixCountingFS) Open(name string) (vfs.File, error)   { return c.wrap(c.FS.Open(name)) }
func (c *ixCountingFS) OpenReadWrite(name string) (vfs.File, error) {
	return c.wrap(c.FS.OpenReadWrite(name))
}

func TestIndexReleaseAndLazy(t *testing.T) {
	for _, k := range ixKinds {
		t.Run(k.name, func(t *testing.T) {
			mem, dir := ixMemDir(t)
			cfs := &ixCountingFS{FS: mem}
			path := dir + "/r.idx"
			const base = 9
			want := []ixPair{k.gen(base, 0), k.gen(base, 1), k.gen(base, 2)}

			x, err := k.open(cfs, path, base, 0)
			ixMust(t, err)
			if cfs.open.Load() != 1 {
				t.Fatalf("%d files open after open", cfs.open.Load())
			}
			ixMust(t, ixAppend(x, want[0]))
			ixMust(t, ixAppend(x, want[1]))
			ixMust(t, x.ReleaseFile()) // flushes
			if cfs.open.Load() != 0 {
				t.Fatalf("%d files open after ReleaseFile", cfs.open.Load())
			}
			if got := ixEntries(t, x); !slices.Equal(got, want[:2]) || ixLookup(x, math.MaxInt64) != want[1] {
				t.Fatalf("entries after release: %v", got)
			}
			ixMust(t, x.Sync()) // reopens to fsync what was written
			ixMust(t, x.ReleaseFile())
			ixMust(t, ixAppend(x, want[2])) // memory only
			if cfs.open.Load() != 0 {
				t.Fatalf("append opened the file")
			}
			ixMust(t, x.Flush())
			if cfs.open.Load() != 1 || !bytes.Equal(ixFile(t, mem, path), ixEncode(k.name, base, want)) {
				t.Fatalf("flush after release: %d open, file % x", cfs.open.Load(), ixFile(t, mem, path))
			}
			ixMust(t, x.Unload())
			if cfs.open.Load() != 0 || x.Loaded() {
				t.Fatalf("Unload: %d open, loaded %v", cfs.open.Load(), x.Loaded())
			}
			if got := ixEntries(t, x); !slices.Equal(got, want) {
				t.Fatalf("reloaded %v", got)
			}
			ixMust(t, x.Close())

			// Lazy: no file touched until first use, none kept open by reads.
			before := cfs.opens.Load()
			y, err := k.openLazy(cfs, path, base, 0)
			ixMust(t, err)
			if cfs.opens.Load() != before || y.Loaded() {
				t.Fatalf("lazy open touched the file")
			}
			if got := ixLookup(y, k.gen(base, 1).a); got != want[1] {
				t.Fatalf("lazy lookup = %v", got)
			}
			if !y.Loaded() || cfs.opens.Load() != before+1 || cfs.open.Load() != 0 {
				t.Fatalf("after lazy load: loaded %v, %d opens, %d open", y.Loaded(), cfs.opens.Load()-before, cfs.open.Load())
			}
			ixMust(t, ixAppend(y, k.gen(base, 3)))
			ixMust(t, y.Flush())
			if got := ixFile(t, mem, path); !bytes.Equal(got, ixEncode(k.name, base, append(want, k.gen(base, 3)))) {
				t.Fatalf("lazy append: % x", got)
			}
			ixMust(t, y.Close())
			if cfs.open.Load() != 0 {
				t.Fatalf("%d files open after Close", cfs.open.Load())
			}

			// Lazy over a missing file: empty, created by the first flush.
			z, err := k.openLazy(cfs, dir+"/missing.idx", base, 0)
			ixMust(t, err)
			ixMust(t, z.Load())
			if z.Entries() != 0 || ixLookup(z, math.MaxInt64) != k.fallback(base) {
				t.Fatalf("missing file is not an empty index")
			}
			ixMust(t, ixAppend(z, want[0]))
			ixMust(t, z.Close())
			if got := ixFile(t, mem, dir+"/missing.idx"); !bytes.Equal(got, ixEncode(k.name, base, want[:1])) {
				t.Fatalf("created file: % x", got)
			}
		})
	}
}

func TestIndexRenameAndDelete(t *testing.T) {
	for _, k := range ixKinds {
		t.Run(k.name, func(t *testing.T) {
			fsys, dir := ixMemDir(t)
			const base = 0
			path := dir + "/00000000000000000000.idx"
			x, err := k.open(fsys, path, base, 0)
			ixMust(t, err)
			want := []ixPair{k.gen(base, 0), k.gen(base, 1)}
			ixMust(t, ixAppend(x, want[0])) // not flushed: Rename flushes
			ixMust(t, x.Rename(path+".swap"))
			if _, err := fsys.Stat(path); err == nil {
				t.Fatalf("old name still exists")
			}
			if x.Path() != path+".swap" || !bytes.Equal(ixFile(t, fsys, path+".swap"), ixEncode(k.name, base, want[:1])) {
				t.Fatalf("renamed file wrong")
			}
			ixMust(t, x.Rename(path)) // and back, as after a swap
			ixMust(t, ixAppend(x, want[1]))
			ixMust(t, x.Flush())
			if !bytes.Equal(ixFile(t, fsys, path), ixEncode(k.name, base, want)) {
				t.Fatalf("write after rename went elsewhere")
			}
			ixMust(t, x.Close())
			ixMust(t, x.Rename(path+".deleted")) // works when closed
			ixMust(t, x.Delete())
			if _, err := fsys.Stat(path + ".deleted"); err == nil {
				t.Fatalf("Delete left the file")
			}
			if err := ixAppend(x, k.gen(base, 5)); !errors.Is(err, ErrIndexClosed) {
				t.Fatalf("append after Delete = %v", err)
			}
			ixMust(t, x.Delete()) // again: nothing left to remove

			// A lazy index whose file was never created renames fine.
			y, err := k.openLazy(fsys, dir+"/never.idx", base, 0)
			ixMust(t, err)
			ixMust(t, y.Rename(dir+"/never.idx.deleted"))
			ixMust(t, y.Delete())
		})
	}
}

// ---------------------------------------------------------------------------
// Concurrency and allocation.

// TestIndexConcurrentReaders: one writer appends, flushes, syncs, truncates
// and re-appends while readers look up; run with -race. Every entry maps
// offset o to position 10*(o-base), so readers can check any answer.
func TestIndexConcurrentReaders(t *testing.T) {
	mem, dir := ixMemDir(t)
	const base = 1_000_000
	ox, err := OpenOffsetIndex(mem, dir+"/c.index", base, 0)
	ixMust(t, err)
	tx, err := OpenTimeIndex(mem, dir+"/c.timeindex", base, 0)
	ixMust(t, err)
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for !done.Load() {
				target := base - 5 + rng.Int64N(30_000)
				o, p := ox.Lookup(target)
				if o > max(target, base) || o < base || int64(p) != 10*(o-base) {
					errs <- fmt.Errorf("offset Lookup(%d) = (%d, %d)", target, o, p)
					return
				}
				ts, o2 := tx.Lookup(target)
				if (ts == NoTimestamp && o2 != base) || (ts != NoTimestamp && (ts > target || o2 != ts)) {
					errs <- fmt.Errorf("time Lookup(%d) = (%d, %d)", target, ts, o2)
					return
				}
				_ = ox.Entries() + tx.Entries()
				_ = ox.LastOffset()
			}
		}()
	}
	next := int64(base)
	for i := range 20_000 {
		ixMust(t, ox.Append(next, int32(10*(next-base))))
		ixMust(t, tx.MaybeAppend(next, next)) // timestamp = offset
		next += 1 + int64(i%3)
		switch {
		case i%2000 == 1999:
			back := next - 300
			ixMust(t, ox.TruncateTo(back))
			ixMust(t, tx.TruncateTo(back))
			next = ox.LastOffset() + 1
		case i%500 == 0:
			ixMust(t, ox.Sync())
			ixMust(t, tx.Sync())
		case i%50 == 0:
			ixMust(t, ox.Flush())
			ixMust(t, tx.Flush())
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ixMust(t, errors.Join(ox.Close(), tx.Close()))
}

func TestIndexLookupDoesNotAllocate(t *testing.T) {
	mem, dir := ixMemDir(t)
	ox, err := OpenOffsetIndex(mem, dir+"/a.index", 0, 0)
	ixMust(t, err)
	tx, err := OpenTimeIndex(mem, dir+"/a.timeindex", 0, 0)
	ixMust(t, err)
	for i := range 1000 {
		ixMust(t, ox.Append(int64(2*i), int32(i)))
		ixMust(t, tx.MaybeAppend(int64(2*i), int64(i)))
	}
	var sink int64
	allocs := testing.AllocsPerRun(200, func() {
		o, p := ox.Lookup(777)
		ts, o2 := tx.Lookup(1501)
		sink += o + int64(p) + ts + o2
	})
	if allocs != 0 {
		t.Fatalf("lookups allocate %.1f times", allocs)
	}
	_ = sink
	ixMust(t, errors.Join(ox.Close(), tx.Close()))
}

func TestIndexConstructorArguments(t *testing.T) {
	fsys, dir := ixMemDir(t)
	for _, k := range ixKinds {
		for name, open := range map[string]func(vfs.FS, string, int64, int) (ixIndex, error){
			"open": k.open, "lazy": k.openLazy, "rebuild": k.rebuild,
		} {
			if _, err := open(nil, dir+"/a.idx", 0, 0); err == nil {
				t.Errorf("%s %s: nil FS accepted", k.name, name)
			}
			if _, err := open(fsys, dir+"/a.idx", -1, 0); err == nil {
				t.Errorf("%s %s: negative base offset accepted", k.name, name)
			}
		}
	}
	x, err := OpenOffsetIndexLazy(fsys, dir+"/b.index", 123, 0)
	ixMust(t, err)
	y, err := OpenTimeIndexLazy(fsys, dir+"/b.timeindex", 456, 0)
	ixMust(t, err)
	if x.BaseOffset() != 123 || y.BaseOffset() != 456 || x.Path() != dir+"/b.index" || y.Path() != dir+"/b.timeindex" {
		t.Fatalf("accessors: %d %d %s %s", x.BaseOffset(), y.BaseOffset(), x.Path(), y.Path())
	}
	ixMust(t, errors.Join(x.Close(), y.Close()))
}
