package verify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Result is what Check found. Its JSON form is what WriteJSON writes.
type Result struct {
	// The anomaly counts, in the units the package documentation gives.
	Lost                int `json:"lost"`
	Unseen              int `json:"unseen"`
	Duplicates          int `json:"duplicates"`
	InconsistentOffsets int `json:"inconsistent_offsets"`
	NonMonotonicSends   int `json:"nonmonotonic_sends"`
	NonMonotonicPolls   int `json:"nonmonotonic_polls"`
	PollSkips           int `json:"poll_skips"`
	UnexpectedValues    int `json:"unexpected_values"`
	// Examples describes up to CheckOptions.Examples anomalies of each
	// class that has some, by class name (the JSON names of the counts).
	Examples map[string][]string `json:"examples,omitempty"`

	Sends SendCounts `json:"sends"`
	// BelowLogStart counts ok sends below the final read's log start
	// that the final read does not have: removed by retention.
	BelowLogStart int `json:"below_log_start"`
	FinalRecords  int `json:"final_records"`
	Polls         int `json:"polls"`
	PolledRecords int `json:"polled_records"`

	// Faults has one entry per fault kind, sorted by kind.
	Faults []FaultStats `json:"faults"`
	// SendsHitByFaults counts the sends in a window of any kind.
	SendsHitByFaults int `json:"sends_hit_by_faults"`

	// Invalid lists how the history breaks the model, if it does.
	Invalid []string `json:"invalid,omitempty"`

	Vacuous       bool   `json:"vacuous"`
	VacuousReason string `json:"vacuous_reason,omitempty"`
}

// SendCounts counts the sends by status.
type SendCounts struct {
	Total         int `json:"total"`
	OK            int `json:"ok"`
	Failed        int `json:"failed"`
	Indeterminate int `json:"indeterminate"`
	// IndeterminateFound counts the indeterminate sends whose value is in
	// the final read or a poll; IndeterminateAbsent the others.
	IndeterminateFound  int `json:"indeterminate_found"`
	IndeterminateAbsent int `json:"indeterminate_absent"`
}

// FaultStats is what one kind of fault did.
type FaultStats struct {
	Kind   string `json:"kind"`
	Events int    `json:"events"`
	// SendsHit counts the indeterminate or failed sends whose [Sent, Done]
	// overlaps an event window [Start, End+FaultGrace].
	SendsHit int `json:"sends_hit"`
}

// The anomaly class names, as in JSON and the table.
const (
	ClassLost                = "lost"
	ClassUnseen              = "unseen"
	ClassDuplicates          = "duplicates"
	ClassInconsistentOffsets = "inconsistent_offsets"
	ClassNonMonotonicSends   = "nonmonotonic_sends"
	ClassNonMonotonicPolls   = "nonmonotonic_polls"
	ClassPollSkips           = "poll_skips"
	ClassUnexpectedValues    = "unexpected_values"
)

// ClassCount is one anomaly class's count and examples.
type ClassCount struct {
	Name     string
	Count    int
	Examples []string
}

// Classes returns the anomaly classes in report order.
func (r *Result) Classes() []ClassCount {
	out := []ClassCount{
		{ClassLost, r.Lost, nil},
		{ClassUnseen, r.Unseen, nil},
		{ClassDuplicates, r.Duplicates, nil},
		{ClassInconsistentOffsets, r.InconsistentOffsets, nil},
		{ClassNonMonotonicSends, r.NonMonotonicSends, nil},
		{ClassNonMonotonicPolls, r.NonMonotonicPolls, nil},
		{ClassPollSkips, r.PollSkips, nil},
		{ClassUnexpectedValues, r.UnexpectedValues, nil},
	}
	for i := range out {
		out[i].Examples = r.Examples[out[i].Name]
	}
	return out
}

// count returns the count of the class named name.
func (r *Result) count(name string) *int {
	switch name {
	case ClassLost:
		return &r.Lost
	case ClassUnseen:
		return &r.Unseen
	case ClassDuplicates:
		return &r.Duplicates
	case ClassInconsistentOffsets:
		return &r.InconsistentOffsets
	case ClassNonMonotonicSends:
		return &r.NonMonotonicSends
	case ClassNonMonotonicPolls:
		return &r.NonMonotonicPolls
	case ClassPollSkips:
		return &r.PollSkips
	case ClassUnexpectedValues:
		return &r.UnexpectedValues
	}
	panic("verify: unknown anomaly class " + name)
}

