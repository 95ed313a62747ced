package verify

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
)

// DefaultExamples is how many examples Check keeps per anomaly class when
// CheckOptions.Examples is 0.
const DefaultExamples = 20

// CheckOptions tune Check.
type CheckOptions struct {
	// RequireFaults makes a history without fault events vacuous.
	RequireFaults bool
	// Examples caps the examples kept per anomaly class: 0 means
	// DefaultExamples, a negative number none.
	Examples int
}

// pos is a position: a partition and an offset.
type pos struct {
	p int32
	o int64
}

func (q pos) String() string { return fmt.Sprintf("partition %d offset %d", q.p, q.o) }

// entry is one record of the final read, its value interned.
type entry struct {
	o   int64
	vid int32
}

// valueState is what the checker knows of one value.
type valueState struct {
	send    int32 // index in History.Sends; -1 if no send carried it
	at      pos   // the first position it was observed at
	finalAt pos   // its first position in the final read
	seen    bool  // observed in the final read or a poll
	inFinal bool
	dup     bool // counted as duplicate
	unexp   bool // counted as unexpected
	missing bool // counted as lost or unseen
}

// observation is an acknowledgement or a polled record at a position the
// final read does not have.
type observation struct {
	at  pos
	vid int32
	src string
}

type checker struct {
	h         *History
	r         *Result
	examples  int
	ids       map[string]int32
	vals      []valueState
	names     []string // by value id
	sendVid   []int32
	final     map[int32][]entry // per partition, sorted by offset, one entry per offset
	conflicts map[pos]bool
	offFinal  []observation
	invalid   map[string]int
}

// Check checks h for the anomaly classes described in the package
// documentation. It does not modify h. A nil h is an empty history.
func Check(h *History, opt CheckOptions) *Result {
	if h == nil {
		h = &History{}
	}
	c := &checker{
		h:         h,
		r:         &Result{},
		examples:  opt.Examples,
		ids:       make(map[string]int32, len(h.Sends)),
		vals:      make([]valueState, 0, len(h.Sends)),
		names:     make([]string, 0, len(h.Sends)),
		sendVid:   make([]int32, len(h.Sends)),
		final:     make(map[int32][]entry),
		conflicts: make(map[pos]bool),
		invalid:   make(map[string]int),
	}
	if c.examples == 0 {
		c.examples = DefaultExamples
	}
	c.indexSends()
	c.readFinal()
	c.checkAcks()
	c.readPolls()
	c.checkSendOrder()
	c.checkOffFinal()
	c.countIndeterminate()
	c.checkFaults()
	c.conclude(opt)
	return c.r
}

// note counts an anomaly of a class, keeping an example while there is
// room. The example is formatted only then.
func (c *checker) note(class string, format string, args ...any) {
	*c.r.count(class)++
	if !c.room(class) {
		return
	}
	if c.r.Examples == nil {
		c.r.Examples = make(map[string][]string)
	}
	c.r.Examples[class] = append(c.r.Examples[class], fmt.Sprintf(format, args...))
}

// room reports whether class has room for another example.
func (c *checker) room(class string) bool { return len(c.r.Examples[class]) < c.examples }

func (c *checker) intern(v string) int32 {
	if id, ok := c.ids[v]; ok {
		return id
	}
	id := int32(len(c.vals))
	c.ids[v] = id
	c.vals = append(c.vals, valueState{send: -1})
	c.names = append(c.names, v)
	return id
}

// value returns the value with id vid, for an example.
func (c *checker) value(vid int32) quoted { return quoted(c.names[vid]) }

// quoted is a value in an example: quoted, and shortened if long. It is
// formatted only if the example is kept.
type quoted string

func (v quoted) String() string {
	const max = 64
	if len(v) > max {
		return fmt.Sprintf("%q…", string(v[:max]))
	}
	return fmt.Sprintf("%q", string(v))
}

