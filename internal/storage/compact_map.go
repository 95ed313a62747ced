package storage

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/bits"
)

// offsetMap is the key → latest offset table of one cleaning pass of a
// compacted log (Kafka's SkimpyOffsetMap): a fixed-size open-addressing
// hash table, allocated once from a byte budget
// (log.cleaner.dedupe.buffer.size divided among the cleaner threads) and
// reused pass after pass.
//
// A key is never stored, only a 128-bit digest of it: each slot is 16 bytes
// of digest and an 8-byte offset. The digest is SHA-256 truncated to 128
// bits rather than MD5 (Kafka's default). Two keys whose digests collide
// are one key to the cleaner, which then deletes the older one's value, so
// the digest must be collision resistant against keys an application
// derives from untrusted input; MD5 collisions can be computed in seconds,
// truncated SHA-256 ones cannot. It is also the faster of the two on
// processors with SHA extensions (amd64 SHA-NI, arm64 SHA2), and neither
// is a noticeable cost next to decompressing the batches.
//
// Collisions between slots are resolved by linear probing. The table is
// filled only up to its load factor (log.cleaner.io.buffer.load.factor)
// so probe sequences stay short and always end at an empty slot; past
// that, put refuses new keys and the pass indexes no further.
//
// An offsetMap is not safe for concurrent use.
type offsetMap struct {
	// table is the whole allocation; slots is the part in use this pass
	// (see resetFor).
	table      []offsetSlot
	slots      []offsetSlot
	loadFactor float64
	maxEntries int // entries allowed: slots × load factor, at most len(slots)-1
	entries    int
	latest     int64
}

// offsetSlot is one table entry. h0 and h1 are the first 16 bytes of the
// key's digest; h0 has its low bit forced to 1, so h0 == 0 marks an empty
// slot and a zeroed table is an empty one (127 bits of digest remain).
type offsetSlot struct {
	h0, h1 uint64
	offset int64
}

const (
	// offsetSlotSize is the memory one slot takes: 16 bytes of digest
	// and an 8-byte offset, as in Kafka.
	offsetSlotSize = 24
	// defaultCleanerLoadFactor is log.cleaner.io.buffer.load.factor's
	// default.
	defaultCleanerLoadFactor = 0.9
)

// newOffsetMap allocates a map of budgetBytes/24 slots (never more than
// budgetBytes of table) that accepts new keys up to loadFactor of them. A
// load factor outside (0, 1] is taken as the default 0.9; at least one slot
// is always left empty so lookups of absent keys end. A budget of fewer
// than two slots gives a map that accepts nothing.
func newOffsetMap(budgetBytes int, loadFactor float64) *offsetMap {
	if math.IsNaN(loadFactor) || loadFactor <= 0 || loadFactor > 1 {
		loadFactor = defaultCleanerLoadFactor
	}
	n := max(budgetBytes, 0) / offsetSlotSize
	m := &offsetMap{table: make([]offsetSlot, n), loadFactor: loadFactor, latest: -1}
	m.use(n)
	return m
}

// digest returns the slot form of key's digest. sha256.Sum256 works on a
// stack array, so nothing is allocated.
func digest(key []byte) (h0, h1 uint64) {
	sum := sha256.Sum256(key)
	return binary.LittleEndian.Uint64(sum[0:8]) | 1, binary.LittleEndian.Uint64(sum[8:16])
}

// home is the first slot probed for a digest: h1 scaled to the table
// size (the high half of h1 × n), which needs no division.
func (m *offsetMap) home(h1 uint64) int {
	hi, _ := bits.Mul64(h1, uint64(len(m.slots)))
	return int(hi)
}

// find returns the slot holding the digest, or the empty slot where it
// would go. The table always has an empty slot, so the probe ends.
func (m *offsetMap) find(h0, h1 uint64) *offsetSlot {
	i := m.home(h1)
	for {
		s := &m.slots[i]
		if s.h0 == 0 || (s.h0 == h0 && s.h1 == h1) {
			return s
		}
		if i++; i == len(m.slots) {
			i = 0
		}
	}
}

// put records offset as key's latest offset, replacing an earlier one. It
// returns false, changing nothing, when key is new and the map already
// holds as many keys as its load factor allows: the caller ends the pass's
// indexing there, and latestOffset tells how far it got. Offsets are put
// in increasing order, so a replacement is always a later offset.
func (m *offsetMap) put(key []byte, offset int64) bool {
	if m.maxEntries == 0 {
		return false
	}
	h0, h1 := digest(key)
	s := m.find(h0, h1)
	if s.h0 == 0 {
		if m.entries >= m.maxEntries {
			return false
		}
		s.h0, s.h1 = h0, h1
		m.entries++
	}
	s.offset = offset
	m.latest = max(m.latest, offset)
	return true
}

// get returns the latest offset put for key.
func (m *offsetMap) get(key []byte) (int64, bool) {
	if m.entries == 0 {
		return 0, false
	}
	s := m.find(digest(key))
	if s.h0 == 0 {
		return 0, false
	}
	return s.offset, true
}

// reset empties the map for the next pass, keeping its table.
func (m *offsetMap) reset() {
	if m.entries > 0 {
		clear(m.slots) // an unused table is zero already: its pages stay untouched
	}
	m.entries, m.latest = 0, -1
}

// resetFor empties the map and sizes the part of the table in use for at
// most maxKeys keys (a bound the pass knows: the number of offsets it may
// index), so that a pass over few keys probes a small, cache-friendly
// table rather than the whole budget, and touches no more of its pages.
// A maxKeys of zero or less, or beyond the table, uses all of it.
func (m *offsetMap) resetFor(maxKeys int64) {
	m.reset()
	n := len(m.table)
	if maxKeys > 0 {
		if want := int64(float64(maxKeys)/m.loadFactor) + 2; want < int64(n) {
			n = int(want)
		}
	}
	m.use(n)
}

// use makes the first n slots of the table the map.
func (m *offsetMap) use(n int) {
	m.slots = m.table[:n]
	m.maxEntries = max(min(int(float64(n)*m.loadFactor), n-1), 0)
}

// len is the number of keys in the map.
func (m *offsetMap) len() int { return m.entries }

// capacity is the number of keys the map accepts before put refuses.
func (m *offsetMap) capacity() int { return m.maxEntries }

// latestOffset is the largest offset put since the last reset, -1 if none.
// Records above it were not indexed by this pass.
func (m *offsetMap) latestOffset() int64 { return m.latest }
