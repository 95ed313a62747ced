package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// TestCleanerForgetsDeletedPartition deletes a cleaned partition,
// restarts, and creates it again: the new log must be indexed from its
// start, or a key written below the old checkpoint and then deleted by a
// tombstone would come back once the tombstone goes.
func TestCleanerForgetsDeletedPartition(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	fsys := vfs.NewMem()
	m := newCleanerManager(t, fsys, clock, 1<<20)
	cfg := compactCfg(1024)
	cleanedLog(t, m, clock, cfg, 1)
	if _, err := m.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	cp, ok := m.CleanerCheckpoint(testTP)
	if !ok || cp == 0 {
		t.Fatalf("checkpoint %d %v", cp, ok)
	}
	if err := m.Delete(testTP); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = newCleanerManager(t, fsys, clock, 1<<20)
	defer m.Close()
	if got, ok := m.CleanerCheckpoint(testTP); ok {
		t.Fatalf("the deleted partition's checkpoint %d came back", got)
	}
	l, err := m.GetOrCreate(testTP, [16]byte{2}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	model := &clModel{recs: map[int64]clRec{}}
	model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{"K"}, []string{"old"})
	model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{"K"}, []string{""})
	for i := 0; l.EndOffset() < cp+20; i++ {
		model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{fmt.Sprintf("x%d", i)}, []string{"v"})
	}
	sealActive(t, l)
	if _, err := m.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	passHorizon(t, m, l, model, clock, cfg) // the tombstone goes
	for _, r := range readRecords(t, l) {
		if r.key == "K" {
			t.Fatalf("deleted key K read after cleaning: %+v", r)
		}
	}
}

// TestCleanerTruncationLowersCheckpoint truncates a cleaned log below its
// checkpoint and appends again: the new records are indexed.
func TestCleanerTruncationLowersCheckpoint(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	m := newCleanerManager(t, vfs.NewMem(), clock, 1<<20)
	defer m.Close()
	cfg := compactCfg(1024)
	l, _ := cleanedLog(t, m, clock, cfg, 2)
	if _, err := m.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	cp, _ := m.CleanerCheckpoint(testTP)
	cut := cp / 2
	if err := l.TruncateTo(cut); err != nil {
		t.Fatal(err)
	}
	model := &clModel{recs: map[int64]clRec{}}
	for _, r := range readRecords(t, l) {
		model.recs[r.offset] = r
	}
	for i := 0; l.EndOffset() < cp+40; i++ {
		model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{fmt.Sprintf("k%d", i%5)}, []string{fmt.Sprintf("n%d", i)})
	}
	sealActive(t, l)
	if _, err := m.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	end, _ := m.CleanerCheckpoint(testTP)
	sameRecords(t, readRecords(t, l), model.expected(0, end, keptTombstones))
}

// TestCleanerChecksCRCBeforeRewriting flips a byte of a key in a later
// segment (bit rot below the recovery point goes unnoticed on open): the
// pass must fail before it rewrites anything, not after dropping the good
// record that the corrupt key appeared to supersede.
func TestCleanerChecksCRCBeforeRewriting(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	fsys := vfs.NewMem()
	m := newCleanerManager(t, fsys, clock, 1<<20)
	defer m.Close()
	l, err := m.GetOrCreate(testTP, [16]byte{2}, compactCfg(1024))
	if err != nil {
		t.Fatal(err)
	}
	model := &clModel{recs: map[int64]clRec{}}
	model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{"KA"}, []string{"keep"})
	for i := range 60 {
		model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{fmt.Sprintf("x%02d", i)}, []string{strings.Repeat("v", 26)})
	}
	model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{"KB"}, []string{"other"})
	sealActive(t, l)
	segs := l.segments()
	s := segs[len(segs)-2]
	f, err := fsys.OpenReadWrite(s.path(logSuffix))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, s.size.Load())
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	at := strings.Index(string(buf), "KB")
	if at < 0 {
		t.Fatal("key KB not found")
	}
	if _, err := f.WriteAt([]byte("KA"), int64(at)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := m.Clean(context.Background()); err == nil {
		t.Fatal("a pass over a corrupt batch succeeded")
	}
	if st := m.CleanerStats(); st.SegmentsCleaned != 0 || st.Failed != 1 || st.Uncleanable != 1 {
		t.Fatalf("stats %+v", st)
	}
	var recs record.Records
	defer recs.Close()
	if err := recs.Reset(readBytes(t, l, 0, 1), record.Options{}); err != nil || !recs.Next() ||
		string(recs.Record().Key) != "KA" || string(recs.Record().Value) != "keep" {
		t.Fatalf("the first record is not KA=keep any more (%v)", err)
	}
}

