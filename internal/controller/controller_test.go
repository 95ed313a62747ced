package controller

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// createTopic is a command that adds a topic unless it exists.
func createTopic(name string) Command {
	return CommandFunc(func(img *metadata.Image) ([]metadata.Record, any, error) {
		if img.TopicByName(name) != nil {
			return nil, nil, fmt.Errorf("topic %s exists", name)
		}
		var id protocol.UUID
		copy(id[:], fmt.Sprintf("%016s", name))
		rec := &protocol.TopicRecord{Name: name, TopicID: id}
		return []metadata.Record{{Version: 0, Message: rec}}, name, nil
	})
}

func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func topicNames(img *metadata.Image) []string {
	var out []string
	out = append(out, img.Topics.Names()...)
	sort.Strings(out)
	return out
}

func TestSingleVoterRestartKeepsCommitted(t *testing.T) {
	mem := vfs.NewMem()
	cfg := Config{NodeID: 1, Voters: []uint64{1}, FS: mem, Dir: "/meta", TickInterval: 5 * time.Millisecond}
	c, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var want []string
	for i := range 30 {
		name := fmt.Sprintf("t%02d", i)
		if _, _, err := c.Submit(ctx, createTopic(name)); err != nil {
			t.Fatalf("submit %s: %v", name, err)
		}
		want = append(want, name)
	}
	if _, _, err := c.Submit(ctx, createTopic("t00")); err == nil {
		t.Fatal("duplicate topic accepted")
	}
	// Power loss while running: only what was synced survives, and every
	// committed command was synced before Submit returned.
	crashed := mem.CrashClone(rand.New(rand.NewPCG(1, 2)))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for name, fsys := range map[string]vfs.FS{"clean": mem, "crash": crashed} {
		cfg.FS = fsys
		r, err := Open(cfg)
		if err != nil {
			t.Fatalf("%s reopen: %v", name, err)
		}
		waitFor(t, "replay", 5*time.Second, func() bool { return r.Image().Topics.Len() == len(want) })
		if got := topicNames(r.Image()); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: topics %v", name, got)
		}
		// It still takes commands.
		if _, _, err := r.Submit(ctx, createTopic("after-"+name)); err != nil {
			t.Fatalf("%s: submit after restart: %v", name, err)
		}
		r.Close()
	}
}

