package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/sluice-mq/sluice/internal/vfs"
	"pgregory.net/rapid"
)

// epochTestCache returns a cache in /p on a fresh MemFS with entries
// assigned in order.
func epochTestCache(t *testing.T, entries ...EpochEntry) (*LeaderEpochCache, *vfs.MemFS) {
	t.Helper()
	fsys := vfs.NewMem()
	if err := fsys.MkdirAll("/p", 0o755); err != nil {
		t.Fatal(err)
	}
	fsys.SyncAll() // the directory itself is durable
	c, err := OpenLeaderEpochCache(fsys, "/p")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := c.Assign(e.Epoch, e.StartOffset); err != nil {
			t.Fatal(err)
		}
	}
	return c, fsys
}

func epochEqual(a, b []EpochEntry) bool {
	return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b))
}

// TestEpochEndOffsetFor covers every branch of Kafka's endOffsetFor, with
// the cases of Kafka's LeaderEpochFileCacheTest.
func TestEpochEndOffsetFor(t *testing.T) {
	three := []EpochEntry{{0, 10}, {2, 13}, {4, 17}}
	cases := []struct {
		name      string
		entries   []EpochEntry
		requested int32
		leo       int64
		epoch     int32
		end       int64
	}{
		{"undefined epoch requested", three, UndefinedEpoch, 30, -1, -1},
		{"empty cache", nil, 7, 0, -1, -1},
		{"empty cache, undefined requested", nil, UndefinedEpoch, 73, -1, -1},
		{"exact match of a middle epoch", three, 2, 30, 2, 17},
		{"exact match of the first epoch", three, 0, 30, 0, 13},
		{"between epochs: floor epoch, next start", three, 1, 30, 0, 13},
		{"between epochs 2 and 4", three, 3, 30, 2, 17},
		{"latest epoch: log end offset", three, 4, 30, 4, 30},
		{"above the latest: undefined", three, 5, 30, -1, -1},
		{"far above the latest", three, 1 << 30, 30, -1, -1},
		{"below the earliest: requested epoch, earliest start", []EpochEntry{{5, 11}, {6, 12}, {7, 13}}, 4, 0, 4, 11},
		{"far below the earliest", []EpochEntry{{5, 11}, {6, 12}}, 0, 99, 0, 11},
		{"single entry, latest requested", []EpochEntry{{2, 6}}, 2, 42, 2, 42},
		{"single entry, above", []EpochEntry{{2, 100}}, 3, 100, -1, -1},
		{"negative epoch other than undefined", three, -5, 30, -5, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			epoch, end := epochEndOffsetFor(tc.entries, tc.requested, tc.leo)
			if epoch != tc.epoch || end != tc.end {
				t.Fatalf("endOffsetFor(%d, %d) over %v = (%d, %d), want (%d, %d)",
					tc.requested, tc.leo, tc.entries, epoch, end, tc.epoch, tc.end)
			}
			c, _ := epochTestCache(t, tc.entries...)
			if epoch, end := c.EndOffsetFor(tc.requested, tc.leo); epoch != tc.epoch || end != tc.end {
				t.Fatalf("cache EndOffsetFor = (%d, %d), want (%d, %d)", epoch, end, tc.epoch, tc.end)
			}
		})
	}
}