// Anomalies returns the number of anomalies of every class.
func (r *Result) Anomalies() int {
	n := 0
	for _, c := range r.Classes() {
		n += c.Count
	}
	return n
}

// OK reports whether the check passed: no anomaly, a valid history, and
// not vacuous.
func (r *Result) OK() bool {
	return r.Anomalies() == 0 && len(r.Invalid) == 0 && !r.Vacuous
}

// Verdict is "ok", "FAILED (reasons)" or "VACUOUS (reason)".
func (r *Result) Verdict() string {
	var reasons []string
	for _, c := range r.Classes() {
		if c.Count > 0 {
			reasons = append(reasons, fmt.Sprintf("%s %d", c.Name, c.Count))
		}
	}
	if len(r.Invalid) > 0 {
		reasons = append(reasons, "invalid history: "+strings.Join(r.Invalid, ", "))
	}
	switch {
	case len(reasons) > 0:
		return "FAILED (" + strings.Join(reasons, "; ") + ")"
	case r.Vacuous:
		return "VACUOUS (" + r.VacuousReason + ")"
	}
	return "ok"
}

// WriteTable writes r as a fixed-width table: the anomaly classes with
// their counts and examples, the sends, polls and final read, the faults,
// and the verdict.
func (r *Result) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	row := func(name string, n int) { fmt.Fprintf(bw, "%-26s %12d\n", name, n) }
	fmt.Fprintf(bw, "%-26s %12s\n", "anomaly", "count")
	for _, c := range r.Classes() {
		row(c.Name, c.Count)
		for _, e := range c.Examples {
			fmt.Fprintf(bw, "    %s\n", e)
		}
	}
	fmt.Fprintln(bw)
	row("sends", r.Sends.Total)
	row("  ok", r.Sends.OK)
	row("  failed", r.Sends.Failed)
	row("  indeterminate", r.Sends.Indeterminate)
	row("    found", r.Sends.IndeterminateFound)
	row("    absent", r.Sends.IndeterminateAbsent)
	row("below_log_start", r.BelowLogStart)
	row("final read records", r.FinalRecords)
	row("polls", r.Polls)
	row("polled records", r.PolledRecords)
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "%-26s %12s %12s\n", "fault", "events", "sends hit")
	for _, f := range r.Faults {
		fmt.Fprintf(bw, "%-26s %12d %12d\n", f.Kind, f.Events, f.SendsHit)
	}
	if len(r.Faults) == 0 {
		fmt.Fprintf(bw, "%-26s\n", "(none)")
	}
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "verdict: %s\n", r.Verdict())
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("verify: write table: %w", err)
	}
	return nil
}

// WriteJSON writes r as one indented JSON document: the fields of Result
// and, with them, "ok" and "verdict".
func (r *Result) WriteJSON(w io.Writer) error {
	doc := struct {
		OK      bool   `json:"ok"`
		Verdict string `json:"verdict"`
		*Result
	}{r.OK(), r.Verdict(), r}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("verify: write result: %w", err)
	}
	return nil
}

// historyVersion is the version of the format WriteHistory writes.
const historyVersion = 1

// historyLimits bound what ReadHistory accepts, and so what it allocates.
var historyLimits = struct {
	line                           int // bytes in one line
	sends, records, polls, entries int // entries: assignments, faults
}{
	line:    4 << 20,
	sends:   10_000_000,
	records: 20_000_000, // final records, and polled records
	polls:   10_000_000,
	entries: 1_000_000,
}

type historyHeader struct {
	Version    int             `json:"version"`
	Partitions int32           `json:"partitions"`
	FinalStart map[int32]int64 `json:"final_start"`
	FinalEnd   map[int32]int64 `json:"final_end"`
}

// historyLine is one line of a stored history: exactly one field is set.
type historyLine struct {
	Header     *historyHeader `json:"header,omitempty"`
	Fault      *FaultEvent    `json:"fault,omitempty"`
	Assignment *Assignment    `json:"assignment,omitempty"`
	Send       *Send          `json:"send,omitempty"`
	Poll       *Poll          `json:"poll,omitempty"`
	Final      *Record        `json:"final,omitempty"`
}

