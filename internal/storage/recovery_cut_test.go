package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// cutFixture writes nine idempotent batches of three records (producer
// 42, sequences 0, 3, ..., 24), batch i as leader epoch i, in segments of
// three batches (bases 0, 9, 18), and closes the log cleanly. Rolls write
// producer snapshots at 9 and 18. It returns the FS, the values, and the
// timestamp of the batches.
func cutFixture(t *testing.T) (*vfs.MemFS, []string, *testClock, Config) {
	t.Helper()
	fsys := vfs.NewMem()
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	cfg.IndexIntervalBytes = 1
	ts := clock.now().UnixMilli()
	cfg.SegmentBytes = int64(3*len(idemBatch(t, 42, 0, 0, 3, ts)) + 10)
	l := openTestLog(t, fsys, cfg, clock, false, 0)
	var vals []string
	for i := range 9 {
		seq := int32(3 * i)
		if _, err := l.Append(idemBatch(t, 42, 0, seq, 3, ts), AppendOptions{LeaderEpoch: int32(i)}); err != nil {
			t.Fatal(err)
		}
		for j := range int32(3) {
			vals = append(vals, fmt.Sprintf("p42-e0-s%d", seq+j))
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(t, fsys, logSuffix); len(got) != 3 || got[2] != "/data/t-0/"+segmentName(18, logSuffix) {
		t.Fatalf("fixture segments %v", got)
	}
	return fsys, vals, clock, cfg
}

// flipInBatch flips a bit inside batch k (counted from 0) of the segment
// with base offset base, so its CRC fails.
func flipInBatch(t *testing.T, fsys vfs.FS, base int64, k int) {
	t.Helper()
	mutate(t, fsys, "/data/t-0/"+segmentName(base, logSuffix), func(b []byte) []byte {
		pos, _ := fzBatchPos(b, k)
		b[pos+record.HeaderSize+2] ^= 0x10
		return b
	})
}

// checkCut checks a log recovered by a cut at offset end: the values before
// it and nothing else, no segment file or producer snapshot past it, no
// leader epoch starting at or past it, the producer's retries of the
// batches below it answered as duplicates and those at or past it
// appended, everything read back, the state durable (a power loss right
// after Open finds the same files) and the same after a clean reopen.
func checkCut(t *testing.T, fsys *vfs.MemFS, l *Log, clock *testClock, cfg Config, want []string, end int64) {
	t.Helper()
	if l.EndOffset() != end {
		t.Fatalf("log end %d, want %d", l.EndOffset(), end)
	}
	if got := readAll(t, l, 0); !slices.Equal(got, want[:end]) {
		t.Fatalf("read %d values %q, want the %d before the cut", len(got), got, end)
	}
	for _, sfx := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		for _, p := range segFiles(t, fsys, sfx) {
			if base, _, _ := parseSegmentName(p[len("/data/t-0/"):]); base > end {
				t.Fatalf("%s is left past the cut at %d", p, end)
			}
		}
	}
	snaps, err := listSnapshots(fsys, "/data/t-0")
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range snaps {
		if off > end {
			t.Fatalf("producer snapshot %d left past the cut at %d (all: %v)", off, end, snaps)
		}
	}
	for _, e := range l.Epochs().Entries() {
		if e.StartOffset >= end {
			t.Fatalf("leader epoch %v starts at or past the cut at %d: %v", e, end, l.Epochs().Entries())
		}
	}
	if latest, ok := l.Epochs().LatestEntry(); !ok || latest.Epoch != int32((end-1)/3) {
		t.Fatalf("latest epoch %v (%t), want the epoch of the last batch kept, %d", latest, ok, (end-1)/3)
	}
	if l.truncatedTo.Load() != end {
		t.Fatalf("cleaner bound %d, want the cut at %d", l.truncatedTo.Load(), end)
	}

	// A power loss now keeps the cut: truncations and removals were synced.
	if live, dur := dirListing(t, fsys), dirListing(t, fsys.CrashCloneStrict()); !slices.Equal(live, dur) {
		t.Fatalf("after a power loss the partition holds\n%v\nwant\n%v", dur, live)
	}

	// Producer state comes from what is left: a retry of the last batch
	// kept is a duplicate, one of the first batch cut is appended.
	ts := clock.now().UnixMilli()
	lastKept := int32(end - 3)
	res, err := l.Append(idemBatch(t, 42, 0, lastKept, 3, ts), AppendOptions{LeaderEpoch: 20})
	if err != nil || !res.Duplicate || res.FirstOffset != end-3 {
		t.Fatalf("retry of sequence %d: %+v, %v; want a duplicate at %d", lastKept, res, err, end-3)
	}
	res, err = l.Append(idemBatch(t, 42, 0, int32(end), 3, ts), AppendOptions{LeaderEpoch: 20})
	if err != nil || res.Duplicate || res.FirstOffset != end {
		t.Fatalf("retry of sequence %d, cut away: %+v, %v; want it appended at %d", end, res, err, end)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.WaitDurable(ctx, res.EndOffset); err != nil {
		t.Fatal(err)
	}
	after := append(slices.Clone(want[:end]), want[end:end+3]...)
	if got := readAll(t, l, 0); !slices.Equal(got, after) {
		t.Fatalf("after the append: %q, want %q", got, after)
	}
	if e, ok := l.Epochs().LatestEntry(); !ok || e != (EpochEntry{Epoch: 20, StartOffset: end}) {
		t.Fatalf("latest epoch after the append %v, want epoch 20 at %d", e, end)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := openTestLog(t, fsys, cfg, clock, true, l.RecoveryPoint())
	defer r.Close()
	if got := readAll(t, r, 0); !slices.Equal(got, after) || r.EndOffset() != end+3 {
		t.Fatalf("clean reopen: end %d, %q, want %q", r.EndOffset(), got, after)
	}
}

// TestRecoveryCutsLastSegmentAtCorruptBatch: a bad batch with a valid one
// after it in the last segment (writes a power loss kept out of order)
// ends the log there; the log takes appends and reads after the cut.
func TestRecoveryCutsLastSegmentAtCorruptBatch(t *testing.T) {
	fsys, want, clock, cfg := cutFixture(t)
	flipInBatch(t, fsys, 18, 1) // offsets 21..23; 24..26 follow
	before := CorruptionsDetected()
	l := openTestLog(t, fsys, cfg, clock, false, 18)
	if n := CorruptionsDetected() - before; n != 1 {
		t.Fatalf("%d corruptions counted, want 1", n)
	}
	if l.NumSegments() != 3 {
		t.Fatalf("%d segments, want 3", l.NumSegments())
	}
	checkCut(t, fsys, l, clock, cfg, want, 21)
}

// TestRecoveryCutsMiddleSegment: a bad batch in a segment above the
// recovery point that later segments follow ends the log there, and the
// later segments go with their indexes and producer snapshots.
func TestRecoveryCutsMiddleSegment(t *testing.T) {
	for _, k := range []int{0, 1, 2} {
		t.Run(fmt.Sprintf("batch %d", k), func(t *testing.T) {
			fsys, want, clock, cfg := cutFixture(t)
			flipInBatch(t, fsys, 9, k)
			before := CorruptionsDetected()
			l := openTestLog(t, fsys, cfg, clock, false, 9)
			if n := CorruptionsDetected() - before; n != 1 {
				t.Fatalf("%d corruptions counted, want 1", n)
			}
			if l.NumSegments() != 2 {
				t.Fatalf("%d segments, want 2", l.NumSegments())
			}
			checkCut(t, fsys, l, clock, cfg, want, int64(9+3*k))
		})
	}
}

// TestRecoveryRefusesCorruptSyncedSegment: the same damage in a segment
// the recovery point says was synced whole, scanned because its index is
// lost, refuses the log rather than dropping acknowledged data, and
// changes no file.
func TestRecoveryRefusesCorruptSyncedSegment(t *testing.T) {
	fsys, _, clock, cfg := cutFixture(t)
	flipInBatch(t, fsys, 9, 1)
	zeroIndex(t, fsys, 1)
	was := dirListing(t, fsys)
	before := CorruptionsDetected()
	_, err := Open(OpenOptions{FS: fsys, Dir: "/data/t-0", TP: testTP, Config: cfg, Now: clock.now, RecoveryPoint: 18})
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Segment != 9 {
		t.Fatalf("open: %v, want a CorruptionError in segment 9", err)
	}
	if n := CorruptionsDetected() - before; n != 1 {
		t.Fatalf("%d corruptions counted, want 1", n)
	}
	if now := dirListing(t, fsys); !slices.Equal(now, was) {
		t.Fatalf("the refused open changed the files:\n%v\nwas\n%v", now, was)
	}
}

// TestRecoveryCutLowersCleanerCheckpoint: a cut below the cleaner's
// checkpoint lowers it, so the records appended after the cut are
// indexed by the next pass.
func TestRecoveryCutLowersCleanerCheckpoint(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	fsys := vfs.NewMem()
	m := newCleanerManager(t, fsys, clock, 1<<20)
	cleanedLog(t, m, clock, compactCfg(1024), 3)
	if _, err := m.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	cp, ok := m.CleanerCheckpoint(testTP)
	if !ok || cp < 10 {
		t.Fatalf("checkpoint %d %v", cp, ok)
	}
	// A power loss, then damage to the second batch of the first segment
	// that has two (no recovery point was checkpointed: every segment is
	// scanned).
	crashed := fsys.CrashCloneStrict()
	m.Close()
	cut := int64(-1)
	for _, p := range segFiles(t, crashed, logSuffix) {
		data, err := vfs.ReadFile(crashed, p)
		if err != nil {
			t.Fatal(err)
		}
		it := record.NewBatches(data)
		if it.Next() {
			h := it.Header()
			cut = h.LastOffset() + 1 // the log ends after the first batch
		}
		if it.Next() {
			mutate(t, crashed, p, func(b []byte) []byte { b[it.Offset()+record.HeaderSize+2] ^= 0x10; return b })
			break
		}
		cut = -1
	}
	if cut < 0 || cut >= cp {
		t.Fatalf("cut at %d is not below the checkpoint %d", cut, cp)
	}
	m2 := newCleanerManager(t, crashed, clock, 1<<20)
	defer m2.Close()
	if got := m2.Log(testTP).EndOffset(); got != cut {
		t.Fatalf("recovered end %d, want the cut at %d", got, cut)
	}
	if got, _ := m2.CleanerCheckpoint(testTP); got != cp {
		t.Fatalf("checkpoint read back %d, want %d", got, cp)
	}
	if _, err := m2.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, ok := m2.CleanerCheckpoint(testTP); !ok || got > cut {
		t.Fatalf("cleaner checkpoint %d (%t) after a cut at %d", got, ok, cut)
	}
}

// dirListing lists the partition directory: every name, with the size of
// segment and snapshot files.
func dirListing(t *testing.T, fsys vfs.FS) []string {
	t.Helper()
	ents, err := fsys.ReadDir("/data/t-0")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, sfx, ok := parseSegmentName(e.Name); (ok && sfx == logSuffix) || strings.HasSuffix(e.Name, snapshotSuffix) {
			out = append(out, fmt.Sprintf("%s:%d", e.Name, e.Size))
		} else {
			out = append(out, e.Name)
		}
	}
	return out
}

// TestRecoveryRescanAfterSwap: a segment rescanned because Open completes
// an interrupted cleaner swap follows the same rule as any other: below
// the recovery point damage with data after it refuses the log, above it
// the log is cut.
func TestRecoveryRescanAfterSwap(t *testing.T) {
	for _, c := range []struct {
		rp   int64
		want int64 // the log end, -1: a CorruptionError
	}{{rp: 18, want: -1}, {rp: 9, want: 12}} {
		t.Run(fmt.Sprintf("recovery point %d", c.rp), func(t *testing.T) {
			fsys, want, clock, cfg := cutFixture(t)
			flipInBatch(t, fsys, 9, 1)
			// The swap was committed (.swap names) and the old segment
			// renamed away when the power went.
			seg := "/data/t-0/" + segmentName(9, logSuffix)
			if err := fsys.Rename(seg, seg+swapSuffix); err != nil {
				t.Fatal(err)
			}
			before := CorruptionsDetected()
			l, err := Open(OpenOptions{FS: fsys, Dir: "/data/t-0", TP: testTP, Config: cfg, Now: clock.now, RecoveryPoint: c.rp})
			if n := CorruptionsDetected() - before; n != 1 {
				t.Fatalf("%d corruptions counted, want 1", n)
			}
			if c.want < 0 {
				var ce *CorruptionError
				if !errors.As(err, &ce) || ce.Segment != 9 {
					t.Fatalf("open: %v, want a CorruptionError in segment 9", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer l.Close()
			if got := readAll(t, l, 0); l.EndOffset() != c.want || !slices.Equal(got, want[:c.want]) {
				t.Fatalf("log end %d, %q; want the cut at %d", l.EndOffset(), got, c.want)
			}
		})
	}
}
