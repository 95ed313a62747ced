package crashtest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// replicationRun sizes TestReplicationUnderKills: the acceptance run
// (SLUICE_REPLICATION_ACCEPTANCE=1) writes 200,000 records over two
// minutes and kills a broker every 15 s, restarting it 5 s later; the
// default run is a bounded version of it.
type replicationRun struct {
	// session is broker.session.timeout.ms: below restartAfter, so that
	// the kill shows as the broker fenced and out of the ISRs before it
	// comes back.
	session      time.Duration
	records      int
	over         time.Duration // the producer's pace spreads the records over this
	killEvery    time.Duration
	restartAfter time.Duration
}

func replicationRunSize() replicationRun {
	if os.Getenv("SLUICE_REPLICATION_ACCEPTANCE") != "" {
		return replicationRun{session: 4 * time.Second, records: 200_000, over: 2 * time.Minute, killEvery: 15 * time.Second, restartAfter: 5 * time.Second}
	}
	return replicationRun{session: 3 * time.Second, records: 10_000, over: 16 * time.Second, killEvery: 5 * time.Second, restartAfter: 4 * time.Second}
}

// clusterView is what Metadata says of a topic's partitions.
type clusterView struct {
	leaders map[int32]int32
	isrs    map[int32][]int32
	brokers int
}

func viewOf(ctx context.Context, seeds []string, topic string) (clusterView, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RequestRetries(1))
	if err != nil {
		return clusterView{}, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return clusterView{}, err
	}
	v := clusterView{leaders: map[int32]int32{}, isrs: map[int32][]int32{}, brokers: len(resp.Brokers)}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			v.leaders[p.Partition] = p.Leader
			v.isrs[p.Partition] = p.ISR
		}
	}
	return v, nil
}

// TestReplicationUnderKills is the replication acceptance run on real
// processes: three nodes, a topic with replication factor 3 and
// min.insync.replicas=2, a franz-go producer with acks=all and
// idempotence writing numbered records while, periodically, the broker
// leading the most partitions is killed with SIGKILL and restarted
// (never two down at once). Each kill must show in Metadata as the
// broker leaving every ISR within the session timeout + 2 s, and each
// restart as it rejoining them once caught up. Afterwards a consumer
// reads every acknowledged record exactly once, in order per partition.
func TestReplicationUnderKills(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	bin, err := buildSluice()
	if err != nil {
		t.Fatal(err)
	}
	run := replicationRunSize()
	session := run.session
	const topic, partitions = "acked", 6
	procs := writeClusterConfigs(t, bin, fmt.Sprintf("broker.session.timeout.ms=%d", session.Milliseconds()),
		"broker.heartbeat.interval.ms=500", "replica.fetch.backoff.ms=200", "offsets.topic.replication.factor=3")
	var readies []chan struct{}
	for _, p := range procs {
		readies = append(readies, p.start(t, bin))
	}
	defer func() {
		for _, p := range procs {
			p.kill()
		}
	}()
	defer func() {
		if t.Failed() {
			for _, p := range procs {
				t.Logf("node %d log tail:\n%s", p.id, tail(p.stderr.String(), 6000))
			}
		}
	}()
	for i, r := range readies {
		select {
		case <-r:
		case <-time.After(30 * time.Second):
			t.Fatalf("node %d did not start:\n%s", i+1, procs[i].stderr.String())
		}
	}
	var seeds []string
	for _, p := range procs {
		seeds = append(seeds, p.client)
	}
	ctx, cancel := context.WithTimeout(context.Background(), run.over+5*time.Minute)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, 3
	c := kmsg.NewCreateTopicsRequestTopicConfig()
	c.Name, c.Value = "min.insync.replicas", kmsg.StringPtr("2")
	rt.Configs = append(rt.Configs, c)
	req.Topics, req.TimeoutMillis = append(req.Topics, rt), 10000
	if resp, err := req.RequestWith(ctx, admin); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %v %+v", err, resp)
	}
	waitUntil(t, 20*time.Second, "every partition led with a full ISR", func() bool {
		v, err := viewOf(ctx, seeds, topic)
		if err != nil || len(v.leaders) != partitions {
			return false
		}
		for p, l := range v.leaders {
			if l < 1 || len(v.isrs[p]) != 3 {
				return false
			}
		}
		return true
	})

	// The producer: numbered values, paced over run.over.
	pcl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(2*time.Minute), kgo.MetadataMinAge(250*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	type pos struct {
		p   int32
		off int64
	}
	var mu sync.Mutex
	acked := map[int]pos{}
	var failures []error
	var pwg sync.WaitGroup
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		interval := run.over / time.Duration(run.records/100)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; i < run.records; i++ {
			if i%100 == 0 {
				<-tick.C
			}
			v := []byte(strconv.Itoa(i))
			pwg.Add(1)
			pcl.Produce(ctx, &kgo.Record{Key: v, Value: v}, func(r *kgo.Record, err error) {
				defer pwg.Done()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failures = append(failures, err)
					return
				}
				n, _ := strconv.Atoi(string(r.Value))
				acked[n] = pos{r.Partition, r.Offset}
			})
		}
		pwg.Wait()
	}()

	// The killer: every killEvery, the broker leading the most partitions.
	kills := 0
	var shrinks, expands []time.Duration
	alive := func(except *clusterProc) []string {
		var s []string
		for _, p := range procs {
			if p != except {
				s = append(s, p.client)
			}
		}
		return s
	}
	next := time.NewTimer(run.killEvery)
	defer next.Stop()
