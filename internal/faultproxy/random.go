package faultproxy

import (
	"math/rand/v2"
	"time"
)

// decider makes Random's frame decisions for one direction of one
// connection. Its source is seeded from the Random seed, the connection
// number and the direction, so its decisions depend only on those and on the
// sequence of frames it is asked about.
type decider struct {
	cfg *randomConfig
	dir Direction
	rng *rand.Rand
}

func newDecider(cfg *randomConfig, conn uint64, dir Direction) *decider {
	return &decider{
		cfg: cfg,
		dir: dir,
		rng: rand.New(rand.NewPCG(cfg.seed, conn<<1|uint64(dir))),
	}
}

// frameCut returns how many bytes of frame f to forward before cutting the
// connection, or -1 to leave the frame alone. Every call draws the same
// number of values for the same outcome, so the sequence is reproducible.
func (d *decider) frameCut(f Frame) int64 {
	switch d.dir {
	case Down:
		if d.rng.Float64() < d.cfg.faults.DropResponse {
			return 0
		}
	case Up:
		if d.rng.Float64() < d.cfg.faults.CutUpMidFrame {
			// Somewhere in [1, Len-1]: the broker sees part of the frame.
			return 1 + d.rng.Int64N(f.Len()-1)
		}
	}
	return -1
}

// delayFor returns how long to hold the next chunk in direction dir:
// the explicit Delay range plus Random's share. rng is the pump's own source.
func delayFor(fs *faultSet, dir Direction, rng *rand.Rand) time.Duration {
	var d time.Duration
	if r := fs.delay[dir]; r.max > 0 {
		d = r.min
		if r.max > r.min {
			d += time.Duration(rng.Int64N(int64(r.max-r.min) + 1))
		}
	}
	if fs.random != nil {
		if m := fs.random.faults.MaxDelay; m > 0 {
			d += time.Duration(rng.Int64N(int64(m) + 1))
		}
	}
	return d
}