func TestEpochAssignRules(t *testing.T) {
	cases := []struct {
		name    string
		start   []EpochEntry
		assign  EpochEntry
		want    []EpochEntry
		changed bool
	}{
		{"first entry", nil, EpochEntry{2, 10}, []EpochEntry{{2, 10}}, true},
		{"newer epoch appended", []EpochEntry{{1, 5}}, EpochEntry{2, 6}, []EpochEntry{{1, 5}, {2, 6}}, true},
		{"same epoch, later offset: ignored", []EpochEntry{{2, 6}}, EpochEntry{2, 7}, []EpochEntry{{2, 6}}, false},
		{"same epoch, same offset: ignored", []EpochEntry{{1, 0}, {2, 6}}, EpochEntry{2, 6}, []EpochEntry{{1, 0}, {2, 6}}, false},
		{"same epoch, earlier offset: moved back", []EpochEntry{{2, 10}}, EpochEntry{2, 9}, []EpochEntry{{2, 9}}, true},
		{"latest re-assigned below a previous start", []EpochEntry{{5, 11}, {6, 12}, {7, 13}}, EpochEntry{7, 12}, []EpochEntry{{5, 11}, {7, 12}}, true},
		{"newer epoch at the same offset replaces", []EpochEntry{{2, 9}}, EpochEntry{3, 9}, []EpochEntry{{3, 9}}, true},
		{"newer epoch at a lower offset replaces", []EpochEntry{{2, 6}}, EpochEntry{3, 5}, []EpochEntry{{3, 5}}, true},
		{"newer epoch below several entries", []EpochEntry{{1, 0}, {2, 6}, {3, 8}}, EpochEntry{4, 7}, []EpochEntry{{1, 0}, {2, 6}, {4, 7}}, true},
		{"older epoch truncates later epochs", []EpochEntry{{1, 5}, {2, 6}}, EpochEntry{1, 7}, []EpochEntry{{1, 7}}, true},
		{"older epoch between", []EpochEntry{{0, 0}, {3, 10}, {5, 20}}, EpochEntry{4, 25}, []EpochEntry{{0, 0}, {3, 10}, {4, 25}}, true},
		{"re-assign an existing older entry", []EpochEntry{{2, 6}, {3, 8}}, EpochEntry{2, 6}, []EpochEntry{{2, 6}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.start)
			got, changed := epochAssign(in, tc.assign)
			if !epochEqual(got, tc.want) || changed != tc.changed {
				t.Fatalf("assign %v to %v = %v (changed %v), want %v (changed %v)", tc.assign, tc.start, got, changed, tc.want, tc.changed)
			}
			if !epochEqual(in, tc.start) {
				t.Fatalf("input modified: %v", in)
			}
			if err := validateEpochEntries(got); err != nil {
				t.Fatal(err)
			}
		})
	}

	c, _ := epochTestCache(t)
	for _, bad := range []EpochEntry{{-1, 0}, {0, -1}} {
		if err := c.Assign(bad.Epoch, bad.StartOffset); err == nil {
			t.Errorf("Assign(%v) succeeded", bad)
		}
	}
	if c.Len() != 0 || c.Dirty() {
		t.Fatalf("invalid assigns changed the cache: %v", c.Entries())
	}
}

func TestEpochTruncateFromEnd(t *testing.T) {
	base := []EpochEntry{{2, 6}, {3, 8}, {4, 11}}
	cases := []struct {
		end     int64
		want    []EpochEntry
		changed bool
	}{
		{8, []EpochEntry{{2, 6}}, true}, // on an epoch boundary: that epoch goes
		{9, []EpochEntry{{2, 6}, {3, 8}}, true},
		{11, []EpochEntry{{2, 6}, {3, 8}}, true},
		{12, base, false},
		{100, base, false},
		{6, nil, true},
		{0, nil, true},
		{UndefinedEpochOffset, base, false}, // undefined: no-op
	}
	for _, tc := range cases {
		got, changed := epochTruncateFromEnd(base, tc.end)
		if !epochEqual(got, tc.want) || changed != tc.changed {
			t.Errorf("truncateFromEnd(%d) = %v (%v), want %v (%v)", tc.end, got, changed, tc.want, tc.changed)
		}
	}
	if got, changed := epochTruncateFromEnd(nil, 7); len(got) != 0 || changed {
		t.Errorf("truncateFromEnd on empty: %v %v", got, changed)
	}
	if !epochEqual(base, []EpochEntry{{2, 6}, {3, 8}, {4, 11}}) {
		t.Fatal("input modified")
	}
}

