package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// testController is a single-voter controller on an in-memory file system.
type testController struct {
	t   *testing.T
	c   *Controller
	cfg Config
}

func newTestController(t *testing.T) *testController {
	t.Helper()
	return newTestControllerWith(t, nil)
}

// newTestControllerWith is newTestController with edit applied to the
// configuration first (nil for none).
func newTestControllerWith(t *testing.T, edit func(*Config)) *testController {
	t.Helper()
	cfg := Config{NodeID: 1, Voters: []uint64{1}, FS: vfs.NewMem(), Dir: "/meta", TickInterval: 5 * time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	tc := &testController{t: t, cfg: cfg}
	tc.open()
	t.Cleanup(func() { tc.c.Close() })
	return tc
}

func (tc *testController) open() {
	tc.t.Helper()
	c, err := Open(tc.cfg)
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.c = c
}

// submit runs cmd and fails the test on a command error.
func (tc *testController) submit(cmd Command) any {
	tc.t.Helper()
	reply, err := tc.try(cmd)
	if err != nil {
		tc.t.Fatalf("submit: %v", err)
	}
	return reply
}

// try runs cmd and waits for the image holding its records: Submit
// answers as the entry is applied, which may be just before the image is
// published.
func (tc *testController) try(cmd Command) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	off, reply, err := tc.c.Submit(ctx, cmd)
	if err != nil {
		return reply, err
	}
	return reply, tc.c.WaitFor(ctx, off)
}

func (tc *testController) img() *metadata.Image { return tc.c.Image() }

// brokers registers and unfences brokers 1..n and returns their epochs.
func (tc *testController) brokers(n int) map[int32]int64 {
	tc.t.Helper()
	epochs := map[int32]int64{}
	for id := int32(1); id <= int32(n); id++ {
		epoch := tc.submit(RegisterBroker(registration(id, 1))).(int64)
		tc.submit(UnfenceBroker(id, epoch))
		epochs[id] = epoch
	}
	return epochs
}

func registration(id int32, incarnation byte) BrokerRegistration {
	return BrokerRegistration{
		ID:            id,
		IncarnationID: protocol.UUID{0: byte(id), 15: incarnation},
		Endpoints:     []metadata.Endpoint{{Name: "PLAINTEXT", Host: "localhost", Port: uint16(9091 + id)}},
	}
}

func (tc *testController) createTopics(defaults TopicDefaults, validateOnly bool, reqs ...CreateTopic) []CreateTopicResult {
	tc.t.Helper()
	return tc.submit(CreateTopics(reqs, validateOnly, defaults)).([]CreateTopicResult)
}

func topic(name string, partitions int32, rf int16) CreateTopic {
	return CreateTopic{Name: name, NumPartitions: partitions, ReplicationFactor: rf}
}

func str(s string) *string { return &s }

func wantCode(t *testing.T, what string, err *CommandError, code protocol.ErrorCode) {
	t.Helper()
	if code == protocol.ErrNone {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if err == nil || err.Code != code {
		t.Fatalf("%s: got error %v, want %s", what, err, code.Name())
	}
}

func partitions(t *testing.T, img *metadata.Image, name string) []metadata.Partition {
	t.Helper()
	tp := img.TopicByName(name)
	if tp == nil {
		t.Fatalf("topic %s missing", name)
	}
	var out []metadata.Partition
	for p, part := range tp.Partitions() {
		if int(p) != len(out) {
			t.Fatalf("topic %s: partition ids not consecutive", name)
		}
		out = append(out, part)
	}
	return out
}

func TestCreateTopicsDefaultsExplicitManual(t *testing.T) {
	tc := newTestController(t)
	tc.brokers(3)
	defaults := TopicDefaults{NumPartitions: 2, ReplicationFactor: 3}
	res := tc.createTopics(defaults, false,
		topic("dflt", -1, -1),
		CreateTopic{Name: "explicit", NumPartitions: 5, ReplicationFactor: 2, Configs: map[string]*string{"cleanup.policy": str("compact")}},
		CreateTopic{Name: "manual", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {3, 1}, 1: {2, 3}}},
	)
	for _, r := range res {
		wantCode(t, r.Name, r.Err, protocol.ErrNone)
		if r.TopicID == (protocol.UUID{}) {
			t.Fatalf("%s: zero topic id", r.Name)
		}
		if got := tc.img().TopicByName(r.Name); got == nil || got.ID() != r.TopicID {
			t.Fatalf("%s: image topic %v, reply id %v", r.Name, got, r.TopicID)
		}
	}
	if r := res[0]; r.NumPartitions != 2 || r.ReplicationFactor != 3 {
		t.Fatalf("defaults: %+v", r)
	}
	if r := res[1]; r.NumPartitions != 5 || r.ReplicationFactor != 2 || r.Configs["cleanup.policy"] != "compact" {
		t.Fatalf("explicit: %+v", r)
	}
	img := tc.img()
	for name, rf := range map[string]int{"dflt": 3, "explicit": 2, "manual": 2} {
		for i, p := range partitions(t, img, name) {
			if len(p.Replicas) != rf || !slices.Equal(p.ISR, p.Replicas) || p.Leader != p.Replicas[0] ||
				p.LeaderEpoch != 0 || p.PartitionEpoch != 0 {
				t.Fatalf("%s-%d: %+v", name, i, p)
			}
			seen := map[int32]bool{}
			for _, b := range p.Replicas {
				if seen[b] || b < 1 || b > 3 {
					t.Fatalf("%s-%d: bad replicas %v", name, i, p.Replicas)
				}
				seen[b] = true
			}
		}
	}
	if n := len(partitions(t, img, "dflt")); n != 2 {
		t.Fatalf("dflt has %d partitions", n)
	}
	if ps := partitions(t, img, "manual"); !slices.Equal(ps[0].Replicas, []int32{3, 1}) || !slices.Equal(ps[1].Replicas, []int32{2, 3}) {
		t.Fatalf("manual assignment not kept: %v %v", ps[0].Replicas, ps[1].Replicas)
	}
	if got := img.TopicConfigs("explicit"); got["cleanup.policy"] != "compact" || len(got) != 1 {
		t.Fatalf("explicit configs %v", got)
	}
}