func TestSnapshotRestart(t *testing.T) {
	mem := vfs.NewMem()
	cfg := Config{NodeID: 1, Voters: []uint64{1}, FS: mem, Dir: "/meta", TickInterval: 5 * time.Millisecond, SnapshotEvery: 8}
	c, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 40 {
		if _, _, err := c.Submit(ctx, createTopic(fmt.Sprintf("s%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if c.snapshotIndex.Load() == 0 {
		t.Fatal("no snapshot taken")
	}
	info, err := mem.Stat("/meta/" + walFile)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 4096 {
		t.Fatalf("raft log not compacted: %d bytes", info.Size())
	}
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	waitFor(t, "replay", 5*time.Second, func() bool { return r.Image().Topics.Len() == 40 })
}

// cluster is three voters on an in-memory network, each with its own
// crashable file system.
type cluster struct {
	t       *testing.T
	net     *MemNetwork
	ids     []uint64
	fs      map[uint64]*vfs.MemFS
	nodes   map[uint64]*Controller
	mu      sync.Mutex
	leaders map[uint64]map[uint64]bool // term → leaders seen
}

func newCluster(t *testing.T, n int, seed uint64) *cluster {
	c := &cluster{t: t, net: NewMemNetwork(seed), fs: map[uint64]*vfs.MemFS{}, nodes: map[uint64]*Controller{}, leaders: map[uint64]map[uint64]bool{}}
	for i := 1; i <= n; i++ {
		c.ids = append(c.ids, uint64(i))
		c.fs[uint64(i)] = vfs.NewMem()
	}
	for _, id := range c.ids {
		c.start(id)
	}
	return c
}

func (c *cluster) start(id uint64) {
	ctl, err := Open(Config{NodeID: id, Voters: c.ids, FS: c.fs[id], Dir: "/meta", Transport: c.net.Endpoint(id),
		TickInterval: 5 * time.Millisecond, ElectionTicks: 10, HeartbeatTicks: 1, SnapshotEvery: 16,
		onLeader: func(id, term uint64) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.leaders[term] == nil {
				c.leaders[term] = map[uint64]bool{}
			}
			c.leaders[term][id] = true
		}})
	if err != nil {
		c.t.Fatalf("start %d: %v", id, err)
	}
	c.nodes[id] = ctl
}

// crash stops a node as a power loss would: its un-synced writes are lost,
// and nothing it does after the instant of the crash reaches anyone — so
// it is cut off before its disk is cloned, and rejoins only on restart.
func (c *cluster) crash(id uint64, rng *rand.Rand) {
	c.net.Isolate(id)
	crashed := c.fs[id].CrashClone(rng)
	c.nodes[id].Close()
	c.fs[id] = crashed
	delete(c.nodes, id)
	c.net.Rejoin(id)
}

func (c *cluster) close() {
	for _, n := range c.nodes {
		n.Close()
	}
}

// submit sends cmd to whichever node claims leadership, retrying until it
// commits or the deadline passes; it reports whether it committed.
func (c *cluster) submit(cmd Command, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			if !n.IsLeader() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			_, _, err := n.Submit(ctx, cmd)
			cancel()
			if err == nil {
				return true
			}
			if !errors.Is(err, ErrNotController) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrStopped) {
				return false // the command itself refused (e.g. the topic exists)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func (c *cluster) checkOneLeaderPerTerm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for term, ls := range c.leaders {
		if len(ls) > 1 {
			c.t.Fatalf("term %d had leaders %v", term, ls)
		}
	}
}

// TestThreeVotersUnderFaults drives three voters through partitions,
// message loss, leader isolation and crashes that drop un-synced writes,
// committing commands throughout. Every command that committed must be
// in every voter's image at the end, and no term may have two leaders.
func TestThreeVotersUnderFaults(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 5))
			c := newCluster(t, 3, seed)
			defer c.close()
			var committed []string
			for i := range 40 {
				if i%4 == 0 {
					// Faults last a few commands, then the network heals.
					c.net.Heal()
					c.net.SetDropRate(0)
				}
				switch rng.IntN(8) {
				case 0:
					// Isolate the leader, then heal.
					for id, n := range c.nodes {
						if n.IsLeader() {
							c.net.Isolate(id)
						}
					}
				case 1:
					c.net.SetDropRate(0.2)
				case 2:
					c.net.Heal()
					c.net.SetDropRate(0)
				case 3:
					if len(c.nodes) == 3 {
						victim := c.ids[rng.IntN(3)]
						c.crash(victim, rng)
						if _, ok := c.nodes[victim]; !ok {
							c.start(victim)
						}
					}
				}
				name := fmt.Sprintf("f%02d", i)
				if c.submit(createTopic(name), time.Second) {
					committed = append(committed, name)
				}
			}
			c.net.Heal()
			c.net.SetDropRate(0)
			if len(committed) < 10 {
				t.Fatalf("only %d commands committed; the scenario did not exercise the quorum", len(committed))
			}
			// Everything converges and holds every committed command.
			waitFor(t, "convergence", 10*time.Second, func() bool {
				for _, n := range c.nodes {
					have := map[string]bool{}
					for _, name := range topicNames(n.Image()) {
						have[name] = true
					}
					for _, name := range committed {
						if !have[name] {
							return false
						}
					}
				}
				return true
			})
			c.checkOneLeaderPerTerm()
			sent, dropped := c.net.Stats()
			t.Logf("seed %d: %d of 40 commands committed; %d messages, %d dropped; %d terms with a leader",
				seed, len(committed), sent, dropped, len(c.leaders))
		})
	}
}

// TestLaggingVoterCatchesUpFromSnapshot isolates a voter while the others
// commit past a snapshot and compact their logs: it must catch up by
// installing the snapshot.
func TestLaggingVoterCatchesUpFromSnapshot(t *testing.T) {
	c := newCluster(t, 3, 7)
	defer c.close()
	if !c.submit(createTopic("first"), 5*time.Second) {
		t.Fatal("nothing committed")
	}
	var lag uint64
	for id, n := range c.nodes {
		if !n.IsLeader() {
			lag = id
			break
		}
	}
	c.net.Isolate(lag)
	for i := range 40 {
		if !c.submit(createTopic(fmt.Sprintf("g%02d", i)), 5*time.Second) {
			t.Fatalf("command %d did not commit with two of three voters", i)
		}
	}
	c.net.Heal()
	waitFor(t, "the lagging voter to catch up", 10*time.Second, func() bool {
		return c.nodes[lag].Image().Topics.Len() == 41
	})
	if c.nodes[lag].snapshotIndex.Load() == 0 {
		t.Fatal("the lagging voter caught up without a snapshot; the test did not exercise snapshot transfer")
	}
}

// tcpVoters starts voters ids over TCP on loopback, stopped with the
// test. peer, when set, gives the address voter from dials for voter to
// (a dead one cuts the link).
func tcpVoters(t *testing.T, ids []uint64, peer func(from, to uint64, addr string) string) ([]*Controller, []*TCPTransport, map[uint64]string) {
	t.Helper()
	lns := map[uint64]net.Listener{}
	addrs := map[uint64]string{}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[id], addrs[id] = ln, ln.Addr().String()
	}
	var nodes []*Controller
	var transports []*TCPTransport
	t.Cleanup(func() {
		for i := range nodes {
			nodes[i].Close()
			transports[i].Close()
		}
	})
	for _, id := range ids {
		peers := map[uint64]string{}
		for p, a := range addrs {
			if peer != nil {
				a = peer(id, p, a)
			}
			peers[p] = a
		}
		tr := NewTCPTransport(id, lns[id], peers, nil)
		n, err := Open(Config{NodeID: id, Voters: ids, FS: vfs.NewMem(), Dir: "/meta", Transport: tr, TickInterval: 10 * time.Millisecond})
		if err != nil {
			tr.Close()
			t.Fatal(err)
		}
		nodes, transports = append(nodes, n), append(transports, tr)
	}
	return nodes, transports, addrs
}

