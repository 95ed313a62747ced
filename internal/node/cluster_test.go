package node

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/storage"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// freePorts returns n loopback ports free at the time of the call.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// testCluster is n combined nodes on loopback, formatted with one
// cluster id, each a voter of the metadata quorum.
type testCluster struct {
	t     *testing.T
	cfgs  []*config.Broker
	nodes []*Node // nil once stopped
}

func newTestCluster(t *testing.T, n int, extra ...string) *testCluster {
	t.Helper()
	ports := freePorts(t, n)
	var voters string
	for i, p := range ports {
		if i > 0 {
			voters += ","
		}
		voters += fmt.Sprintf("%d@127.0.0.1:%d", i+1, p)
	}
	clusterID := storage.UUIDString(storage.RandomUUID())
	c := &testCluster{t: t, nodes: make([]*Node, n)}
	for i := range n {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("node%d", i+1))
		props := map[string]string{
			"node.id": fmt.Sprint(i + 1), "process.roles": "broker,controller", "log.dir": dir,
			"listeners":                 fmt.Sprintf("PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:%d", ports[i]),
			"controller.listener.names": "CONTROLLER", "controller.quorum.voters": voters,
			"group.initial.rebalance.delay.ms": "0",
		}
		cfg, err := config.Load(props, extra, config.ProfileKafka)
		if err != nil {
			t.Fatal(err)
		}
		if err := storage.FormatDir(vfs.Default, dir, clusterID, int32(i+1)); err != nil {
			t.Fatal(err)
		}
		c.cfgs = append(c.cfgs, cfg)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.nodes[i], errs[i] = Start(c.cfgs[i], nil)
		}()
	}
	wg.Wait()
	t.Cleanup(c.close)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
	}
	return c
}

func (c *testCluster) close() {
	for i, n := range c.nodes {
		if n != nil {
			n.close()
			c.nodes[i] = nil
		}
	}
}

// activeController returns the index of the node whose voter leads.
func (c *testCluster) activeController() int {
	for i, n := range c.nodes {
		if n != nil && n.ctl.IsLeader() {
			return i
		}
	}
	return -1
}

