package verify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestWriteTable(t *testing.T) {
	r := &Result{
		Lost: 2, PollSkips: 1,
		Examples:     map[string][]string{ClassLost: {"value \"a\" lost", "value \"b\" lost"}, ClassPollSkips: {"a skip"}},
		Sends:        SendCounts{Total: 10, OK: 6, Failed: 1, Indeterminate: 3, IndeterminateFound: 2, IndeterminateAbsent: 1},
		FinalRecords: 8, Polls: 3, PolledRecords: 9, BelowLogStart: 1,
		Faults: []FaultStats{{Kind: "kill", Events: 2, SendsHit: 3}, {Kind: "pause", Events: 1, SendsHit: 1}},
	}
	want := `anomaly                           count
lost                                  2
    value "a" lost
    value "b" lost
unseen                                0
duplicates                            0
inconsistent_offsets                  0
nonmonotonic_sends                    0
nonmonotonic_polls                    0
poll_skips                            1
    a skip
unexpected_values                     0

sends                                10
  ok                                  6
  failed                              1
  indeterminate                       3
    found                             2
    absent                            1
below_log_start                       1
final read records                    8
polls                                 3
polled records                        9

fault                            events    sends hit
kill                                  2            3
pause                                 1            1

verdict: FAILED (lost 2; poll_skips 1)
`
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestVerdicts(t *testing.T) {
	last := func(r *Result) string {
		var b bytes.Buffer
		if err := r.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		return lines[len(lines)-1]
	}
	h := chkClean()
	if got := last(Check(h, CheckOptions{RequireFaults: true})); got != "verdict: ok" {
		t.Errorf("clean: %q", got)
	}
	h.Faults = nil
	if got := last(Check(h, CheckOptions{RequireFaults: true})); got != "verdict: VACUOUS (no fault was injected)" {
		t.Errorf("no faults: %q", got)
	}
	h.Sends[297].Offset = 1000 // producer 0's last send to partition 0; still vacuous too
	if got := last(Check(h, CheckOptions{RequireFaults: true})); got != "verdict: FAILED (inconsistent_offsets 1)" {
		t.Errorf("inconsistent: %q", got)
	}
	if got := last(&Result{Invalid: []string{"2 sends with an unknown status"}}); got != "verdict: FAILED (invalid history: 2 sends with an unknown status)" {
		t.Errorf("invalid: %q", got)
	}
}

func TestWriteJSON(t *testing.T) {
	h := chkClean()
	h.Final = append(h.Final, Record{Partition: 2, Offset: h.FinalEnd[2], Value: "garbage"})
	h.FinalEnd[2]++
	r := Check(h, CheckOptions{RequireFaults: true})
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["ok"] != false || doc["verdict"] != "FAILED (unexpected_values 1)" || doc["unexpected_values"] != 1.0 ||
		doc["below_log_start"] != 2.0 || doc["vacuous"] != false {
		t.Errorf("document: %s", b.String())
	}
	if !strings.Contains(b.String(), "\n  \"lost\": 0,\n") {
		t.Errorf("not indented: %s", b.String())
	}
	var back Result
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("read back %+v, want %+v", back, *r)
	}
}

func TestHistoryRoundTrip(t *testing.T) {
	h := chkClean()
	h.Sends[5].Err = "line\nbreak <&> \u2028"
	var b bytes.Buffer
	if err := WriteHistory(&b, h); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := 1 + len(h.Faults) + len(h.Assignments) + len(h.Sends) + len(h.Polls) + len(h.Final)
	if len(lines) != want || !strings.HasPrefix(lines[0], `{"header":{"version":1,`) {
		t.Fatalf("%d lines, want %d; first %q", len(lines), want, lines[0])
	}
	for _, l := range lines {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil || len(m) != 1 {
			t.Fatalf("line %q: %d keys, %v", l, len(m), err)
		}
	}
	got, err := ReadHistory(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("read back a different history")
	}
	if r1, r2 := Check(h, CheckOptions{}), Check(got, CheckOptions{}); !reflect.DeepEqual(r1, r2) {
		t.Errorf("results differ")
	}
}

