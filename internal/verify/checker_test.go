package verify

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var chkT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func chkAt(d time.Duration) time.Time { return chkT0.Add(d) }

// chkClean returns a history without anomalies: 3 producers sending 300
// values to 3 partitions; a kill during which 4 sends are indeterminate
// (2 of them written) and 1 fails, a pause during which 3 are
// indeterminate (1 written); retention removed partition 2's first two
// records; consumer 0 reads everything from the log start, consumer 1
// reads half of partition 0, restarts, and reads partition 0 again from
// a little before where it stopped and partition 1 from offset 5. The
// polls are stored in reverse order.
func chkClean() *History {
	const parts = 3
	h := &History{Partitions: parts, FinalStart: map[int32]int64{}, FinalEnd: map[int32]int64{}}
	log := make([][]Record, parts) // every record written, before retention
	seq := make([]int, 3)
	for k := range 300 {
		producer, p := k%3, int32(k/3%3)
		s := Send{Producer: producer, Seq: seq[producer], Partition: p, Value: fmt.Sprintf("v%d-%d", producer, seq[producer]),
			Status: SendOK, Sent: chkAt(time.Duration(k) * 50 * time.Millisecond)}
		seq[producer]++
		s.Done = s.Sent.Add(3 * time.Millisecond)
		written := true
		switch {
		case k >= 100 && k <= 103: // during the kill
			s.Status, s.Err, written = SendIndeterminate, "connection reset", k%2 == 0
			s.Done = s.Sent.Add(2 * time.Second)
		case k == 104:
			s.Status, s.Err, written = SendFailed, "NOT_LEADER_OR_FOLLOWER", false
		case k >= 250 && k <= 252: // during the pause
			s.Status, s.Err, written = SendIndeterminate, "request timed out", k == 250
			s.Done = s.Sent.Add(3 * time.Second)
		}
		if written {
			o := int64(len(log[p]))
			log[p] = append(log[p], Record{Partition: p, Offset: o, Value: s.Value})
			if s.Status == SendOK {
				s.Offset = o
			}
		}
		h.Sends = append(h.Sends, s)
	}
	h.Faults = []FaultEvent{
		{Kind: FaultKill, Start: chkAt(5 * time.Second), End: chkAt(5500 * time.Millisecond)},
		{Kind: FaultPause, Start: chkAt(12500 * time.Millisecond), End: chkAt(13500 * time.Millisecond)},
	}
	for p := range int32(parts) {
		start := int64(0)
		if p == 2 {
			start = 2
		}
		h.FinalStart[p], h.FinalEnd[p] = start, int64(len(log[p]))
		h.Final = append(h.Final, log[p][start:]...)
	}

	at := chkAt(time.Minute)
	poll := func(consumer, session int, recs []Record) {
		at = at.Add(time.Millisecond)
		h.Polls = append(h.Polls, Poll{Consumer: consumer, Session: session, At: at, Records: slices.Clone(recs)})
	}
	// Consumer 0: every partition, 4 records of each per poll.
	h.Assignments = append(h.Assignments, Assignment{Consumer: 0, Session: 0, Partitions: map[int32]int64{0: -1, 1: -1, 2: -1}})
	for i := 0; ; i += 4 {
		var recs []Record
		for p := range parts {
			recs = append(recs, log[p][min(i, len(log[p])):min(i+4, len(log[p]))]...)
		}
		if len(recs) == 0 {
			break
		}
		poll(0, 0, recs)
	}
	// Consumer 1.
	half := int64(len(log[0]) / 2)
	h.Assignments = append(h.Assignments,
		Assignment{Consumer: 1, Session: 0, Partitions: map[int32]int64{0: -1}},
		Assignment{Consumer: 1, Session: 1, Partitions: map[int32]int64{0: half - 3, 1: 5}})
	for o := int64(0); o < half; o += 5 {
		poll(1, 0, log[0][o:min(o+5, half)])
	}
	for o := half - 3; o < int64(len(log[0])); o += 6 {
		recs := log[0][o:min(o+6, int64(len(log[0])))]
		if q := o - half + 8; q >= 5 && q < int64(len(log[1])) {
			recs = append(slices.Clone(recs), log[1][q:min(q+6, int64(len(log[1])))]...)
		}
		poll(1, 1, recs)
	}
	slices.Reverse(h.Polls)
	return h
}

