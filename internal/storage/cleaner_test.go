package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
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

// readRecords reads every record of l from its start, checking that
// offsets increase.
func readRecords(t testing.TB, l *Log) []clRec {
	t.Helper()
	var out []clRec
	next := l.StartOffset()
	var recs record.Records
	defer recs.Close()
	for next < l.EndOffset() {
		res, err := l.Read(next, 64<<10, l.EndOffset(), true)
		if err != nil {
			t.Fatalf("read at %d: %v", next, err)
		}
		data, err := res.Bytes()
		res.Release()
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 {
			t.Fatalf("empty read at %d below end %d", next, l.EndOffset())
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
// offset below cleanedTo was cleaned by passes the last of which ran with
// the tombstone horizon horizonMs: at and above cleanedTo everything; below
// it, each key's last record below cleanedTo, except tombstones whose batch
// is older than the horizon.
func (m *clModel) expected(start, cleanedTo, horizonMs int64) []clRec {
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
		if off >= cleanedTo || (lastBelow[r.key] == off && !(r.null && r.maxTs < horizonMs)) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b clRec) int { return int(a.offset - b.offset) })
	return out
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
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	passes, err := m.Clean(ctx)
	if err != nil {
		t.Fatalf("clean: %v", err)
	}
	cp, ok := m.CleanerCheckpoint(testTP)
	if !ok || cp != l.active().base {
		t.Fatalf("cleaned to %d (%v), want the active segment's base %d; %d passes", cp, ok, l.active().base, passes)
	}
	horizon := clock.now().UnixMilli() - cfg.DeleteRetention.Milliseconds()
	want := model.expected(l.StartOffset(), cp, horizon)
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