// TestThreeNodeCluster starts three combined nodes: every node's
// Metadata lists the three brokers; a topic created through any node,
// the controller's or not, appears everywhere with its replicas spread
// over the brokers; when the active controller stops, another voter takes
// over within 5 s and topics can still be created through the others.
func TestThreeNodeCluster(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	metadata := func(i int) *kmsg.MetadataResponse {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.nodes[i].Addr().String()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		req := kmsg.NewPtrMetadataRequest()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for i := range c.nodes {
		waitFor(t, 5*time.Second, fmt.Sprintf("node %d to list 3 brokers", i+1), func() bool { return len(metadata(i).Brokers) == 3 })
	}
	create := func(via int, name string) {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.nodes[via].Addr().String()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		createTopic(ctx, t, cl, name, 6, 3, nil, nil)
	}
	leader := c.activeController()
	other := (leader + 1) % 3
	create(other, "via-follower")
	create(leader, "via-controller")
	for i := range c.nodes {
		waitFor(t, 10*time.Second, "the topics on every node", func() bool {
			img := c.nodes[i].ctl.Image()
			return img.TopicByName("via-follower") != nil && img.TopicByName("via-controller") != nil
		})
	}
	leaders := map[int32]int{}
	for _, tp := range metadata(other).Topics {
		if *tp.Topic != "via-follower" {
			continue
		}
		for _, p := range tp.Partitions {
			if len(p.Replicas) != 3 {
				t.Fatalf("partition %d has replicas %v", p.Partition, p.Replicas)
			}
			leaders[p.Leader]++
		}
	}
	if len(leaders) != 3 {
		t.Fatalf("leaders of 6 partitions over 3 brokers: %v", leaders)
	}

	// ElectLeaders through a node that is not the controller: every
	// preferred replica leads already.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.nodes[other].Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	elect := kmsg.NewPtrElectLeadersRequest()
	et := kmsg.NewElectLeadersRequestTopic()
	et.Topic, et.Partitions = "via-follower", []int32{0, 1}
	elect.Topics = append(elect.Topics, et)
	eresp, err := elect.RequestWith(ctx, cl)
	cl.Close()
	if err != nil || eresp.ErrorCode != 0 || len(eresp.Topics) != 1 || len(eresp.Topics[0].Partitions) != 2 {
		t.Fatalf("ElectLeaders: %v %+v", err, eresp)
	}
	for _, p := range eresp.Topics[0].Partitions {
		if p.ErrorCode != kerr.ElectionNotNeeded.Code {
			t.Fatalf("ElectLeaders partition %d: %v", p.Partition, kerr.ErrorForCode(p.ErrorCode))
		}
	}

	c.nodes[leader].close()
	c.nodes[leader] = nil
	start := time.Now()
	waitFor(t, 5*time.Second, "a new active controller", func() bool { return c.activeController() >= 0 })
	t.Logf("new active controller %d after %v", c.activeController()+1, time.Since(start))
	for i := range c.nodes {
		if c.nodes[i] != nil {
			create(i, fmt.Sprintf("after-failover-via-%d", i+1))
		}
	}
}

// TestClusterFencesADeadBroker stops a broker without a controlled
// shutdown: the active controller fences it within the session timeout
// (+2 s), its leaderships move to the other replicas and it leaves the
// ISRs; restarted from its data directory, it registers again and is
// unfenced.
func TestClusterFencesADeadBroker(t *testing.T) {
	c := newTestCluster(t, 3, "broker.session.timeout.ms=1500", "broker.heartbeat.interval.ms=300")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctlIdx := c.activeController()
	victim := (ctlIdx + 1) % 3
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.nodes[ctlIdx].Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	createTopic(ctx, t, cl, "replicated", 6, 3, nil, nil)
	victimID := int32(victim + 1)
	led := func() (n int, inISR int) {
		img := c.nodes[ctlIdx].ctl.Image()
		for _, p := range img.TopicByName("replicated").Partitions() {
			if p.Leader == victimID {
				n++
			}
			if slices.Contains(p.ISR, victimID) {
				inISR++
			}
		}
		return
	}
	waitFor(t, 10*time.Second, "the topic", func() bool { return c.nodes[ctlIdx].ctl.Image().TopicByName("replicated") != nil })
	if n, _ := led(); n == 0 {
		t.Fatalf("broker %d leads no partition of 6", victimID)
	}
	c.nodes[victim].close() // no controlled shutdown
	c.nodes[victim] = nil
	start := time.Now()
	waitFor(t, 1500*time.Millisecond+2*time.Second, "the dead broker fenced and its leaderships moved", func() bool {
		b, _ := c.nodes[ctlIdx].ctl.Image().Broker(victimID)
		n, isr := led()
		return b.Fenced && n == 0 && isr == 0
	})
	t.Logf("broker %d fenced and out of every ISR %v after it stopped", victimID, time.Since(start).Round(time.Millisecond))
	cfg := c.cfgs[victim]
	n, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[victim] = n
	waitFor(t, 10*time.Second, "the restarted broker unfenced", func() bool {
		b, ok := c.nodes[ctlIdx].ctl.Image().Broker(victimID)
		return ok && !b.Fenced
	})
}

// createTopic creates topic through cl, failing the test unless it is
// created: with partitions and replication factor rf, or, given
// assignment, partition 0 on those replicas (partitions and rf -1); with
// configs set.
func createTopic(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, partitions int32, rf int16, assignment []int32, configs map[string]string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, rf
	if assignment != nil {
		ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		ra.Partition, ra.Replicas = 0, assignment
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	}
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics, req.TimeoutMillis = append(req.Topics, rt), 10000
	if resp, err := req.RequestWith(ctx, cl); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create %s: %v %+v", topic, err, resp)
	}
}

// startSeparateRoles starts a controller-only node (node 1, the single
// voter) and two broker-only nodes (2 and 3) that follow its metadata as
// observers, with a 1.5 s session timeout and props added to each. The
// nodes are closed when the test ends, but for those set to nil.
func startSeparateRoles(t *testing.T, props map[string]string) ([]*config.Broker, []*Node) {
	t.Helper()
	return startSeparateRolesWith(t, props, nil)
}