// chkSend returns the ok send acknowledged at (p, o).
func chkSend(t *testing.T, h *History, p int32, o int64) *Send {
	t.Helper()
	for i := range h.Sends {
		if s := &h.Sends[i]; s.Status == SendOK && s.Partition == p && s.Offset == o {
			return s
		}
	}
	t.Fatalf("no ok send at %d/%d", p, o)
	return nil
}

// chkEach calls f for every record at (p, o) in the final read and the
// polls.
func chkEach(h *History, p int32, o int64, f func(*Record)) {
	for i := range h.Final {
		if r := &h.Final[i]; r.Partition == p && r.Offset == o {
			f(r)
		}
	}
	for i := range h.Polls {
		for j := range h.Polls[i].Records {
			if r := &h.Polls[i].Records[j]; r.Partition == p && r.Offset == o {
				f(r)
			}
		}
	}
}

// chkDrop removes the records at (p, o) from the final read (if final)
// or from consumer c's session s's polls.
func chkDrop(t *testing.T, h *History, final bool, c, s int, p int32, o int64) {
	t.Helper()
	keep := func(r Record) bool { return r.Partition != p || r.Offset != o }
	n := 0
	if final {
		n = len(h.Final)
		h.Final = slices.DeleteFunc(h.Final, func(r Record) bool { return !keep(r) })
		n -= len(h.Final)
	}
	for i := range h.Polls {
		if pl := &h.Polls[i]; !final && pl.Consumer == c && pl.Session == s {
			before := len(pl.Records)
			pl.Records = slices.DeleteFunc(pl.Records, func(r Record) bool { return !keep(r) })
			n += before - len(pl.Records)
		}
	}
	if n == 0 {
		t.Fatalf("nothing to drop at %d/%d", p, o)
	}
}

// chkOnly fails unless r has want anomalies of class and none of any
// other class, and is not OK.
func chkOnly(t *testing.T, r *Result, class string, want int) {
	t.Helper()
	chkCounts(t, r, class, want)
	if r.OK() || !strings.HasPrefix(r.Verdict(), "FAILED ("+class+" ") {
		t.Errorf("OK %v, verdict %q", r.OK(), r.Verdict())
	}
}

// chkCounts fails unless r has want anomalies of class and none of any
// other class, and the history is valid and the result not vacuous.
func chkCounts(t *testing.T, r *Result, class string, want int) {
	t.Helper()
	for _, c := range r.Classes() {
		w := 0
		if c.Name == class {
			w = want
		}
		if c.Count != w {
			t.Errorf("%s = %d, want %d; examples %q", c.Name, c.Count, w, c.Examples)
		}
		if (c.Count > 0) != (len(c.Examples) > 0) {
			t.Errorf("%s: %d anomalies, %d examples", c.Name, c.Count, len(c.Examples))
		}
	}
	if len(r.Invalid) > 0 || r.Vacuous {
		t.Errorf("invalid %q, vacuous %v (%s)", r.Invalid, r.Vacuous, r.VacuousReason)
	}
}

