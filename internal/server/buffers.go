package server

import (
	"io"
	"math/bits"
	"sync"
)

// Frame bodies up to maxPooledBytes come from power-of-two pools: most
// requests are small and a busy connection would otherwise allocate one
// buffer per request. A pooled buffer is returned only after the response
// to its request is written, since the decoded request aliases it.
const (
	minPoolShift   = 9  // 512 B
	maxPoolShift   = 20 // 1 MiB
	maxPooledBytes = 1 << maxPoolShift
)

var framePools [maxPoolShift - minPoolShift + 1]sync.Pool

// getFrame returns a buffer of length n (at most maxPooledBytes) from the
// pools.
func getFrame(n int) *[]byte {
	shift := max(bits.Len(uint(n-1)), minPoolShift)
	if p, ok := framePools[shift-minPoolShift].Get().(*[]byte); ok {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n, 1<<shift)
	return &b
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
// limit). Small bodies use the pools; a large one grows as its bytes
// arrive, so a size prefix alone never makes us allocate more than twice
// the bytes actually received (a client claiming 100 MiB and sending
// nothing costs 1 MiB). pooled reports whether buf came from getFrame.
func readBody(r io.Reader, n int) (buf *[]byte, pooled bool, err error) {
	if n <= maxPooledBytes {
		p := getFrame(n)
		if _, err := io.ReadFull(r, *p); err != nil {
			putFrame(p)
			return nil, false, err
		}
		return p, true, nil
	}
	b := make([]byte, 0, maxPooledBytes)
	for len(b) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(2*cap(b), n))
			copy(nb, b)
			b = nb
		}
		m, err := io.ReadFull(r, b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			return nil, false, err
		}
	}
	return &b, false, nil
}
