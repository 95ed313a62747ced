package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// clRec is one record as the cleaner tests write and read it.
type clRec struct {
	offset int64
	key    string
	value  string
	null   bool  // a tombstone
	maxTs  int64 // its batch's max timestamp
}

// clModel is what a cleaner test wrote, by offset.
type clModel struct {
	recs map[int64]clRec
}

// compactCfg is a compacted log's configuration with small segments.
func compactCfg(segBytes int64) Config {
	cfg := DefaultConfig()
	cfg.Compact, cfg.Delete = true, false
	cfg.SegmentBytes = segBytes
	cfg.IndexIntervalBytes = 256
	cfg.MinCleanableRatio = 0
	cfg.DeleteRetention = time.Hour
	cfg.FileDeleteDelay = 0
	return cfg
}

// appendKeyed appends one batch of keyed records (value "" is a
// tombstone) at timestamp ts and records them in the model.
func (m *clModel) appendKeyed(t testing.TB, l *Log, codec record.Codec, ts int64, keys, values []string) {
	t.Helper()
	b := record.NewBuilder(codec)
	b.BaseTimestamp = ts
	for i, k := range keys {
		var v []byte
		if values[i] != "" {
			v = []byte(values[i])
		}
		b.Append(int32(i), 0, []byte(k), v)
	}
	data, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Append(data, AppendOptions{})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	for i, k := range keys {
		off := res.FirstOffset + int64(i)
		m.recs[off] = clRec{offset: off, key: k, value: values[i], null: values[i] == "", maxTs: ts}
	}
}

// sealActive rolls l's active segment and syncs it, so that everything
// written so far may be cleaned.
func sealActive(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
}

// readRecords reads every record of l from its start, checking that
// offsets increase.
func readRecords(t testing.TB, l *Log) []clRec {
	t.Helper()
	var out []clRec
	next := l.StartOffset()
	var recs record.Records
	defer recs.Close()
	for next < l.EndOffset() {
		end := l.EndOffset()
		res, err := l.Read(next, 64<<10, end, true)
		if err != nil {
			t.Fatalf("read at %d: %v", next, err)
		}
		data, err := res.Bytes()
		res.Release()
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 {
			// Nothing is left in [next, end): the cleaner removed it
			// since end was read (only then is a read below the end
			// empty).
			next = end
			continue
		}
		it := record.NewBatches(data)
		for it.Next() {
			if err := record.CheckCRC(it.Batch()); err != nil {
				t.Fatalf("batch at %d: %v", it.Header().BaseOffset, err)
			}
			h := it.Header()
			if err := recs.Reset(it.Batch(), record.Options{}); err != nil {
				t.Fatal(err)
			}
			for recs.Next() {
				if recs.Offset() < next {
					t.Fatalf("offset %d read after %d", recs.Offset(), next)
				}
				r := recs.Record()
				out = append(out, clRec{offset: recs.Offset(), key: string(r.Key), value: string(r.Value), null: r.Value == nil, maxTs: h.MaxTimestamp})
				next = recs.Offset() + 1
			}
			if err := recs.Err(); err != nil {
				t.Fatal(err)
			}
			next = max(next, h.LastOffset()+1)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// expected returns the records a compacted log must hold once every
// offset below cleanedTo was cleaned: at and above cleanedTo everything;
// below it, each key's last record below cleanedTo, except the tombstones
// gone says went (their delete horizon passed).
func (m *clModel) expected(start, cleanedTo int64, gone func(clRec) bool) []clRec {
	lastBelow := map[string]int64{}
	for off, r := range m.recs {
		if cur, ok := lastBelow[r.key]; off < cleanedTo && off >= start && (!ok || off > cur) {
			lastBelow[r.key] = off
		}
	}
	var out []clRec
	for off, r := range m.recs {
		if off < start {
			continue
		}
		if off >= cleanedTo || (lastBelow[r.key] == off && !(r.null && gone(r))) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b clRec) int { return int(a.offset - b.offset) })
	return out
}

// keptTombstones and goneTombstones, as expected's gone: every tombstone
// is still there, or none is.
func keptTombstones(clRec) bool { return false }
func goneTombstones(clRec) bool { return true }

// tombstonesWentOnTime checks records read from a cleaned log against
// most, the records it holds if no tombstone went: got must be most less
// some tombstones, each of which mayGo allows.
func tombstonesWentOnTime(t testing.TB, got, most []clRec, mayGo func(clRec) bool) {
	t.Helper()
	if !isSubset(got, most) {
		t.Fatalf("read %d records, not all of the %d expected\ngot  %v\nwant %v", len(got), len(most), head(got), head(most))
	}
	in := map[int64]bool{}
	for _, r := range got {
		in[r.offset] = true
	}
	for _, r := range most {
		if !in[r.offset] && !(r.null && mayGo(r)) {
			t.Fatalf("record %+v is missing", r)
		}
	}
}

// passHorizon appends a record, so that there is something to clean,
// and cleans l once every delete horizon set so far has passed: the
// tombstones those passes kept go.
func passHorizon(t testing.TB, m *Manager, l *Log, model *clModel, clock *testClock, cfg Config) {
	t.Helper()
	clock.advance(cfg.DeleteRetention)
	model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{"filler"}, []string{"x"})
	sealActive(t, l)
	if _, err := m.Clean(context.Background()); err != nil {
		t.Fatalf("clean: %v", err)
	}
}

func sameRecords(t testing.TB, got, want []clRec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d\ngot  %v\nwant %v", len(got), len(want), head(got), head(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.offset != w.offset || g.key != w.key || g.value != w.value || g.null != w.null {
			t.Fatalf("record %d: got %+v, want %+v", i, g, w)
		}
	}
}