func TestCheckClean(t *testing.T) {
	h := chkClean()
	r := Check(h, CheckOptions{RequireFaults: true})
	chkCounts(t, r, "", 0)
	if !r.OK() || r.Verdict() != "ok" || r.Anomalies() != 0 || r.Examples != nil {
		t.Fatalf("OK %v, verdict %q, examples %q", r.OK(), r.Verdict(), r.Examples)
	}
	wantSends := SendCounts{Total: 300, OK: 292, Failed: 1, Indeterminate: 7, IndeterminateFound: 3, IndeterminateAbsent: 4}
	if r.Sends != wantSends {
		t.Errorf("sends %+v, want %+v", r.Sends, wantSends)
	}
	wantFaults := []FaultStats{{Kind: FaultKill, Events: 1, SendsHit: 5}, {Kind: FaultPause, Events: 1, SendsHit: 3}}
	if !reflect.DeepEqual(r.Faults, wantFaults) || r.SendsHitByFaults != 8 {
		t.Errorf("faults %+v (%d hit), want %+v (8)", r.Faults, r.SendsHitByFaults, wantFaults)
	}
	if r.BelowLogStart != 2 || r.FinalRecords != len(h.Final) || r.FinalRecords != 293 || r.Polls != len(h.Polls) {
		t.Errorf("below log start %d, final records %d, polls %d", r.BelowLogStart, r.FinalRecords, r.Polls)
	}
	polled := 0
	for _, p := range h.Polls {
		polled += len(p.Records)
	}
	if r.PolledRecords != polled || polled <= 295 {
		t.Errorf("polled records %d, want %d (more than the log's 295)", r.PolledRecords, polled)
	}
}