func TestEpochTruncateFromStart(t *testing.T) {
	base := []EpochEntry{{2, 6}, {3, 8}, {4, 11}}
	cases := []struct {
		start   int64
		want    []EpochEntry
		changed bool
	}{
		{8, []EpochEntry{{3, 8}, {4, 11}}, true},         // exact start retained
		{9, []EpochEntry{{3, 9}, {4, 11}}, true},         // between: moved up
		{1, base, false},                                 // before everything
		{6, base, false},                                 // at the first start
		{11, []EpochEntry{{4, 11}}, true},                // only the latest left
		{15, []EpochEntry{{4, 15}}, true},                // past the latest's start
		{7, []EpochEntry{{2, 7}, {3, 8}, {4, 11}}, true}, // inside the first epoch
		{UndefinedEpochOffset, base, false},              // undefined: no-op
	}
	for _, tc := range cases {
		got, changed := epochTruncateFromStart(base, tc.start)
		if !epochEqual(got, tc.want) || changed != tc.changed {
			t.Errorf("truncateFromStart(%d) = %v (%v), want %v (%v)", tc.start, got, changed, tc.want, tc.changed)
		}
	}
	got, changed := epochTruncateFromStart([]EpochEntry{{0, 0}, {1, 7}, {2, 10}}, 5)
	if !epochEqual(got, []EpochEntry{{0, 5}, {1, 7}, {2, 10}}) || !changed {
		t.Errorf("truncateFromStart(5) = %v", got)
	}
	if got, changed := epochTruncateFromStart(nil, 7); len(got) != 0 || changed {
		t.Errorf("truncateFromStart on empty: %v %v", got, changed)
	}
	if !epochEqual(base, []EpochEntry{{2, 6}, {3, 8}, {4, 11}}) {
		t.Fatal("input modified")
	}
}

func TestEpochForOffset(t *testing.T) {
	entries := []EpochEntry{{2, 6}, {3, 8}, {4, 11}}
	cases := []struct {
		offset int64
		epoch  int32
		ok     bool
	}{{0, -1, false}, {5, -1, false}, {6, 2, true}, {7, 2, true}, {8, 3, true}, {10, 3, true}, {11, 4, true}, {1 << 40, 4, true}}
	for _, tc := range cases {
		if epoch, ok := epochForOffset(entries, tc.offset); epoch != tc.epoch || ok != tc.ok {
			t.Errorf("epochForOffset(%d) = %d %v, want %d %v", tc.offset, epoch, ok, tc.epoch, tc.ok)
		}
	}
	c, _ := epochTestCache(t, entries...)
	if epoch, ok := c.EpochForOffset(9); epoch != 3 || !ok {
		t.Errorf("EpochForOffset(9) = %d %v", epoch, ok)
	}
	if _, ok := epochForOffset(nil, 0); ok {
		t.Error("epochForOffset on empty")
	}
}