func head(r []clRec) []clRec { return r[:min(len(r), 12)] }

// newCleanerManager opens a manager over fsys with its background
// cleaner off (tests run passes with Clean).
func newCleanerManager(t testing.TB, fsys vfs.FS, clock *testClock, mapBytes int64) *Manager {
	t.Helper()
	m, err := OpenManager(ManagerOptions{FS: fsys, Dir: "/data", ClusterID: "c", NodeID: 1, Now: clock.now,
		Cleaner: CleanerOptions{Disabled: true, DedupeBufferSize: mapBytes, IOBufferSize: 1 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCleanerOracle writes random keyed batches, tombstones included,
// with cleaning passes in between, and checks what a read returns
// against the model after the final passes: with a map large enough for
// one pass, and with a map of a few keys, which takes many.
func TestCleanerOracle(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mapBytes int64
	}{{"one pass", 1 << 20}, {"tiny map", 8 * offsetSlotSize}} {
		for seed := range uint64(12) {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				cleanerScenario(t, seed, tc.mapBytes)
			})
		}
	}
}

func cleanerScenario(t *testing.T, seed uint64, mapBytes int64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	fsys := vfs.NewMem()
	m := newCleanerManager(t, fsys, clock, mapBytes)
	defer func() { m.Close() }()
	cfg := compactCfg(int64(512 + rng.IntN(2048)))
	l, err := m.GetOrCreate(testTP, [16]byte{1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	model := &clModel{recs: map[int64]clRec{}}
	codecs := []record.Codec{record.CodecNone, record.CodecLZ4, record.CodecZstd}
	nkeys := 2 + rng.IntN(40)
	ctx := context.Background()
	for step := range 150 {
		n := 1 + rng.IntN(6)
		keys, vals := make([]string, n), make([]string, n)
		for i := range n {
			keys[i] = fmt.Sprintf("k%d", rng.IntN(nkeys))
			if rng.IntN(8) > 0 {
				vals[i] = fmt.Sprintf("v%d-%d", step, i)
			}
		}
		model.appendKeyed(t, l, codecs[rng.IntN(len(codecs))], clock.now().UnixMilli(), keys, vals)
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		clock.advance(time.Duration(rng.IntN(120)) * time.Second)
		if rng.IntN(20) == 0 {
			if _, err := m.Clean(ctx); err != nil {
				t.Fatalf("clean: %v", err)
			}
		}
	}
	sealActive(t, l)
	passes, err := m.Clean(ctx)
	if err != nil {
		t.Fatalf("clean: %v", err)
	}
	cp, ok := m.CleanerCheckpoint(testTP)
	if !ok || cp != l.active().base {
		t.Fatalf("cleaned to %d (%v), want the active segment's base %d; %d passes", cp, ok, l.active().base, passes)
	}
	// A tombstone goes no sooner than delete.retention.ms after the first
	// pass that cleaned it, which came after it was written: which ones
	// went depends on when the passes ran.
	now, retention := clock.now().UnixMilli(), cfg.DeleteRetention.Milliseconds()
	tombstonesWentOnTime(t, readRecords(t, l), model.expected(l.StartOffset(), cp, keptTombstones),
		func(r clRec) bool { return r.maxTs+retention <= now })
	// Once every horizon has passed, a pass removes every tombstone.
	passHorizon(t, m, l, model, clock, cfg)
	if cp, ok = m.CleanerCheckpoint(testTP); !ok || cp != l.active().base {
		t.Fatalf("cleaned to %d (%v), want the active segment's base %d", cp, ok, l.active().base)
	}
	want := model.expected(l.StartOffset(), cp, goneTombstones)
	sameRecords(t, readRecords(t, l), want)
	st := m.CleanerStats()
	if st.RecordsRemoved == 0 || st.Failed != 0 || st.Aborted != 0 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d records written, %d kept; %d passes at the end, %+v", len(model.recs), len(want), passes, st)

	// The cleaned log reopens the same, from a clean shutdown and, with
	// its files as they are, from a crash.
	crashed := fsys.CrashCloneStrict()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []vfs.FS{fsys, crashed} {
		m2 := newCleanerManager(t, f, clock, mapBytes)
		l2, err := m2.GetOrCreate(testTP, [16]byte{1}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		sameRecords(t, readRecords(t, l2), want)
		if got, ok := m2.CleanerCheckpoint(testTP); !ok || got != cp {
			t.Fatalf("checkpoint after reopening %d %v, want %d", got, ok, cp)
		}
		m2.Close()
	}
	m = newCleanerManager(t, vfs.NewMem(), clock, mapBytes) // for the deferred Close
}

// cleanedLog builds a compacted log in fsys with several segments of
// overwritten keys, ready to be cleaned, and returns its model.
func cleanedLog(t *testing.T, m *Manager, clock *testClock, cfg Config, seed uint64) (*Log, *clModel) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	l, err := m.GetOrCreate(testTP, [16]byte{1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	model := &clModel{recs: map[int64]clRec{}}
	for step := range 80 {
		n := 1 + rng.IntN(5)
		keys, vals := make([]string, n), make([]string, n)
		for i := range n {
			keys[i] = fmt.Sprintf("k%d", rng.IntN(12))
			if rng.IntN(6) > 0 {
				vals[i] = fmt.Sprintf("v%d-%d", step, i)
			}
		}
		model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), keys, vals)
	}
	sealActive(t, l)
	return l, model
}

// TestCleanerCrashDuringSwap cuts the power at every step of every
// segment swap of a cleaning pass — with the directories' un-synced
// changes dropped, or a random prefix of them kept — and checks that the
// recovered log holds every record the cleaned log holds (no key loses
// its latest value), nothing that was never written, no leftover files,
// and that cleaning it again gives the cleaned log.
func TestCleanerCrashDuringSwap(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	fsys := vfs.NewMem()
	m := newCleanerManager(t, fsys, clock, 1<<20)
	cfg := compactCfg(1024)
	l, model := cleanedLog(t, m, clock, cfg, 1)
	all := model.expected(0, 0, keptTombstones)
	w, _ := m.cleaner.work()
	type crash struct {
		step string
		fs   *vfs.MemFS
	}
	var crashes []crash
	steps := map[string]bool{}
	w.hook = func(step string) {
		steps[step] = true
		crashes = append(crashes, crash{step, fsys.CrashCloneStrict()})
		for i := range 3 {
			rng := rand.New(rand.NewPCG(uint64(len(crashes)), uint64(i)))
			crashes = append(crashes, crash{step + " (directory changes partly kept)", fsys.CrashCloneWith(vfs.CrashOptions{Rand: rng, DirOps: true})})
		}
	}
	m.cleaner.works <- w
	if _, err := m.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	cp, _ := m.CleanerCheckpoint(testTP)
	want := model.expected(0, cp, keptTombstones) // their first pass keeps them
	sameRecords(t, readRecords(t, l), want)
	if len(steps) != 8 || l.NumSegments() < 3 {
		t.Fatalf("steps %v, %d segments", steps, l.NumSegments())
	}
	m.Close()

	swaps, cleaned := 0, 0
	for i, c := range crashes {
		before, _ := c.fs.ReadDir("/data/t-0")
		for _, e := range before {
			if _, suffix, ok := parseSegmentName(e.Name); ok {
				switch suffix {
				case logSuffix + swapSuffix:
					swaps++
				case logSuffix + cleanedSuffix:
					cleaned++
				}
			}
		}
		m2 := newCleanerManager(t, c.fs, clock, 1<<20)
		l2, err := m2.GetOrCreate(testTP, [16]byte{1}, cfg)
		if err != nil {
			t.Fatalf("crash %d at %q: open: %v", i, c.step, err)
		}
		got := readRecords(t, l2)
		if !isSubset(want, got) || !isSubset(got, all) {
			t.Fatalf("crash %d at %q: read %d records, between %d (cleaned) and %d (written) expected\n%v", i, c.step, len(got), len(want), len(all), head(got))
		}
		entries, _ := c.fs.ReadDir("/data/t-0")
		for _, e := range entries {
			if _, suffix, ok := parseSegmentName(e.Name); ok && suffix != logSuffix && suffix != indexSuffix && suffix != timeIndexSuffix && suffix != ".snapshot" {
				t.Fatalf("crash %d at %q: leftover %s", i, c.step, e.Name)
			}
		}
		if _, err := m2.Clean(context.Background()); err != nil {
			t.Fatal(err)
		}
		sameRecords(t, readRecords(t, l2), want)
		m2.Close()
	}
	// Both recoveries were exercised: discarding a cleaned segment not
	// yet committed, and completing a committed swap.
	if swaps == 0 || cleaned == 0 {
		t.Fatalf("crash images with a .log.swap: %d, with a .log.cleaned: %d", swaps, cleaned)
	}
	t.Logf("%d crash images; %d with a committed swap, %d with an uncommitted cleaned segment", len(crashes), swaps, cleaned)
}

// isSubset reports whether every record of a (sorted by offset) is in b.
func isSubset(a, b []clRec) bool {
	in := map[int64]clRec{}
	for _, r := range b {
		in[r.offset] = r
	}
	for _, r := range a {
		if got, ok := in[r.offset]; !ok || got != r {
			return false
		}
	}
	return true
}

// TestCleanerConsistentReads reads the log from its start over and over
// while a writer appends and syncs and the cleaner runs passes: every
// scan must see, for every key written before it began, that key's
// latest record of that moment or a later one, and only records that were
// written.
func TestCleanerConsistentReads(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	fsys := vfs.NewMem()
	m := newCleanerManager(t, fsys, clock, 1<<20)
	defer m.Close()
	cfg := compactCfg(1024)
	l, model := cleanedLog(t, m, clock, cfg, 3)
	var mu sync.Mutex // guards model and latest
	latest := map[string]int64{}
	for off, r := range model.recs {
		latest[r.key] = max(latest[r.key], off)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	defer func() { cancel(); wg.Wait() }() // on failure too: the writer must stop before the log closes
	wg.Add(2)
	go func() { // writer
		defer wg.Done()
		rng := rand.New(rand.NewPCG(5, 5))
		for step := 0; ctx.Err() == nil; step++ {
			mu.Lock()
			k := fmt.Sprintf("k%d", rng.IntN(12))
			model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{k}, []string{fmt.Sprintf("w%d", step)})
			latest[k] = l.EndOffset() - 1
			mu.Unlock()
			if err := l.Sync(); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() { // cleaner
		defer wg.Done()
		for ctx.Err() == nil {
			if _, err := m.Clean(ctx); err != nil && ctx.Err() == nil {
				errs <- err
				return
			}
		}
	}()
	scans := 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) || scans < 20; scans++ {
		mu.Lock()
		start := maps.Clone(latest)
		mu.Unlock()
		got := readRecords(t, l)
		seen := map[string]int64{}
		for _, r := range got {
			seen[r.key] = r.offset
		}
		mu.Lock()
		for _, r := range got {
			if w, ok := model.recs[r.offset]; !ok || w.key != r.key || w.value != r.value {
				mu.Unlock()
				t.Fatalf("scan %d read %+v, written %+v", scans, r, w)
			}
		}
		mu.Unlock()
		for k, off := range start {
			if s, ok := seen[k]; !ok || s < off {
				t.Fatalf("scan %d: key %s's latest record at %d when the scan began; the scan's last is at %d (%v)", scans, k, off, s, ok)
			}
		}
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := m.CleanerStats()
	if st.Passes < 5 || st.SegmentsCleaned == 0 {
		t.Fatalf("the cleaner ran %+v during %d scans", st, scans)
	}
	t.Logf("%d scans, cleaner %+v", scans, st)
}

// TestCleanerKeepsProducerState cleans away every record of an idempotent
// producer's batches and checks that its last batch stays (empty), so
// that after a restart — with the producer state rebuilt from the log —
// a retry of that batch is still recognised and the next sequence is
// still the one expected.
func TestCleanerKeepsProducerState(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	fsys := vfs.NewMem()
	m := newCleanerManager(t, fsys, clock, 1<<20)
	cfg := compactCfg(1 << 20)
	l, err := m.GetOrCreate(testTP, [16]byte{1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	idem := func(seq int32, keys ...string) []byte {
		b := record.NewBuilder(record.CodecNone)
		b.ProducerID, b.ProducerEpoch, b.BaseSequence = 7, 0, seq
		b.BaseTimestamp = clock.now().UnixMilli()
		for i, k := range keys {
			b.Append(int32(i), 0, []byte(k), []byte("p"))
		}
		out, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if _, err := l.Append(idem(0, "a", "b"), AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	last, err := l.Append(idem(2, "c", "d"), AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	model := &clModel{recs: map[int64]clRec{}}
	model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{"a", "b", "c", "d"}, []string{"1", "2", "3", "4"})
	sealActive(t, l)
	if _, err := m.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, l)
	if len(recs) != 4 || recs[0].offset != 4 {
		t.Fatalf("after cleaning: %v", recs)
	}
	// The producer's first batch is gone, its last kept with no records.
	res, err := l.Read(0, 1<<20, l.EndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := res.Bytes()
	res.Release()
	hdr, err := record.ParseHeader(data)
	if err != nil || hdr.BaseOffset != last.FirstOffset || hdr.NumRecords != 0 || hdr.ProducerID != 7 || hdr.BaseSequence != 2 {
		t.Fatalf("first batch %+v (%v), want producer 7's last batch at %d, empty", hdr, err, last.FirstOffset)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopen from the log alone: no producer snapshot.
	entries, _ := fsys.ReadDir("/data/t-0")
	for _, e := range entries {
		if _, suffix, ok := parseSegmentName(e.Name); ok && suffix == ".snapshot" {
			if err := fsys.Remove("/data/t-0/" + e.Name); err != nil {
				t.Fatal(err)
			}
		}
	}
	m = newCleanerManager(t, fsys, clock, 1<<20)
	defer m.Close()
	l, err = m.GetOrCreate(testTP, [16]byte{1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	retry, err := l.Append(idem(2, "c", "d"), AppendOptions{})
	if err != nil || !retry.Duplicate || retry.FirstOffset != last.FirstOffset {
		t.Fatalf("retry of the last batch: %+v %v, want a duplicate at %d", retry, err, last.FirstOffset)
	}
	if _, err := l.Append(idem(5, "e"), AppendOptions{}); err == nil {
		t.Fatal("a sequence gap was accepted")
	}
	if res, err := l.Append(idem(4, "e"), AppendOptions{}); err != nil || res.Duplicate {
		t.Fatalf("next sequence: %+v %v", res, err)
	}
}

// TestPlanClean checks the choice of what a pass may clean.
func TestPlanClean(t *testing.T) {
	cfg := compactCfg(1 << 20)
	segs := []segStat{
		{base: 0, next: 100, size: 1000, maxTs: 1000, firstTs: 500},
		{base: 100, next: 200, size: 1000, maxTs: 2000, firstTs: 1500},
		{base: 200, next: 300, size: 2000, maxTs: 3000, firstTs: 2500},
		{base: 300, next: 350, size: 500, maxTs: 3500, firstTs: 3100}, // active
	}
	for _, tc := range []struct {
		name                        string
		checkpoint, bound, rp       int64
		edit                        func(*Config)
		now                         int64
		firstDirty, upper, clean, d int64
		overdue                     bool
	}{
		{name: "no checkpoint", checkpoint: -1, bound: 350, rp: 300, now: 4000, firstDirty: 0, upper: 300, clean: 0, d: 4000},
		{name: "checkpoint", checkpoint: 200, bound: 350, rp: 300, now: 4000, firstDirty: 200, upper: 300, clean: 2000, d: 2000},
		{name: "checkpoint past the end", checkpoint: 900, bound: 350, rp: 300, now: 4000, firstDirty: 0, upper: 300, d: 4000},
		{name: "high watermark", checkpoint: 100, bound: 150, rp: 300, now: 4000, firstDirty: 100, upper: 100, clean: 1000},
		{name: "recovery point", checkpoint: -1, bound: 350, rp: 200, now: 4000, firstDirty: 0, upper: 200, d: 2000},
		{name: "min lag", checkpoint: -1, bound: 350, rp: 300, now: 4000, edit: func(c *Config) { c.MinCompactionLag = 2500 * time.Millisecond },
			firstDirty: 0, upper: 100, d: 1000},
		{name: "max lag", checkpoint: 100, bound: 350, rp: 300, now: 4000, edit: func(c *Config) { c.MaxCompactionLag = 2 * time.Second },
			firstDirty: 100, upper: 300, clean: 1000, d: 3000, overdue: true},
		{name: "max lag not reached", checkpoint: 100, bound: 350, rp: 300, now: 4000, edit: func(c *Config) { c.MaxCompactionLag = 3 * time.Second },
			firstDirty: 100, upper: 300, clean: 1000, d: 3000},
	} {
		c := cfg
		if tc.edit != nil {
			tc.edit(&c)
		}
		st := planClean(segs, 0, 350, tc.checkpoint, tc.bound, tc.rp, &c, tc.now)
		if st.firstDirty != tc.firstDirty || st.upper != tc.upper || st.cleanBytes != tc.clean || st.dirtyBytes != tc.d || st.overdue != tc.overdue {
			t.Errorf("%s: %+v", tc.name, st)
		}
		if tc.d > 0 && st.ratio != float64(tc.d)/float64(tc.d+tc.clean) {
			t.Errorf("%s: ratio %v", tc.name, st.ratio)
		}
	}
	st := planClean(segs, 0, 350, 200, 350, 300, &cfg, 4000)
	if cfg.MinCleanableRatio = 0.5; st.eligible(cfg.MinCleanableRatio) {
		t.Errorf("ratio %v is not above 0.5", st.ratio)
	}
	if cfg.MinCleanableRatio = 0.49; !st.eligible(cfg.MinCleanableRatio) {
		t.Errorf("ratio %v is above 0.49", st.ratio)
	}
}

// TestThrottler checks the rate bound with a fake clock.
func TestThrottler(t *testing.T) {
	now := time.Unix(0, 0)
	var slept time.Duration
	th := newThrottler(1000, func() time.Time { return now })
	th.sleep = func(_ context.Context, d time.Duration) error { slept += d; return nil }
	// 600 bytes in 300 ms is 2000 B/s: 300 ms more brings it to 1000.
	now = now.Add(300 * time.Millisecond)
	if err := th.wait(context.Background(), 600); err != nil {
		t.Fatal(err)
	}
	if slept != 300*time.Millisecond {
		t.Fatalf("slept %v, want 300ms", slept)
	}
	// Under the rate: no sleep.
	slept = 0
	now = now.Add(600 * time.Millisecond) // 300 ms after the end of the sleep
	if err := th.wait(context.Background(), 200); err != nil || slept != 0 {
		t.Fatalf("slept %v under the rate (%v)", slept, err)
	}
	// Unbounded: never sleeps.
	th = newThrottler(math.Inf(1), nil)
	th.sleep = func(context.Context, time.Duration) error { t.Fatal("slept without a bound"); return nil }
	th.wait(context.Background(), 1<<40)
}

// TestCleanerAbortsOnTruncation truncates the log in the middle of a
// pass: the pass is given up, its files removed, and the log is intact.
func TestCleanerAbortsOnTruncation(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	fsys := vfs.NewMem()
	m := newCleanerManager(t, fsys, clock, 1<<20)
	defer m.Close()
	cfg := compactCfg(1024)
	l, model := cleanedLog(t, m, clock, cfg, 9)
	cut := l.EndOffset() - 5
	truncated := false
	// Truncate while the cleaner reads: the throttle is the hook into
	// the middle of a pass.
	m.cleaner.throttle.rate = 1
	m.cleaner.throttle.sleep = func(context.Context, time.Duration) error {
		if !truncated {
			truncated = true
			if err := l.TruncateTo(cut); err != nil {
				t.Error(err)
			}
		}
		return nil
	}
	m.cleaner.throttle.periodStart = clock.now().Add(-time.Second)
	if _, err := m.cleaner.cleanOne(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := m.CleanerStats(); !truncated || st.Aborted != 1 || st.Passes != 0 {
		t.Fatalf("truncated %v, stats %+v", truncated, st)
	}
	for off := range model.recs {
		if off >= cut {
			delete(model.recs, off)
		}
	}
	sameRecords(t, readRecords(t, l), model.expected(0, 0, keptTombstones))
	entries, _ := fsys.ReadDir("/data/t-0")
	for _, e := range entries {
		if _, suffix, ok := parseSegmentName(e.Name); ok && (suffix == logSuffix+cleanedSuffix || suffix == logSuffix+swapSuffix) {
			t.Fatalf("leftover %s", e.Name)
		}
	}
}

// TestCleanerSwapDoesNotHoldUpSyncs appends and syncs from inside every
// step of a swap (the hook runs in the cleaner's goroutine, so a lock the
// swap held across its directory syncs would deadlock here).
func TestCleanerSwapDoesNotHoldUpSyncs(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	m := newCleanerManager(t, vfs.NewMem(), clock, 1<<20)
	defer m.Close()
	l, model := cleanedLog(t, m, clock, compactCfg(1024), 4)
	w, _ := m.cleaner.work()
	steps := 0
	w.hook = func(step string) {
		steps++
		model.appendKeyed(t, l, record.CodecNone, clock.now().UnixMilli(), []string{"during"}, []string{step})
		done := make(chan error, 1)
		go func() { done <- l.WaitDurable(context.Background(), l.EndOffset()) }()
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	m.cleaner.works <- w
	if _, err := m.cleaner.cleanOne(context.Background()); err != nil {
		t.Fatal(err)
	}
	if steps < 8 {
		t.Fatalf("%d swap steps", steps)
	}
	got := readRecords(t, l)
	if last := got[len(got)-1]; last.key != "during" || last.value != "done" {
		t.Fatalf("last record %+v", last)
	}
}

// FuzzCompleteSwap opens a partition directory holding two segments and a
// committed swap whose bytes come from the fuzzer (seeded with real
// cleaned segments): opening never panics, and when it succeeds no .swap
// file is left, the log reads to its end, and an append goes through.
func FuzzCompleteSwap(f *testing.F) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	b0 := batch(f, "a", 3, clock.now().UnixMilli())
	f.Add(uint8(0), b0)
	f.Add(uint8(3), b0)
	f.Add(uint8(0), append(append([]byte(nil), b0...), b0[:20]...))
	f.Add(uint8(5), []byte{})
	f.Fuzz(func(t *testing.T, base uint8, swap []byte) {
		if len(swap) > 1<<20 {
			t.Skip()
		}
		fsys := vfs.NewMem()
		l := openTestLog(t, fsys, DefaultConfig(), clock, false, 0)
		for range 2 {
			if _, err := l.Append(batch(t, "v", 3, clock.now().UnixMilli()), AppendOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := l.Roll(); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		name := "/data/t-0/" + segmentName(int64(base%8), logSuffix+swapSuffix)
		if err := writeFile(fsys, name, swap); err != nil {
			t.Fatal(err)
		}
		r, err := Open(OpenOptions{FS: fsys, Dir: "/data/t-0", TP: testTP, Config: DefaultConfig(), Now: clock.now})
		if err != nil {
			return
		}
		defer r.Close()
		entries, _ := fsys.ReadDir("/data/t-0")
		for _, e := range entries {
			if strings.HasSuffix(e.Name, swapSuffix) {
				t.Fatalf("%s left after opening", e.Name)
			}
		}
		for next := r.StartOffset(); next < r.EndOffset(); {
			res, err := r.Read(next, 1<<20, r.EndOffset(), true)
			if err != nil {
				t.Fatalf("read at %d: %v", next, err)
			}
			data, err := res.Bytes()
			res.Release()
			if err != nil || len(data) == 0 {
				break
			}
			it := record.NewBatches(data)
			for it.Next() {
				h := it.Header()
				next = max(next, h.LastOffset()+1)
			}
			if it.Err() != nil {
				break
			}
		}
		if _, err := r.Append(batch(t, "after", 1, clock.now().UnixMilli()), AppendOptions{}); err != nil && !errors.Is(err, ErrStorage) {
			t.Fatalf("append: %v", err)
		}
	})
}
