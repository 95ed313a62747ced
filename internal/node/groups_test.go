package node

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// groupMember is one franz-go consumer of a group, tracking what it owns.
type groupMember struct {
	name string
	cl   *kgo.Client

	mu    sync.Mutex
	owned map[int32]bool
	seen  map[string]int // values consumed
}

func newGroupMember(t *testing.T, addr, group, topic, name string, opts ...kgo.Opt) *groupMember {
	t.Helper()
	m := &groupMember{name: name, owned: map[int32]bool{}, seen: map[string]int{}}
	base := []kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(500 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			m.mu.Lock()
			for _, p := range a[topic] {
				m.owned[p] = true
			}
			m.mu.Unlock()
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, r map[string][]int32) {
			_ = cl.CommitUncommittedOffsets(ctx)
			m.mu.Lock()
			for _, p := range r[topic] {
				delete(m.owned, p)
			}
			m.mu.Unlock()
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) {
			m.mu.Lock()
			for _, p := range l[topic] {
				delete(m.owned, p)
			}
			m.mu.Unlock()
		}),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	return m
}

// poll consumes until ctx ends.
func (m *groupMember) poll(ctx context.Context) {
	for ctx.Err() == nil {
		fs := m.cl.PollFetches(ctx)
		if fs.IsClientClosed() {
			return
		}
		m.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) { m.seen[string(r.Value)]++ })
		m.mu.Unlock()
	}
}

func (m *groupMember) ownedSet() map[int32]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int32]bool{}
	for p := range m.owned {
		out[p] = true
	}
	return out
}

// waitExclusive waits until the members own every one of n partitions,
// each exactly once, with every member owning at least one.
func waitExclusive(t *testing.T, members []*groupMember, n int32) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		count := map[int32]int{}
		ok := true
		for _, m := range members {
			owned := m.ownedSet()
			if len(owned) == 0 {
				ok = false
			}
			for p := range owned {
				count[p]++
			}
		}
		for p := range n {
			if count[p] != 1 {
				ok = false
			}
		}
		for p, c := range count {
			if c > 1 {
				t.Fatalf("partition %d owned by %d members at once", p, c)
			}
		}
		if ok && len(count) == int(n) {
			return
		}
		last = fmt.Sprint(count)
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("ownership never settled: %s", last)
}

// TestConsumerGroupRebalances runs 3 franz-go members of one group on a
// 6-partition topic, then a 4th, then one leaving cleanly: after each
// rebalance every partition is owned by exactly one member, and every
// record produced is consumed.
func TestConsumerGroupRebalances(t *testing.T) {
	n := startNodeWith(t, t.TempDir(), nil, "group.initial.rebalance.delay.ms=0")
	defer n.Shutdown(context.Background())
	addr := n.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	fill(t, ctx, n, "grp", 6, 600, 16)

	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	var wg sync.WaitGroup
	start := func(name string) *groupMember {
		m := newGroupMember(t, addr, "g1", "grp", name)
		wg.Add(1)
		go func() { defer wg.Done(); m.poll(pollCtx) }()
		return m
	}
	began := time.Now()
	members := []*groupMember{start("a"), start("b"), start("c")}
	waitExclusive(t, members, 6)
	t.Logf("3 members stable %v after the first joined", time.Since(began).Round(time.Millisecond))

	members = append(members, start("d"))
	waitExclusive(t, members, 6)

	gone := members[1]
	gone.cl.Close() // LeaveGroup
	members = append(members[:1], members[2:]...)
	waitExclusive(t, members, 6)

	// Every record was consumed by someone.
	deadline := time.Now().Add(20 * time.Second)
	for {
		seen := map[string]bool{}
		for _, m := range append(members, gone) {
			m.mu.Lock()
			for v := range m.seen {
				seen[v] = true
			}
			m.mu.Unlock()
		}
		if len(seen) == 600 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 600 records consumed", len(seen))
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopPolling()
	for _, m := range members {
		m.cl.Close()
	}
	wg.Wait()
}