loop:
	for {
		select {
		case <-produced:
			break loop
		case <-next.C:
		}
		v, err := viewOf(ctx, seeds, topic)
		if err != nil {
			next.Reset(time.Second)
			continue
		}
		count := map[int32]int{}
		for _, l := range v.leaders {
			count[l]++
		}
		victimID := int32(0)
		for id, n := range count {
			if id > 0 && (victimID == 0 || n > count[victimID]) {
				victimID = id
			}
		}
		if victimID == 0 {
			next.Reset(time.Second)
			continue
		}
		victim := procs[victimID-1]
		victim.kill()
		killed := time.Now()
		kills++
		others := alive(victim)
		took := waitUntil(t, session+2*time.Second+5*time.Second, fmt.Sprintf("broker %d out of every ISR", victimID), func() bool {
			v, err := viewOf(ctx, others, topic)
			if err != nil {
				return false
			}
			for p, isr := range v.isrs {
				if slices.Contains(isr, victimID) || v.leaders[p] == victimID {
					return false
				}
			}
			return true
		})
		shrinks = append(shrinks, took)
		if took > session+2*time.Second {
			t.Errorf("kill %d: broker %d left the ISRs %v after the kill, beyond the session timeout + 2 s", kills, victimID, took)
		}
		time.Sleep(time.Until(killed.Add(run.restartAfter)))
		ready := victim.start(t, bin)
		select {
		case <-ready:
		case <-time.After(30 * time.Second):
			t.Fatalf("node %d did not restart:\n%s", victimID, victim.stderr.String())
		}
		restarted := time.Now()
		took = waitUntil(t, 60*time.Second, fmt.Sprintf("broker %d back in every ISR", victimID), func() bool {
			v, err := viewOf(ctx, seeds, topic)
			if err != nil {
				return false
			}
			for _, isr := range v.isrs {
				if !slices.Contains(isr, victimID) {
					return false
				}
			}
			return true
		})
		expands = append(expands, took)
		t.Logf("kill %d: broker %d out of the ISRs %v after SIGKILL; restarted %v later, back in every ISR %v after its restart",
			kills, victimID, shrinks[len(shrinks)-1].Round(time.Millisecond), restarted.Sub(killed).Round(time.Millisecond), took.Round(time.Millisecond))
		next.Reset(max(run.killEvery-time.Since(killed), 0))
	}
	pcl.Close()
	if kills == 0 {
		t.Fatal("the producer finished before any kill: the run proves nothing")
	}

	// Read everything back.
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	lreq := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = topic
	for p := range int32(partitions) {
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Partition, lp.Timestamp = p, -1
		lt.Partitions = append(lt.Partitions, lp)
	}
	lreq.Topics = append(lreq.Topics, lt)
	ends := map[int32]int64{}
	waitUntil(t, 30*time.Second, "the end offsets", func() bool {
		shards := cl.RequestSharded(ctx, lreq)
		for _, s := range shards {
			if s.Err != nil {
				return false
			}
			for _, t := range s.Resp.(*kmsg.ListOffsetsResponse).Topics {
				for _, p := range t.Partitions {
					if p.ErrorCode != 0 {
						return false
					}
					ends[p.Partition] = p.Offset
				}
			}
		}
		return len(ends) == partitions
	})
	seen := map[int]pos{}
	last := map[int32]int{}
	remaining := 0
	for _, e := range ends {
		remaining += int(e)
	}
	read := 0
	for read < remaining {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records: %v", read, remaining, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			read++
			n, err := strconv.Atoi(string(r.Value))
			if err != nil {
				t.Fatalf("record %q at %d@%d", r.Value, r.Partition, r.Offset)
			}
			if prev, dup := seen[n]; dup {
				t.Fatalf("record %d read twice: %d@%d and %d@%d", n, prev.p, prev.off, r.Partition, r.Offset)
			}
			seen[n] = pos{r.Partition, r.Offset}
			if l, ok := last[r.Partition]; ok && n <= l {
				t.Fatalf("partition %d: record %d after %d", r.Partition, n, l)
			}
			last[r.Partition] = n
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for n, p := range acked {
		if got, ok := seen[n]; !ok || got != p {
			t.Fatalf("acknowledged record %d at %d@%d: read %v (present %v)", n, p.p, p.off, got, ok)
		}
	}
	t.Logf("%d records produced, %d acknowledged, %d failed; %d read back, every acknowledged one once and in order; %d kills; ISR shrinks %v; rejoins %v",
		run.records, len(acked), len(failures), read, kills, shrinks, expands)
	if len(failures) > 0 {
		t.Logf("first failure: %v", failures[0])
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