// TestThreeVotersOverTCP runs the quorum over real sockets on loopback.
func TestThreeVotersOverTCP(t *testing.T) {
	nodes, transports, addrs := tcpVoters(t, []uint64{1, 2, 3}, nil)
	var leader *Controller
	waitFor(t, "a leader", 10*time.Second, func() bool {
		for _, n := range nodes {
			if n.IsLeader() {
				leader = n
				return true
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	off, _, err := leader.Submit(ctx, createTopic("over-tcp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if err := n.WaitFor(ctx, off); err != nil {
			t.Fatalf("node %d: %v", n.NodeID(), err)
		}
		if n.Image().TopicByName("over-tcp") == nil {
			t.Fatalf("node %d lacks the topic", n.NodeID())
		}
	}
	// A follower forwards commands to the leader over the controller
	// listener, and gets their outcome, errors included.
	_, _, wantErr := leader.Submit(ctx, FenceBroker(42, 1))
	var want *CommandError
	if !errors.As(wantErr, &want) {
		t.Fatalf("fencing an unknown broker: %v", wantErr)
	}
	for _, n := range nodes {
		if n.IsLeader() {
			continue
		}
		id := int32(n.NodeID())
		off, reply, err := n.Execute(ctx, RegisterBroker(registration(id, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if epoch, ok := reply.(int64); !ok || epoch <= 0 {
			t.Fatalf("forwarded registration replied %#v", reply)
		}
		for _, m := range nodes {
			if err := m.WaitFor(ctx, off); err != nil {
				t.Fatal(err)
			}
			if _, ok := m.Image().Broker(id); !ok {
				t.Fatalf("node %d does not see broker %d registered", m.NodeID(), id)
			}
		}
		_, _, err = n.Execute(ctx, FenceBroker(42, 1))
		var got *CommandError
		if !errors.As(err, &got) || *got != *want {
			t.Fatalf("forwarded command error %v, want %v", err, want)
		}
	}
	// An observer (a broker-only node) follows the images and sends
	// commands through the voters, also when the voter it asks stops.
	obs := NewObserver(addrs, nil)
	defer obs.Close()
	if err := obs.WaitFor(ctx, leader.Image().Offset); err != nil {
		t.Fatal(err)
	}
	if obs.Image().TopicByName("over-tcp") == nil {
		t.Fatal("the observer's image lacks the topic")
	}
	off, reply, err := obs.Execute(ctx, RegisterBroker(registration(7, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := obs.WaitFor(ctx, off); err != nil {
		t.Fatal(err)
	}
	if b, ok := obs.Image().Broker(7); !ok || b.Epoch != reply.(int64) {
		t.Fatalf("observer: broker 7 %+v %v, epoch %v", b, ok, reply)
	}
	first := int(obs.next.Load()) % len(nodes)
	nodes[first].Close()
	transports[first].Close()
	if _, _, err := obs.Execute(ctx, RegisterBroker(registration(8, 1))); err != nil {
		t.Fatalf("with voter %d stopped: %v", first+1, err)
	}
	waitFor(t, "the observer to see broker 8", 10*time.Second, func() bool {
		_, ok := obs.Image().Broker(8)
		return ok
	})
}

// TestExecuteFollowsTheLeader executes commands from a follower while the
// leader is cut off: the follower's Execute waits out the election and
// forwards to the new leader; every voter then holds each command once.
func TestExecuteFollowsTheLeader(t *testing.T) {
	c := newCluster(t, 3, 5)
	defer c.close()
	var leader uint64
	waitFor(t, "a leader", 5*time.Second, func() bool {
		for id, n := range c.nodes {
			if n.IsLeader() {
				leader = id
				return true
			}
		}
		return false
	})
	follower := c.nodes[leader%3+1]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	epoch := int64(0)
	for round := range 3 {
		if round == 1 {
			c.net.Isolate(leader)
		}
		id := int32(10 + round)
		off, reply, err := follower.Execute(ctx, RegisterBroker(registration(id, 1)))
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if e := reply.(int64); e <= epoch {
			t.Fatalf("round %d: epoch %d after %d", round, e, epoch)
		} else {
			epoch = e
		}
		if err := follower.WaitFor(ctx, off); err != nil {
			t.Fatal(err)
		}
		if _, ok := follower.Image().Broker(id); !ok {
			t.Fatalf("round %d: broker %d not registered", round, id)
		}
	}
	if follower.Leader() == leader {
		t.Fatalf("leader %d still leads while cut off", leader)
	}
	c.net.Rejoin(leader)
	c.checkOneLeaderPerTerm()
}
