package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/storage"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// scrape is one parse of /metrics.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, addr string) scrape {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the series of name whose labels include every pair of
// labels (name=value, …); ok=false when there is none.
func (s scrape) value(name string, labels ...string) (float64, bool) {
	f, ok := s[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func (s scrape) must(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := s.value(name, labels...)
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsMove scrapes a node's /metrics while a producer, a request
// that fails and a consumer group work, and checks that the series move
// with them: request counts and errors, bytes, log sizes, fsyncs,
// leaders, groups, rebalances and the lag (the high watermark minus the
// committed offset, per partition); /healthz and /readyz answer.
func TestMetricsMove(t *testing.T) {
	n := startNodeWith(t, t.TempDir(), nil, "metrics.listen=127.0.0.1:0", "group.initial.rebalance.delay.ms=0")
	defer n.close()
	maddr := n.MetricsAddr()
	if maddr == "" {
		t.Fatal("no metrics listener")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := n.CreateTopic(ctx, "orders", 3, nil); err != nil {
		t.Fatal(err)
	}
	before := scrapeMetrics(t, maddr)
	produced0, _ := before.value("sluice_requests_total", "api=Produce")
	in0 := before.must(t, "sluice_network_receive_bytes_total")

	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.DefaultProduceTopic("orders"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func(perPartition int) {
		t.Helper()
		for p := range int32(3) {
			for i := range perPartition {
				r := &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "value-%d", i)}
				if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	produce(10) // 30 records, one produce request each
	// A ListOffsets for a partition that does not exist counts an error.
	lo := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "orders"
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Partition = 99
	lt.Partitions = append(lt.Partitions, lp)
	lo.Topics = append(lo.Topics, lt)
	raw, err := cl.Broker(int(n.cfg.NodeID)).Request(ctx, lo) // as is: kgo would refuse the unknown partition itself
	if err != nil {
		t.Fatal(err)
	}
	resp := raw.(*kmsg.ListOffsetsResponse)
	if c := resp.Topics[0].Partitions[0].ErrorCode; c != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("list offsets of partition 99: code %d", c)
	}

	// A request is counted once its response is written, which the
	// client may read first, and a scrape reads the series one after
	// another: scrape until the last ones are in every series.
	var s scrape
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s = scrapeMetrics(t, maddr)
		produced, _ := s.value("sluice_requests_total", "api=Produce")
		timed, _ := s.value("sluice_request_duration_seconds", "api=Produce")
		_, listed := s.value("sluice_request_errors_total", "api=ListOffsets", "error=UNKNOWN_TOPIC_OR_PARTITION")
		if (produced-produced0 >= 30 && timed >= 30 && listed) || time.Now().After(deadline) {
			break
		}
	}
	if got := s.must(t, "sluice_requests_total", "api=Produce") - produced0; got != 30 {
		t.Errorf("produce requests: %v, want 30", got)
	}
	if got := s.must(t, "sluice_request_duration_seconds", "api=Produce"); got < 30 {
		t.Errorf("produce latency observations: %v, want at least 30", got)
	}
	if got := s.must(t, "sluice_request_errors_total", "api=ListOffsets", "error=UNKNOWN_TOPIC_OR_PARTITION"); got != 1 {
		t.Errorf("list offsets errors: %v, want 1", got)
	}
	if _, ok := s.value("sluice_request_errors_total", "api=Produce"); ok {
		t.Errorf("produce errors counted, but every produce succeeded")
	}
	if got := s.must(t, "sluice_network_receive_bytes_total"); got <= in0 {
		t.Errorf("bytes in did not grow: %v -> %v", in0, got)
	}
	if got := s.must(t, "sluice_log_fsync_duration_seconds"); got < 1 {
		t.Errorf("fsyncs observed: %v", got)
	}
	var total float64
	for p := range int32(3) {
		l := n.logs.Log(storage.TopicPartition{Topic: "orders", Partition: p})
		got := s.must(t, "sluice_log_size_bytes", "topic=orders", fmt.Sprintf("partition=%d", p))
		if got != float64(l.Size()) || got == 0 {
			t.Errorf("partition %d size %v, log says %d", p, got, l.Size())
		}
		total += got
		if end := s.must(t, "sluice_log_end_offset", "topic=orders", fmt.Sprintf("partition=%d", p)); end != 10 {
			t.Errorf("partition %d end offset %v, want 10", p, end)
		}
	}
	if got := s.must(t, "sluice_topic_log_size_bytes", "topic=orders"); got != total {
		t.Errorf("topic size %v, partitions sum to %v", got, total)
	}
	if got := s.must(t, "sluice_partition_leaders"); got != 3 {
		t.Errorf("leaders %v, want 3", got)
	}
	if got := s.must(t, "sluice_offline_partitions"); got != 0 {
		t.Errorf("offline %v", got)
	}
	if got := s.must(t, "sluice_controller_active"); got != 1 {
		t.Errorf("controller active %v", got)
	}
	if got := s.must(t, "sluice_cluster_brokers", "state=unfenced"); got != 1 {
		t.Errorf("unfenced brokers %v", got)
	}

	// A group consumes and commits.
	consume := func(name string) *kgo.Client {
		c, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.ClientID(name))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1 := consume("c1")
	defer c1.Close()
	var got int
	for got < 30 {
		fs := c1.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	// Commit 4 records short of the end in partition 0, the end elsewhere.
	offsets := map[string]map[int32]kgo.EpochOffset{"orders": {0: {Epoch: -1, Offset: 6}, 1: {Epoch: -1, Offset: 10}, 2: {Epoch: -1, Offset: 10}}}
	var commitErr error
	c1.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, r *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
		if err == nil {
			for _, t := range r.Topics {
				for _, p := range t.Partitions {
					if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
						commitErr = e
					}
				}
			}
		}
	})
	if commitErr != nil {
		t.Fatal(commitErr)
	}
	produce(5) // the end moves to 15 everywhere
	s = scrapeMetrics(t, maddr)
	for p, want := range map[int]float64{0: 9, 1: 5, 2: 5} {
		ps := fmt.Sprintf("partition=%d", p)
		if got := s.must(t, "sluice_consumer_group_lag", "group=billing", "topic=orders", ps); got != want {
			t.Errorf("lag of partition %d: %v, want %v", p, got, want)
		}
		hw, _ := n.replicas.Partition(storage.TopicPartition{Topic: "orders", Partition: int32(p)})
		committed := s.must(t, "sluice_consumer_group_committed_offset", "group=billing", "topic=orders", ps)
		if lag := s.must(t, "sluice_consumer_group_lag", "group=billing", "topic=orders", ps); lag != float64(hw.HighWatermark())-committed {
			t.Errorf("partition %d: lag %v != end %d - committed %v", p, lag, hw.HighWatermark(), committed)
		}
	}
	if got := s.must(t, "sluice_consumer_group_lag_sum", "group=billing", "topic=orders"); got != 19 {
		t.Errorf("lag sum %v, want 19", got)
	}
	if got := s.must(t, "sluice_groups", "state=Stable"); got != 1 {
		t.Errorf("stable groups %v, want 1", got)
	}
	rebalances := s.must(t, "sluice_group_rebalances_total")
	if rebalances < 1 {
		t.Errorf("rebalances %v", rebalances)
	}
	if got := s.must(t, "sluice_group_members"); got != 1 {
		t.Errorf("members %v, want 1", got)
	}

	// A second member joins: one more rebalance at least.
	c2 := consume("c2")
	defer c2.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c2.PollFetches(ctxWithin(ctx, 200*time.Millisecond))
		c1.PollFetches(ctxWithin(ctx, 200*time.Millisecond))
		s = scrapeMetrics(t, maddr)
		if m, _ := s.value("sluice_group_members"); m == 2 && s.must(t, "sluice_group_rebalances_total") > rebalances {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second member: members %v, rebalances %v (was %v)", s.must(t, "sluice_group_members"), s.must(t, "sluice_group_rebalances_total"), rebalances)
		}
	}

	if code, body := get(t, "http://"+maddr+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, "http://"+maddr+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
}

func ctxWithin(ctx context.Context, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(ctx, d)
	_ = cancel // released at its deadline
	return c
}

// TestMetricsWithoutPartitionLabels checks metrics.partition.labels=false
// drops the per-partition series and keeps the per-topic ones.
func TestMetricsWithoutPartitionLabels(t *testing.T) {
	n := startNodeWith(t, t.TempDir(), nil, "metrics.listen=127.0.0.1:0", "metrics.partition.labels=false")
	defer n.close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fill(t, ctx, n, "audit", 2, 20, 100)
	s := scrapeMetrics(t, n.MetricsAddr())
	for _, name := range []string{"sluice_log_size_bytes", "sluice_log_segments", "sluice_log_end_offset", "sluice_consumer_group_lag", "sluice_consumer_group_committed_offset"} {
		if _, ok := s[name]; ok {
			t.Errorf("%s present without partition labels", name)
		}
	}
	if got := s.must(t, "sluice_topic_log_size_bytes", "topic=audit"); got < 2000 {
		t.Errorf("topic size %v, want at least the 2000 bytes of values", got)
	}
	if got := s.must(t, "sluice_topic_log_segments", "topic=audit"); got != 2 {
		t.Errorf("topic segments %v, want 2", got)
	}
}

// TestMetricsISRChanges stops a follower of a three-node cluster without
// letting its session expire: its leaders shrink their ISRs after
// replica.lag.time.max.ms, which their metrics count, with the
// partitions under-replicated; once it is back and caught up, they
// expand the ISRs again and nothing is under-replicated.
func TestMetricsISRChanges(t *testing.T) {
	c := newTestCluster(t, 3, "metrics.listen=127.0.0.1:0", "broker.session.timeout.ms=60000",
		"replica.lag.time.max.ms=1000", "replica.fetch.backoff.ms=100", "offsets.topic.replication.factor=3")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c.createReplicated(ctx, 0, "orders", 3, nil)
	victim := 2
	sum := func(name string) float64 {
		var v float64
		for i, n := range c.nodes {
			if n != nil && i != victim {
				v += scrapeMetrics(t, n.MetricsAddr()).must(t, name)
			}
		}
		return v
	}
	shrinks0, expands0 := sum("sluice_isr_shrinks_total"), sum("sluice_isr_expands_total")
	if u := sum("sluice_under_replicated_partitions"); u != 0 {
		t.Fatalf("under-replicated before the stop: %v", u)
	}
	c.nodes[victim].close()
	c.nodes[victim] = nil
	waitFor(t, 15*time.Second, "ISR shrinks counted", func() bool {
		return sum("sluice_isr_shrinks_total") > shrinks0 && sum("sluice_under_replicated_partitions") > 0
	})
	if off := scrapeMetrics(t, c.nodes[0].MetricsAddr()).must(t, "sluice_offline_partitions"); off != 0 {
		t.Errorf("offline partitions with two of three replicas up: %v", off)
	}
	n, err := Start(c.cfgs[victim], nil)
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[victim] = n
	waitFor(t, 20*time.Second, "ISR expansions counted", func() bool {
		var under float64
		for _, n := range c.nodes {
			under += scrapeMetrics(t, n.MetricsAddr()).must(t, "sluice_under_replicated_partitions")
		}
		return sum("sluice_isr_expands_total") > expands0 && under == 0
	})
}

// TestMetricsControllerOnly serves metrics from a controller-only node:
// the controller's series, no broker ones, and ready once it leads.
func TestMetricsControllerOnly(t *testing.T) {
	port := freePorts(t, 1)[0]
	dir := t.TempDir()
	cfg, err := config.Load(map[string]string{
		"node.id": "1", "process.roles": "controller", "log.dir": dir, "controller.listener.names": "CONTROLLER",
		"listeners": fmt.Sprintf("CONTROLLER://127.0.0.1:%d", port), "controller.quorum.voters": fmt.Sprintf("1@127.0.0.1:%d", port),
		"metrics.listen": "127.0.0.1:0",
	}, nil, config.ProfileKafka)
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.FormatDir(vfs.Default, dir, storage.UUIDString(storage.RandomUUID()), 1); err != nil {
		t.Fatal(err)
	}
	n, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	waitFor(t, 10*time.Second, "the controller ready", func() bool {
		code, _ := get(t, "http://"+n.MetricsAddr()+"/readyz")
		return code == 200
	})
	s := scrapeMetrics(t, n.MetricsAddr())
	if got := s.must(t, "sluice_controller_active"); got != 1 {
		t.Errorf("controller active %v", got)
	}
	if got := s.must(t, "sluice_controller_leader_id"); got != 1 {
		t.Errorf("leader id %v", got)
	}
	for _, name := range []string{"sluice_connections", "sluice_partition_leaders", "sluice_groups"} {
		if _, ok := s[name]; ok {
			t.Errorf("%s served by a controller-only node", name)
		}
	}
}
