package crashtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/faultproxy"
	"github.com/sluice-mq/sluice/internal/node"
)

const (
	idemRecords    = 100_000
	idemPartitions = 6
	idemTopic      = "idem"
)

// idemFaults are the proxy's faults while producing: a response dropped
// after the broker has appended (the connection cut before the client
// sees it), a request cut in the middle, and some jitter.
var idemFaults = faultproxy.Faults{DropResponse: 0.03, CutUpMidFrame: 0.01, MaxDelay: time.Millisecond}

// idemReport is what a run observed.
type idemReport struct {
	sent, acked int
	proxy       faultproxy.Stats
}

// produceIdempotent sends idemRecords records with franz-go's idempotent
// producer through the proxy, round-robin over the partitions, value
// "<partition>:<index within partition>", and waits for every ack. mid
// runs once, in the middle. A produce error fails the test.
func produceIdempotent(t *testing.T, ctx context.Context, proxy *faultproxy.Proxy, mid func()) idemReport {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(proxy.Addr()), kgo.DefaultProduceTopic(idemTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		// Few records buffered: many small produce requests, so many
		// chances for a fault between append and response.
		kgo.MaxBufferedRecords(600), kgo.ProducerLinger(0), kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
		kgo.RequestRetries(1000), kgo.ProduceRequestTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var acked atomic.Int64
	errs := make(chan error, 1)
	for i := range idemRecords {
		p := int32(i % idemPartitions)
		r := &kgo.Record{Partition: p, Value: []byte(strconv.Itoa(int(p)) + ":" + strconv.Itoa(i/idemPartitions))}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				return
			}
			acked.Add(1)
		})
		if i == idemRecords/2 && mid != nil {
			mid()
		}
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		t.Fatalf("a record failed: %v", err)
	default:
	}
	return idemReport{sent: idemRecords, acked: int(acked.Load()), proxy: proxy.Stats()}
}

// verifyExactlyOnce reads every partition from the start and checks that
// each holds exactly its records, once each, in the order produced. It
// returns the duplicates and gaps found (both must be 0).
func verifyExactlyOnce(t *testing.T, ctx context.Context, addr string) (dups, gaps int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(idemTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	next := make([]int, idemPartitions) // next index expected per partition
	got := 0
	for got < idemRecords {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume: %v (read %d of %d)", err, got, idemRecords)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			var p, i int
			if _, err := fmt.Sscanf(string(r.Value), "%d:%d", &p, &i); err != nil || p != int(r.Partition) {
				t.Fatalf("record %q in partition %d", r.Value, r.Partition)
			}
			switch {
			case i < next[p]:
				dups++
			case i > next[p]:
				gaps += i - next[p]
				next[p] = i + 1
			default:
				next[p]++
			}
		})
	}
	for p, n := range next {
		want := idemRecords / idemPartitions // records p got: i%partitions == p
		if p < idemRecords%idemPartitions {
			want++
		}
		if n < want {
			gaps += want - n
		}
	}
	return dups, gaps
}

// TestIdempotentProducerThroughFaults produces 100,000 records over 6
// partitions with franz-go's idempotent producer through a proxy that
// drops responses after the broker has appended and cuts requests
// midway: every record must be in the log exactly once, in order, and the
// broker must have recognised retried batches (otherwise deduplication
// was never exercised).
func TestIdempotentProducerThroughFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	proxy, err := faultproxy.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	cfg, err := config.Load(nil, []string{"log.dir=" + t.TempDir(),
		"listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:9093",
		"advertised.listeners=PLAINTEXT://" + proxy.Addr()}, config.ProfileSingleNode)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	proxy.SetTarget(n.Addr().String())
	if err := n.CreateTopic(ctx, idemTopic, idemPartitions, map[string]string{"segment.bytes": "1048576"}); err != nil {
		t.Fatal(err)
	}
	proxy.Random(7, idemFaults)
	rep := produceIdempotent(t, ctx, proxy, nil)
	proxy.ClearFaults()
	dups, gaps := verifyExactlyOnce(t, ctx, proxy.Addr())
	detected := n.DuplicateBatches()
	t.Logf("records sent %d, acked %d; proxy: %d connections, %d cuts (%d responses dropped after append, %d requests cut midway); broker detected %d duplicate batches; log duplicates %d, gaps %d",
		rep.sent, rep.acked, rep.proxy.Accepted, rep.proxy.Cuts, rep.proxy.ResponsesDropped, rep.proxy.RequestsTruncated, detected, dups, gaps)
	if rep.acked != idemRecords || dups != 0 || gaps != 0 {
		t.Fatalf("acked %d of %d, %d duplicates, %d gaps", rep.acked, idemRecords, dups, gaps)
	}
	if rep.proxy.ResponsesDropped == 0 || detected == 0 {
		t.Fatalf("the dedupe path was not exercised: %d responses dropped, %d duplicates detected", rep.proxy.ResponsesDropped, detected)
	}
}

