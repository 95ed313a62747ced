package verify

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"time"
)

// FaultGrace extends each fault event's window past its End: a send that
// began shortly after the broker served again can still have been hurt
// by the fault (a client reconnecting, a retry backing off).
const FaultGrace = 5 * time.Second

type window struct{ from, to time.Time }

// checkFaults counts, per fault kind, the events and the indeterminate or
// failed sends that overlap one of their windows.
func (c *checker) checkFaults() {
	byKind := make(map[string][]window)
	for _, f := range c.h.Faults {
		to := f.End
		if to.Before(f.Start) {
			to = f.Start
		}
		byKind[f.Kind] = append(byKind[f.Kind], window{f.Start, to.Add(FaultGrace)})
	}
	var hurt []int
	for i := range c.h.Sends {
		if st := c.h.Sends[i].Status; st == SendIndeterminate || st == SendFailed {
			hurt = append(hurt, i)
		}
	}
	hit := make([]bool, len(hurt))
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, kind := range kinds {
		ws := merge(byKind[kind])
		st := FaultStats{Kind: kind, Events: len(byKind[kind])}
		for j, i := range hurt {
			if s := &c.h.Sends[i]; overlaps(ws, s.Sent, s.Done) {
				st.SendsHit++
				hit[j] = true
			}
		}
		c.r.Faults = append(c.r.Faults, st)
	}
	for _, b := range hit {
		if b {
			c.r.SendsHitByFaults++
		}
	}
}

// merge sorts windows and merges overlapping ones.
func merge(ws []window) []window {
	slices.SortFunc(ws, func(a, b window) int { return cmp.Or(a.from.Compare(b.from), a.to.Compare(b.to)) })
	out := ws[:0]
	for _, w := range ws {
		if n := len(out); n > 0 && !w.from.After(out[n-1].to) {
			if w.to.After(out[n-1].to) {
				out[n-1].to = w.to
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

// overlaps reports whether [sent, done] meets one of the sorted disjoint
// windows ws.
func overlaps(ws []window, sent, done time.Time) bool {
	if done.Before(sent) {
		done = sent
	}
	i := sort.Search(len(ws), func(i int) bool { return ws[i].from.After(done) }) - 1
	return i >= 0 && !ws[i].to.Before(sent)
}

// conclude lists the ways the history is invalid and decides vacuity.
func (c *checker) conclude(opt CheckOptions) {
	problems := make([]string, 0, len(c.invalid))
	for p := range c.invalid {
		problems = append(problems, p)
	}
	slices.Sort(problems)
	for _, p := range problems {
		c.r.Invalid = append(c.r.Invalid, fmt.Sprintf("%d %s", c.invalid[p], p))
	}
	r := c.r
	switch {
	case len(c.h.Faults) == 0 && opt.RequireFaults:
		r.Vacuous, r.VacuousReason = true, "no fault was injected"
	case len(c.h.Faults) > 0 && r.SendsHitByFaults == 0:
		r.Vacuous, r.VacuousReason = true, "the faults never bit: no send was indeterminate or failed during a fault window"
	case r.Sends.OK == 0:
		r.Vacuous, r.VacuousReason = true, "no send was acknowledged"
	}
}
