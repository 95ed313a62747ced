package faultproxy

import (
	"sync"
	"time"
)

// Direction is one way through the proxy.
type Direction int

const (
	// Up is client → broker: requests.
	Up Direction = iota
	// Down is broker → client: responses.
	Down
)

func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "invalid"
}

// Frame describes a frame whose size prefix has just been seen, as passed to
// frame rules.
type Frame struct {
	Conn uint64 // connection number: 1 for the first connection accepted, and so on
	N    int    // 1 for the first frame in this direction on this connection, and so on
	Size int32  // the size prefix: the length of the frame after the prefix
}

// Len returns the length of the frame on the wire, size prefix included.
func (f Frame) Len() int64 { return 4 + int64(f.Size) }

// Faults are the per-frame probabilities and delay bound of Random.
type Faults struct {
	// DropResponse is the probability that a response frame is dropped and
	// its connection cut.
	DropResponse float64
	// CutUpMidFrame is the probability that a request frame is truncated at
	// a uniformly random point (after at least its first byte, before its
	// last) and its connection cut.
	CutUpMidFrame float64
	// MaxDelay, if positive, holds every forwarded chunk, both directions,
	// for a uniformly random duration in [0, MaxDelay].
	MaxDelay time.Duration
}

// faultSet is an immutable snapshot of the fault settings. Setters copy the
// current snapshot, change the copy and store it; pumps load it once per
// chunk.
type faultSet struct {
	dropResponse    func(Frame) bool
	truncateRequest func(Frame) int
	cutAfter        [2]*oneShot // nil when unset
	cutEach         [2]int64    // negative when unset
	delay           [2]delayRange
	random          *randomConfig // nil when unset
}

func noFaults() *faultSet {
	return &faultSet{cutEach: [2]int64{-1, -1}}
}

type delayRange struct {
	min, max time.Duration
}

// randomConfig is the setting of one Random call. Pumps compare pointers to
// notice a new call and reseed.
type randomConfig struct {
	seed   uint64
	faults Faults
}

// oneShot is a byte budget shared by all connections in one direction: the
// connection that forwards its last byte is cut, then it disarms.
type oneShot struct {
	mu    sync.Mutex
	armed bool
	left  int64
}

// take reserves up to n bytes. It returns how many may be forwarded and
// whether the budget ran out with them, in which case the connection must be
// cut after forwarding them.
func (o *oneShot) take(n int64) (took int64, fired bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.armed {
		return n, false
	}
	took = min(n, o.left)
	o.left -= took
	if o.left > 0 {
		return took, false
	}
	o.armed = false
	return took, true
}

// update applies change to a copy of the current fault settings and makes
// the copy current.
func (p *Proxy) update(change func(*faultSet)) {
	p.faultMu.Lock()
	defer p.faultMu.Unlock()
	fs := *p.faults.Load()
	change(&fs)
	p.faults.Store(&fs)
}

// CutAfter arms a one-shot cut in direction dir: once n more bytes have been
// forwarded in that direction, counted from now over all connections, the
// connection that forwarded the n-th byte is cut right after it. With n = 0
// the next connection to receive a byte in dir is cut without forwarding it.
// A negative n disarms.
func (p *Proxy) CutAfter(dir Direction, n int64) {
	var o *oneShot
	if n >= 0 {
		o = &oneShot{armed: true, left: n}
	}
	p.update(func(fs *faultSet) { fs.cutAfter[dir] = o })
}

// CutEachAfter cuts every connection, open or future, once it has forwarded
// n bytes in direction dir since it was accepted. A connection already past
// n is cut when it next receives a byte in dir. A negative n clears the
// limit.
func (p *Proxy) CutEachAfter(dir Direction, n int64) {
	p.update(func(fs *faultSet) { fs.cutEach[dir] = max(n, -1) })
}

// DropResponse sets the rule asked at the start of every response frame, on
// every connection: when it returns true, that response is discarded and the
// connection cut, so the broker has processed the request but the client
// never sees the answer. The rule is called from many goroutines and must be
// safe for concurrent use. A nil rule clears it.
func (p *Proxy) DropResponse(rule func(Frame) bool) {
	p.update(func(fs *faultSet) { fs.dropResponse = rule })
}

// TruncateRequest sets the rule asked at the start of every request frame, on
// every connection. It returns how many bytes of the frame, size prefix
// included, to forward before cutting the connection, or a negative number
// to forward the frame whole. The count is capped at f.Len()-1 so that the
// broker always sees an incomplete frame; 0 cuts just before the frame. The
// rule is called from many goroutines and must be safe for concurrent use. A
// nil rule clears it.
func (p *Proxy) TruncateRequest(rule func(f Frame) int) {
	p.update(func(fs *faultSet) { fs.truncateRequest = rule })
}

// Delay holds every chunk forwarded in direction dir for a duration drawn
// uniformly in [lo, hi] (exactly lo when hi <= lo). Zero durations clear it.
// The delay adds to Random's.
func (p *Proxy) Delay(dir Direction, lo, hi time.Duration) {
	lo = max(lo, 0)
	p.update(func(fs *faultSet) { fs.delay[dir] = delayRange{lo, max(lo, hi)} })
}

// Random draws faults with the probabilities of f from sources seeded with
// seed (see the package documentation on reproducibility). It adds to the
// other faults: a frame that an explicit rule leaves alone may still be cut
// at random. Random with a zero Faults turns random faults off.
func (p *Proxy) Random(seed uint64, f Faults) {
	var rc *randomConfig
	if f != (Faults{}) {
		rc = &randomConfig{seed: seed, faults: f}
	}
	p.update(func(fs *faultSet) { fs.random = rc })
}

// ClearFaults removes every fault: byte cuts, rules, delays and random mode.
// Connections that are open go on unharmed, except for a truncation already
// decided for a request frame in flight.
func (p *Proxy) ClearFaults() {
	p.update(func(fs *faultSet) { *fs = *noFaults() })
}
