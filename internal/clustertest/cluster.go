package clustertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/node"
	"github.com/sluice-mq/sluice/internal/storage"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// Member is one node of a Cluster.
type Member struct {
	ID   int32
	cfg  *config.Broker
	fs   *vfs.MemFS
	Node *node.Node // nil while down
}

// Cluster is n combined nodes, all voters, in one process.
type Cluster struct {
	t       testing.TB
	Seed    uint64
	Net     *controller.MemNetwork
	Members []*Member
	mu      sync.Mutex
	// replCut holds the pairs of members whose replication traffic is
	// cut while their other traffic flows (CutReplication).
	replCut map[[2]int32]bool
}

// dataDir is every node's data directory on its own file system.
const dataDir = "/data"

// New starts n nodes. extra are configuration keys for every node.
func New(t testing.TB, n int, seed uint64, extra ...string) *Cluster {
	t.Helper()
	c := &Cluster{t: t, Seed: seed, Net: controller.NewMemNetwork(seed), replCut: map[[2]int32]bool{}}
	var voters string
	for i := 1; i <= n; i++ {
		if i > 1 {
			voters += ","
		}
		// The controller addresses are never dialled: the quorum's
		// traffic goes over Net.
		voters += fmt.Sprintf("%d@127.0.0.1:%d", i, 1+i)
	}
	clusterID := storage.UUIDString(storage.RandomUUID())
	for i := 1; i <= n; i++ {
		props := map[string]string{
			"node.id": fmt.Sprint(i), "process.roles": "broker,controller", "log.dir": dataDir,
			"listeners":                               fmt.Sprintf("PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:%d", 1+i),
			"controller.listener.names":               "CONTROLLER",
			"controller.quorum.voters":                voters,
			"broker.session.timeout.ms":               "1500",
			"broker.heartbeat.interval.ms":            "300",
			"group.initial.rebalance.delay.ms":        "0",
			"offsets.topic.replication.factor":        fmt.Sprint(min(n, 3)),
			"leader.imbalance.check.interval.seconds": "1",
		}
		cfg, err := config.Load(props, extra, config.ProfileKafka)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		fs := vfs.NewMem()
		if err := storage.FormatDir(fs, dataDir, clusterID, int32(i)); err != nil {
			t.Fatal(err)
		}
		c.Members = append(c.Members, &Member{ID: int32(i), cfg: cfg, fs: fs})
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, m := range c.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.start(m)
		}()
	}
	wg.Wait()
	t.Cleanup(c.Close)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("seed %d: node %d: %v", seed, i+1, err)
		}
	}
	return c
}

func (c *Cluster) start(m *Member) error {
	n, err := node.StartWith(m.cfg, node.Options{FS: m.fs, Transport: c.Net.Endpoint(uint64(m.ID)),
		ReplicaDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return c.dialReplica(ctx, m.ID, network, addr)
		}})
	if err != nil {
		return err
	}
	c.mu.Lock()
	m.Node = n
	c.mu.Unlock()
	return nil
}

// Close stops every node.
func (c *Cluster) Close() {
	for _, m := range c.Members {
		c.mu.Lock()
		n := m.Node
		m.Node = nil
		c.mu.Unlock()
		if n != nil {
			n.Kill()
		}
	}
}

// Up returns the members running.
func (c *Cluster) Up() []*Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	var up []*Member
	for _, m := range c.Members {
		if m.Node != nil {
			up = append(up, m)
		}
	}
	return up
}

// Crash cuts member m's power: it is cut off from the network, its files
// become what a power loss leaves (rng picks which un-synced writes
// survive), and it stops. Restart brings it back on those files.
func (c *Cluster) Crash(m *Member, rng *rand.Rand) {
	c.Net.Isolate(uint64(m.ID))
	crashed := m.fs.CrashClone(rng)
	c.mu.Lock()
	n := m.Node
	m.Node = nil
	c.mu.Unlock()
	n.Kill()
	m.fs = crashed
	c.Net.Rejoin(uint64(m.ID))
}

// Restart starts a crashed member again.
func (c *Cluster) Restart(m *Member) {
	c.t.Helper()
	if err := c.start(m); err != nil {
		c.t.Fatalf("seed %d: restart node %d: %v", c.Seed, m.ID, err)
	}
}

// ActiveController returns the running member whose voter leads, or nil.
func (c *Cluster) ActiveController() *Member {
	for _, m := range c.Up() {
		if m.Node.ActiveController() {
			return m
		}
	}
	return nil
}