func TestCreateTopicsErrors(t *testing.T) {
	tc := newTestController(t)
	tc.brokers(3)
	// Broker 4 registered but fenced.
	tc.submit(RegisterBroker(registration(4, 1)))
	tc.createTopics(TopicDefaults{}, false, topic("exists", 1, 1), topic("a.b", 1, 1))
	manual := func(name string, a map[int32][]int32) CreateTopic {
		return CreateTopic{Name: name, NumPartitions: -1, ReplicationFactor: -1, Assignments: a}
	}
	cases := []struct {
		req  CreateTopic
		code protocol.ErrorCode
		msg  string // in the message, if set
	}{
		{topic("", 1, 1), protocol.ErrInvalidTopicException, "empty"},
		{topic(".", 1, 1), protocol.ErrInvalidTopicException, ""},
		{topic("..", 1, 1), protocol.ErrInvalidTopicException, ""},
		{topic(strings.Repeat("x", 250), 1, 1), protocol.ErrInvalidTopicException, "249"},
		{topic("bad/name", 1, 1), protocol.ErrInvalidTopicException, "illegal"},
		{topic("bad name", 1, 1), protocol.ErrInvalidTopicException, "illegal"},
		{topic("a_b", 1, 1), protocol.ErrInvalidTopicException, "collides with existing topic: a.b"},
		{topic("exists", 1, 1), protocol.ErrTopicAlreadyExists, ""},
		// The metadata log's own name: its partition directory would be
		// the metadata log's.
		{topic("__cluster_metadata", 1, 1), protocol.ErrInvalidRequest, "prohibited"},
		{topic("p0", 0, 1), protocol.ErrInvalidPartitions, ""},
		{topic("p-2", -2, 1), protocol.ErrInvalidPartitions, ""},
		{topic("p-big", maxPartitionsPerCommand+1, 1), protocol.ErrInvalidPartitions, ""},
		{topic("rf0", 1, 0), protocol.ErrInvalidReplicationFactor, ""},
		{topic("rf-3", 1, -3), protocol.ErrInvalidReplicationFactor, ""},
		// Four brokers are registered but only three are unfenced.
		{topic("rf4", 1, 4), protocol.ErrInvalidReplicationFactor, "only 3 broker(s)"},
		{CreateTopic{Name: "m-np", NumPartitions: 1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1}}}, protocol.ErrInvalidRequest, "numPartitions"},
		{CreateTopic{Name: "m-rf", NumPartitions: -1, ReplicationFactor: 1, Assignments: map[int32][]int32{0: {1}}}, protocol.ErrInvalidRequest, "replicationFactor"},
		{manual("m-gap", map[int32][]int32{0: {1}, 2: {2}}), protocol.ErrInvalidReplicaAssignment, "consecutive"},
		{manual("m-from1", map[int32][]int32{1: {1}}), protocol.ErrInvalidReplicaAssignment, "consecutive"},
		{manual("m-rf", map[int32][]int32{0: {1, 2}, 1: {3}}), protocol.ErrInvalidReplicaAssignment, "inconsistent"},
		{manual("m-dup", map[int32][]int32{0: {1, 1}}), protocol.ErrInvalidReplicaAssignment, "more than once"},
		{manual("m-unreg", map[int32][]int32{0: {1, 9}}), protocol.ErrInvalidReplicaAssignment, "broker 9"},
		{manual("m-empty", map[int32][]int32{0: {}}), protocol.ErrInvalidReplicaAssignment, "empty"},
		{manual("m-fenced", map[int32][]int32{0: {4}}), protocol.ErrInvalidReplicaAssignment, "fenced"},
		{CreateTopic{Name: "c-key", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]*string{"no.such.key": str("1")}}, protocol.ErrInvalidConfig, "no.such.key"},
		{CreateTopic{Name: "c-val", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]*string{"retention.ms": str("soon")}}, protocol.ErrInvalidConfig, "retention.ms"},
		{CreateTopic{Name: "c-nil", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]*string{"retention.ms": nil}}, protocol.ErrInvalidConfig, "retention.ms"},
		{CreateTopic{Name: "c-lags", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]*string{"min.compaction.lag.ms": str("100000"), "max.compaction.lag.ms": str("5000")}},
			protocol.ErrInvalidConfig, "min.compaction.lag.ms (100000) > max.compaction.lag.ms (5000)"},
		{CreateTopic{Name: "c-broker", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]*string{"log.retention.ms": str("1")}}, protocol.ErrInvalidConfig, "log.retention.ms"},
	}
	before := tc.img().Topics.Len()
	for _, c := range cases {
		res := tc.createTopics(TopicDefaults{}, false, c.req)
		if len(res) != 1 {
			t.Fatalf("%q: %d results", c.req.Name, len(res))
		}
		wantCode(t, fmt.Sprintf("%q", c.req.Name), res[0].Err, c.code)
		if !strings.Contains(res[0].Err.Message, c.msg) {
			t.Fatalf("%q: message %q lacks %q", c.req.Name, res[0].Err.Message, c.msg)
		}
		if res[0].TopicID != (protocol.UUID{}) || res[0].NumPartitions != 0 {
			t.Fatalf("%q: failed result carries %+v", c.req.Name, res[0])
		}
	}
	if got := tc.img().Topics.Len(); got != before {
		t.Fatalf("failed creations changed the topic count: %d → %d", before, got)
	}
	// The error wraps its code.
	var ce *CommandError
	res := tc.createTopics(TopicDefaults{}, false, topic("exists", 1, 1))
	if err := error(res[0].Err); !errors.Is(err, protocol.ErrTopicAlreadyExists) || !errors.As(err, &ce) {
		t.Fatalf("errors.Is/As failed on %v", err)
	}
}

