package crashtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/node"
)

// TestCommittedOffsetsSurviveKill9 commits offsets with a manual-commit
// group and an auto-commit group, kills the broker with SIGKILL, restarts
// it, and checks that both groups' offsets are as committed and that each
// group resumes exactly there: every record after the committed offset
// is read, none before it.
func TestCommittedOffsetsSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and crashes real processes")
	}
	bin, err := buildSluice()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, addr := t.TempDir(), freePort(t)
	cmd := startSluice(t, bin, dir, addr, "group.initial.rebalance.delay.ms=0")
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	const topic, partitions, total = "offs", 3, 300
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = topic, partitions, 1
	req.Topics = append(req.Topics, ct)
	if resp, err := req.RequestWith(ctx, cl); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %v %+v", err, resp)
	}
	for i := range total {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()

	// The manual group commits what it read of the first 150 records; the
	// auto-commit group reads 200 and lets its 100 ms auto-commit run.
	consume := func(group string, n int, auto bool) {
		opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
		if auto {
			opts = append(opts, kgo.AutoCommitInterval(100*time.Millisecond))
		} else {
			opts = append(opts, kgo.DisableAutoCommit())
		}
		c, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for got < n {
			fs := c.PollRecords(ctx, n-got)
			if err := fs.Err0(); err != nil {
				t.Fatal(err)
			}
			recs := fs.Records()
			got += len(recs)
			if !auto {
				if err := c.CommitRecords(ctx, recs...); err != nil {
					t.Fatal(err)
				}
			}
		}
		if auto {
			// Auto-commit commits what earlier polls returned: poll once
			// more (the records it may return stay uncommitted), then let
			// several 100 ms auto-commits run.
			pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
			c.PollRecords(pctx, 1)
			pcancel()
			time.Sleep(500 * time.Millisecond)
		}
		// No clean leave: the broker dies with the members registered.
		c.CloseAllowingRebalance()
	}
	consume("manual", 150, false)
	consume("auto", 200, true)
	before := map[string]map[int32]int64{"manual": committed(t, ctx, addr, "manual", topic, partitions),
		"auto": committed(t, ctx, addr, "auto", topic, partitions)}
	for g, offs := range before {
		sum := int64(0)
		for _, o := range offs {
			sum += max(o, 0) // -1: nothing committed
		}
		want := map[string]int64{"manual": 150, "auto": 200}[g]
		if sum != want && (g == "manual" || sum < want || sum > want+1) {
			t.Fatalf("group %s committed %v (%d records), want %d", g, offs, sum, want)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	cmd = startSluice(t, bin, dir, addr, "group.initial.rebalance.delay.ms=0")

	for g, offs := range before {
		if after := committed(t, ctx, addr, g, topic, partitions); !equalOffsets(after, offs) {
			t.Fatalf("group %s after kill -9 and restart: committed %v, was %v", g, after, offs)
		}
		// Resume: exactly the records from the committed offsets on.
		c, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(g), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, o := range offs {
			want += total/partitions - int(max(o, 0))
		}
		first := map[int32]int64{}
		got := 0
		for got < want {
			fs := c.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatal(err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				if _, ok := first[r.Partition]; !ok {
					first[r.Partition] = r.Offset
				}
				if r.Offset < max(offs[r.Partition], 0) {
					t.Fatalf("group %s resumed below its committed offset: partition %d offset %d < %d", g, r.Partition, r.Offset, offs[r.Partition])
				}
				got++
			})
		}
		for p, o := range offs {
			if o = max(o, 0); o < total/partitions && first[p] != o {
				t.Fatalf("group %s partition %d resumed at %d, committed %d", g, p, first[p], o)
			}
		}
		c.Close()
		t.Logf("group %s: committed %v survived kill -9; resumed there and read the %d records after", g, offs, got)
	}
}

func committed(t *testing.T, ctx context.Context, addr, group, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rt.Partitions = append(rt.Partitions, p)
	}
	req.Topics = append(req.Topics, rt)
	for {
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && resp.ErrorCode == 0 {
			out := map[int32]int64{}
			for _, p := range resp.Topics[0].Partitions {
				out[p.Partition] = p.Offset
			}
			return out
		}
		if ctx.Err() != nil {
			t.Fatalf("OffsetFetch %s: %v %+v", group, err, resp)
		}
		time.Sleep(100 * time.Millisecond) // COORDINATOR_LOAD_IN_PROGRESS after a restart
	}
}