func (c *checker) indexSends() {
	for i := range c.h.Sends {
		s := &c.h.Sends[i]
		c.r.Sends.Total++
		switch s.Status {
		case SendOK:
			c.r.Sends.OK++
		case SendFailed:
			c.r.Sends.Failed++
		case SendIndeterminate:
			c.r.Sends.Indeterminate++
		default:
			c.invalid["sends with an unknown status"]++
		}
		id := c.intern(s.Value)
		c.sendVid[i] = id
		if c.vals[id].send >= 0 {
			c.invalid["sends repeating an earlier send's value"]++
			continue
		}
		c.vals[id].send = int32(i)
	}
}

// bounds returns partition p's log start and end at the final read.
func (c *checker) bounds(p int32) (start, end int64, ok bool) {
	start, ok1 := c.h.FinalStart[p]
	end, ok2 := c.h.FinalEnd[p]
	return start, end, ok1 && ok2
}

// find returns the value the final read has at q.
func (c *checker) find(q pos) (int32, bool) {
	log := c.final[q.p]
	i, ok := slices.BinarySearchFunc(log, q.o, func(e entry, o int64) int { return cmp.Compare(e.o, o) })
	if !ok {
		return -1, false
	}
	return log[i].vid, true
}

// between returns the final read's records of partition p with
// lo <= offset < hi.
func (c *checker) between(p int32, lo, hi int64) []entry {
	log := c.final[p]
	search := func(o int64) int {
		return sort.Search(len(log), func(i int) bool { return log[i].o >= o })
	}
	i, j := search(lo), search(hi)
	if i >= j {
		return nil
	}
	return log[i:j]
}