// TestCheckPlanted plants one anomaly at a time in the clean history and
// requires Check to report exactly that.
func TestCheckPlanted(t *testing.T) {
	tests := []struct {
		name  string
		class string
		want  int
		plant func(t *testing.T, h *History)
	}{
		{"acknowledged record missing from the final read", ClassLost, 1, func(t *testing.T, h *History) {
			chkSend(t, h, 1, 10)
			chkDrop(t, h, true, 0, 0, 1, 10)
		}},
		{"indeterminate record read, then missing", ClassLost, 1, func(t *testing.T, h *History) {
			s := &h.Sends[100]
			if s.Status != SendIndeterminate {
				t.Fatal("send 100 is not indeterminate")
			}
			for _, r := range h.Final {
				if r.Value == s.Value {
					chkDrop(t, h, true, 0, 0, r.Partition, r.Offset)
					return
				}
			}
			t.Fatal("send 100 is not in the log")
		}},
		{"log end went back", ClassUnseen, 3, func(t *testing.T, h *History) {
			h.FinalEnd[0] -= 3
			h.Final = slices.DeleteFunc(h.Final, func(r Record) bool { return r.Partition == 0 && r.Offset >= h.FinalEnd[0] })
		}},
		{"value twice in the log", ClassDuplicates, 1, func(t *testing.T, h *History) {
			v := chkSend(t, h, 0, 3).Value
			h.Final = append(h.Final, Record{Partition: 0, Offset: h.FinalEnd[0], Value: v})
			h.FinalEnd[0]++
		}},
		{"acknowledged at an offset the value is not at", ClassInconsistentOffsets, 1, func(t *testing.T, h *History) {
			var last *Send
			for i := range h.Sends {
				if s := &h.Sends[i]; s.Producer == 0 && s.Partition == 1 && s.Status == SendOK {
					last = s
				}
			}
			last.Offset = h.FinalEnd[1] + 10
		}},
		{"acknowledged at another value's offset", ClassInconsistentOffsets, 1, func(t *testing.T, h *History) {
			// Producer 0's last send to partition 0 acknowledged at the
			// partition's last offset, which holds another producer's
			// value.
			var last *Send
			for i := range h.Sends {
				if s := &h.Sends[i]; s.Producer == 0 && s.Partition == 0 && s.Status == SendOK {
					last = s
				}
			}
			if other := chkSend(t, h, 0, h.FinalEnd[0]-1); other.Producer == 0 {
				t.Fatal("the last offset is producer 0's")
			}
			last.Offset = h.FinalEnd[0] - 1
		}},
		{"producer's offsets go back", ClassNonMonotonicSends, 1, func(t *testing.T, h *History) {
			a, b := chkSend(t, h, 0, 0), chkSend(t, h, 0, 3)
			if a.Producer != 0 || b.Producer != 0 || a.Seq >= b.Seq {
				t.Fatalf("sends %+v and %+v are not producer 0's, in order", a, b)
			}
			a.Offset, b.Offset = 3, 0
			chkEach(h, 0, 3, func(r *Record) { r.Value = a.Value })
			chkEach(h, 0, 0, func(r *Record) { r.Value = b.Value })
		}},
		{"record delivered twice", ClassNonMonotonicPolls, 1, func(t *testing.T, h *History) {
			pl := &h.Polls[len(h.Polls)/2]
			pl.Records = append(pl.Records, pl.Records[0])
		}},
		{"record skipped", ClassPollSkips, 1, func(t *testing.T, h *History) { chkDrop(t, h, false, 0, 0, 1, 40) }},
		{"first record from the log start skipped", ClassPollSkips, 1, func(t *testing.T, h *History) {
			chkDrop(t, h, false, 0, 0, 0, 0)
		}},
		{"first record from an assigned offset skipped", ClassPollSkips, 1, func(t *testing.T, h *History) {
			chkDrop(t, h, false, 1, 1, 1, 5)
		}},
		{"value never sent in the log", ClassUnexpectedValues, 1, func(t *testing.T, h *History) {
			h.Final = append(h.Final, Record{Partition: 2, Offset: h.FinalEnd[2], Value: "garbage"})
			h.FinalEnd[2]++
		}},
		{"failed send in the log", ClassUnexpectedValues, 1, func(t *testing.T, h *History) {
			if h.Sends[104].Status != SendFailed {
				t.Fatal("send 104 did not fail")
			}
			h.Final = append(h.Final, Record{Partition: 2, Offset: h.FinalEnd[2], Value: h.Sends[104].Value})
			h.FinalEnd[2]++
		}},
		{"value never sent polled", ClassUnexpectedValues, 1, func(t *testing.T, h *History) {
			pl := &h.Polls[0] // consumer 1's last poll
			pl.Records = append(pl.Records, Record{Partition: 0, Offset: h.FinalEnd[0] + 100, Value: "garbage"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := chkClean()
			tt.plant(t, h)
			r := Check(h, CheckOptions{RequireFaults: true})
			chkOnly(t, r, tt.class, tt.want)
		})
	}
}

// TestCheckReadThenOverwritten: consumers read an indeterminate send's
// value, and the final read has another value at that position: the value
// read is lost, and the position inconsistent.
func TestCheckReadThenOverwritten(t *testing.T) {
	h := chkClean()
	read, other := h.Sends[100], h.Sends[101]
	if read.Status != SendIndeterminate || other.Status != SendIndeterminate || read.Partition != other.Partition {
		t.Fatal("sends 100 and 101 are not indeterminate sends to one partition")
	}
	n := 0
	for i := range h.Final {
		if h.Final[i].Value == read.Value {
			h.Final[i].Value = other.Value
			n++
		}
	}
	if n != 1 {
		t.Fatalf("send 100's value is %d times in the final read", n)
	}
	r := Check(h, CheckOptions{RequireFaults: true})
	if r.Lost != 1 || r.InconsistentOffsets != 1 || r.Anomalies() != 2 {
		t.Fatalf("verdict %q, examples %q", r.Verdict(), r.Examples)
	}
	if r.Sends.IndeterminateFound != 4 || r.Sends.IndeterminateAbsent != 3 {
		t.Errorf("sends %+v", r.Sends)
	}
}

// TestCheckSkipsCounted: a gap of 30 records is 30 skips, with 20
// examples by default, and as many as asked.
func TestCheckSkipsCounted(t *testing.T) {
	h := chkClean()
	for o := int64(20); o < 50; o++ {
		chkDrop(t, h, false, 0, 0, 1, o)
	}
	for _, tt := range []struct{ opt, want int }{{0, DefaultExamples}, {-1, 0}, {5, 5}, {100, 30}} {
		r := Check(h, CheckOptions{RequireFaults: true, Examples: tt.opt})
		if r.PollSkips != 30 || len(r.Examples[ClassPollSkips]) != tt.want {
			t.Errorf("Examples %d: %d skips, %d examples, want 30, %d", tt.opt, r.PollSkips, len(r.Examples[ClassPollSkips]), tt.want)
		}
	}
	r := Check(h, CheckOptions{})
	if ex := r.Examples[ClassPollSkips][0]; !strings.Contains(ex, "consumer 0 session 0: partition 1 offset 20") {
		t.Errorf("example %q", ex)
	}
}

func TestCheckInvalid(t *testing.T) {
	h := chkClean()
	h.Sends = append(h.Sends, h.Sends[0])
	h.Sends[len(h.Sends)-1].Seq = 1000
	r := Check(h, CheckOptions{})
	if r.OK() || len(r.Invalid) != 1 || !strings.Contains(r.Verdict(), "invalid history: 1 sends repeating") {
		t.Fatalf("invalid %q, verdict %q", r.Invalid, r.Verdict())
	}
}

// TestCheckDeterministic: Check does not change the history and gives
// the same result twice.
func TestCheckDeterministic(t *testing.T) {
	h := chkClean()
	h.Final = append(h.Final, Record{Partition: 2, Offset: 1000, Value: "x"}, Record{Partition: 1, Offset: 7, Value: "y"})
	slices.Reverse(h.Final)
	var before, after bytes.Buffer
	if err := WriteHistory(&before, h); err != nil {
		t.Fatal(err)
	}
	r1, r2 := Check(h, CheckOptions{}), Check(h, CheckOptions{})
	if err := WriteHistory(&after, h); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before.Bytes(), after.Bytes()) {
		t.Error("Check changed the history")
	}
	if !reflect.DeepEqual(r1, r2) || r1.OK() {
		t.Errorf("results differ or OK:\n%+v\n%+v", r1, r2)
	}
}

func TestCheckVacuity(t *testing.T) {
	far := func(h *History) {
		for i := range h.Faults {
			h.Faults[i].Start = h.Faults[i].Start.Add(time.Hour)
			h.Faults[i].End = h.Faults[i].End.Add(time.Hour)
		}
	}
	tests := []struct {
		name          string
		change        func(h *History)
		requireFaults bool
		vacuous       bool
	}{
		{"faults that bit", func(*History) {}, true, false},
		{"no faults, required", func(h *History) { h.Faults = nil }, true, true},
		{"no faults, not required", func(h *History) { h.Faults = nil }, false, false},
		{"faults that never bit", far, true, true},
		{"faults that never bit, not required", far, false, true},
		{"nothing acknowledged", func(h *History) { *h = History{Sends: h.Sends[100:105], Faults: h.Faults} }, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := chkClean()
			tt.change(h)
			r := Check(h, CheckOptions{RequireFaults: tt.requireFaults})
			if r.Vacuous != tt.vacuous || (r.VacuousReason != "") != tt.vacuous {
				t.Fatalf("vacuous %v (%q), want %v", r.Vacuous, r.VacuousReason, tt.vacuous)
			}
			if tt.vacuous && (r.OK() || !strings.HasPrefix(r.Verdict(), "VACUOUS (")) {
				t.Errorf("OK %v, verdict %q", r.OK(), r.Verdict())
			}
		})
	}
}

