package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// idemBatch builds a batch of n records of producer pid at epoch, starting
// at sequence seq.
func idemBatch(t testing.TB, pid int64, epoch int16, seq int32, n int, ts int64) []byte {
	t.Helper()
	b := record.NewBuilder(record.CodecNone)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.BaseTimestamp = pid, epoch, seq, ts
	for i := range n {
		b.Append(int32(i), 0, nil, []byte(fmt.Sprintf("p%d-e%d-s%d", pid, epoch, int64(seq)+int64(i))))
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func header(t testing.TB, b []byte) *record.BatchHeader {
	t.Helper()
	h, err := record.ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	return &h
}

// TestProducerStateRules drives the state machine through every rule:
// unknown producers at any sequence, in-order appends, duplicates of each
// of the last five batches, gaps, stale and new epochs, and wraparound.
func TestProducerStateRules(t *testing.T) {
	ps := newProducerState()
	off := int64(0)
	apply := func(b []byte) (*producerBatch, error) {
		t.Helper()
		h := header(t, b)
		dup, err := ps.check(h)
		if err == nil && dup == nil {
			ps.update(h, off, off+int64(h.LastOffsetDelta), 1000)
			off += int64(h.LastOffsetDelta) + 1
		}
		return dup, err
	}
	mustAppend := func(b []byte) {
		t.Helper()
		if dup, err := apply(b); err != nil || dup != nil {
			t.Fatalf("append: dup %v err %v", dup, err)
		}
	}
	// An unknown producer is accepted at any sequence.
	mustAppend(idemBatch(t, 7, 0, 100, 2, 0)) // seqs 100-101, offsets 0-1
	for s := int32(102); s < 112; s += 2 {
		mustAppend(idemBatch(t, 7, 0, s, 2, 0)) // five more: 102..111, offsets 2..11
	}
	// The five newest batches are recognised; the oldest (100-101) has left
	// the window and is now a sequence error.
	for i, s := range []int32{102, 104, 106, 108, 110} {
		dup, err := apply(idemBatch(t, 7, 0, s, 2, 0))
		if err != nil || dup == nil || dup.firstOffset != int64(2+2*i) || dup.lastOffset != int64(3+2*i) {
			t.Fatalf("retry of seq %d: dup %+v err %v", s, dup, err)
		}
	}
	if _, err := apply(idemBatch(t, 7, 0, 100, 2, 0)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("retry older than the window: %v", err)
	}
	// Same first sequence, different length: not a duplicate.
	if _, err := apply(idemBatch(t, 7, 0, 110, 1, 0)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("overlapping batch: %v", err)
	}
	// A gap.
	if _, err := apply(idemBatch(t, 7, 0, 113, 1, 0)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap: %v", err)
	}
	// A new epoch must start at 0; then the old epoch is fenced.
	if _, err := apply(idemBatch(t, 7, 1, 5, 1, 0)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("new epoch at 5: %v", err)
	}
	mustAppend(idemBatch(t, 7, 1, 0, 3, 0))
	if _, err := apply(idemBatch(t, 7, 0, 112, 1, 0)); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("stale epoch: %v", err)
	}
	// Another producer is independent.
	mustAppend(idemBatch(t, 8, 3, 0, 1, 0))

	// Wraparound: MaxInt32-1, MaxInt32, then 0.
	mustAppend(idemBatch(t, 9, 0, math.MaxInt32-1, 2, 0))
	if got := ps.producers[9].last().lastSeq; got != math.MaxInt32 {
		t.Fatalf("last sequence %d, want MaxInt32", got)
	}
	mustAppend(idemBatch(t, 9, 0, 0, 3, 0))
	// A batch spanning the wrap: MaxInt32 in the middle.
	mustAppend(idemBatch(t, 10, 0, math.MaxInt32-1, 4, 0)) // MaxInt32-1, MaxInt32, 0, 1
	if got := ps.producers[10].last().lastSeq; got != 1 {
		t.Fatalf("last sequence after a wrapping batch %d, want 1", got)
	}
	if dup, err := apply(idemBatch(t, 10, 0, math.MaxInt32-1, 4, 0)); err != nil || dup == nil {
		t.Fatalf("retry of the wrapping batch: %v %v", dup, err)
	}
	mustAppend(idemBatch(t, 10, 0, 2, 1, 0))

	// Snapshots round-trip the whole window.
	got, err := decodeSnapshot(encodeSnapshot(ps))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(snapshotView(got)) != fmt.Sprint(snapshotView(ps)) {
		t.Fatalf("snapshot round trip:\n got %v\nwant %v", snapshotView(got), snapshotView(ps))
	}

	// Truncation forgets batches at or after the offset, and producers
	// left with none.
	ps = newProducerState()
	for i := range 3 {
		ps.update(header(t, idemBatch(t, 1, 0, int32(2*i), 2, 0)), int64(2*i), int64(2*i+1), 1)
	}
	ps.update(header(t, idemBatch(t, 2, 0, 0, 1, 0)), 6, 6, 1)
	ps.truncate(4)
	if e := ps.producers[1]; e == nil || e.n != 2 || e.last().lastOffset != 3 || e.last().lastSeq != 3 {
		t.Fatalf("after truncate(4): %+v", e)
	}
	if ps.producers[2] != nil {
		t.Fatal("a producer with no batch left was kept")
	}
	// Expiry.
	ps.producers[1].lastAppend = 5
	if n := ps.expire(10); n != 1 || len(ps.producers) != 0 {
		t.Fatalf("expire: %d, left %d", n, len(ps.producers))
	}
}

func snapshotView(ps *producerState) []string {
	var out []string
	for _, id := range ps.ids() {
		e := ps.producers[id]
		s := fmt.Sprintf("%d e%d t%d:", id, e.epoch, e.lastAppend)
		for i := 0; i < e.n; i++ {
			b := e.batches[i]
			s += fmt.Sprintf(" [%d-%d @%d-%d]", b.firstSeq, b.lastSeq, b.firstOffset, b.lastOffset)
		}
		out = append(out, s)
	}
	return out
}

func TestDecodeSnapshotRejectsDamage(t *testing.T) {
	ps := newProducerState()
	for i := range 4 {
		ps.update(header(t, idemBatch(t, 3, 0, int32(i), 1, 0)), int64(i), int64(i), 1)
	}
	good := encodeSnapshot(ps)
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x40
		if _, err := decodeSnapshot(bad); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	for n := range len(good) {
		if _, err := decodeSnapshot(good[:n]); err == nil {
			t.Fatalf("snapshot cut to %d bytes accepted", n)
		}
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	ps := newProducerState()
	ps.update(&record.BatchHeader{ProducerID: 1, ProducerEpoch: 2, BaseSequence: 3, LastOffsetDelta: 1}, 10, 11, 5)
	f.Add(encodeSnapshot(ps))
	f.Add([]byte{0, 2, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := decodeSnapshot(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to a snapshot that decodes the same.
		again, err := decodeSnapshot(encodeSnapshot(ps))
		if err != nil || fmt.Sprint(snapshotView(again)) != fmt.Sprint(snapshotView(ps)) {
			t.Fatalf("re-encoding changed the state: %v", err)
		}
	})
}

// TestLogDeduplicatesAcrossRestarts appends an idempotent producer's
// batches to a log with small segments, retries each of the last five
// (answered with the original offsets, nothing written), and checks that
// after a clean restart, a crash, and a truncation the window is rebuilt:
// the retry of the second-newest batch is still a duplicate.
func TestLogDeduplicatesAcrossRestarts(t *testing.T) {
	fsys := vfs.NewMem()
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	cfg.SegmentBytes = 600
	l := openTestLog(t, fsys, cfg, clock, false, 0)
	ts := clock.now().UnixMilli()
	offsets := map[int32]int64{}
	for s := int32(0); s < 60; s += 3 {
		res, err := l.Append(idemBatch(t, 42, 0, s, 3, ts), AppendOptions{LeaderEpoch: 1})
		if err != nil || res.Duplicate {
			t.Fatalf("append seq %d: %v %+v", s, err, res)
		}
		offsets[s] = res.FirstOffset
		if err := l.WaitDurable(context.Background(), res.EndOffset); err != nil {
			t.Fatal(err)
		}
	}
	end := l.EndOffset()
	retry := func(l *Log, seq int32, when string) {
		t.Helper()
		res, err := l.Append(idemBatch(t, 42, 0, seq, 3, ts), AppendOptions{LeaderEpoch: 1})
		if err != nil || !res.Duplicate || res.FirstOffset != offsets[seq] || res.LastOffset != offsets[seq]+2 {
			t.Fatalf("%s: retry of seq %d: %v %+v, want duplicate at %d", when, seq, err, res, offsets[seq])
		}
		if l.EndOffset() != end {
			t.Fatalf("%s: a duplicate was written (end %d → %d)", when, end, l.EndOffset())
		}
	}
	for s := int32(45); s < 60; s += 3 {
		retry(l, s, "live")
	}
	if l.DuplicateBatches() != 5 {
		t.Fatalf("duplicate counter %d, want 5", l.DuplicateBatches())
	}
	if _, err := l.Append(idemBatch(t, 42, 0, 61, 1, ts), AppendOptions{}); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap: %v", err)
	}

	// Clean restart: the snapshot written at close holds the window.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if offs, err := listSnapshots(fsys, "/data/t-0"); err != nil || len(offs) == 0 || offs[len(offs)-1] != end {
		t.Fatalf("snapshots after close %v (%v), want the newest at %d", offs, err, end)
	}
	l = openTestLog(t, fsys, cfg, clock, true, end)
	retry(l, 54, "after a clean restart")

	// Power loss: the newest snapshot may be lost or torn; replay from an
	// older one (or the start) rebuilds the same window.
	for i := range 5 {
		crashed := fsys.CrashClone(rand.New(rand.NewPCG(uint64(i), 9)))
		cl := openTestLog(t, crashed, cfg, clock, false, 0)
		if cl.EndOffset() != end {
			t.Fatalf("crash %d: end %d, want %d (every append was synced)", i, cl.EndOffset(), end)
		}
		retry(cl, 54, fmt.Sprintf("after crash %d", i))
		cl.Close()
	}

	// Truncation below the last two batches: they are forgotten, so the
	// producer continues from the batch before.
	if err := l.TruncateTo(offsets[54]); err != nil {
		t.Fatal(err)
	}
	end = l.EndOffset()
	retry(l, 51, "after truncation")
	res, err := l.Append(idemBatch(t, 42, 0, 54, 3, ts), AppendOptions{LeaderEpoch: 1})
	if err != nil || res.Duplicate || res.FirstOffset != end {
		t.Fatalf("re-append after truncation: %v %+v", err, res)
	}
	l.Close()
}

// TestIdempotentBatchMustBeAlone: a produce carrying an idempotent batch
// must carry one batch per partition, as Kafka requires.
func TestIdempotentBatchMustBeAlone(t *testing.T) {
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	l := openTestLog(t, vfs.NewMem(), DefaultConfig(), clock, false, 0)
	defer l.Close()
	two := append(idemBatch(t, 1, 0, 0, 1, 0), idemBatch(t, 1, 0, 1, 1, 0)...)
	var ae *AppendError
	if _, err := l.Append(two, AppendOptions{}); !errors.As(err, &ae) || !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("two idempotent batches: %v", err)
	}
}

