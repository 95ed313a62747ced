package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
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

// BenchmarkOffsetCommit measures commit latency: one member of a group
// commits one partition's offset synchronously, b.N times; each commit
// is durable (fsynced) before its answer. It reports p50 and p99.
//
//	go test ./internal/node -run '^$' -bench OffsetCommit -benchtime 2000x
func BenchmarkOffsetCommit(b *testing.B) {
	n := startNodeWith(b, b.TempDir(), nil, "group.initial.rebalance.delay.ms=0")
	defer n.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := n.CreateTopic(ctx, "commits", 1, nil); err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.ConsumerGroup("bench"), kgo.ConsumeTopics("commits"),
		kgo.DisableAutoCommit())
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	cl.PollFetches(pctx) // join the group
	pcancel()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		var cerr error
		cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{"commits": {0: {Epoch: -1, Offset: int64(i)}}},
			func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
				if err == nil && resp.Topics[0].Partitions[0].ErrorCode != 0 {
					err = fmt.Errorf("commit error %d", resp.Topics[0].Partitions[0].ErrorCode)
				}
				cerr = err
			})
		if cerr != nil {
			b.Fatal(cerr)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkGroupRebalance measures a 3-member group's rebalance: from the
// members' creation to every member holding its partitions of a
// 6-partition topic, with group.initial.rebalance.delay.ms at Kafka's
// default (3 s) and at 0.
//
//	go test ./internal/node -run '^$' -bench GroupRebalance -benchtime 3x
func BenchmarkGroupRebalance(b *testing.B) {
	for _, delay := range []string{"3000", "0"} {
		b.Run("delay="+delay+"ms", func(b *testing.B) {
			n := startNodeWith(b, b.TempDir(), nil, "group.initial.rebalance.delay.ms="+delay)
			defer n.Shutdown(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := n.CreateTopic(ctx, "rb", 6, nil); err != nil {
				b.Fatal(err)
			}
			var total time.Duration
			for i := range b.N {
				var wg sync.WaitGroup
				start := time.Now()
				for range 3 {
					wg.Add(1)
					// The group balances cooperatively: the callbacks name
					// only the partitions added or taken away, so a member
					// that joined first reaches two by giving four up.
					assigned := make(chan struct{})
					var once sync.Once
					var mu sync.Mutex
					owned := 0
					settle := func(delta int) {
						mu.Lock()
						defer mu.Unlock()
						if owned += delta; owned == 2 {
							once.Do(func() { close(assigned) })
						}
					}
					cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.ConsumerGroup(fmt.Sprintf("rb%d", i)), kgo.ConsumeTopics("rb"),
						kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { settle(len(a["rb"])) }),
						kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) { settle(-len(r["rb"])) }),
						kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) { settle(-len(l["rb"])) }))
					if err != nil {
						b.Fatal(err)
					}
					go func() {
						defer wg.Done()
						defer cl.Close()
						pctx, pcancel := context.WithCancel(ctx)
						go func() { <-assigned; pcancel() }()
						for pctx.Err() == nil {
							cl.PollFetches(pctx)
						}
					}()
				}
				wg.Wait()
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/rebalance")
		})
	}
}
