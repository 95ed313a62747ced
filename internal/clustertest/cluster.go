package clustertest

import (
	"fmt"
	"math/rand/v2"
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
}

// dataDir is every node's data directory on its own file system.
const dataDir = "/data"

// New starts n nodes. extra are configuration keys for every node.
func New(t testing.TB, n int, seed uint64, extra ...string) *Cluster {
	t.Helper()
	c := &Cluster{t: t, Seed: seed, Net: controller.NewMemNetwork(seed)}
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
	n, err := node.StartWith(m.cfg, node.Options{FS: m.fs, Transport: c.Net.Endpoint(uint64(m.ID))})
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
		if m.Node != nil {
			m.Node.Kill()
			m.Node = nil
		}
	}
}

// Up returns the members running.
func (c *Cluster) Up() []*Member {
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
	m.Node.Kill()
	m.Node = nil
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