// WriteHistory stores h as JSON lines: one JSON object per line, with a
// single key saying what the line holds. The first line is
// {"header":{"version":1,"partitions":…,"final_start":…,"final_end":…}};
// then come lines {"fault":FaultEvent}, {"assignment":Assignment},
// {"send":Send}, {"poll":Poll} and {"final":Record}, each list in h's
// order. Times are RFC 3339 with nanoseconds (monotonic clock readings
// are not kept). ReadHistory reads it back; empty lists read back as nil.
func WriteHistory(w io.Writer, h *History) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	put := func(l historyLine) error {
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("verify: write history: %w", err)
		}
		return nil
	}
	if err := put(historyLine{Header: &historyHeader{historyVersion, h.Partitions, h.FinalStart, h.FinalEnd}}); err != nil {
		return err
	}
	for i := range h.Faults {
		if err := put(historyLine{Fault: &h.Faults[i]}); err != nil {
			return err
		}
	}
	for i := range h.Assignments {
		if err := put(historyLine{Assignment: &h.Assignments[i]}); err != nil {
			return err
		}
	}
	for i := range h.Sends {
		if err := put(historyLine{Send: &h.Sends[i]}); err != nil {
			return err
		}
	}
	for i := range h.Polls {
		if err := put(historyLine{Poll: &h.Polls[i]}); err != nil {
			return err
		}
	}
	for i := range h.Final {
		if err := put(historyLine{Final: &h.Final[i]}); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("verify: write history: %w", err)
	}
	return nil
}

// ErrHistoryTooLarge is returned by ReadHistory for a history over its
// limits (10 million sends, 20 million final or polled records, 10
// million polls, a million assignments or fault events, 4 MiB in a line).
var ErrHistoryTooLarge = errors.New("history too large")

// ReadHistory reads a history WriteHistory wrote. Blank lines are
// skipped; anything else that is not a line of the format is an error.
func ReadHistory(r io.Reader) (*History, error) {
	lim := historyLimits
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(64<<10, lim.line)), lim.line)
	h := &History{}
	header, polled, n := false, 0, 0
	for sc.Scan() {
		n++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var l historyLine
		if err := json.Unmarshal(text, &l); err != nil {
			return nil, fmt.Errorf("verify: history line %d: %w", n, err)
		}
		set := 0
		for _, p := range []bool{l.Header != nil, l.Fault != nil, l.Assignment != nil, l.Send != nil, l.Poll != nil, l.Final != nil} {
			if p {
				set++
			}
		}
		if set != 1 {
			return nil, fmt.Errorf("verify: history line %d: want one of header, fault, assignment, send, poll, final; got %d", n, set)
		}
		if header == (l.Header != nil) {
			return nil, fmt.Errorf("verify: history line %d: the header must come first, and once", n)
		}
		over := false
		switch {
		case l.Header != nil:
			if l.Header.Version != historyVersion {
				return nil, fmt.Errorf("verify: history line %d: version %d, want %d", n, l.Header.Version, historyVersion)
			}
			header = true
			h.Partitions, h.FinalStart, h.FinalEnd = l.Header.Partitions, l.Header.FinalStart, l.Header.FinalEnd
		case l.Fault != nil:
			h.Faults = append(h.Faults, *l.Fault)
			over = len(h.Faults) > lim.entries
		case l.Assignment != nil:
			h.Assignments = append(h.Assignments, *l.Assignment)
			over = len(h.Assignments) > lim.entries
		case l.Send != nil:
			h.Sends = append(h.Sends, *l.Send)
			over = len(h.Sends) > lim.sends
		case l.Poll != nil:
			h.Polls = append(h.Polls, *l.Poll)
			polled += len(l.Poll.Records)
			over = len(h.Polls) > lim.polls || polled > lim.records
		case l.Final != nil:
			h.Final = append(h.Final, *l.Final)
			over = len(h.Final) > lim.records
		}
		if over {
			return nil, fmt.Errorf("verify: history line %d: %w", n, ErrHistoryTooLarge)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("%w: %w", ErrHistoryTooLarge, err)
		}
		return nil, fmt.Errorf("verify: read history after line %d: %w", n, err)
	}
	if !header {
		return nil, errors.New("verify: read history: no header")
	}
	return h, nil
}