// Kafka's scenario of a leader changing many times.
func TestLeaderEpochCacheScenario(t *testing.T) {
	c, _ := epochTestCache(t)
	if _, ok := c.LatestEpoch(); ok {
		t.Fatal("empty cache has a latest epoch")
	}
	steps := []struct {
		epoch  int32
		offset int64
	}{{0, 0}, {1, 0}, {1, 5}, {2, 5}, {2, 10}}
	for _, s := range steps {
		if err := c.Assign(s.epoch, s.offset); err != nil {
			t.Fatal(err)
		}
	}
	want := []EpochEntry{{1, 0}, {2, 5}}
	if got := c.Entries(); !epochEqual(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	if e, ok := c.LatestEpoch(); e != 2 || !ok {
		t.Fatalf("latest %d %v", e, ok)
	}
	if e, ok := c.EarliestEntry(); e != (EpochEntry{1, 0}) || !ok {
		t.Fatalf("earliest %v %v", e, ok)
	}
	if e, o := c.EndOffsetFor(1, 10); e != 1 || o != 5 {
		t.Fatalf("EndOffsetFor(1) = %d %d", e, o)
	}
	if e, o := c.EndOffsetFor(0, 10); e != 0 || o != 0 {
		t.Fatalf("EndOffsetFor(0) = %d %d", e, o)
	}
	if e, o := c.EndOffsetFor(2, 10); e != 2 || o != 10 {
		t.Fatalf("EndOffsetFor(2) = %d %d", e, o)
	}
}

// ---------------------------------------------------------------------------
// Property test against a naive oracle.

// epochOracle is Kafka's TreeMap semantics written as plainly as possible
// over a map: no ordering assumptions, linear scans everywhere.
type epochOracle map[int32]int64

func (o epochOracle) latest() (int32, bool) {
	best, ok := int32(0), false
	for e := range o {
		if !ok || e > best {
			best, ok = e, true
		}
	}
	return best, ok
}

func (o epochOracle) assign(epoch int32, start int64) {
	if l, ok := o.latest(); ok && l == epoch && start >= o[l] {
		return
	}
	for e, s := range o {
		if e >= epoch || s >= start {
			delete(o, e)
		}
	}
	o[epoch] = start
}

func (o epochOracle) truncateFromEnd(end int64) {
	if end < 0 {
		return
	}
	for e, s := range o {
		if s >= end {
			delete(o, e)
		}
	}
}

func (o epochOracle) truncateFromStart(start int64) {
	lastEpoch, found := int32(0), false
	for e, s := range o {
		if s <= start {
			if !found || e > lastEpoch {
				lastEpoch, found = e, true
			}
			delete(o, e)
		}
	}
	if found {
		o[lastEpoch] = start
	}
}

func (o epochOracle) endOffsetFor(req int32, leo int64) (int32, int64) {
	if req == UndefinedEpoch {
		return -1, -1
	}
	if l, ok := o.latest(); ok && l == req {
		return req, leo
	}
	floor, hasFloor := int32(0), false
	higher, hasHigher := int32(0), false
	for e := range o {
		if e <= req && (!hasFloor || e > floor) {
			floor, hasFloor = e, true
		}
		if e > req && (!hasHigher || e < higher) {
			higher, hasHigher = e, true
		}
	}
	switch {
	case !hasHigher:
		return -1, -1
	case !hasFloor:
		return req, o[higher]
	default:
		return floor, o[higher]
	}
}

func (o epochOracle) epochForOffset(off int64) (int32, bool) {
	best, bestStart, ok := int32(-1), int64(-1), false
	for e, s := range o {
		if s <= off && s > bestStart {
			best, bestStart, ok = e, s, true
		}
	}
	return best, ok
}

func (o epochOracle) entries() []EpochEntry {
	var out []EpochEntry
	for e, s := range o {
		out = append(out, EpochEntry{e, s})
	}
	slices.SortFunc(out, func(a, b EpochEntry) int { return int(a.Epoch) - int(b.Epoch) })
	return out
}

func TestLeaderEpochCacheProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fsys := vfs.NewMem()
		c, err := OpenLeaderEpochCache(fsys, "/")
		if err != nil {
			t.Fatal(err)
		}
		oracle := epochOracle{}
		// Small ranges make collisions (equal epochs, equal offsets) likely.
		epochGen := rapid.Int32Range(0, 12)
		offGen := rapid.Int64Range(0, 40)
		check := func(what string) {
			got := c.Entries()
			if want := oracle.entries(); !epochEqual(got, want) {
				t.Fatalf("after %s: cache %v, oracle %v", what, got, want)
			}
			if err := validateEpochEntries(got); err != nil {
				t.Fatalf("after %s: invariant broken: %v (%v)", what, err, got)
			}
			for req := int32(-2); req <= 14; req++ {
				e1, o1 := c.EndOffsetFor(req, 50)
				e2, o2 := oracle.endOffsetFor(req, 50)
				if e1 != e2 || o1 != o2 {
					t.Fatalf("after %s: EndOffsetFor(%d) = (%d, %d), oracle (%d, %d) over %v", what, req, e1, o1, e2, o2, got)
				}
			}
			for off := int64(0); off <= 42; off++ {
				e1, ok1 := c.EpochForOffset(off)
				e2, ok2 := oracle.epochForOffset(off)
				if e1 != e2 || ok1 != ok2 {
					t.Fatalf("after %s: EpochForOffset(%d) = %d %v, oracle %d %v", what, off, e1, ok1, e2, ok2)
				}
			}
			l1, ok1 := c.LatestEpoch()
			l2, ok2 := oracle.latest()
			if l1 != l2 || ok1 != ok2 {
				t.Fatalf("after %s: latest %d %v, oracle %d %v", what, l1, ok1, l2, ok2)
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"assign": func(t *rapid.T) {
				e, o := epochGen.Draw(t, "epoch"), offGen.Draw(t, "offset")
				if err := c.Assign(e, o); err != nil {
					t.Fatal(err)
				}
				oracle.assign(e, o)
				check(fmt.Sprintf("assign(%d, %d)", e, o))
			},
			"truncateFromEnd": func(t *rapid.T) {
				o := rapid.Int64Range(-1, 42).Draw(t, "end")
				if err := c.TruncateFromEnd(o); err != nil {
					t.Fatal(err)
				}
				oracle.truncateFromEnd(o)
				check(fmt.Sprintf("truncateFromEnd(%d)", o))
			},
			"truncateFromStart": func(t *rapid.T) {
				o := rapid.Int64Range(-1, 42).Draw(t, "start")
				if err := c.TruncateFromStart(o); err != nil {
					t.Fatal(err)
				}
				oracle.truncateFromStart(o)
				check(fmt.Sprintf("truncateFromStart(%d)", o))
			},
			"clear": func(t *rapid.T) {
				if rapid.IntRange(0, 9).Draw(t, "clear?") != 0 {
					return
				}
				if err := c.Clear(); err != nil {
					t.Fatal(err)
				}
				clear(oracle)
				check("clear")
			},
			"reload": func(t *rapid.T) {
				// Every change was flushed: a crash and reopen gives the
				// same cache.
				if c.Dirty() {
					t.Fatal("cache dirty after synchronous mutations")
				}
				c2, err := OpenLeaderEpochCache(fsys.CrashCloneStrict(), "/")
				if err != nil {
					t.Fatal(err)
				}
				if !epochEqual(c2.Entries(), c.Entries()) {
					t.Fatalf("reloaded %v, want %v", c2.Entries(), c.Entries())
				}
			},
		})
	})
}