func (c *checker) readFinal() {
	c.r.FinalRecords = len(c.h.Final)
	for _, rec := range c.h.Final {
		c.final[rec.Partition] = append(c.final[rec.Partition], entry{rec.Offset, c.intern(rec.Value)})
	}
	parts := make([]int32, 0, len(c.final))
	for p := range c.final {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	for _, p := range parts {
		log := c.final[p]
		slices.SortStableFunc(log, func(a, b entry) int { return cmp.Compare(a.o, b.o) })
		kept := log[:0]
		for _, e := range log {
			if n := len(kept); n > 0 && kept[n-1].o == e.o {
				if kept[n-1].vid != e.vid {
					c.conflict(pos{p, e.o}, "final read has both %s and %s", c.value(kept[n-1].vid), c.value(e.vid))
				}
				continue
			}
			kept = append(kept, e)
		}
		c.final[p] = kept
		for _, e := range kept {
			c.observe(e.vid, pos{p, e.o}, true)
		}
	}
}

// observe records that value vid was read at q, by the final read or a
// poll, and counts duplicate and unexpected values.
func (c *checker) observe(vid int32, q pos, final bool) {
	v := &c.vals[vid]
	switch {
	case !v.seen:
		v.seen, v.at = true, q
	case v.at != q && !v.dup:
		v.dup = true
		c.note(ClassDuplicates, "value %s at %v and at %v", c.value(vid), v.at, q)
	}
	if final && !v.inFinal {
		v.inFinal, v.finalAt = true, q
	}
	if v.unexp {
		return
	}
	switch {
	case v.send < 0:
		v.unexp = true
		c.note(ClassUnexpectedValues, "value %s at %v was never sent", c.value(vid), q)
	case c.h.Sends[v.send].Status == SendFailed:
		v.unexp = true
		c.note(ClassUnexpectedValues, "value %s at %v was sent and failed", c.value(vid), q)
	}
}

// conflict counts an inconsistent offset at q, once per position.
func (c *checker) conflict(q pos, format string, args ...any) {
	if c.conflicts[q] {
		return
	}
	c.conflicts[q] = true
	c.note(ClassInconsistentOffsets, "%v: "+format, append([]any{q}, args...)...)
}

// missing counts a written value (acknowledged, or read by a consumer) at
// q that the final read does not have anywhere, as lost or unseen.
func (c *checker) missing(vid int32, q pos, how string) {
	v := &c.vals[vid]
	if v.missing || v.inFinal {
		return
	}
	start, end, ok := c.bounds(q.p)
	switch {
	case !ok || q.o < start:
	case q.o >= end:
		v.missing = true
		c.note(ClassUnseen, "value %s %s at %v, beyond the final read's log end %d", c.value(vid), how, q, end)
	default:
		v.missing = true
		c.note(ClassLost, "value %s %s at %v, absent from the final read of %d..%d", c.value(vid), how, q, start, end)
	}
}

// checkAcks checks every ok send's acknowledged position against the
// final read.
func (c *checker) checkAcks() {
	unbounded := 0
	for i := range c.h.Sends {
		s := &c.h.Sends[i]
		if s.Status != SendOK {
			continue
		}
		if s.Offset < 0 {
			c.invalid["ok sends with a negative offset"]++
			continue
		}
		vid, q := c.sendVid[i], pos{s.Partition, s.Offset}
		v := &c.vals[vid]
		got, found := c.find(q)
		if found && got == vid {
			continue
		}
		if found {
			c.conflict(q, "acknowledged %s, final read has %s", c.value(vid), c.value(got))
		} else {
			c.offFinal = append(c.offFinal, observation{q, vid, "acknowledged"})
			if v.inFinal {
				c.conflict(q, "acknowledged %s, which the final read has at %v", c.value(vid), v.finalAt)
			}
		}
		if v.inFinal {
			continue
		}
		start, _, ok := c.bounds(q.p)
		switch {
		case !ok:
			unbounded++
		case q.o < start:
			c.r.BelowLogStart++
		default:
			c.missing(vid, q, "acknowledged")
		}
	}
	if unbounded > 0 {
		c.invalid["ok sends to a partition the final read did not bound"] += unbounded
	}
}

// checkSendOrder checks that each producer's ok sends to a partition have
// increasing offsets in Seq order.
func (c *checker) checkSendOrder() {
	type stream struct {
		producer int
		p        int32
	}
	sends := c.h.Sends
	streams := make(map[stream][]int)
	for i := range sends {
		if s := &sends[i]; s.Status == SendOK && s.Offset >= 0 {
			k := stream{s.Producer, s.Partition}
			streams[k] = append(streams[k], i)
		}
	}
	keys := make([]stream, 0, len(streams))
	for k := range streams {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b stream) int { return cmp.Or(cmp.Compare(a.producer, b.producer), cmp.Compare(a.p, b.p)) })
	bySeq := func(i, j int) int { return cmp.Compare(sends[i].Seq, sends[j].Seq) }
	for _, k := range keys {
		idx := streams[k] // in history order, usually Seq order already
		if !slices.IsSortedFunc(idx, bySeq) {
			slices.SortStableFunc(idx, bySeq)
		}
		high := &sends[idx[0]]
		for _, i := range idx[1:] {
			s := &sends[i]
			if s.Offset > high.Offset {
				high = s
				continue
			}
			c.note(ClassNonMonotonicSends, "producer %d partition %d: seq %d (value %s) acknowledged at offset %d, not above seq %d's offset %d",
				s.Producer, s.Partition, s.Seq, quoted(s.Value), s.Offset, high.Seq, high.Offset)
		}
	}
}

// checkOffFinal compares the acknowledgements and polled records at
// positions the final read does not have.
func (c *checker) checkOffFinal() {
	obs := c.offFinal
	slices.SortStableFunc(obs, func(a, b observation) int {
		return cmp.Or(cmp.Compare(a.at.p, b.at.p), cmp.Compare(a.at.o, b.at.o))
	})
	for i := 1; i < len(obs); i++ {
		a, b := obs[i-1], obs[i]
		if a.at == b.at && a.vid != b.vid {
			c.conflict(b.at, "%s %s, %s %s", a.src, c.value(a.vid), b.src, c.value(b.vid))
		}
	}
}

func (c *checker) countIndeterminate() {
	for i := range c.h.Sends {
		if c.h.Sends[i].Status != SendIndeterminate {
			continue
		}
		if c.vals[c.sendVid[i]].seen {
			c.r.Sends.IndeterminateFound++
		} else {
			c.r.Sends.IndeterminateAbsent++
		}
	}
}

