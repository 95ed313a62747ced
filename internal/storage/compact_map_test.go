package storage

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"pgregory.net/rapid"
)

func omKey(i int) []byte { return fmt.Appendf(nil, "key-%d", i) }

func TestOffsetMapPutGetReplace(t *testing.T) {
	m := newOffsetMap(1<<16, 0.9)
	if m.len() != 0 || m.latestOffset() != -1 {
		t.Fatalf("new map: len %d, latest %d", m.len(), m.latestOffset())
	}
	if _, ok := m.get(omKey(1)); ok {
		t.Fatal("get on an empty map found a key")
	}
	for i := range 100 {
		if !m.put(omKey(i), int64(10*i)) {
			t.Fatalf("put %d refused", i)
		}
	}
	// A later offset replaces the earlier one without a new entry.
	for i := 0; i < 100; i += 3 {
		if !m.put(omKey(i), int64(1000+i)) {
			t.Fatalf("replacing %d refused", i)
		}
	}
	if m.len() != 100 {
		t.Fatalf("len %d, want 100", m.len())
	}
	for i := range 100 {
		want := int64(10 * i)
		if i%3 == 0 {
			want = int64(1000 + i)
		}
		if got, ok := m.get(omKey(i)); !ok || got != want {
			t.Fatalf("get %d = %d, %v; want %d", i, got, ok, want)
		}
	}
	for i := 100; i < 200; i++ {
		if _, ok := m.get(omKey(i)); ok {
			t.Fatalf("absent key %d found", i)
		}
	}
	// The empty key is a key like any other, distinct from others.
	if !m.put([]byte{}, 5000) {
		t.Fatal("empty key refused")
	}
	if got, ok := m.get(nil); !ok || got != 5000 {
		t.Fatalf("empty key: %d, %v", got, ok)
	}
	if m.latestOffset() != 5000 {
		t.Fatalf("latest %d, want 5000", m.latestOffset())
	}
}

func TestOffsetMapFull(t *testing.T) {
	// 100 slots at load factor 0.5: 50 keys.
	m := newOffsetMap(100*offsetSlotSize, 0.5)
	if m.capacity() != 50 {
		t.Fatalf("capacity %d, want 50", m.capacity())
	}
	for i := range 50 {
		if !m.put(omKey(i), int64(i)) {
			t.Fatalf("put %d refused below capacity", i)
		}
	}
	if m.put(omKey(50), 50) {
		t.Fatal("put of a new key accepted past capacity")
	}
	if m.len() != 50 || m.latestOffset() != 49 {
		t.Fatalf("a refused put changed the map: len %d, latest %d", m.len(), m.latestOffset())
	}
	if _, ok := m.get(omKey(50)); ok {
		t.Fatal("refused key is present")
	}
	// A key already present is still updated when the map is full.
	if !m.put(omKey(7), 60) {
		t.Fatal("replacement refused in a full map")
	}
	if got, _ := m.get(omKey(7)); got != 60 || m.latestOffset() != 60 {
		t.Fatalf("replacement: get %d, latest %d", got, m.latestOffset())
	}
	for i := range 50 {
		if _, ok := m.get(omKey(i)); !ok {
			t.Fatalf("key %d lost", i)
		}
	}
	// Lookups of absent keys end even with the table as full as it gets.
	for i := 1000; i < 3000; i++ {
		if _, ok := m.get(omKey(i)); ok {
			t.Fatalf("absent key %d found", i)
		}
	}
}

func TestOffsetMapLoadFactorBounds(t *testing.T) {
	for _, tc := range []struct {
		budget int
		lf     float64
		want   int
	}{
		{10 * offsetSlotSize, 1, 9}, // one slot stays empty
		{10 * offsetSlotSize, 0.9, 9},
		{10 * offsetSlotSize, 0.55, 5},
		{10 * offsetSlotSize, 0, 9}, // out of range: the default 0.9
		{10 * offsetSlotSize, -1, 9},
		{10 * offsetSlotSize, 1.5, 9},
		{10 * offsetSlotSize, math.NaN(), 9},
		{10*offsetSlotSize + offsetSlotSize - 1, 1, 9},
		{2 * offsetSlotSize, 1, 1},
		{offsetSlotSize, 1, 0},
		{0, 0.9, 0},
		{-5, 0.9, 0},
	} {
		m := newOffsetMap(tc.budget, tc.lf)
		if m.capacity() != tc.want {
			t.Errorf("budget %d, load factor %v: capacity %d, want %d", tc.budget, tc.lf, m.capacity(), tc.want)
		}
		n := 0
		for i := range 100 {
			if !m.put(omKey(i), int64(i)) {
				break
			}
			n++
		}
		if n != tc.want || m.len() != n {
			t.Errorf("budget %d, load factor %v: %d puts accepted, len %d, want %d", tc.budget, tc.lf, n, m.len(), tc.want)
		}
		if _, ok := m.get(omKey(1000)); ok {
			t.Errorf("budget %d: absent key found", tc.budget)
		}
	}
}