func TestCreateTopicsNoLiveBrokers(t *testing.T) {
	tc := newTestController(t)
	res := tc.createTopics(TopicDefaults{NumPartitions: 1, ReplicationFactor: 1}, false, topic("t", -1, -1))
	wantCode(t, "no brokers", res[0].Err, protocol.ErrInvalidReplicationFactor)
}

func TestCreateTopicsValidateOnlyPartialDuplicates(t *testing.T) {
	tc := newTestController(t)
	tc.brokers(2)
	off := tc.img().Offset
	res := tc.createTopics(TopicDefaults{}, true, topic("v1", 3, 2), topic("v2", 1, 1))
	for _, r := range res {
		wantCode(t, r.Name, r.Err, protocol.ErrNone)
	}
	// As Kafka's: each topic is given the id it would have had.
	if res[0].TopicID == (protocol.UUID{}) || res[1].TopicID == (protocol.UUID{}) || res[0].TopicID == res[1].TopicID {
		t.Fatalf("validateOnly ids %v and %v, want two distinct ones", res[0].TopicID, res[1].TopicID)
	}
	if res[0].NumPartitions != 3 || res[0].ReplicationFactor != 2 {
		t.Fatalf("validateOnly result %+v", res[0])
	}
	if tc.img().Topics.Len() != 0 || tc.img().Offset != off {
		t.Fatal("validateOnly wrote records")
	}
	// validateOnly still reports errors.
	res = tc.createTopics(TopicDefaults{}, true, topic("v3", 1, 3))
	wantCode(t, "validateOnly rf", res[0].Err, protocol.ErrInvalidReplicationFactor)

	// One topic's failure does not fail the others; a duplicated name fails
	// every entry naming it; a collision within the request is caught.
	res = tc.createTopics(TopicDefaults{}, false,
		topic("ok1", 1, 1), topic("bad", 1, 9), topic("dup", 1, 1), topic("ok2", 2, 2), topic("dup", 2, 1),
		topic("x.y", 1, 1), topic("x_y", 1, 1))
	want := []protocol.ErrorCode{protocol.ErrNone, protocol.ErrInvalidReplicationFactor, protocol.ErrInvalidRequest,
		protocol.ErrNone, protocol.ErrInvalidRequest, protocol.ErrNone, protocol.ErrInvalidTopicException}
	for i, r := range res {
		wantCode(t, fmt.Sprintf("%d %s", i, r.Name), r.Err, want[i])
	}
	if got := topicNames(tc.img()); !slices.Equal(got, []string{"ok1", "ok2", "x.y"}) {
		t.Fatalf("topics %v", got)
	}
}