// ---------------------------------------------------------------------------
// Persistence.

func TestLeaderEpochCacheReload(t *testing.T) {
	c, fsys := epochTestCache(t, EpochEntry{0, 0}, EpochEntry{1, 100}, EpochEntry{4, 250})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "0\n3\n0 0\n1 100\n4 250\n"
	if got, _ := ckptReadOpt(t, fsys, "/p/leader-epoch-checkpoint"); string(got) != want {
		t.Fatalf("checkpoint %q, want %q", got, want)
	}
	c2, err := OpenLeaderEpochCache(fsys.CrashCloneStrict(), "/p")
	if err != nil {
		t.Fatal(err)
	}
	if !epochEqual(c2.Entries(), c.Entries()) {
		t.Fatalf("reloaded %v, want %v", c2.Entries(), c.Entries())
	}
	for req := int32(-1); req < 6; req++ {
		e1, o1 := c.EndOffsetFor(req, 300)
		e2, o2 := c2.EndOffsetFor(req, 300)
		if e1 != e2 || o1 != o2 {
			t.Fatalf("EndOffsetFor(%d) differs after reload", req)
		}
	}

	// Missing and empty checkpoints give an empty cache.
	empty, err := OpenLeaderEpochCache(vfs.NewMem(), "/none")
	if err != nil || empty.Len() != 0 || empty.Dirty() {
		t.Fatalf("missing checkpoint: %v %v", empty, err)
	}
	ckptMustWrite(t, fsys, "/q/leader-epoch-checkpoint", "")
	if c3, err := OpenLeaderEpochCache(fsys, "/q"); err != nil || c3.Len() != 0 {
		t.Fatalf("empty checkpoint: %v", err)
	}

	// A corrupt checkpoint is reported.
	ckptMustWrite(t, fsys, "/r/leader-epoch-checkpoint", "0\n2\n3 10\n2 20\n")
	_, err = OpenLeaderEpochCache(fsys, "/r")
	ckptWantCorrupt(t, err)
}