func TestOffsetMapBudget(t *testing.T) {
	for _, budget := range []int{1 << 10, 1<<20 + 7, 8 << 20} {
		var m *offsetMap
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m = newOffsetMap(budget, 0.9)
		runtime.ReadMemStats(&after)
		if table := len(m.slots) * offsetSlotSize; table > budget || table <= budget-offsetSlotSize {
			t.Errorf("budget %d: table of %d bytes", budget, table)
		}
		// The table plus the map itself, with room for the allocator's
		// rounding (a page) and anything else the runtime allocated.
		if got := after.TotalAlloc - before.TotalAlloc; got > uint64(budget)+16<<10 {
			t.Errorf("budget %d: newOffsetMap allocated %d bytes", budget, got)
		}
		keys := make([][]byte, m.capacity()+1)
		for i := range keys {
			keys[i] = omKey(i)
		}
		runtime.ReadMemStats(&before)
		for i, k := range keys {
			if !m.put(k, int64(i)) {
				break
			}
		}
		runtime.ReadMemStats(&after)
		if m.len() != m.capacity() {
			t.Errorf("budget %d: filled to %d of %d", budget, m.len(), m.capacity())
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 4<<10 {
			t.Errorf("budget %d: filling the map allocated %d bytes", budget, got)
		}
		runtime.KeepAlive(m)
	}
}

func TestOffsetMapNoAllocs(t *testing.T) {
	m := newOffsetMap(1<<20, 0.9)
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = omKey(i)
	}
	i := 0
	if n := testing.AllocsPerRun(5000, func() {
		m.put(keys[i%len(keys)], int64(i))
		i++
	}); n != 0 {
		t.Errorf("put allocates %v times", n)
	}
	if n := testing.AllocsPerRun(5000, func() {
		m.get(keys[i%len(keys)])
		i++
	}); n != 0 {
		t.Errorf("get allocates %v times", n)
	}
	if n := testing.AllocsPerRun(10, m.reset); n != 0 {
		t.Errorf("reset allocates %v times", n)
	}
}

func TestOffsetMapReset(t *testing.T) {
	m := newOffsetMap(1<<12, 0.9)
	for i := 0; m.put(omKey(i), int64(i)); i++ {
	}
	full := m.len()
	m.reset()
	if m.len() != 0 || m.latestOffset() != -1 {
		t.Fatalf("after reset: len %d, latest %d", m.len(), m.latestOffset())
	}
	for i := range full {
		if _, ok := m.get(omKey(i)); ok {
			t.Fatalf("key %d survived reset", i)
		}
	}
	for i := range full {
		if !m.put(omKey(i+full), int64(100+i)) {
			t.Fatalf("put %d refused after reset", i)
		}
	}
	if m.latestOffset() != int64(100+full-1) {
		t.Fatalf("latest %d", m.latestOffset())
	}
}

// TestOffsetMapModel checks random operations against a Go map.
func TestOffsetMapModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		slots := rapid.IntRange(0, 300).Draw(t, "slots")
		lf := rapid.Float64Range(0.05, 1).Draw(t, "loadFactor")
		m := newOffsetMap(slots*offsetSlotSize, lf)
		model := map[string]int64{}
		latest := int64(-1)
		next := int64(0)
		for range rapid.IntRange(0, 500).Draw(t, "ops") {
			key := omKey(rapid.IntRange(0, 400).Draw(t, "key"))
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0:
				m.reset()
				clear(model)
				latest = -1
			case 1, 2, 3:
				got, ok := m.get(key)
				want, wok := model[string(key)]
				if ok != wok || got != want {
					t.Fatalf("get %q = %d, %v; want %d, %v", key, got, ok, want, wok)
				}
			default:
				next += rapid.Int64Range(0, 5).Draw(t, "step")
				_, present := model[string(key)]
				accept := present || len(model) < m.capacity()
				if got := m.put(key, next); got != accept {
					t.Fatalf("put %q with %d keys of %d: %v, want %v", key, len(model), m.capacity(), got, accept)
				}
				if accept {
					model[string(key)] = next
					latest = max(latest, next)
				}
			}
			if m.len() != len(model) || m.latestOffset() != latest {
				t.Fatalf("len %d latest %d, want %d and %d", m.len(), m.latestOffset(), len(model), latest)
			}
		}
	})
}

func BenchmarkOffsetMap(b *testing.B) {
	const n = 1 << 20
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "user-%012d", i)
	}
	m := newOffsetMap(n*offsetSlotSize*10/9+offsetSlotSize*16, 0.9)
	b.Run("put", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if i%n == 0 {
				m.reset()
			}
			m.put(keys[i%n], int64(i))
		}
	})
	b.Run("get", func(b *testing.B) {
		m.reset()
		for i := 0; m.put(keys[i], int64(i)) && i < n-1; i++ {
		}
		for i := 0; b.Loop(); i++ {
			m.get(keys[i%n])
		}
	})
}

// TestOffsetMapResetFor checks that a pass bounded to few keys uses a
// small part of the table, and that an unbounded one uses all of it.
func TestOffsetMapResetFor(t *testing.T) {
	m := newOffsetMap(1000*offsetSlotSize, 0.5)
	full := m.capacity()
	m.resetFor(10)
	if c := m.capacity(); c < 10 || len(m.slots) > 30 {
		t.Fatalf("capacity %d over %d slots for 10 keys", c, len(m.slots))
	}
	for i := range 10 {
		if !m.put(omKey(i), int64(i)) {
			t.Fatalf("key %d refused", i)
		}
	}
	for i := range 10 {
		if off, ok := m.get(omKey(i)); !ok || off != int64(i) {
			t.Fatalf("key %d: %d %v", i, off, ok)
		}
	}
	m.resetFor(0)
	if m.capacity() != full || m.len() != 0 {
		t.Fatalf("capacity %d (want %d), %d keys", m.capacity(), full, m.len())
	}
	for _, s := range m.table {
		if s != (offsetSlot{}) {
			t.Fatal("a reset left a slot set")
		}
	}
	m.resetFor(1 << 40)
	if m.capacity() != full {
		t.Fatalf("capacity %d beyond the table", m.capacity())
	}
}