func TestReadHistoryErrors(t *testing.T) {
	saved := historyLimits
	t.Cleanup(func() { historyLimits = saved })
	historyLimits.line, historyLimits.sends = 200, 2
	const header = `{"header":{"version":1}}` + "\n"
	send := `{"send":{"value":"a"}}` + "\n"
	tests := []struct {
		name, in string
		tooLarge bool
	}{
		{"empty", "", false},
		{"not JSON", "hello\n", false},
		{"no header", send, false},
		{"header not first", send + header, false},
		{"two headers", header + header, false},
		{"version", `{"header":{"version":2}}`, false},
		{"no kind", header + "{}\n", false},
		{"null", header + "null\n", false},
		{"two kinds", header + `{"send":{},"final":{}}` + "\n", false},
		{"wrong type", header + `{"send":{"offset":"x"}}` + "\n", false},
		{"array", header + `[1,2]` + "\n", false},
		{"too many sends", header + send + send + send, true},
		{"line too long", header + `{"send":{"value":"` + strings.Repeat("x", 300) + `"}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ReadHistory(strings.NewReader(tt.in))
			if err == nil || h != nil {
				t.Fatalf("history %+v, error %v", h, err)
			}
			if errors.Is(err, ErrHistoryTooLarge) != tt.tooLarge {
				t.Errorf("error %v: too large %v, want %v", err, errors.Is(err, ErrHistoryTooLarge), tt.tooLarge)
			}
			if !strings.HasPrefix(err.Error(), "verify: ") {
				t.Errorf("error %q", err)
			}
		})
	}
	h, err := ReadHistory(strings.NewReader("\n" + header + "\n" + send + send))
	if err != nil || len(h.Sends) != 2 {
		t.Fatalf("at the limit: %v, %+v", err, h)
	}
}

type chkFailWriter struct{ err error }

func (w chkFailWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteErrors(t *testing.T) {
	cause := errors.New("disk full")
	h := chkClean()
	r := Check(h, CheckOptions{})
	for name, err := range map[string]error{
		"history": WriteHistory(chkFailWriter{cause}, h),
		"table":   r.WriteTable(chkFailWriter{cause}),
		"json":    r.WriteJSON(chkFailWriter{cause}),
	} {
		if !errors.Is(err, cause) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzReadHistory: ReadHistory does not panic; what it accepts, Check
// checks without panicking, and it writes back to a stable form.
func FuzzReadHistory(f *testing.F) {
	var b bytes.Buffer
	if err := WriteHistory(&b, chkClean()); err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(&b)
	var small strings.Builder
	for i := 0; sc.Scan() && i < 40; i++ { // header, faults, assignments, sends
		small.WriteString(sc.Text() + "\n")
	}
	f.Add(small.String())
	f.Add(`{"header":{"version":1,"final_start":{"0":0},"final_end":{"0":2}}}
{"send":{"partition":0,"value":"a","status":"ok","offset":1}}
{"final":{"partition":0,"offset":0,"value":"a"}}
{"poll":{"records":[{"partition":0,"offset":1,"value":"b"},{"partition":0,"offset":0,"value":"a"}]}}
{"assignment":{"partitions":{"0":-1}}}
{"fault":{"kind":"kill","start":"2025-01-01T00:00:00Z","end":"2024-01-01T00:00:00+01:00"}}
`)
	f.Add("")
	f.Add(`{"header":{"version":1}}`)
	f.Fuzz(func(t *testing.T, in string) {
		h, err := ReadHistory(strings.NewReader(in))
		if err != nil {
			if h != nil {
				t.Fatal("a history and an error")
			}
			return
		}
		r := Check(h, CheckOptions{RequireFaults: true})
		if err := r.WriteTable(&bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		var once, twice bytes.Buffer
		if err := WriteHistory(&once, h); err != nil {
			t.Fatalf("write what was read: %v", err)
		}
		h2, err := ReadHistory(bytes.NewReader(once.Bytes()))
		if err != nil {
			t.Fatalf("read what was written: %v", err)
		}
		if err := WriteHistory(&twice, h2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatalf("unstable:\n%s\n%s", once.Bytes(), twice.Bytes())
		}
		if r2 := Check(h2, CheckOptions{RequireFaults: true}); !reflect.DeepEqual(r, r2) {
			t.Fatalf("results differ:\n%+v\n%+v", r, r2)
		}
	})
}