func TestLeaderEpochCacheNewAndBatch(t *testing.T) {
	mem := vfs.NewMem()
	cfs := vfs.WithCounters(mem)
	if _, err := NewLeaderEpochCache(cfs, "/", []EpochEntry{{2, 5}, {1, 9}}); err == nil {
		t.Fatal("invalid entries accepted")
	}
	c, err := NewLeaderEpochCache(cfs, "/", []EpochEntry{{1, 0}, {2, 5}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Dirty() {
		t.Fatal("new cache not dirty")
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if c.Dirty() {
		t.Fatal("dirty after flush")
	}
	cfs.Reset()
	if err := c.Flush(); err != nil || cfs.Syncs() != 0 {
		t.Fatalf("clean flush wrote: %v, %d syncs", err, cfs.Syncs())
	}

	// Several edits, one write.
	err = c.Batch(func(b *EpochBatch) error {
		if err := b.Assign(3, 10); err != nil {
			return err
		}
		if err := b.Assign(4, 20); err != nil {
			return err
		}
		b.TruncateFromStart(3)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfs.Syncs() != 1 || cfs.SyncDirs() != 1 {
		t.Fatalf("batch: %d syncs, %d syncdirs; want 1 and 1", cfs.Syncs(), cfs.SyncDirs())
	}
	want := []EpochEntry{{1, 3}, {2, 5}, {3, 10}, {4, 20}}
	if got := c.Entries(); !epochEqual(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	if got, err := ReadLeaderEpochCheckpoint(mem.CrashCloneStrict(), "/leader-epoch-checkpoint"); err != nil || !epochEqual(got, want) {
		t.Fatalf("checkpoint %v %v", got, err)
	}

	// A failing batch changes nothing.
	boom := errors.New("boom")
	err = c.Batch(func(b *EpochBatch) error {
		b.Clear()
		return boom
	})
	if !errors.Is(err, boom) || !epochEqual(c.Entries(), want) || c.Dirty() {
		t.Fatalf("failed batch: %v, entries %v", err, c.Entries())
	}
	// A no-op mutation does not write.
	cfs.Reset()
	if err := c.Assign(4, 25); err != nil || cfs.Syncs() != 0 {
		t.Fatalf("no-op assign: %v, %d syncs", err, cfs.Syncs())
	}
}

func TestLeaderEpochCacheWriteError(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.WithErrors(mem)
	c, err := OpenLeaderEpochCache(efs, "/")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Assign(1, 0); err != nil {
		t.Fatal(err)
	}
	fault := efs.Inject(vfs.Rule{Ops: vfs.OpSync})
	if err := c.Assign(2, 10); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("assign with failing sync: %v", err)
	}
	// Applied in memory, not durable, still dirty.
	if got := c.Entries(); !epochEqual(got, []EpochEntry{{1, 0}, {2, 10}}) || !c.Dirty() {
		t.Fatalf("after failed flush: %v dirty=%v", got, c.Dirty())
	}
	if got, err := ReadLeaderEpochCheckpoint(mem.CrashCloneStrict(), "/leader-epoch-checkpoint"); err != nil || !epochEqual(got, []EpochEntry{{1, 0}}) {
		t.Fatalf("durable checkpoint %v %v, want the old one", got, err)
	}
	fault.Disarm()
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if c.Dirty() {
		t.Fatal("dirty after successful flush")
	}
	c2, err := OpenLeaderEpochCache(mem.CrashCloneStrict(), "/")
	if err != nil || !epochEqual(c2.Entries(), []EpochEntry{{1, 0}, {2, 10}}) {
		t.Fatalf("reloaded %v %v", c2.Entries(), err)
	}
}

// TestLeaderEpochCacheCrash crashes after every step of a checkpoint write
// and checks that reopening gives the old or the new cache, and the new
// one once the mutation returned.
func TestLeaderEpochCacheCrash(t *testing.T) {
	oldEntries := []EpochEntry{{0, 0}, {1, 100}, {3, 300}}
	for seed := range uint64(250) {
		mem := vfs.NewMem()
		if err := mem.MkdirAll("/p", 0o755); err != nil {
			t.Fatal(err)
		}
		c, err := NewLeaderEpochCache(mem, "/p", oldEntries)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		mem.SyncAll()
		rng := rand.New(rand.NewPCG(seed, 0))
		// A random mutation.
		var newEntries []EpochEntry
		var mutate func(c *LeaderEpochCache) error
		switch seed % 4 {
		case 0:
			mutate = func(c *LeaderEpochCache) error { return c.Assign(4, 400) }
			newEntries = []EpochEntry{{0, 0}, {1, 100}, {3, 300}, {4, 400}}
		case 1:
			mutate = func(c *LeaderEpochCache) error { return c.TruncateFromEnd(150) }
			newEntries = []EpochEntry{{0, 0}, {1, 100}}
		case 2:
			mutate = func(c *LeaderEpochCache) error { return c.TruncateFromStart(120) }
			newEntries = []EpochEntry{{1, 120}, {3, 300}}
		case 3:
			mutate = func(c *LeaderEpochCache) error { return c.Assign(2, 50) }
			newEntries = []EpochEntry{{0, 0}, {2, 50}}
		}
		step := uint64(0)
		check := func(where string, clone *vfs.MemFS, mustBeNew bool) {
			c2, err := OpenLeaderEpochCache(clone, "/p")
			if err != nil {
				t.Fatalf("seed %d %s: reopen: %v", seed, where, err)
			}
			got := c2.Entries()
			switch {
			case epochEqual(got, newEntries):
			case mustBeNew:
				t.Fatalf("seed %d %s: reopened %v, want the new %v", seed, where, got, newEntries)
			case epochEqual(got, oldEntries):
			default:
				t.Fatalf("seed %d %s: reopened %v: neither old %v nor new %v", seed, where, got, oldEntries, newEntries)
			}
		}
		hfs := &ckptHookFS{FS: mem, hook: func(s string) {
			step++
			r := rand.New(rand.NewPCG(seed, step))
			check("crash after "+s, mem.CrashClone(r), false)
			check("dirops crash after "+s, mem.CrashCloneWith(vfs.CrashOptions{Rand: r, DirOps: true}), false)
		}}
		c.fs = hfs // route the cache's writes through the hooks
		if err := mutate(c); err != nil {
			t.Fatal(err)
		}
		if step < 6 {
			t.Fatalf("only %d steps observed", step)
		}
		check("crash after return", mem.CrashClone(rng), true)
		check("strict crash after return", mem.CrashCloneStrict(), true)
	}
}

// TestLeaderEpochCacheConcurrent runs readers against a writer and
// flushers (meaningful under -race): every snapshot a reader sees is a
// valid cache, and EndOffsetFor agrees with the snapshot's own answer.
func TestLeaderEpochCacheConcurrent(t *testing.T) {
	mem := vfs.NewMem()
	c, err := OpenLeaderEpochCache(mem, "/")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				entries := c.Entries()
				if err := validateEpochEntries(entries); err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				c.EndOffsetFor(int32(i%50), 1<<20)
				c.EpochForOffset(int64(i % 1000))
				c.LatestEpoch()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.Flush(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	off := int64(0)
	for i := range 300 {
		var err error
		switch i % 10 {
		case 7:
			err = c.TruncateFromEnd(off - 5)
		case 9:
			err = c.TruncateFromStart(off / 2)
		default:
			err = c.Assign(int32(i), off)
		}
		if err != nil {
			t.Fatal(err)
		}
		off += 10
	}
	close(stop)
	wg.Wait()
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	c2, err := OpenLeaderEpochCache(mem.CrashCloneStrict(), "/")
	if err != nil || !epochEqual(c2.Entries(), c.Entries()) {
		t.Fatalf("reloaded %v %v, want %v", c2.Entries(), err, c.Entries())
	}
}