func TestPlacementSpreadsLeaders(t *testing.T) {
	tc := newTestController(t)
	tc.brokers(3)
	res := tc.createTopics(TopicDefaults{}, false, topic("wide", 6, 3))
	wantCode(t, "wide", res[0].Err, protocol.ErrNone)
	leaders := map[int32]int{}
	followers := map[string]bool{}
	for _, p := range partitions(t, tc.img(), "wide") {
		leaders[p.Leader]++
		followers[fmt.Sprint(p.Replicas[1:])] = true
	}
	if len(leaders) != 3 || leaders[1] != 2 || leaders[2] != 2 || leaders[3] != 2 {
		t.Fatalf("leaders not spread: %v", leaders)
	}
	if len(followers) < 4 {
		t.Fatalf("follower orders barely vary: %v", followers)
	}
	// Single-partition topics rotate their leader too.
	var reqs []CreateTopic
	for i := range 6 {
		reqs = append(reqs, topic(fmt.Sprintf("single%d", i), 1, 1))
	}
	tc.createTopics(TopicDefaults{}, false, reqs...)
	leaders = map[int32]int{}
	for i := range 6 {
		leaders[partitions(t, tc.img(), fmt.Sprintf("single%d", i))[0].Leader]++
	}
	if leaders[1] != 2 || leaders[2] != 2 || leaders[3] != 2 {
		t.Fatalf("single-partition leaders not spread: %v", leaders)
	}
}

// TestCommandsOnThreeVoters runs registration and topic creation through
// the replicated quorum and checks every voter's image.
func TestCommandsOnThreeVoters(t *testing.T) {
	c := newCluster(t, 3, 11)
	defer c.close()
	for id := int32(1); id <= 3; id++ {
		id := id
		var epoch int64
		reg := RegisterBroker(registration(id, 1))
		if !c.submit(CommandFunc(func(img *metadata.Image) ([]metadata.Record, any, error) {
			recs, reply, err := reg.apply(img, env{})
			if err == nil {
				epoch = reply.(int64)
			}
			return recs, reply, err
		}), 5*time.Second) {
			t.Fatalf("register %d did not commit", id)
		}
		if !c.submit(UnfenceBroker(id, epoch), 5*time.Second) {
			t.Fatalf("unfence %d did not commit", id)
		}
	}
	if !c.submit(CreateTopics([]CreateTopic{topic("replicated", 3, 3)}, false, TopicDefaults{}), 5*time.Second) {
		t.Fatal("create did not commit")
	}
	waitFor(t, "every voter to hold the topic", 5*time.Second, func() bool {
		for _, n := range c.nodes {
			tp := n.Image().TopicByName("replicated")
			if tp == nil || tp.NumPartitions() != 3 {
				return false
			}
		}
		return true
	})
	for _, n := range c.nodes {
		leaders := map[int32]bool{}
		for _, p := range partitions(t, n.Image(), "replicated") {
			leaders[p.Leader] = true
		}
		if len(leaders) != 3 {
			t.Fatalf("node %d: leaders %v", n.NodeID(), leaders)
		}
	}
}

func TestDeleteTopics(t *testing.T) {
	tc := newTestController(t)
	tc.brokers(1)
	res := tc.createTopics(TopicDefaults{}, false, topic("a", 1, 1), topic("b", 1, 1), topic("c", 1, 1),
		CreateTopic{Name: "d", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]*string{"retention.ms": str("1000")}})
	idB, idC := res[1].TopicID, res[2].TopicID
	var unknownID protocol.UUID
	unknownID[0] = 0x42
	del := tc.submit(DeleteTopics([]string{"a", "nope", "c", "d"}, []protocol.UUID{idB, unknownID, idC, {}})).([]DeleteTopicResult)
	want := []protocol.ErrorCode{protocol.ErrNone, protocol.ErrUnknownTopicOrPartition, protocol.ErrInvalidRequest, protocol.ErrNone,
		protocol.ErrNone, protocol.ErrUnknownTopicID, protocol.ErrInvalidRequest, protocol.ErrInvalidRequest}
	if len(del) != len(want) {
		t.Fatalf("%d results", len(del))
	}
	for i, r := range del {
		wantCode(t, fmt.Sprintf("%d %s", i, r.Name), r.Err, want[i])
	}
	if del[4].Name != "b" || del[0].TopicID != res[0].TopicID {
		t.Fatalf("results lack names or ids: %+v", del)
	}
	// c was named twice (by name and id): kept.
	if got := topicNames(tc.img()); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("topics %v", got)
	}
	if got := tc.img().TopicConfigs("d"); got != nil {
		t.Fatalf("deleted topic kept configs %v", got)
	}
	// A deleted name can be created again, with a new id.
	res2 := tc.createTopics(TopicDefaults{}, false, topic("a", 1, 1))
	if res2[0].Err != nil || res2[0].TopicID == res[0].TopicID {
		t.Fatalf("recreate: %+v", res2[0])
	}
}

