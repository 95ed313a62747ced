package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"time"
)

const (
	bufSize = 32 << 10
	noCut   = math.MaxInt64
)

// pump forwards one direction of one connection, applying the faults.
type pump struct {
	p        *Proxy
	c        *conn
	dir      Direction
	src, dst net.Conn
	log      *slog.Logger

	split  frameSplitter
	pos    int64 // bytes of the stream scanned and forwarded so far
	frames int   // frames whose size prefix was seen
	cutAt  int64 // stream position where a frame rule decided to cut, or noCut
	cutWhy cause // the rule behind cutAt

	decide    *decider   // Random's source for this connection and direction
	delayRand *rand.Rand // source for delays; not part of the reproducible decisions
}

func newPump(p *Proxy, c *conn, dir Direction, src, dst net.Conn, log *slog.Logger) *pump {
	return &pump{
		p: p, c: c, dir: dir, src: src, dst: dst,
		log:       log.With("dir", dir.String()),
		cutAt:     noCut,
		delayRand: rand.New(rand.NewPCG(c.id, uint64(dir))),
	}
}

func (pm *pump) run() {
	buf := make([]byte, bufSize)
	for {
		n, err := pm.src.Read(buf)
		if n > 0 && !pm.forward(buf[:n]) {
			return
		}
		if err != nil {
			pm.end(err)
			return
		}
	}
}

// forward applies the faults to chunk b, forwards what they let through and
// reports whether the pump goes on.
func (pm *pump) forward(b []byte) bool {
	fs := pm.p.faults.Load()
	n, cut, why := pm.plan(fs, b)
	if n > 0 {
		if !pm.sleep(delayFor(fs, pm.dir, pm.delayRand)) {
			return false
		}
		// Counted before the write, so that a peer that has received the
		// bytes also sees them in Stats.
		pm.p.stats.bytes[pm.dir].Add(int64(n))
		if _, err := pm.dst.Write(b[:n]); err != nil {
			pm.fail(fmt.Errorf("faultproxy: write %s: %w", pm.dir, err))
			return false
		}
	}
	if cut {
		pm.cut(why)
		return false
	}
	return true
}

// plan decides what to do with chunk b: forward b[:n], then cut the
// connection if cut is set. It advances the frame splitter over b[:n] (and
// no further than a cut).
func (pm *pump) plan(fs *faultSet, b []byte) (n int, cut bool, why cause) {
	start := pm.pos
	end := start + int64(len(b))
	cutAt, why := pm.cutAt, pm.cutWhy
	if lim := fs.cutEach[pm.dir]; lim >= 0 && lim < cutAt {
		cutAt, why = max(lim, start), causeBytes
	}
	for scanned := start; scanned < min(end, cutAt); {
		k, size, ok := pm.split.next(b[scanned-start : min(end, cutAt)-start])
		scanned += int64(k)
		if !ok {
			continue
		}
		pm.frames++
		pm.p.stats.frames[pm.dir].Add(1)
		f := Frame{Conn: pm.c.id, N: pm.frames, Size: size}
		off, w := pm.frameCut(fs, f)
		if off < 0 {
			continue
		}
		at := max(scanned-4+min(off, f.Len()-1), start)
		if at < pm.cutAt {
			pm.cutAt, pm.cutWhy = at, w
		}
		if at < cutAt {
			cutAt, why = at, w
		}
	}
	fwd := min(end, cutAt) - start
	cut = cutAt <= end
	if o := fs.cutAfter[pm.dir]; o != nil {
		took, fired := o.take(fwd)
		if fired && (took < fwd || !cut) {
			fwd, cut, why = took, true, causeBytes
		}
	}
	pm.pos += fwd
	return int(fwd), cut, why
}

// frameCut asks the rules about frame f. It returns how many bytes of the
// frame to forward before cutting and why, or a negative count.
func (pm *pump) frameCut(fs *faultSet, f Frame) (int64, cause) {
	why := causeTruncate
	if pm.dir == Down {
		why = causeDrop
		if fs.dropResponse != nil && fs.dropResponse(f) {
			return 0, why
		}
	} else if fs.truncateRequest != nil {
		if k := fs.truncateRequest(f); k >= 0 {
			return int64(k), why
		}
	}
	if fs.random == nil {
		return -1, causeNone
	}
	if pm.decide == nil || pm.decide.cfg != fs.random {
		pm.decide = newDecider(fs.random, pm.c.id, pm.dir)
	}
	return pm.decide.frameCut(f), why
}

// sleep waits d unless the connection closes first; it reports whether the
// pump goes on.
func (pm *pump) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	pm.p.stats.delays.Add(1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-pm.c.done:
		return false
	}
}

// cut closes the connection because of a fault. The destination is
// half-closed first so that what was forwarded arrives before the end of
// stream.
func (pm *pump) cut(why cause) {
	if pm.c.close(why, pm.dst) {
		pm.log.Debug("connection cut", "reason", why.String(), "offset", pm.pos)
	}
}

// end handles the end of the source: EOF is passed on as a half-close and
// the other direction goes on; any other error closes the connection.
func (pm *pump) end(err error) {
	if errors.Is(err, io.EOF) {
		closeWrite(pm.dst)
		return
	}
	pm.fail(fmt.Errorf("faultproxy: read %s: %w", pm.dir, err))
}

func (pm *pump) fail(err error) {
	if pm.c.close(causeNone, nil) {
		pm.log.Debug("connection failed", "err", err)
	}
}
