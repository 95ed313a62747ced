package cli

import (
	"context"
	"encoding/json"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/admin"
)

var (
	clusterID = regexp.MustCompile(`(?m)^cluster id: \S+$`)
	hostPort  = regexp.MustCompile(`(?m)127\.0\.0\.1:\d+$`)
)

// servesDescribeQuorum reports whether the broker at addr lists
// DescribeQuorum in its ApiVersions.
func servesDescribeQuorum(t *testing.T, addr string) bool {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(resp.ApiKeys, func(k kmsg.ApiVersionsResponseApiKey) bool { return k.ApiKey == int16(kmsg.DescribeQuorum) })
}

// TestClusterDescribe describes a node: its id, itself as the only
// broker, no unhealthy partitions and the controller as the node says
// (DescribeQuorum when it serves it, else unknown).
func TestClusterDescribe(t *testing.T) {
	b := startNode(t)
	code, out, errs := run("topic", "create", "orders", "--partitions", "2", "-b", b)
	if code != 0 {
		t.Fatalf("create: exit %d, %s", code, errs)
	}
	code, out, errs = run("cluster", "describe", "-b", b)
	if code != 0 {
		t.Fatalf("describe: exit %d, stderr %q", code, errs)
	}
	got := hostPort.ReplaceAllString(clusterID.ReplaceAllString(out, "cluster id: ID"), "ADDR")
	code, js, errs := run("cluster", "describe", "--json", "-b", b)
	var info admin.ClusterInfo
	if err := json.Unmarshal([]byte(js), &info); code != 0 || err != nil {
		t.Fatalf("describe --json: exit %d, %v, stderr %q", code, err, errs)
	}
	if len(info.ClusterID) != 22 || !strings.Contains(out, "cluster id: "+info.ClusterID+"\n") ||
		len(info.Brokers) != 1 || net.JoinHostPort(info.Brokers[0].Host, strconv.Itoa(int(info.Brokers[0].Port))) != b ||
		len(info.UnderReplicated) != 0 || len(info.Offline) != 0 {
		t.Fatalf("describe --json: %+v", info)
	}
	tail := `BROKER  RACK  HOST:PORT
1       -     ADDR
under-replicated partitions: 0
offline partitions: 0
`
	if !servesDescribeQuorum(t, b) {
		if want := "cluster id: ID\n" + noQuorum + "\n" + tail; got != want || info.Controller != nil {
			t.Fatalf("describe:\n%s\nwant:\n%s\njson controller: %+v", got, want, info.Controller)
		}
		return
	}
	// The node is the only voter, so it leads the quorum. Whether it
	// also lists itself as an observer is its own business.
	q := info.Controller
	if q == nil || q.LeaderID != 1 || q.LeaderEpoch < 1 || q.HighWatermark < 1 || len(q.Voters) != 1 || q.Voters[0].ID != 1 {
		t.Fatalf("describe --json controller: %+v", q)
	}
	head := regexp.MustCompile(`^cluster id: ID\ncontroller: 1  leader epoch \d+  high watermark \d+\nQUORUM-NODE +ROLE +LOG-END-OFFSET\n1 +leader +\d+\n`)
	if !head.MatchString(got) || !strings.HasSuffix(got, "\n"+tail) {
		t.Fatalf("describe:\n%s\nwant the quorum led by 1, then:\n%s", got, tail)
	}
}