// TestIdempotentProducerKill9 is the same with the broker process killed
// with SIGKILL in the middle and restarted on the same port and data:
// the producer state is rebuilt from the snapshots and the log, so the
// batches the producer retries across the restart are recognised too.
func TestIdempotentProducerKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and crashes real processes")
	}
	bin, err := buildSluice()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	proxy, err := faultproxy.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dir := filepath.Join(t.TempDir(), "data")
	addr := freePort(t)
	advertise := "advertised.listeners=PLAINTEXT://" + proxy.Addr()
	var brokerLog syncBuffer
	logTo := io.MultiWriter(os.Stderr, &brokerLog)
	cmd := startSluiceLogging(t, bin, dir, addr, logTo, advertise)
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	}()
	proxy.SetTarget(addr)
	admin, err := kgo.NewClient(kgo.SeedBrokers(proxy.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	topic := kmsg.NewCreateTopicsRequestTopic()
	topic.Topic, topic.NumPartitions, topic.ReplicationFactor = idemTopic, idemPartitions, 1
	c := kmsg.NewCreateTopicsRequestTopicConfig()
	c.Name, c.Value = "segment.bytes", kmsg.StringPtr("1048576")
	topic.Configs = append(topic.Configs, c)
	req.Topics = append(req.Topics, topic)
	if resp, err := req.RequestWith(ctx, admin); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %v %+v", err, resp)
	}
	admin.Close()

	proxy.Random(11, idemFaults)
	var restarts int
	rep := produceIdempotent(t, ctx, proxy, func() {
		// Let in-flight appends land, then kill: some were appended and
		// never answered.
		time.Sleep(50 * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		cmd = startSluiceLogging(t, bin, dir, addr, logTo, advertise)
		restarts++
	})
	proxy.ClearFaults()
	dups, gaps := verifyExactlyOnce(t, ctx, proxy.Addr())
	// The restarted broker reports its duplicate count when it stops.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	stopped = true
	m := regexp.MustCompile(`msg=stopped duplicate_batches=(\d+)`).FindAllStringSubmatch(brokerLog.String(), -1)
	if len(m) == 0 {
		t.Fatal("the restarted broker did not report its duplicate count")
	}
	detected, _ := strconv.Atoi(m[len(m)-1][1])
	t.Logf("records sent %d, acked %d; kill -9 and restart %d; proxy: %d connections, %d cuts (%d responses dropped after append, %d requests cut midway); restarted broker detected %d duplicate batches; log duplicates %d, gaps %d",
		rep.sent, rep.acked, restarts, rep.proxy.Accepted, rep.proxy.Cuts, rep.proxy.ResponsesDropped, rep.proxy.RequestsTruncated, detected, dups, gaps)
	if rep.acked != idemRecords || dups != 0 || gaps != 0 {
		t.Fatalf("acked %d of %d, %d duplicates, %d gaps", rep.acked, idemRecords, dups, gaps)
	}
	if detected == 0 {
		t.Fatal("the restarted broker recognised no retried batch: the dedupe path was not exercised after the restart")
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