// TestCheckFaultWindow: a send overlaps a fault's window until FaultGrace
// after its end, and only indeterminate or failed sends count.
func TestCheckFaultWindow(t *testing.T) {
	h := &History{Faults: []FaultEvent{
		{Kind: FaultKill, Start: chkAt(0), End: chkAt(time.Second)},
		{Kind: FaultKill, Start: chkAt(time.Hour), End: chkAt(time.Hour)},
		{Kind: FaultPause, Start: chkAt(10 * time.Second), End: chkAt(20 * time.Second)},
	}}
	add := func(st SendStatus, sent, done time.Duration) {
		h.Sends = append(h.Sends, Send{Value: fmt.Sprint(len(h.Sends)), Status: st, Sent: chkAt(sent), Done: chkAt(done)})
	}
	add(SendIndeterminate, -time.Minute, -time.Second)                     // before
	add(SendIndeterminate, -time.Second, 0)                                // at the start: kill
	add(SendFailed, 5900*time.Millisecond, 7*time.Second)                  // in the kill's grace, not in the pause
	add(SendIndeterminate, 6100*time.Millisecond, 9*time.Second)           // after the grace
	add(SendOK, 0, time.Second)                                            // ok: never counted
	add(SendIndeterminate, time.Hour+4*time.Second, time.Hour+time.Minute) // second kill's grace
	add(SendIndeterminate, 24*time.Second, 30*time.Second)                 // pause grace
	add(SendIndeterminate, 9*time.Second, 0)                               // Done unset: [Sent, Sent]
	h.Sends[len(h.Sends)-1].Done = time.Time{}
	r := Check(h, CheckOptions{})
	want := []FaultStats{{Kind: FaultKill, Events: 2, SendsHit: 3}, {Kind: FaultPause, Events: 1, SendsHit: 1}}
	if !reflect.DeepEqual(r.Faults, want) || r.SendsHitByFaults != 4 {
		t.Fatalf("faults %+v, %d hit; want %+v, 4", r.Faults, r.SendsHitByFaults, want)
	}
}