// TestClusterDescribeUnhealthy describes a three-broker fake cluster
// whose metadata has an under-replicated and an offline partition, and
// which does not serve DescribeQuorum.
func TestClusterDescribeUnhealthy(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.ClusterID("fake-cluster"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()
	c.ControlKey(int16(kmsg.Metadata), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		resp := req.ResponseKind().(*kmsg.MetadataResponse)
		resp.ClusterID = kmsg.StringPtr("fake-cluster")
		resp.ControllerID = 0
		for i, addr := range addrs {
			host, port, _ := net.SplitHostPort(addr)
			p, _ := strconv.Atoi(port)
			br := kmsg.NewMetadataResponseBroker()
			br.NodeID, br.Host, br.Port = int32(i), host, int32(p)
			if i == 1 {
				br.Rack = kmsg.StringPtr("rack-b")
			}
			resp.Brokers = append(resp.Brokers, br)
		}
		rt := kmsg.NewMetadataResponseTopic()
		rt.Topic, rt.TopicID = kmsg.StringPtr("events"), [16]byte{1}
		for _, p := range []struct {
			leader        int32
			replicas, isr []int32
		}{
			{0, []int32{0, 1, 2}, []int32{0, 1, 2}}, // healthy
			{1, []int32{1, 2, 0}, []int32{1}},       // under-replicated
			{-1, []int32{2}, []int32{}},             // offline, and so under-replicated
		} {
			rp := kmsg.NewMetadataResponseTopicPartition()
			rp.Partition, rp.Leader, rp.Replicas, rp.ISR = int32(len(rt.Partitions)), p.leader, p.replicas, p.isr
			if p.leader < 0 {
				rp.ErrorCode = kerr.LeaderNotAvailable.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
		return resp, nil, true
	})
	code, out, errs := run("cluster", "describe", "-b", addrs[0])
	if code != 0 {
		t.Fatalf("describe: exit %d, stderr %q", code, errs)
	}
	if got, want := hostPort.ReplaceAllString(out, "ADDR"), `cluster id: fake-cluster
`+noQuorum+`
BROKER  RACK    HOST:PORT
0       -       ADDR
1       rack-b  ADDR
2       -       ADDR
under-replicated partitions: 2
TOPIC   PARTITION  LEADER  REPLICAS  ISR
events  1          1       1,2,0     1
events  2          none    2         -
offline partitions: 1
TOPIC   PARTITION  LEADER  REPLICAS  ISR
events  2          none    2         -
`; got != want {
		t.Fatalf("describe:\n%s\nwant:\n%s", got, want)
	}
	var info admin.ClusterInfo
	if err := json.Unmarshal([]byte(mustRun(t, "cluster", "describe", "--json", "-b", addrs[0])), &info); err != nil {
		t.Fatal(err)
	}
	if info.Controller != nil || len(info.Brokers) != 3 || info.Brokers[1].Rack != "rack-b" ||
		len(info.UnderReplicated) != 2 || len(info.Offline) != 1 || info.Offline[0].Partition != 2 || info.Offline[0].Leader != -1 {
		t.Fatalf("describe --json: %+v", info)
	}
	for i, br := range info.Brokers {
		if net.JoinHostPort(br.Host, strconv.Itoa(int(br.Port))) != addrs[i] {
			t.Errorf("broker %d at %s:%d, want %s", i, br.Host, br.Port, addrs[i])
		}
	}
}

// TestClusterDescribeQuorum describes a fake broker that lists
// DescribeQuorum: its answer, an UNSUPPORTED_VERSION answer (unknown,
// as if unlisted) and another error (exit 1).
func TestClusterDescribeQuorum(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID("quorum-cluster"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	// kfake lists no DescribeQuorum: answer ApiVersions with its own
	// list plus DescribeQuorum v0-2.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	own, err := kmsg.NewPtrApiVersionsRequest().RequestWith(context.Background(), cl)
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	c.ControlKey(int16(kmsg.ApiVersions), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		resp := *own
		resp.Version = req.GetVersion()
		key := kmsg.NewApiVersionsResponseApiKey()
		key.ApiKey, key.MinVersion, key.MaxVersion = int16(kmsg.DescribeQuorum), 0, 2
		resp.ApiKeys = append(slices.Clone(own.ApiKeys), key)
		return &resp, nil, true
	})
	answer := func(fill func(*kmsg.DescribeQuorumResponse)) {
		c.ControlKey(int16(kmsg.DescribeQuorum), func(req kmsg.Request) (kmsg.Response, error, bool) {
			r := req.(*kmsg.DescribeQuorumRequest)
			if len(r.Topics) != 1 || r.Topics[0].Topic != "__cluster_metadata" || len(r.Topics[0].Partitions) != 1 || r.Topics[0].Partitions[0].Partition != 0 {
				t.Errorf("DescribeQuorum request: %+v", r)
			}
			resp := req.ResponseKind().(*kmsg.DescribeQuorumResponse)
			fill(resp)
			return resp, nil, true
		})
	}
	replica := func(id int32, leo int64) kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
		r := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
		r.ReplicaID, r.LogEndOffset = id, leo
		return r
	}

	answer(func(resp *kmsg.DescribeQuorumResponse) {
		rt := kmsg.NewDescribeQuorumResponseTopic()
		rt.Topic = "__cluster_metadata"
		rp := kmsg.NewDescribeQuorumResponseTopicPartition()
		rp.LeaderID, rp.LeaderEpoch, rp.HighWatermark = 2, 7, 1234
		rp.CurrentVoters = []kmsg.DescribeQuorumResponseTopicPartitionReplicaState{replica(3, -1), replica(2, 1240), replica(1, 1234)}
		rp.Observers = []kmsg.DescribeQuorumResponseTopicPartitionReplicaState{replica(4, 1200)}
		rt.Partitions = append(rt.Partitions, rp)
		resp.Topics = append(resp.Topics, rt)
	})
	if got, want := hostPort.ReplaceAllString(mustRun(t, "cluster", "describe", "-b", addr), "ADDR"), `cluster id: quorum-cluster
controller: 2  leader epoch 7  high watermark 1234
QUORUM-NODE  ROLE      LOG-END-OFFSET
1            voter     1234
2            leader    1240
3            voter     -
4            observer  1200
BROKER  RACK   HOST:PORT
0       krack  ADDR
under-replicated partitions: 0
offline partitions: 0
`; got != want {
		t.Fatalf("describe:\n%s\nwant:\n%s", got, want)
	}

	answer(func(resp *kmsg.DescribeQuorumResponse) { resp.ErrorCode = kerr.UnsupportedVersion.Code })
	if out := mustRun(t, "cluster", "describe", "-b", addr); !strings.Contains(out, "\n"+noQuorum+"\n") {
		t.Fatalf("describe after UNSUPPORTED_VERSION:\n%s", out)
	}

	answer(func(resp *kmsg.DescribeQuorumResponse) {
		rt := kmsg.NewDescribeQuorumResponseTopic()
		rt.Topic = "__cluster_metadata"
		rp := kmsg.NewDescribeQuorumResponseTopicPartition()
		rp.ErrorCode = kerr.NotLeaderForPartition.Code
		rt.Partitions = append(rt.Partitions, rp)
		resp.Topics = append(resp.Topics, rt)
	})
	if code, _, errs := run("cluster", "describe", "-b", addr); code != 1 || !strings.Contains(errs, "describe quorum: __cluster_metadata-0: NOT_LEADER_FOR_PARTITION") {
		t.Fatalf("describe with a quorum error: exit %d, stderr %q", code, errs)
	}
}

func TestClusterErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"cluster", "describe", "-b", "127.0.0.1:1", "--timeout", "2s"}, 1, "cannot reach the cluster at 127.0.0.1:1"},
		{[]string{"cluster", "describe", "extra"}, 2, `unexpected arguments ["extra"]`},
		{[]string{"cluster", "frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"cluster"}, 2, "usage: sluice cluster"},
	} {
		code, _, errs := run(c.args...)
		if code != c.code || !strings.Contains(errs, c.err) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.err)
		}
	}
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := run(args...)
	if code != 0 {
		t.Fatalf("%q: exit %d, stderr %q", args, code, errs)
	}
	return out
}
