package clustertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// createTopic asks member m to create a topic; it reports whether the
// creation was acknowledged.
func createTopic(m *Member, name string, partitions int32, rf int16) bool {
	cl, err := kgo.NewClient(kgo.SeedBrokers(m.Node.Addr().String()), kgo.RequestRetries(0))
	if err != nil {
		return false
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, rf
	req.Topics, req.TimeoutMillis = append(req.Topics, rt), 2500
	resp, err := req.RequestWith(ctx, cl)
	return err == nil && resp.Topics[0].ErrorCode == 0
}

// scenarioSeeds is how many seeds the default run tries; set
// SLUICE_CLUSTER_SEEDS for more.
func scenarioSeeds() uint64 {
	if v, err := strconv.Atoi(os.Getenv("SLUICE_CLUSTER_SEEDS")); err == nil && v > 0 {
		return uint64(v)
	}
	if testing.Short() {
		return 1
	}
	return 3
}

// TestScenarios runs seeded scenarios on three nodes: topics are created
// through random nodes while nodes are isolated, the network drops and
// delays messages, and nodes lose power and restart. After the faults
// heal, every node's metadata converges, every acknowledged topic is in
// it, partition leaders and ISRs obey the fencing rules, and every broker
// is back in service.
func TestScenarios(t *testing.T) {
	for seed := range scenarioSeeds() {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { scenario(t, seed) })
	}
}

func scenario(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0xc1))
	c := New(t, 3, seed)
	acked := map[string]bool{}
	for step := range 24 {
		up := c.Up()
		switch op := rng.IntN(10); {
		case op < 5: // create a topic through a random running node
			m := up[rng.IntN(len(up))]
			name := fmt.Sprintf("s%d-t%d", seed, step)
			rf := int16(1 + rng.IntN(len(up)))
			if createTopic(m, name, int32(1+rng.IntN(4)), rf) {
				acked[name] = true
			}
		case op < 7 && len(up) == 3: // cut a node off, create through another, rejoin
			m := up[rng.IntN(3)]
			c.Net.Isolate(uint64(m.ID))
			c.WaitFor(10*time.Second, "a controller among the others", func() bool {
				a := c.ActiveController()
				return a != nil && a != m
			})
			for _, o := range up {
				if o != m {
					name := fmt.Sprintf("s%d-t%d-iso", seed, step)
					if createTopic(o, name, 2, 2) {
						acked[name] = true
					}
					break
				}
			}
			c.Net.Rejoin(uint64(m.ID))
		case op < 8: // lossy, slow network for a few operations
			c.Net.SetDropRate(0.05)
			c.Net.SetDelay(time.Millisecond)
			m := up[rng.IntN(len(up))]
			name := fmt.Sprintf("s%d-t%d-lossy", seed, step)
			if createTopic(m, name, 1, 1) {
				acked[name] = true
			}
			c.Net.SetDropRate(0)
			c.Net.SetDelay(0)
		default: // power loss and restart of a node
			m := up[rng.IntN(len(up))]
			c.Crash(m, rng)
			c.Restart(m)
		}
	}
	// Heal: every node up, the metadata converged and every broker back.
	c.WaitFor(20*time.Second, "convergence with every broker unfenced", func() bool {
		if !c.Converged() || c.ActiveController() == nil {
			return false
		}
		img := c.Members[0].Node.Metadata()
		for _, m := range c.Members {
			if b, ok := img.Broker(m.ID); !ok || b.Fenced {
				return false
			}
		}
		return true
	})
	for _, m := range c.Members {
		img := m.Node.Metadata()
		if err := CheckImage(img); err != nil {
			t.Fatalf("seed %d: node %d: %v", seed, m.ID, err)
		}
		for name := range acked {
			if img.TopicByName(name) == nil {
				t.Fatalf("seed %d: node %d lacks acknowledged topic %s", seed, m.ID, name)
			}
		}
	}
	if len(acked) == 0 {
		t.Fatalf("seed %d: no topic creation was acknowledged", seed)
	}
	t.Logf("seed %d: %d topics acknowledged", seed, len(acked))
}
