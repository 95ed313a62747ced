package replica

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/storage"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// fixture is a single-voter controller and a log directory on one
// in-memory FS, with the broker registered and unfenced.
type fixture struct {
	ctl    *controller.Controller
	logs   *storage.Manager
	submit func(controller.Command) any
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fsys := vfs.NewMem()
	ctl, err := controller.Open(controller.Config{NodeID: 1, Voters: []uint64{1}, FS: fsys, Dir: "/data/__cluster_metadata-0", TickInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close() })
	logs, err := storage.OpenManager(storage.ManagerOptions{FS: fsys, Dir: "/data", ClusterID: "c", NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	f := &fixture{ctl: ctl, logs: logs}
	f.submit = func(cmd controller.Command) any {
		t.Helper()
		off, reply, err := ctl.Submit(ctx, cmd)
		if err != nil {
			t.Fatal(err)
		}
		if err := ctl.WaitFor(ctx, off); err != nil {
			t.Fatal(err)
		}
		return reply
	}
	epoch := f.submit(controller.RegisterBroker(controller.BrokerRegistration{ID: 1, IncarnationID: protocol.UUID{1}})).(int64)
	f.submit(controller.UnfenceBroker(1, epoch))
	return f
}

func TestManagerFollowsTheImage(t *testing.T) {
	f := newFixture(t)
	ctl, logs, submit := f.ctl, f.logs, f.submit
	m := NewManager(1, logs, map[string]string{"segment.bytes": "1048576"}, nil)
	retention := "60000"
	res := submit(controller.CreateTopics([]controller.CreateTopic{{Name: "orders", NumPartitions: 3, ReplicationFactor: 1,
		Configs: map[string]*string{"retention.ms": &retention}}}, false, controller.TopicDefaults{NumPartitions: 1, ReplicationFactor: 1})).([]controller.CreateTopicResult)
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if err := m.Apply(ctl.Image()); err != nil {
		t.Fatal(err)
	}
	if got := len(m.Partitions()); got != 3 {
		t.Fatalf("%d partitions, want 3", got)
	}
	p, err := m.Leading(storage.TopicPartition{Topic: "orders", Partition: 2})
	if err != nil {
		t.Fatal(err)
	}
	if leader, ep := p.Leader(); leader != 1 || ep != 0 {
		t.Fatalf("leader %d epoch %d", leader, ep)
	}
	if cfg := p.Log.Config(); cfg.RetentionAge != time.Minute || cfg.SegmentBytes != 1<<20 {
		t.Fatalf("log config %+v", cfg)
	}
	if _, err := m.Leading(storage.TopicPartition{Topic: "orders", Partition: 3}); err != ErrUnknownPartition {
		t.Fatalf("partition 3: %v", err)
	}

	// A config change reaches the log; deleting the topic removes its logs.
	newRet := "120000"
	submit(controller.IncrementalAlterConfigs([]controller.IncrementalAlterConfigsResource{{Type: 2, Name: "orders",
		Changes: []controller.ConfigChange{{Key: "retention.ms", Op: controller.ConfigSet, Value: &newRet}}}}, false))
	if err := m.Apply(ctl.Image()); err != nil {
		t.Fatal(err)
	}
	if p.Log.Config().RetentionAge != 2*time.Minute {
		t.Fatalf("retention not updated: %v", p.Log.Config().RetentionAge)
	}
	submit(controller.DeleteTopics([]string{"orders"}, nil))
	if err := m.Apply(ctl.Image()); err != nil {
		t.Fatal(err)
	}
	if len(m.Partitions()) != 0 || logs.Log(storage.TopicPartition{Topic: "orders", Partition: 0}) != nil {
		t.Fatal("deleted topic's logs remain")
	}
}

// TestRecreatedTopicGetsAFreshLog: a topic deleted and created again
// between two applied images does not keep the old log (regression).
func TestRecreatedTopicGetsAFreshLog(t *testing.T) {
	f := newFixture(t)
	ctl, submit := f.ctl, f.submit
	m := NewManager(1, f.logs, nil, nil)
	create := controller.CreateTopics([]controller.CreateTopic{{Name: "again", NumPartitions: 1, ReplicationFactor: 1}}, false, controller.TopicDefaults{NumPartitions: 1, ReplicationFactor: 1})
	submit(create)
	if err := m.Apply(ctl.Image()); err != nil {
		t.Fatal(err)
	}
	old, _ := m.Partition(storage.TopicPartition{Topic: "again"})
	b := record.NewBuilder(record.CodecNone)
	b.Append(0, 0, nil, []byte("old"))
	data, _ := b.Build(nil)
	if _, err := old.Log.Append(data, storage.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	submit(controller.DeleteTopics([]string{"again"}, nil))
	submit(create)
	if err := m.Apply(ctl.Image()); err != nil {
		t.Fatal(err)
	}
	p, ok := m.Partition(storage.TopicPartition{Topic: "again"})
	if !ok || p.TopicID == old.TopicID || p.Log.EndOffset() != 0 {
		t.Fatalf("recreated topic: ok=%t same id=%t end offset %d", ok, p.TopicID == old.TopicID, p.Log.EndOffset())
	}
}