// chkLarge returns a clean history of n sends to 8 partitions by 4
// producers, all read by one consumer in polls of 500.
func chkLarge(n int) *History {
	const parts = 8
	h := &History{Partitions: parts, FinalStart: map[int32]int64{}, FinalEnd: map[int32]int64{},
		Sends: make([]Send, 0, n), Final: make([]Record, 0, n)}
	next := make([]int64, parts)
	for k := range n {
		p := int32(k % parts)
		v := "v" + fmt.Sprint(k)
		h.Sends = append(h.Sends, Send{Producer: k % 4, Seq: k / 4, Partition: p, Value: v, Status: SendOK, Offset: next[p],
			Sent: chkAt(time.Duration(k) * time.Microsecond), Done: chkAt(time.Duration(k+500) * time.Microsecond)})
		h.Final = append(h.Final, Record{Partition: p, Offset: next[p], Value: v})
		next[p]++
	}
	h.Sends[n/2].Status = SendIndeterminate
	for p := range int32(parts) {
		h.FinalEnd[p] = next[p]
	}
	h.Faults = []FaultEvent{{Kind: FaultKill, Start: h.Sends[n/2].Sent, End: h.Sends[n/2].Done}}
	h.Assignments = []Assignment{{Partitions: map[int32]int64{0: -1, 1: -1, 2: -1, 3: -1, 4: -1, 5: -1, 6: -1, 7: -1}}}
	for i := 0; i < n; i += 500 {
		h.Polls = append(h.Polls, Poll{At: chkAt(time.Hour + time.Duration(i)), Records: h.Final[i:min(i+500, n)]})
	}
	return h
}

// TestCheckMillion checks a million sends, and as many polled records,
// within a time limit.
func TestCheckMillion(t *testing.T) {
	if testing.Short() {
		t.Skip("a million sends")
	}
	h := chkLarge(1_000_000)
	start := time.Now()
	r := Check(h, CheckOptions{RequireFaults: true})
	took := time.Since(start)
	t.Logf("checked %d sends, %d polled records in %v", len(h.Sends), r.PolledRecords, took)
	if !r.OK() || r.Sends.OK != 999_999 || r.PolledRecords != 1_000_000 {
		t.Fatalf("verdict %q, %+v", r.Verdict(), r.Sends)
	}
	if took > 20*time.Second {
		t.Errorf("took %v", took)
	}
}

func BenchmarkCheck(b *testing.B) {
	h := chkLarge(200_000)
	b.ResetTimer()
	for b.Loop() {
		if r := Check(h, CheckOptions{RequireFaults: true}); !r.OK() {
			b.Fatal(r.Verdict())
		}
	}
}
