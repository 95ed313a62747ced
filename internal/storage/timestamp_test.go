package storage

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// tsModel is the oracle: every record appended and not truncated, in
// offset order, and the log start.
type tsModel struct {
	recs    []tsRec
	batches []tsBatch
	start   int64
	end     int64
}

type tsRec struct{ off, ts int64 }

type tsBatch struct{ base, next int64 }

// offsetFor is a linear scan: the first record at or after the log start
// whose timestamp is at least target.
func (m *tsModel) offsetFor(target int64) (TimestampOffset, bool) {
	for _, r := range m.recs {
		if r.off >= m.start && r.ts >= target {
			return TimestampOffset{Offset: r.off, Timestamp: r.ts}, true
		}
	}
	return TimestampOffset{}, false
}

// maxTimestamp is the first record at or after the log start with the
// largest timestamp.
func (m *tsModel) maxTimestamp() (TimestampOffset, bool) {
	var best TimestampOffset
	found := false
	for _, r := range m.recs {
		if r.off >= m.start && (!found || r.ts > best.Timestamp) {
			best, found = TimestampOffset{Offset: r.off, Timestamp: r.ts}, true
		}
	}
	return best, found
}

// maxFrom is the largest timestamp of the records in [from, to), -1 if
// none.
func (m *tsModel) maxFrom(from, to int64) int64 {
	best := int64(-1)
	for _, r := range m.recs {
		if r.off >= from && r.off < to {
			best = max(best, r.ts)
		}
	}
	return best
}

// cutAt is where TruncateTo(offset) cuts: offset, or the base of the
// batch holding it.
func (m *tsModel) cutAt(offset int64) int64 {
	for _, b := range m.batches {
		if b.base < offset && offset < b.next {
			return b.base
		}
	}
	return offset
}

// truncate applies TruncateTo(offset): the batches from the one holding
// offset on go whole, and the log ends at that batch's base — but never
// below the log start, which drops to offset if it was above.
func (m *tsModel) truncate(offset int64) int64 {
	if offset >= m.end {
		return m.end
	}
	cut := m.cutAt(offset)
	m.recs = slices.DeleteFunc(m.recs, func(r tsRec) bool { return r.off >= cut })
	m.batches = slices.DeleteFunc(m.batches, func(b tsBatch) bool { return b.base >= cut })
	m.start = min(m.start, offset)
	m.end = max(cut, m.start)
	return m.end
}

// targets are the timestamps to look up: below, at, around and between
// the record timestamps, and above them all; at most about 40 of them,
// always including the smallest and largest timestamps and their
// neighbours.
func (m *tsModel) targets() []int64 {
	var ts []int64
	for _, r := range m.recs {
		ts = append(ts, r.ts-1, r.ts, r.ts+1)
	}
	slices.Sort(ts)
	ts = slices.Compact(ts)
	if n := len(ts); n > 40 {
		step := n / 34
		var some []int64
		for i := 0; i < n; i += step {
			some = append(some, ts[i])
		}
		some = append(some, ts[:3]...)
		ts = append(some, ts[n-3:]...)
	}
	return append(ts, 0, 5000)
}

// TestTimestampLookupProperty checks Log.OffsetForTimestamp and
// Log.MaxTimestamp against a linear scan over every record appended:
// random batches of records with non-monotonic timestamps, random segment
// sizes, index intervals and index sizes, random rolls, truncations and
// log start moves; then again after a clean reopen (indexes loaded from
// their files) and after an unclean one (indexes rebuilt from the log),
// with more operations after each.
func TestTimestampLookupProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fsys := vfs.NewMem()
		clock := &testClock{t: time.UnixMilli(1_000_000)}
		cfg := DefaultConfig()
		cfg.SegmentBytes = int64(rapid.IntRange(150, 1500).Draw(t, "segmentBytes"))
		cfg.IndexIntervalBytes = rapid.IntRange(0, 600).Draw(t, "indexInterval")
		cfg.SegmentIndexBytes = rapid.SampledFrom([]int{24, 36, 60, 10 << 20}).Draw(t, "segmentIndexBytes")
		m := &tsModel{}
		open := func(clean bool) *Log {
			l, err := Open(OpenOptions{FS: fsys, Dir: "/data/t-0", TP: testTP, Config: cfg, Now: clock.now,
				CleanShutdown: clean, LogStartOffset: m.start})
			if err != nil {
				t.Fatalf("open (clean=%t): %v", clean, err)
			}
			return l
		}
		l := open(false)
		defer func() { l.Close() }()

		tsRunOps(t, l, m, rapid.IntRange(1, 40).Draw(t, "ops"))
		checkTimestampLookups(t, l, m, "after the first operations")

		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = open(true)
		checkTimestampLookups(t, l, m, "after a clean reopen")
		tsRunOps(t, l, m, rapid.IntRange(0, 15).Draw(t, "opsAfterClean"))
		checkTimestampLookups(t, l, m, "after operations following a clean reopen")

		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = open(false) // recovery point 0: every segment is scanned
		checkTimestampLookups(t, l, m, "after an unclean reopen")
		tsRunOps(t, l, m, rapid.IntRange(0, 15).Draw(t, "opsAfterUnclean"))
		checkTimestampLookups(t, l, m, "after operations following an unclean reopen")

		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = open(true)
		checkTimestampLookups(t, l, m, "after an unclean, then a clean reopen")
	})
}