// WaitFor polls cond until it holds or d passes, failing the test with
// what and the seed.
func (c *Cluster) WaitFor(d time.Duration, what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("seed %d: timed out after %v waiting for %s", c.Seed, d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Converged reports whether every running member's image is at the same
// offset.
func (c *Cluster) Converged() bool {
	up := c.Up()
	if len(up) == 0 {
		return true
	}
	off := up[0].Node.Metadata().Offset
	for _, m := range up[1:] {
		if m.Node.Metadata().Offset != off {
			return false
		}
	}
	return true
}

// CheckImage checks the invariants of one metadata image: every
// partition's ISR is a non-empty subset of its replicas, its leader is in
// its ISR or it has none, and no fenced broker leads or, unless it is the
// last member, is in an ISR.
func CheckImage(img *metadata.Image) error {
	for t := range img.Topics.All() {
		for pid, p := range t.Partitions() {
			if len(p.ISR) == 0 {
				return fmt.Errorf("%s-%d: empty ISR", t.Name(), pid)
			}
			for _, r := range p.ISR {
				if !slices.Contains(p.Replicas, r) {
					return fmt.Errorf("%s-%d: ISR %v outside replicas %v", t.Name(), pid, p.ISR, p.Replicas)
				}
				if b, ok := img.Broker(r); ok && b.Fenced && len(p.ISR) > 1 {
					return fmt.Errorf("%s-%d: fenced broker %d in ISR %v", t.Name(), pid, r, p.ISR)
				}
			}
			if p.Leader == metadata.NoLeader {
				continue
			}
			if !slices.Contains(p.ISR, p.Leader) {
				return fmt.Errorf("%s-%d: leader %d outside ISR %v", t.Name(), pid, p.Leader, p.ISR)
			}
			if b, ok := img.Broker(p.Leader); !ok || b.Fenced {
				return fmt.Errorf("%s-%d: leader %d is fenced or unknown", t.Name(), pid, p.Leader)
			}
		}
	}
	return nil
}

// CutReplication cuts (or, with cut false, restores) the replication
// traffic between members a and b, leaving their metadata quorum traffic
// and clients alone: a follower that cannot fetch, but heartbeats.
func (c *Cluster) CutReplication(a, b int32, cut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cut {
		c.replCut[[2]int32{a, b}], c.replCut[[2]int32{b, a}] = true, true
	} else {
		delete(c.replCut, [2]int32{a, b})
		delete(c.replCut, [2]int32{b, a})
	}
}

// linked reports whether replication flows between a and b: no
// replication cut, and the quorum network connects them.
func (c *Cluster) linked(a, b int32) bool {
	c.mu.Lock()
	cut := c.replCut[[2]int32{a, b}]
	c.mu.Unlock()
	return !cut && c.Net.Connected(uint64(a), uint64(b))
}

var errCut = errors.New("clustertest: link cut")

// dialReplica connects follower from to the leader listening on addr,
// through a connection that fails once the two are cut apart.
func (c *Cluster) dialReplica(ctx context.Context, from int32, network, addr string) (net.Conn, error) {
	to := int32(-1)
	c.mu.Lock()
	for _, m := range c.Members {
		if m.Node != nil && m.Node.Addr() != nil && m.Node.Addr().String() == addr {
			to = m.ID
		}
	}
	c.mu.Unlock()
	if to < 0 || !c.linked(from, to) {
		return nil, errCut
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &cutConn{Conn: conn, ok: func() bool { return c.linked(from, to) }}, nil
}

// cutConn is a connection that fails (and closes) once ok turns false;
// what it reads after the cut is dropped.
type cutConn struct {
	net.Conn
	ok func() bool
}

func (c *cutConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.ok() {
		c.Conn.Close()
		return 0, errCut
	}
	return n, err
}

func (c *cutConn) Write(b []byte) (int, error) {
	if !c.ok() {
		c.Conn.Close()
		return 0, errCut
	}
	return c.Conn.Write(b)
}

// CrashAll cuts every member's power at once: every file system is
// cloned as a power loss leaves it before any node stops, then all stop.
// RestartAll brings them back.
func (c *Cluster) CrashAll(rng *rand.Rand) {
	up := c.Up()
	for _, m := range up {
		c.Net.Isolate(uint64(m.ID))
	}
	clones := make([]*vfs.MemFS, len(up))
	for i, m := range up {
		clones[i] = m.fs.CrashClone(rng)
	}
	for i, m := range up {
		c.mu.Lock()
		n := m.Node
		m.Node = nil
		c.mu.Unlock()
		n.Kill()
		m.fs = clones[i]
	}
	c.Net.Heal()
}

// RestartAll starts every member that is down, at once.
func (c *Cluster) RestartAll() {
	c.t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, m := range c.Members {
		if m.Node != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.start(m); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		c.t.Fatalf("seed %d: restart: %v", c.Seed, errors.Join(errs...))
	}
}
