package server

import (
	"io"
	"math/bits"
	"sync"
)

// Frame bodies come from power-of-two pools: most requests are small and
// a busy connection would otherwise allocate one buffer per request, and
// a producer's large requests (several partitions' 1 MB batches) would
// each allocate, zero and later collect megabytes. A pooled buffer is
// returned only after the response to its request is written, since the
// decoded request aliases it. Bodies above firstChunkBytes start in a
// buffer of that size and move to larger pooled ones as their bytes
// arrive.
const (
	minPoolShift    = 9  // 512 B
	maxPoolShift    = 27 // 128 MiB, above socket.request.max.bytes' default
	firstChunkBytes = 1 << 20
)

var framePools [maxPoolShift - minPoolShift + 1]sync.Pool

// getFrame returns a buffer of length n (at most 1<<maxPoolShift) from
// the pools.
func getFrame(n int) *[]byte {
	if p, ok := pooledFrame(n); ok {
		return p
	}
	b := make([]byte, n, 1<<frameShift(n))
	return &b
}

// frameShift is the log2 of the pool size that holds n bytes.
func frameShift(n int) int { return max(bits.Len(uint(n-1)), minPoolShift) }

// pooledFrame returns a pooled buffer of length n when its pool has one,
// allocating nothing.
func pooledFrame(n int) (*[]byte, bool) {
	p, ok := framePools[frameShift(n)-minPoolShift].Get().(*[]byte)
	if !ok {
		return nil, false
	}
	*p = (*p)[:n]
	return p, true
}

// putFrame returns a buffer from getFrame to its pool.
func putFrame(p *[]byte) {
	c := cap(*p)
	shift := bits.Len(uint(c)) - 1
	if c != 1<<shift || shift < minPoolShift || shift > maxPoolShift {
		return // not ours
	}
	framePools[shift-minPoolShift].Put(p)
}

// readBody reads a frame body of n bytes (n already checked against the
// limit). A large body grows as its bytes arrive, so a size prefix alone
// never makes us allocate more than twice the bytes actually received (a
// client claiming 100 MiB and sending nothing allocates 1 MiB); only a
// buffer already in the pools is taken whole. Every buffer
// is pooled; pooled reports whether the returned one goes back to the
// pools on release (a body above the largest pool does not).
func readBody(r io.Reader, n int) (buf *[]byte, pooled bool, err error) {
	// A small body gets its buffer at once. So does a large one when a
	// pooled buffer of its size is there (it costs nothing new), rather
	// than being copied as it grows.
	var whole *[]byte
	if n <= firstChunkBytes {
		whole = getFrame(n)
	} else if n <= 1<<maxPoolShift {
		whole, _ = pooledFrame(n)
	}
	if whole != nil {
		if _, err := io.ReadFull(r, *whole); err != nil {
			putFrame(whole)
			return nil, false, err
		}
		return whole, true, nil
	}
	p := getFrame(firstChunkBytes)
	got := 0
	for {
		m, err := io.ReadFull(r, (*p)[got:])
		got += m
		if err != nil {
			putFrame(p)
			return nil, false, err
		}
		if got == n {
			return p, n <= 1<<maxPoolShift, nil
		}
		size := min(2*len(*p), n)
		var next *[]byte
		if size <= 1<<maxPoolShift {
			next = getFrame(size)
		} else {
			b := make([]byte, size)
			next = &b
		}
		copy(*next, (*p)[:got])
		putFrame(p)
		p = next
	}
}