// TestCleanerSecondPassCrash cleans a log, then again once the horizon
// of the tombstones it kept has passed, this pass ending each group early
// (the tombstones go) while the earlier passes' .deleted files still wait
// for their delay, and cuts the power at every step of that pass: every
// key's latest record survives.
func TestCleanerSecondPassCrash(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
		fsys := vfs.NewMem()
		m := newCleanerManager(t, fsys, clock, 1<<20)
		cfg := compactCfg(1 << 20)
		cfg.FileDeleteDelay = time.Hour
		l, model := cleanedLog(t, m, clock, cfg, seed)
		if _, err := m.Clean(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"z", ""} {
			for i := range 12 {
				model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{fmt.Sprintf("k%d", i)}, []string{v})
			}
			if err := l.Roll(); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Clean(context.Background()); err != nil { // the new tombstones get their horizon
			t.Fatal(err)
		}
		clock.advance(3 * time.Hour)
		model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{"late"}, []string{"x"})
		sealActive(t, l)
		w, _ := m.cleaner.work()
		var crashes []*vfs.MemFS
		w.hook = func(string) {
			crashes = append(crashes, fsys.CrashCloneStrict())
			for i := range 4 {
				rng := rand.New(rand.NewPCG(uint64(len(crashes)), uint64(i)))
				crashes = append(crashes, fsys.CrashCloneWith(vfs.CrashOptions{Rand: rng, DirOps: true}))
			}
		}
		m.cleaner.works <- w
		if _, err := m.Clean(context.Background()); err != nil {
			t.Fatal(err)
		}
		cp, _ := m.CleanerCheckpoint(testTP)
		want := model.expected(0, cp, goneTombstones)
		sameRecords(t, readRecords(t, l), want)
		m.Close()
		lastWant := map[string]clRec{}
		for _, r := range want {
			lastWant[r.key] = r
		}
		for i, c := range crashes {
			m2 := newCleanerManager(t, c, clock, 1<<20)
			l2, err := m2.GetOrCreate(testTP, [16]byte{1}, cfg)
			if err != nil {
				t.Fatalf("seed %d, crash %d: open: %v", seed, i, err)
			}
			lastGot := map[string]clRec{}
			for _, r := range readRecords(t, l2) {
				lastGot[r.key] = r
			}
			for k, r := range lastWant {
				if g := lastGot[k]; g.offset != r.offset {
					t.Fatalf("seed %d, crash %d: key %s's last record %+v, want %+v", seed, i, k, g, r)
				}
			}
			for k, g := range lastGot {
				if _, ok := lastWant[k]; !ok && !g.null {
					t.Fatalf("seed %d, crash %d: deleted key %s came back: %+v", seed, i, k, g)
				}
			}
			m2.Close()
		}
	}
}

// TestCleanerReapDuringSwap reaps deleted files at the moment a swap
// renames the replaced segments: no .deleted file may be left behind.
func TestCleanerReapDuringSwap(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	fsys := vfs.NewMem()
	m := newCleanerManager(t, fsys, clock, 1<<20)
	defer m.Close()
	l, _ := cleanedLog(t, m, clock, compactCfg(1024), 1) // file.delete.delay.ms 0
	w, _ := m.cleaner.work()
	w.hook = func(step string) {
		if step == "renaming old to deleted" || step == "syncing deleted" {
			if err := l.ReapDeleted(); err != nil {
				t.Error(err)
			}
		}
	}
	m.cleaner.works <- w
	if _, err := m.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.ReapDeleted(); err != nil {
		t.Fatal(err)
	}
	entries, _ := fsys.ReadDir("/data/t-0")
	for _, e := range entries {
		if strings.HasSuffix(e.Name, deletedSuffix) {
			t.Fatalf("%s left behind", e.Name)
		}
	}
}