type sessionKey struct{ consumer, session int }

// readPolls checks the polls, each consumer session on its own, in order
// of Poll.At.
func (c *checker) readPolls() {
	h := c.h
	c.r.Polls = len(h.Polls)
	starts := make(map[sessionKey]map[int32]int64)
	for _, a := range h.Assignments {
		k := sessionKey{a.Consumer, a.Session}
		m := starts[k]
		if m == nil {
			m = make(map[int32]int64)
			starts[k] = m
		}
		for p, o := range a.Partitions {
			if _, ok := m[p]; !ok {
				m[p] = o
			}
		}
	}
	order := make([]int, len(h.Polls))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := &h.Polls[i], &h.Polls[j]
		return cmp.Or(cmp.Compare(a.Consumer, b.Consumer), cmp.Compare(a.Session, b.Session),
			a.At.Compare(b.At), cmp.Compare(i, j))
	})
	var cur sessionKey
	delivered := make(map[int32]int64) // per partition, the highest offset the session delivered
	for n, i := range order {
		pl := &h.Polls[i]
		if k := (sessionKey{pl.Consumer, pl.Session}); n == 0 || k != cur {
			cur = k
			clear(delivered)
		}
		for _, rec := range pl.Records {
			c.r.PolledRecords++
			q := pos{rec.Partition, rec.Offset}
			vid := c.intern(rec.Value)
			c.observe(vid, q, false)
			c.checkRead(vid, q)
			c.checkDelivery(cur, starts[cur], delivered, vid, q)
		}
	}
}

// checkRead compares a polled record with the final read.
func (c *checker) checkRead(vid int32, q pos) {
	got, found := c.find(q)
	if found && got == vid {
		return
	}
	if found {
		c.conflict(q, "final read has %s, a consumer read %s", c.value(got), c.value(vid))
	} else {
		c.offFinal = append(c.offFinal, observation{q, vid, "read"})
	}
	if s := c.vals[vid].send; s >= 0 && c.h.Sends[s].Status != SendFailed {
		c.missing(vid, q, "read")
	}
}

// checkDelivery checks a record's offset against what its session
// delivered before for the partition.
func (c *checker) checkDelivery(k sessionKey, starts map[int32]int64, delivered map[int32]int64, vid int32, q pos) {
	high, started := delivered[q.p]
	switch {
	case !started:
		delivered[q.p] = q.o
		from, ok := starts[q.p]
		if !ok {
			return
		}
		if from < 0 {
			if from, _, ok = c.bounds(q.p); !ok {
				return
			}
		}
		if es := c.between(q.p, from, q.o); len(es) > 0 {
			c.skipped(es, k, q.p, true, from, q.o)
		}
	case q.o <= high:
		c.note(ClassNonMonotonicPolls, "consumer %d session %d: %v (value %s) delivered after offset %d",
			k.consumer, k.session, q, c.value(vid), high)
	default:
		delivered[q.p] = q.o
		if es := c.between(q.p, high+1, q.o); len(es) > 0 {
			c.skipped(es, k, q.p, false, high, q.o)
		}
	}
}

// skipped counts the final read's records es as skipped by session k,
// which delivered offset to after offset from (or, if first, as the first
// offset it delivered, having been assigned from offset from).
func (c *checker) skipped(es []entry, k sessionKey, p int32, first bool, from, to int64) {
	for i, e := range es {
		if !c.room(ClassPollSkips) {
			c.r.PollSkips += len(es) - i
			return
		}
		where := fmt.Sprintf("between offsets %d and %d", from, to)
		if first {
			where = fmt.Sprintf("before offset %d, its first from offset %d", to, from)
		}
		c.note(ClassPollSkips, "consumer %d session %d: %v (value %s) skipped %s",
			k.consumer, k.session, pos{p, e.o}, c.value(e.vid), where)
	}
}