// TestRollSnapshotsAreSynced: once a Sync has covered a roll, its producer
// snapshot survives a power cut (only synced writes kept), one per
// segment, so recovery replays the active segment alone.
func TestRollSnapshotsAreSynced(t *testing.T) {
	fsys := vfs.NewMem()
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	cfg.SegmentBytes = 600
	l := openTestLog(t, fsys, cfg, clock, false, 0)
	ts := clock.now().UnixMilli()
	for s := int32(0); s < 60; s += 3 {
		res, err := l.Append(idemBatch(t, 7, 0, s, 3, ts), AppendOptions{LeaderEpoch: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.WaitDurable(context.Background(), res.EndOffset); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	segs := l.segments()
	crashed := fsys.CrashCloneStrict()
	offs, err := listSnapshots(crashed, "/data/t-0")
	if err != nil {
		t.Fatal(err)
	}
	if len(offs) != len(segs)-1 {
		t.Fatalf("%d snapshots survived for %d rolls: %v", len(offs), len(segs)-1, offs)
	}
	newest := offs[len(offs)-1]
	if newest != segs[len(segs)-1].base {
		t.Fatalf("newest surviving snapshot at %d, active segment at %d", newest, segs[len(segs)-1].base)
	}
	b, err := vfs.ReadFile(crashed, snapshotName(crashed, "/data/t-0", newest))
	if err != nil {
		t.Fatal(err)
	}
	if ps, err := decodeSnapshot(b); err != nil || ps.producers[7] == nil || ps.producers[7].last().lastOffset != newest-1 {
		t.Fatalf("snapshot at %d after the crash: %v %+v", newest, err, ps)
	}
	l.Close()
}
