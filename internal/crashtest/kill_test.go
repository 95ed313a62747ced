package crashtest

import (
	"bufio"
	"context"
	"fmt"
	"github.com/sluice-mq/sluice/internal/testproc"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var buildSluice = testproc.BuildSluice

func freePort(t *testing.T) string { t.Helper(); return testproc.FreePort(t) }

// startSluice runs `sluice serve` with the given --set keys and waits
// until it says it is serving.
func startSluice(t *testing.T, bin, dataDir, addr string, sets ...string) *exec.Cmd {
	t.Helper()
	return startSluiceLogging(t, bin, dataDir, addr, os.Stderr, sets...)
}

// startSluiceLogging is startSluice with the broker's log written to
// stderr.
func startSluiceLogging(t *testing.T, bin, dataDir, addr string, stderr io.Writer, sets ...string) *exec.Cmd {
	t.Helper()
	args := []string{"serve", "--data-dir", dataDir, "--listen", addr}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving Kafka clients") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("sluice did not start")
	}
	return cmd
}

type acked struct {
	partition int32
	offset    int64
	value     string
}

// TestKillDuringAcksAllProduce produces with acks=all from several
// goroutines, kills the broker with SIGKILL in the middle, restarts it
// and checks that every acknowledged record is there, at its offset, with
// its value, in order.
func TestKillDuringAcksAllProduce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and crashes real processes")
	}
	bin, err := buildSluice()
	if err != nil {
		t.Fatal(err)
	}
	dataDir, addr := t.TempDir(), freePort(t)
	cmd := startSluice(t, bin, dataDir, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	admin, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	topic := kmsg.NewCreateTopicsRequestTopic()
	topic.Topic, topic.NumPartitions, topic.ReplicationFactor = "crash", 4, 1
	req.Topics = append(req.Topics, topic)
	if resp, err := req.RequestWith(ctx, admin); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %v", err)
	}
	admin.Close()

	var mu sync.Mutex
	var acks []acked
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("crash"), kgo.RequiredAcks(kgo.AllISRAcks()),
				kgo.DisableIdempotentWrite(), kgo.RecordRetries(0), kgo.ProduceRequestTimeout(5*time.Second))
			if err != nil {
				t.Error(err)
				return
			}
			defer cl.Close()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rec := &kgo.Record{Key: fmt.Appendf(nil, "w%d", w), Value: fmt.Appendf(nil, "w%d-%d", w, i)}
				pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
				r, err := cl.ProduceSync(pctx, rec).First()
				pcancel()
				if err != nil {
					return // the broker died: this and later sends are not acknowledged
				}
				mu.Lock()
				acks = append(acks, acked{r.Partition, r.Offset, string(r.Value)})
				mu.Unlock()
			}
		}()
	}
	// Let some load build, then kill without warning.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 2000 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acks) < 100 {
		t.Fatalf("only %d records acknowledged before the kill; the test did not load the broker", len(acks))
	}

	cmd = startSluice(t, bin, dataDir, addr)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	want := map[int32]map[int64]string{}
	maxOff := map[int32]int64{}
	for _, a := range acks {
		if want[a.partition] == nil {
			want[a.partition] = map[int64]string{}
		}
		want[a.partition][a.offset] = a.value
		maxOff[a.partition] = max(maxOff[a.partition], a.offset)
	}
	offsets := map[string]map[int32]kgo.Offset{"crash": {}}
	for p := range int32(4) {
		offsets["crash"][p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(offsets))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[int32]map[int64]string{}
	next := map[int32]int64{}
	remaining := len(want)
	done := map[int32]bool{}
	for remaining > 0 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume after restart: %v (partitions still short: %d)", err, remaining)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d after %d (a gap or reorder)", r.Partition, r.Offset, next[r.Partition])
			}
			next[r.Partition]++
			if got[r.Partition] == nil {
				got[r.Partition] = map[int64]string{}
			}
			got[r.Partition][r.Offset] = string(r.Value)
			if !done[r.Partition] && r.Offset >= maxOff[r.Partition] && want[r.Partition] != nil {
				done[r.Partition] = true
				remaining--
			}
		})
	}
	lost := 0
	for p, offs := range want {
		for off, v := range offs {
			if got[p][off] != v {
				lost++
				if lost < 5 {
					t.Errorf("partition %d offset %d: acknowledged %q, read %q", p, off, v, got[p][off])
				}
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged records lost or changed", lost, len(acks))
	}
	t.Logf("%d records acknowledged before SIGKILL; all read back at their offsets after the restart", len(acks))
}