func TestCreatePartitions(t *testing.T) {
	tc := newTestController(t)
	tc.brokers(3)
	tc.createTopics(TopicDefaults{}, false, topic("t", 2, 2), topic("u", 1, 1))
	reply := tc.submit(CreatePartitions([]CreatePartitionsRequest{
		{Name: "t", Count: 5},
		{Name: "u", Count: 1},
		{Name: "missing", Count: 3},
		{Name: "u", Count: 0},
	}, false)).([]CreatePartitionsResult)
	want := []protocol.ErrorCode{protocol.ErrNone, protocol.ErrInvalidRequest, protocol.ErrUnknownTopicOrPartition, protocol.ErrInvalidRequest}
	for i, r := range reply {
		wantCode(t, fmt.Sprintf("%d %s", i, r.Name), r.Err, want[i])
	}
	ps := partitions(t, tc.img(), "t")
	if len(ps) != 5 {
		t.Fatalf("t has %d partitions", len(ps))
	}
	for i, p := range ps {
		if len(p.Replicas) != 2 || p.Replicas[0] == p.Replicas[1] || p.Leader != p.Replicas[0] || !slices.Equal(p.ISR, p.Replicas) {
			t.Fatalf("t-%d: %+v", i, p)
		}
	}
	// Leaders keep rotating across the old and new partitions.
	for i := 1; i < len(ps); i++ {
		if ps[i].Leader == ps[i-1].Leader {
			t.Fatalf("partitions %d and %d share leader %d", i-1, i, ps[i].Leader)
		}
	}

	cases := []struct {
		req  CreatePartitionsRequest
		code protocol.ErrorCode
	}{
		{CreatePartitionsRequest{Name: "u", Count: 1}, protocol.ErrInvalidPartitions},
		{CreatePartitionsRequest{Name: "t", Count: 3}, protocol.ErrInvalidPartitions},
		{CreatePartitionsRequest{Name: "u", Count: 3, Assignments: [][]int32{{1}}}, protocol.ErrInvalidReplicaAssignment},
		{CreatePartitionsRequest{Name: "u", Count: 2, Assignments: [][]int32{{1, 2}}}, protocol.ErrInvalidReplicaAssignment},
		{CreatePartitionsRequest{Name: "u", Count: 2, Assignments: [][]int32{{7}}}, protocol.ErrInvalidReplicaAssignment},
		{CreatePartitionsRequest{Name: "u", Count: maxPartitionsPerCommand + 2}, protocol.ErrInvalidPartitions},
	}
	for _, c := range cases {
		r := tc.submit(CreatePartitions([]CreatePartitionsRequest{c.req}, false)).([]CreatePartitionsResult)
		wantCode(t, fmt.Sprintf("%+v", c.req), r[0].Err, c.code)
	}
	// validateOnly writes nothing; then a manual assignment.
	r := tc.submit(CreatePartitions([]CreatePartitionsRequest{{Name: "u", Count: 3}}, true)).([]CreatePartitionsResult)
	wantCode(t, "validateOnly", r[0].Err, protocol.ErrNone)
	if n := tc.img().TopicByName("u").NumPartitions(); n != 1 {
		t.Fatalf("validateOnly added partitions: %d", n)
	}
	r = tc.submit(CreatePartitions([]CreatePartitionsRequest{{Name: "u", Count: 3, Assignments: [][]int32{{3}, {2}}}}, false)).([]CreatePartitionsResult)
	wantCode(t, "manual", r[0].Err, protocol.ErrNone)
	if ps := partitions(t, tc.img(), "u"); len(ps) != 3 || ps[1].Leader != 3 || ps[2].Leader != 2 {
		t.Fatalf("manual partitions %+v", ps)
	}
}

