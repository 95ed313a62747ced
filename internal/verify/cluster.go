package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/ctxtime"
)

// clusterDefaults are the keys a cluster run sets before Options.Settings:
// a broker that stops is fenced, and its leaderships moved, within 6 s.
var clusterDefaults = []string{"broker.session.timeout.ms=6000", "broker.heartbeat.interval.ms=1000", "replica.fetch.backoff.ms=200"}

// cluster is the nodes of a cluster run, each in its own network
// namespace.
type cluster struct {
	logger *slog.Logger
	nodes  []*broker
	logs   []*tailBuffer
	net    *netns
	seeds  []string
}

// startCluster formats and starts o.Nodes combined nodes (broker and
// controller each) in network namespaces, and waits until all serve.
func startCluster(o Options) (*cluster, error) {
	n, err := setupNetns("slv", o.Nodes, "10.87.0")
	if err != nil {
		return nil, err
	}
	c := &cluster{net: n, logger: o.Logger}
	ok := false
	defer func() {
		if !ok {
			c.stop()
		}
	}()
	var clients, controllers []string
	for i := 1; i <= o.Nodes; i++ {
		clients = append(clients, n.hostAddr(i)+":9092")
		controllers = append(controllers, n.hostAddr(i)+":9093")
	}
	confs, err := FormatCluster(o.Binary, o.DataDir, clients, controllers, append(append([]string(nil), clusterDefaults...), o.Settings...))
	if err != nil {
		return nil, err
	}
	for i, conf := range confs {
		tail := &tailBuffer{max: 256 << 10}
		c.logs = append(c.logs, tail)
		c.nodes = append(c.nodes, &broker{bin: o.Binary, argv: []string{"serve", "--config", conf}, prefix: n.prefix(i + 1),
			stderr: io.MultiWriter(o.BrokerLog, tail), logger: o.Logger.With("node", i+1)})
	}
	c.seeds = clients
	// The nodes start together: each waits for the quorum to register.
	var wg sync.WaitGroup
	errs := make([]error, len(c.nodes))
	for i, b := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = b.start() }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// stop stops every node and removes the namespaces.
func (c *cluster) stop() {
	for _, b := range c.nodes {
		_ = b.stop()
	}
	if c.net != nil {
		c.net.close()
	}
}

var leaderLine = regexp.MustCompile(`msg="metadata leader changed"[^\n]* leader=(\d+)`)

// activeController is the node most nodes last logged as the metadata
// quorum's leader, 0 if unknown.
func (c *cluster) activeController() int {
	votes := map[int]int{}
	for _, t := range c.logs {
		m := leaderLine.FindAllStringSubmatch(t.String(), -1)
		if len(m) > 0 {
			id, _ := strconv.Atoi(m[len(m)-1][1])
			votes[id]++
		}
	}
	best := 0
	for id, n := range votes {
		if id > 0 && (best == 0 || n > votes[best]) {
			best = id
		}
	}
	return best
}

// leaderOfMost is the broker leading the most partitions of topic, 0 if
// Metadata cannot be had.
func (c *cluster) leaderOfMost(ctx context.Context, topic string) int {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.seeds...), kgo.RequestRetries(1))
	if err != nil {
		return 0
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0
	}
	count := map[int32]int{}
	best := int32(0)
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.Leader > 0 {
				count[p.Leader]++
				if best == 0 || count[p.Leader] > count[best] {
					best = p.Leader
				}
			}
		}
	}
	return int(best)
}

// runCluster injects faults into c until ctx ends, one at a time (never
// two nodes down at once), each kind in turn: a kill (SIGKILL, restarted
// after in.Pause), a pause (SIGSTOP for in.Pause) or a partition (the
// node cut off for in.Pause). A fault's target is, in turn, the broker
// leading the most partitions of topic and the active controller (a
// random node when either is unknown).
func (in *Injector) runCluster(ctx context.Context, c *cluster, topic string) ([]FaultEvent, error) {
	return in.loop(ctx, c.logger, func(i int, rng *rand.Rand, kind string) (int, string, error) {
		target, role := c.leaderOfMost(ctx, topic), "partition leader"
		if i%2 == 1 {
			target, role = c.activeController(), "active controller"
		}
		if target < 1 || target > len(c.nodes) {
			target, role = 1+rng.IntN(len(c.nodes)), "random node"
		}
		b := c.nodes[target-1]
		switch kind {
		case FaultKill:
			// Down for a pause's length: the others take over its
			// partitions (after the session timeout) or wait for it.
			if err := b.kill(); err != nil {
				return target, role, fmt.Errorf("kill node %d: %w", target, err)
			}
			ctxtime.Sleep(ctx, in.Pause)
			if err := b.start(); err != nil {
				return target, role, fmt.Errorf("restart node %d after kill: %w", target, err)
			}
		case FaultPause:
			if err := b.signal(syscall.SIGSTOP); err != nil {
				return target, role, fmt.Errorf("pause node %d: %w", target, err)
			}
			ctxtime.Sleep(ctx, in.Pause)
			if err := b.signal(syscall.SIGCONT); err != nil {
				return target, role, fmt.Errorf("resume node %d: %w", target, err)
			}
		case FaultPartition:
			if err := c.net.isolate(target, true); err != nil {
				return target, role, fmt.Errorf("isolate node %d: %w", target, err)
			}
			ctxtime.Sleep(ctx, in.Pause)
			if err := c.net.isolate(target, false); err != nil {
				return target, role, fmt.Errorf("heal node %d: %w", target, err)
			}
		default:
			return target, role, fmt.Errorf("unknown fault %q", kind)
		}
		return target, role, nil
	})
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