func equalOffsets(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// memberEnv, when set ("addr group topic"), makes
// TestGroupMemberProcess a group member: a separate process that the
// parent test kills with SIGKILL.
const memberEnv = "SLUICE_TEST_GROUP_MEMBER"

// TestGroupMemberProcess is the child of TestKilledMemberPartitionsMove:
// a franz-go member (6 s session, auto-commit every 200 ms) printing every
// value it consumes. Without memberEnv it does nothing.
func TestGroupMemberProcess(t *testing.T) {
	spec := strings.Fields(os.Getenv(memberEnv))
	if len(spec) != 3 {
		t.Skip("runs only as the child of TestKilledMemberPartitionsMove")
	}
	c, err := kgo.NewClient(kgo.SeedBrokers(spec[0]), kgo.ConsumerGroup(spec[1]), kgo.ConsumeTopics(spec[2]),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.SessionTimeout(6*time.Second),
		kgo.HeartbeatInterval(500*time.Millisecond), kgo.AutoCommitInterval(200*time.Millisecond),
		// The group balances cooperatively, so each callback names only
		// the partitions added or taken away; the parent sums them.
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			fmt.Printf("assigned %d\n", len(a[spec[2]]))
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) {
			fmt.Printf("revoked %d\n", len(r[spec[2]]))
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) {
			fmt.Printf("revoked %d\n", len(l[spec[2]]))
		}))
	if err != nil {
		t.Fatal(err)
	}
	for {
		fs := c.PollFetches(context.Background())
		fs.EachRecord(func(r *kgo.Record) { fmt.Printf("v %s\n", r.Value) })
	}
}

// TestKilledMemberPartitionsMove runs a group of three on a 6-partition
// topic while records keep arriving: two members in this process, one in
// a separate process that is killed with SIGKILL (no LeaveGroup). After
// its session times out its partitions move to the others; every record
// is consumed, and the only records consumed twice are ones the killed
// member had read after its last commit.
func TestKilledMemberPartitionsMove(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a separate member process")
	}
	n := startNodeProc(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const topic, group = "moving", "movers"
	prod, err := kgo.NewClient(kgo.SeedBrokers(n), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = topic, 6, 1
	req.Topics = append(req.Topics, ct)
	if resp, err := req.RequestWith(ctx, prod); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %v %+v", err, resp)
	}

	var mu sync.Mutex
	counts := map[string]int{}       // value → times consumed, by anyone
	childSaw := map[string]bool{}    // values the killed member consumed
	childParts := make(chan int, 64) // partitions the child owns, after each change
	child := exec.Command(os.Args[0], "-test.run=^TestGroupMemberProcess$", "-test.v")
	child.Env = append(os.Environ(), memberEnv+"="+n+" "+group+" "+topic)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	go func() {
		sc := bufio.NewScanner(out)
		owned := 0
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "v "); ok {
				mu.Lock()
				counts[v]++
				childSaw[v] = true
				mu.Unlock()
			} else if k, ok := strings.CutPrefix(line, "assigned "); ok {
				np, _ := strconv.Atoi(k)
				owned += np
				childParts <- owned
			} else if k, ok := strings.CutPrefix(line, "revoked "); ok {
				np, _ := strconv.Atoi(k)
				owned -= np
				childParts <- owned
			}
		}
	}()
	var members []*kgo.Client
	pollCtx, stopPolling := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 2 {
		m, err := kgo.NewClient(kgo.SeedBrokers(n), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.SessionTimeout(6*time.Second),
			kgo.HeartbeatInterval(500*time.Millisecond), kgo.AutoCommitInterval(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pollCtx.Err() == nil {
				fs := m.PollFetches(pollCtx)
				mu.Lock()
				fs.EachRecord(func(r *kgo.Record) { counts[string(r.Value)]++ })
				mu.Unlock()
			}
		}()
	}
	// Wait until the child owns partitions of a three-member generation.
	for {
		select {
		case np := <-childParts:
			if np == 2 {
				goto balanced
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the child member never got its share of partitions")
		}
	}
balanced:
	produced := 0
	produce := func(n int) {
		for range n {
			if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(strconv.Itoa(produced))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			produced++
		}
	}
	produce(600)
	time.Sleep(500 * time.Millisecond)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	killed := time.Now()
	produce(600)

	// Everything is consumed once the child's partitions have moved.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for i := range produced {
			if counts[strconv.Itoa(i)] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records never consumed after the member was killed", missing, produced)
		}
		time.Sleep(100 * time.Millisecond)
	}
	moved := time.Since(killed)
	stopPolling()
	wg.Wait()
	for _, m := range members {
		m.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for v, c := range counts {
		if c > 1 {
			dups++
			if !childSaw[v] || c > 2 {
				t.Fatalf("record %s consumed %d times, not a re-read of the killed member's uncommitted tail", v, c)
			}
		}
	}
	t.Logf("%d records; the killed member had read %d; its partitions moved and every record was consumed %v after the kill; %d re-read from its uncommitted tail",
		produced, len(childSaw), moved.Round(time.Millisecond), dups)
}

// startNodeProc starts an in-process node and returns its address.
func startNodeProc(t *testing.T) string {
	t.Helper()
	cfg, err := config.Load(nil, []string{"log.dir=" + t.TempDir(), "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:9093",
		"group.initial.rebalance.delay.ms=0"}, config.ProfileSingleNode)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	return n.Addr().String()
}
