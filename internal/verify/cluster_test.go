package verify

import (
	"fmt"
	"strings"
	"testing"
)

// TestTailBufferKeepsTheEnd: the log tail keeps the last bytes written,
// whatever the write sizes.
func TestTailBufferKeepsTheEnd(t *testing.T) {
	tb := &tailBuffer{max: 10}
	var all strings.Builder
	for i := range 50 {
		s := fmt.Sprintf("%d;", i)
		all.WriteString(s)
		tb.Write([]byte(s))
		want := all.String()
		if len(want) > 10 {
			want = want[len(want)-10:]
		}
		if got := tb.String(); got != want {
			t.Fatalf("after %q: tail %q, want %q", s, got, want)
		}
	}
	tb.Write([]byte(strings.Repeat("x", 25)))
	if got := tb.String(); got != strings.Repeat("x", 10) {
		t.Fatalf("after a long write: %q", got)
	}
}

// TestActiveControllerFromLogs: the active controller is the leader most
// nodes logged last.
func TestActiveControllerFromLogs(t *testing.T) {
	line := func(node, leader int) string {
		return fmt.Sprintf("time=x level=INFO msg=\"metadata leader changed\" node_id=%d leader=%d state=StateFollower\n", node, leader)
	}
	for _, tc := range []struct {
		logs []string
		want int
	}{
		{[]string{"", "", ""}, 0},
		{[]string{line(1, 2), line(2, 2), line(3, 2)}, 2},
		// Node 3 has not heard of the new leader yet.
		{[]string{line(1, 3) + line(1, 1), line(2, 3) + line(2, 1), line(3, 3)}, 1},
		{[]string{line(1, 2), "", ""}, 2},
	} {
		c := &cluster{}
		for _, l := range tc.logs {
			tb := &tailBuffer{max: 1 << 10}
			tb.Write([]byte(l))
			c.logs = append(c.logs, tb)
		}
		if got := c.activeController(); got != tc.want {
			t.Errorf("logs %q: active controller %d, want %d", tc.logs, got, tc.want)
		}
	}
}