func TestConfigs(t *testing.T) {
	tc := newTestController(t)
	tc.brokers(1)
	tc.createTopics(TopicDefaults{}, false, topic("t", 1, 1), topic("other", 1, 1))
	incr := func(name string, changes ...ConfigChange) *CommandError {
		t.Helper()
		r := tc.submit(IncrementalAlterConfigs([]IncrementalAlterConfigsResource{{Type: metadata.ResourceTopic, Name: name, Changes: changes}}, false)).([]AlterConfigsResult)
		return r[0].Err
	}
	cfg := func() map[string]string { return tc.img().TopicConfigs("t") }

	wantCode(t, "set", incr("t",
		ConfigChange{Key: "retention.ms", Op: ConfigSet, Value: str("60000")},
		ConfigChange{Key: "max.message.bytes", Op: ConfigSet, Value: str("2048")}), protocol.ErrNone)
	if got := cfg(); got["retention.ms"] != "60000" || got["max.message.bytes"] != "2048" {
		t.Fatalf("after set: %v", got)
	}
	wantCode(t, "delete", incr("t", ConfigChange{Key: "max.message.bytes", Op: ConfigDelete}), protocol.ErrNone)
	if got := cfg(); len(got) != 1 || got["retention.ms"] != "60000" {
		t.Fatalf("after delete: %v", got)
	}
	// Deleting an unset key and setting an unchanged value write nothing.
	off := tc.img().Offset
	wantCode(t, "no-op", incr("t",
		ConfigChange{Key: "segment.ms", Op: ConfigDelete},
		ConfigChange{Key: "retention.ms", Op: ConfigSet, Value: str("60000")}), protocol.ErrNone)
	if tc.img().Offset != off {
		t.Fatal("a no-op change wrote records")
	}
	// APPEND to an unset list starts from the default (delete).
	wantCode(t, "append", incr("t", ConfigChange{Key: "cleanup.policy", Op: ConfigAppend, Value: str("compact")}), protocol.ErrNone)
	if got := cfg()["cleanup.policy"]; got != "delete,compact" {
		t.Fatalf("after append: %q", got)
	}
	wantCode(t, "append again", incr("t", ConfigChange{Key: "cleanup.policy", Op: ConfigAppend, Value: str("compact")}), protocol.ErrNone)
	if got := cfg()["cleanup.policy"]; got != "delete,compact" {
		t.Fatalf("append of a present element: %q", got)
	}
	wantCode(t, "subtract", incr("t", ConfigChange{Key: "cleanup.policy", Op: ConfigSubtract, Value: str("delete")}), protocol.ErrNone)
	if got := cfg()["cleanup.policy"]; got != "compact" {
		t.Fatalf("after subtract: %q", got)
	}

	before := cfg()
	errCases := []struct {
		name    string
		changes []ConfigChange
		code    protocol.ErrorCode
		msg     string
	}{
		{"t", []ConfigChange{{Key: "no.such.key", Op: ConfigSet, Value: str("1")}}, protocol.ErrInvalidConfig, "no.such.key"},
		{"t", []ConfigChange{{Key: "retention.ms", Op: ConfigSet, Value: str("1")}, {Key: "min.insync.replicas", Op: ConfigSet, Value: str("zero")}}, protocol.ErrInvalidConfig, "min.insync.replicas"},
		{"t", []ConfigChange{{Key: "retention.ms", Op: ConfigAppend, Value: str("1")}}, protocol.ErrInvalidConfig, "retention.ms"},
		{"t", []ConfigChange{{Key: "cleanup.policy", Op: ConfigAppend, Value: str("bogus")}}, protocol.ErrInvalidConfig, "cleanup.policy"},
		{"t", []ConfigChange{{Key: "retention.ms", Op: ConfigSet}}, protocol.ErrInvalidRequest, "retention.ms"},
		{"t", []ConfigChange{{Key: "retention.ms", Op: ConfigSet, Value: str("1")}, {Key: "retention.ms", Op: ConfigDelete}}, protocol.ErrInvalidRequest, "duplicate"},
		{"t", []ConfigChange{{Key: "retention.ms", Op: 9, Value: str("1")}}, protocol.ErrInvalidRequest, ""},
		{"missing", []ConfigChange{{Key: "retention.ms", Op: ConfigSet, Value: str("1")}}, protocol.ErrUnknownTopicOrPartition, ""},
		// A configuration no log could open with: min above max.
		{"t", []ConfigChange{{Key: "min.compaction.lag.ms", Op: ConfigSet, Value: str("1000")}, {Key: "max.compaction.lag.ms", Op: ConfigSet, Value: str("10")}},
			protocol.ErrInvalidConfig, "min.compaction.lag.ms (1000) > max.compaction.lag.ms (10)"},
	}
	for i, c := range errCases {
		err := incr(c.name, c.changes...)
		wantCode(t, fmt.Sprint(i), err, c.code)
		if !strings.Contains(err.Message, c.msg) {
			t.Fatalf("%d: message %q lacks %q", i, err.Message, c.msg)
		}
	}
	if got := cfg(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("failed changes altered the config: %v → %v", before, got)
	}

	// Per-resource results: a broker resource with a static key is
	// refused, the topic changes.
	r := tc.submit(IncrementalAlterConfigs([]IncrementalAlterConfigsResource{
		{Type: metadata.ResourceBroker, Name: "1", Changes: []ConfigChange{{Key: "log.dirs", Op: ConfigSet, Value: str("/x")}}},
		{Type: metadata.ResourceTopic, Name: "other", Changes: []ConfigChange{{Key: "retention.ms", Op: ConfigSet, Value: str("5")}}},
		{Type: metadata.ResourceGroup, Name: "g"},
	}, false)).([]AlterConfigsResult)
	wantCode(t, "broker", r[0].Err, protocol.ErrInvalidRequest)
	wantCode(t, "other", r[1].Err, protocol.ErrNone)
	wantCode(t, "group", r[2].Err, protocol.ErrInvalidRequest)
	if tc.img().TopicConfigs("other")["retention.ms"] != "5" || tc.img().BrokerConfigs(1) != nil {
		t.Fatal("per-resource outcome not applied")
	}
	// validateOnly writes nothing.
	r = tc.submit(IncrementalAlterConfigs([]IncrementalAlterConfigsResource{{Type: metadata.ResourceTopic, Name: "other",
		Changes: []ConfigChange{{Key: "retention.ms", Op: ConfigSet, Value: str("6")}}}}, true)).([]AlterConfigsResult)
	wantCode(t, "validateOnly", r[0].Err, protocol.ErrNone)
	if tc.img().TopicConfigs("other")["retention.ms"] != "5" {
		t.Fatal("validateOnly changed the config")
	}

	// Legacy AlterConfigs replaces the whole configuration.
	r = tc.submit(AlterConfigs([]AlterConfigsResource{{Type: metadata.ResourceTopic, Name: "t",
		Configs: map[string]*string{"segment.ms": str("100000"), "retention.ms": nil}}}, false)).([]AlterConfigsResult)
	wantCode(t, "legacy", r[0].Err, protocol.ErrNone)
	if got := cfg(); len(got) != 1 || got["segment.ms"] != "100000" {
		t.Fatalf("after legacy alter: %v", got)
	}
	r = tc.submit(AlterConfigs([]AlterConfigsResource{{Type: metadata.ResourceTopic, Name: "t",
		Configs: map[string]*string{"segment.ms": str("-5")}}}, false)).([]AlterConfigsResult)
	wantCode(t, "legacy invalid", r[0].Err, protocol.ErrInvalidConfig)
	if !strings.Contains(r[0].Err.Message, "segment.ms") {
		t.Fatalf("message %q does not name the key", r[0].Err.Message)
	}
}