// tsRunOps runs n random operations on l and the model.
func tsRunOps(t *rapid.T, l *Log, m *tsModel, n int) {
	codecs := []record.Codec{record.CodecNone, record.CodecNone, record.CodecNone, record.CodecGzip, record.CodecSnappy, record.CodecLZ4, record.CodecZstd}
	for range n {
		switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
		case op <= 5:
			var data []byte
			for range rapid.IntRange(1, 3).Draw(t, "batches") {
				tss := rapid.SliceOfN(rapid.Int64Range(0, 3000), 1, 6).Draw(t, "timestamps")
				b := record.NewBuilder(rapid.SampledFrom(codecs).Draw(t, "codec"))
				b.BaseTimestamp = rapid.Int64Range(0, slices.Min(tss)).Draw(t, "baseTimestamp")
				for i, ts := range tss {
					b.Append(int32(i), ts-b.BaseTimestamp, []byte("k"), fmt.Appendf(nil, "v%d", i))
				}
				var err error
				if data, err = b.Build(data); err != nil {
					t.Fatal(err)
				}
				next := m.end + int64(len(tss))
				m.batches = append(m.batches, tsBatch{base: m.end, next: next})
				for i, ts := range tss {
					m.recs = append(m.recs, tsRec{off: m.end + int64(i), ts: ts})
				}
				m.end = next
			}
			if _, err := l.Append(data, AppendOptions{LeaderEpoch: 1}); err != nil {
				t.Fatalf("append: %v", err)
			}
		case op == 6:
			if err := l.Roll(); err != nil {
				t.Fatal(err)
			}
		case op == 7:
			off := rapid.Int64Range(m.start, m.end).Draw(t, "truncateTo")
			m.truncate(off)
			if err := l.TruncateTo(off); err != nil {
				t.Fatalf("truncate to %d: %v", off, err)
			}
		default:
			off := rapid.Int64Range(m.start, m.end).Draw(t, "startOffset")
			m.start = max(m.start, off)
			if err := l.SetStartOffset(off); err != nil {
				t.Fatalf("set start offset %d: %v", off, err)
			}
		}
		if l.EndOffset() != m.end || l.StartOffset() != m.start {
			t.Fatalf("log spans [%d, %d), model [%d, %d)", l.StartOffset(), l.EndOffset(), m.start, m.end)
		}
	}
}

func checkTimestampLookups(t *rapid.T, l *Log, m *tsModel, when string) {
	for _, target := range m.targets() {
		got, ok, err := l.OffsetForTimestamp(target)
		if err != nil {
			t.Fatalf("%s: OffsetForTimestamp(%d): %v", when, target, err)
		}
		want, wantOK := m.offsetFor(target)
		if ok != wantOK || got != want {
			t.Fatalf("%s: OffsetForTimestamp(%d) = %+v, %t; want %+v, %t (log [%d, %d))",
				when, target, got, ok, want, wantOK, m.start, m.end)
		}
	}
	got, ok, err := l.MaxTimestamp()
	if err != nil {
		t.Fatalf("%s: MaxTimestamp: %v", when, err)
	}
	want, wantOK := m.maxTimestamp()
	if ok != wantOK || got != want {
		t.Fatalf("%s: MaxTimestamp() = %+v, %t; want %+v, %t (log [%d, %d))",
			when, got, ok, want, wantOK, m.start, m.end)
	}
}