// TestCleanerTombstoneHorizon writes a tombstone whose timestamp is long
// past delete.retention.ms: the first pass keeps it and gives its batch a
// delete horizon of that pass's time plus delete.retention.ms, and it
// goes at the first pass at or after the horizon, so that a consumer that
// reads the log within delete.retention.ms of the cleaning still sees the
// deletion.
func TestCleanerTombstoneHorizon(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	m := newCleanerManager(t, vfs.NewMem(), clock, 1<<20)
	defer m.Close()
	cfg := compactCfg(1024)
	l, err := m.GetOrCreate(testTP, [16]byte{1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	model := &clModel{recs: map[int64]clRec{}}
	model.appendKeyed(t, l, record.CodecNone, 1000, []string{"a"}, []string{"1"})
	model.appendKeyed(t, l, record.CodecLZ4, 2000, []string{"b", "a"}, []string{"2", ""})
	sealActive(t, l)
	ctx := context.Background()
	if _, err := m.Clean(ctx); err != nil {
		t.Fatal(err)
	}
	first := clock.now().UnixMilli()

	tombstone := func() (clRec, record.BatchHeader, bool) {
		t.Helper()
		var recs record.Records
		defer recs.Close()
		it := record.NewBatches(readBytes(t, l, 2, 1<<20))
		for it.Next() {
			if err := recs.Reset(it.Batch(), record.Options{}); err != nil {
				t.Fatal(err)
			}
			for recs.Next() {
				if recs.Offset() == 2 {
					r := recs.Record()
					return clRec{offset: 2, key: string(r.Key), null: r.Value == nil, maxTs: recs.Timestamp()}, it.Header(), true
				}
			}
		}
		return clRec{}, record.BatchHeader{}, false
	}
	r, h, ok := tombstone()
	if !ok || r.key != "a" || !r.null || r.maxTs != 2000 {
		t.Fatalf("after the first pass: tombstone %+v (present %v)", r, ok)
	}
	if !h.Attributes.HasDeleteHorizon() || h.BaseTimestamp != first+cfg.DeleteRetention.Milliseconds() || h.Attributes.Codec() != record.CodecLZ4 {
		t.Fatalf("after the first pass: batch header %+v, want the delete horizon %d", h, first+cfg.DeleteRetention.Milliseconds())
	}
	for _, rec := range readRecords(t, l) {
		if rec.key == "a" && !rec.null {
			t.Fatalf("a's value outlived its tombstone: %+v", rec)
		}
	}

	// A millisecond before the horizon it is still there; at it, it goes.
	clock.advance(-time.Millisecond)
	passHorizon(t, m, l, model, clock, cfg)
	if _, _, ok := tombstone(); !ok {
		t.Fatal("the tombstone went before its horizon")
	}
	clock.advance(time.Millisecond)
	model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{"filler"}, []string{"y"})
	sealActive(t, l)
	if _, err := m.Clean(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _, ok := tombstone(); ok {
		t.Fatalf("the tombstone outlived its horizon: %+v", r)
	}
	for _, rec := range readRecords(t, l) {
		if rec.key == "a" {
			t.Fatalf("key a read after its tombstone went: %+v", rec)
		}
	}
}

// TestCleanerMaxTimestampOfEmptiedBatch: when the batch with the log's
// largest timestamp is a producer's last and compaction empties it, the
// record-less batch keeps that timestamp (for retention), but no record
// has it: the largest-timestamp lookup answers the record with the
// largest timestamp still there, not nothing.
func TestCleanerMaxTimestampOfEmptiedBatch(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	m := newCleanerManager(t, vfs.NewMem(), clock, 1<<20)
	defer m.Close()
	l, err := m.GetOrCreate(testTP, [16]byte{1}, compactCfg(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	now := clock.now().UnixMilli()
	b := record.NewBuilder(record.CodecNone)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence = 7, 0, 0
	b.BaseTimestamp = now + 5000 // the largest timestamp the log gets
	b.Append(0, 0, []byte("a"), []byte("old"))
	b.Append(1, 0, []byte("b"), []byte("old"))
	data, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(data, AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	model := &clModel{recs: map[int64]clRec{}}
	model.appendKeyed(t, l, record.CodecNone, now, []string{"a", "b", "c"}, []string{"1", "2", "3"})
	model.appendKeyed(t, l, record.CodecNone, now+1000, []string{"c"}, []string{"4"})
	if got, ok, err := l.MaxTimestamp(); err != nil || !ok || got != (TimestampOffset{Offset: 0, Timestamp: now + 5000}) {
		t.Fatalf("before cleaning: MaxTimestamp() = %+v, %t, %v", got, ok, err)
	}
	sealActive(t, l)
	if _, err := m.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := l.Read(0, 1<<20, l.EndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := res.Bytes()
	res.Release()
	if h, err := record.ParseHeader(first); err != nil || h.NumRecords != 0 || h.MaxTimestamp != now+5000 {
		t.Fatalf("first batch after cleaning %+v (%v), want producer 7's, emptied, at its max timestamp", h, err)
	}
	if got, ok, err := l.MaxTimestamp(); err != nil || !ok || got != (TimestampOffset{Offset: 5, Timestamp: now + 1000}) {
		t.Fatalf("after cleaning: MaxTimestamp() = %+v, %t, %v; want offset 5 at %d", got, ok, err, now+1000)
	}
}
