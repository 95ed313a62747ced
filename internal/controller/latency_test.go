package controller

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// commitLatencies submits n commands one after another to the leader and
// returns each one's latency, sorted.
func commitLatencies(t testing.TB, leader *Controller, n int, prefix string) []time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var lat []time.Duration
	for i := range n {
		start := time.Now()
		if _, _, err := leader.Submit(ctx, createTopic(fmt.Sprintf("%s%04d", prefix, i))); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	return lat
}

// TestCommitLatency reports the commit latency of a metadata record on one
// voter whose raft log is on the real disk (each commit waits for an
// fdatasync), and on three voters over the in-memory network (raft logs
// in memory too, so the figure is the consensus round trip alone).
func TestCommitLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("latency measurement")
	}
	one, err := Open(Config{NodeID: 1, Voters: []uint64{1}, FS: vfs.Default, Dir: t.TempDir(), TickInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	waitFor(t, "leadership", 10*time.Second, one.IsLeader)
	lat := commitLatencies(t, one, 200, "one")
	t.Logf("1 voter (real disk): p50 %v  p99 %v  max %v", lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])

	c := newCluster(t, 3, 1)
	defer c.close()
	var leader *Controller
	waitFor(t, "a leader", 10*time.Second, func() bool {
		for _, n := range c.nodes {
			if n.IsLeader() {
				leader = n
				return true
			}
		}
		return false
	})
	lat = commitLatencies(t, leader, 200, "three")
	t.Logf("3 voters (in-memory network): p50 %v  p99 %v  max %v", lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
}