func TestProducerIDBlocks(t *testing.T) {
	tc := newTestController(t)
	epochs := tc.brokers(2)
	if _, err := tc.try(AllocateProducerIDs(1, epochs[1]+5)); !errors.Is(err, protocol.ErrStaleBrokerEpoch) {
		t.Fatalf("stale epoch: %v", err)
	}
	if _, err := tc.try(AllocateProducerIDs(9, 1)); !errors.Is(err, protocol.ErrStaleBrokerEpoch) {
		t.Fatalf("unregistered broker: %v", err)
	}
	const n = 100
	blocks := make([]ProducerIDBlock, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			id := int32(1 + i%2)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			off, reply, err := tc.c.Submit(ctx, AllocateProducerIDs(id, epochs[id]))
			if err == nil {
				err = tc.c.WaitFor(ctx, off)
			}
			if err != nil {
				errs <- err
				return
			}
			blocks[i] = reply.(ProducerIDBlock)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	starts := map[int64]bool{}
	for _, b := range blocks {
		if b.Len != ProducerIDBlockSize || b.Start%ProducerIDBlockSize != 0 || starts[b.Start] {
			t.Fatalf("bad or repeated block %+v", b)
		}
		starts[b.Start] = true
	}
	for s := int64(0); s < n*ProducerIDBlockSize; s += ProducerIDBlockSize {
		if !starts[s] {
			t.Fatalf("block %d not handed out: blocks are not contiguous", s)
		}
	}
	if next := tc.img().ProducerIDs.NextProducerID; next != n*ProducerIDBlockSize {
		t.Fatalf("next producer id %d", next)
	}
	// Sequential calls increase.
	a := tc.submit(AllocateProducerIDs(1, epochs[1])).(ProducerIDBlock)
	b := tc.submit(AllocateProducerIDs(2, epochs[2])).(ProducerIDBlock)
	if b.Start <= a.Start {
		t.Fatalf("blocks not increasing: %d then %d", a.Start, b.Start)
	}

	// After a restart allocation resumes past every block handed out.
	tc.c.Close()
	tc.open()
	waitFor(t, "replay", 5*time.Second, func() bool { return tc.img().ProducerIDs.NextProducerID == b.Start+ProducerIDBlockSize })
	c := tc.submit(AllocateProducerIDs(1, epochs[1])).(ProducerIDBlock)
	if c.Start != b.Start+ProducerIDBlockSize {
		t.Fatalf("after restart: block %d, want %d", c.Start, b.Start+ProducerIDBlockSize)
	}
}

func TestRegisterBroker(t *testing.T) {
	tc := newTestController(t)
	rack := "r1"
	reg := registration(1, 1)
	reg.Rack = &rack
	e1 := tc.submit(RegisterBroker(reg)).(int64)
	b, ok := tc.img().Broker(1)
	if !ok || b.Epoch != e1 || !b.Fenced || b.Rack == nil || *b.Rack != "r1" || b.IncarnationID != reg.IncarnationID ||
		len(b.Endpoints) != 1 || b.Endpoints[0].Port != 9092 {
		t.Fatalf("registration %+v (epoch %d)", b, e1)
	}
	if e1 <= 0 {
		t.Fatalf("epoch %d", e1)
	}
	if len(tc.img().LiveBrokers()) != 0 {
		t.Fatal("a new registration is live before being unfenced")
	}
	// Unfence errors, then unfence.
	if _, err := tc.try(UnfenceBroker(1, e1+1)); !errors.Is(err, protocol.ErrStaleBrokerEpoch) {
		t.Fatalf("stale unfence: %v", err)
	}
	if _, err := tc.try(UnfenceBroker(2, e1)); !errors.Is(err, protocol.ErrBrokerIDNotRegistered) {
		t.Fatalf("unknown unfence: %v", err)
	}
	tc.submit(UnfenceBroker(1, e1))
	if live := tc.img().LiveBrokers(); len(live) != 1 || live[0].ID != 1 {
		t.Fatalf("live %v", live)
	}
	// The same incarnation re-registering and a new incarnation both
	// replace the registration with a higher epoch, fenced again.
	e2 := tc.submit(RegisterBroker(reg)).(int64)
	reg3 := registration(1, 2)
	e3 := tc.submit(RegisterBroker(reg3)).(int64)
	if !(e1 < e2 && e2 < e3) {
		t.Fatalf("epochs %d %d %d do not increase", e1, e2, e3)
	}
	b, _ = tc.img().Broker(1)
	if b.Epoch != e3 || b.IncarnationID != reg3.IncarnationID || !b.Fenced || b.Rack != nil || len(tc.img().Brokers()) != 1 {
		t.Fatalf("re-registration %+v", b)
	}
	if _, err := tc.try(UnfenceBroker(1, e1)); !errors.Is(err, protocol.ErrStaleBrokerEpoch) {
		t.Fatalf("old epoch unfence: %v", err)
	}
	// Fence and unfence at the current epoch; repeats write nothing.
	tc.submit(UnfenceBroker(1, e3))
	tc.submit(FenceBroker(1, e3))
	off := tc.img().Offset
	tc.submit(FenceBroker(1, e3))
	if b, _ := tc.img().Broker(1); !b.Fenced || tc.img().Offset != off {
		t.Fatalf("fence: %+v, offset %d→%d", b, off, tc.img().Offset)
	}
	// Invalid registrations.
	bad := []BrokerRegistration{
		{ID: -1, IncarnationID: protocol.UUID{1}},
		{ID: 2},
		{ID: 2, IncarnationID: protocol.UUID{1}, Endpoints: []metadata.Endpoint{{Name: "A"}, {Name: "A"}}},
	}
	for i, r := range bad {
		if _, err := tc.try(RegisterBroker(r)); !errors.Is(err, protocol.ErrInvalidRequest) {
			t.Fatalf("bad registration %d: %v", i, err)
		}
	}
}

func TestRegisterBrokerFeatures(t *testing.T) {
	tc := newTestController(t)
	tc.submit(CommandFunc(func(*metadata.Image) ([]metadata.Record, any, error) {
		return []metadata.Record{metadata.NewRecord(&protocol.FeatureLevelRecord{Name: metadata.MetadataVersionFeature, FeatureLevel: 20})}, nil, nil
	}))
	reg := registration(1, 1)
	if _, err := tc.try(RegisterBroker(reg)); !errors.Is(err, protocol.ErrUnsupportedVersion) {
		t.Fatalf("broker without metadata.version: %v", err)
	}
	reg.Features = []metadata.SupportedFeature{{Name: metadata.MetadataVersionFeature, Min: 1, Max: 19}}
	if _, err := tc.try(RegisterBroker(reg)); !errors.Is(err, protocol.ErrUnsupportedVersion) {
		t.Fatalf("broker below the finalized level: %v", err)
	}
	reg.Features[0].Max = 25
	tc.submit(RegisterBroker(reg))
}