// startSeparateRolesWith is startSeparateRoles with perNode (nil for
// none) adjusting each node's properties last.
func startSeparateRolesWith(t *testing.T, props map[string]string, perNode func(id int, p map[string]string)) ([]*config.Broker, []*Node) {
	t.Helper()
	port := freePorts(t, 1)[0]
	voters := fmt.Sprintf("1@127.0.0.1:%d", port)
	clusterID := storage.UUIDString(storage.RandomUUID())
	var cfgs []*config.Broker
	for id := 1; id <= 3; id++ {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("node%d", id))
		p := map[string]string{
			"node.id": fmt.Sprint(id), "log.dir": dir, "controller.listener.names": "CONTROLLER",
			"controller.quorum.voters": voters, "broker.session.timeout.ms": "1500", "broker.heartbeat.interval.ms": "300",
		}
		for k, v := range props {
			p[k] = v
		}
		if id == 1 {
			p["process.roles"] = "controller"
			p["listeners"] = fmt.Sprintf("CONTROLLER://127.0.0.1:%d", port)
		} else {
			p["process.roles"] = "broker"
			p["listeners"] = "PLAINTEXT://127.0.0.1:0"
		}
		if perNode != nil {
			perNode(id, p)
		}
		cfg, err := config.Load(p, nil, config.ProfileKafka)
		if err != nil {
			t.Fatalf("node %d: %v", id, err)
		}
		if err := storage.FormatDir(vfs.Default, dir, clusterID, int32(id)); err != nil {
			t.Fatal(err)
		}
		cfgs = append(cfgs, cfg)
	}
	nodes := make([]*Node, 3)
	t.Cleanup(func() {
		for _, n := range nodes {
			if n != nil {
				n.close()
			}
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); nodes[i], errs[i] = Start(cfgs[i], nil) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
	}
	return cfgs, nodes
}

// TestSeparateRoles runs a controller-only node (the single voter) and two
// broker-only nodes that follow its metadata as observers: the brokers
// register, list each other, create topics through the controller, and a
// broker killed without a controlled shutdown is fenced, its leaderships
// moved, and comes back.
func TestSeparateRoles(t *testing.T) {
	cfgs, nodes := startSeparateRoles(t, map[string]string{"offsets.topic.replication.factor": "2"})
	if nodes[0].Addr() != nil || !nodes[0].ActiveController() {
		t.Fatal("the controller-only node serves clients or does not lead")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitFor(t, 10*time.Second, "both brokers unfenced, seen by both", func() bool {
		for _, n := range nodes[1:] {
			if len(n.Metadata().LiveBrokers()) != 2 {
				return false
			}
		}
		return true
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(nodes[1].Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	createTopic(ctx, t, cl, "observed", 4, 2, nil, nil) // through a broker-only node
	waitFor(t, 10*time.Second, "the topic on the other broker", func() bool { return nodes[2].Metadata().TopicByName("observed") != nil })
	// Produce and consume through the broker-only nodes.
	pc, err := kgo.NewClient(kgo.SeedBrokers(nodes[2].Addr().String()), kgo.DefaultProduceTopic("observed"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	pc.Close()
	// A broker dies: fenced, its leaderships moved to the other.
	nodes[2].close()
	nodes[2] = nil
	waitFor(t, 1500*time.Millisecond+2*time.Second, "broker 3 fenced and leading nothing", func() bool {
		img := nodes[0].Metadata()
		if b, _ := img.Broker(3); !b.Fenced {
			return false
		}
		for _, p := range img.TopicByName("observed").Partitions() {
			if p.Leader == 3 {
				return false
			}
		}
		return true
	})
	if nodes[2], err = Start(cfgs[2], nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "broker 3 back", func() bool {
		b, ok := nodes[0].Metadata().Broker(3)
		return ok && !b.Fenced
	})
}

// TestControlledShutdownStaysFenced: once a broker has fenced itself to
// shut down, its heartbeat loop must not unfence it while the shutdown
// finishes (in-flight requests may take a while).
func TestControlledShutdownStaysFenced(t *testing.T) {
	c := newTestCluster(t, 3, "broker.heartbeat.interval.ms=100", "broker.session.timeout.ms=3000")
	n := c.nodes[2]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.leaveCluster(ctx)
	waitFor(t, 5*time.Second, "broker 3 fenced", func() bool {
		b, _ := c.nodes[0].Metadata().Broker(3)
		return b.Fenced
	})
	// Several heartbeat intervals, as a shutdown draining requests.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if b, _ := c.nodes[0].Metadata().Broker(3); !b.Fenced {
			t.Fatal("the shutting-down broker was unfenced by its own heartbeats")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
