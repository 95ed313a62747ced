package perfbar

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"github.com/sluice-mq/sluice/internal/testproc"
	"github.com/sluice-mq/sluice/internal/verify"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// peerEnv, when set in a re-executed test binary, makes it serve a kfake
// peer ("kfake" or "blackhole") instead of running tests.
const peerEnv = "SLUICE_PERFBAR_PEER"

func TestMain(m *testing.M) {
	if kind := os.Getenv(peerEnv); kind != "" {
		os.Exit(servePeer(kind))
	}
	os.Exit(m.Run())
}

// servePeer runs a one-broker kfake until its stdin closes, printing its
// address first.
func servePeer(kind string) int {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	if kind == "blackhole" {
		blackhole(c)
	}
	fmt.Println("listening on", c.ListenAddrs()[0])
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// blackhole answers every produce request with success and advancing
// offsets, storing nothing: what the client alone can push.
func blackhole(c *kfake.Cluster) {
	var mu sync.Mutex
	next := make(map[[16]byte][]int64)
	c.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kr.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		mu.Lock()
		defer mu.Unlock()
		for _, t := range req.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				offs := next[key(t.Topic, t.TopicID)]
				for int(p.Partition) >= len(offs) {
					offs = append(offs, 0)
				}
				next[key(t.Topic, t.TopicID)] = offs
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition, rp.BaseOffset, rp.LogStartOffset = p.Partition, offs[p.Partition], 0
				offs[p.Partition] += batchRecords(p.Records)
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		if req.Acks == 0 {
			return nil, nil, true
		}
		return resp, nil, true
	})
}

// batchRecords counts the records of v2 batches (their count sits at
// byte 57 of each header).
func batchRecords(b []byte) int64 {
	var n int64
	for len(b) >= 61 {
		size := int(binary.BigEndian.Uint32(b[8:12])) + 12
		if size > len(b) {
			break
		}
		n += int64(binary.BigEndian.Uint32(b[57:61]))
		b = b[size:]
	}
	return n
}

// proc is one broker process of a target.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	addr   string
	stderr *strings.Builder
	mu     sync.Mutex
}

// startProc runs cmd, stopped at the test's end, and waits for the
// line "...MARKER ADDR..." that says it serves, within a minute.
func startProc(t testing.TB, cmd *exec.Cmd, marker string) *proc {
	t.Helper()
	p, err := launch(cmd, marker)
	if p != nil {
		t.Cleanup(p.stop)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// launch is startProc without a test: a process that started is
// returned even with an error, so that it can be stopped.
func launch(cmd *exec.Cmd, marker string) (*proc, error) {
	p := &proc{cmd: cmd, stderr: &strings.Builder{}}
	cmd.Stderr = lockedWriter{&p.mu, p.stderr}
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, marker); i >= 0 {
				if f := strings.Fields(line[i+len(marker):]); len(f) > 0 {
					addr <- f[0]
				}
			}
		}
	}()
	select {
	case p.addr = <-addr:
		return p, nil
	case <-time.After(time.Minute):
		p.mu.Lock()
		defer p.mu.Unlock()
		return p, fmt.Errorf("%s did not start:\n%s", cmd.Path, p.stderr.String())
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop ends the process: SIGTERM, then SIGKILL after ten seconds.
func (p *proc) stop() {
	if p.cmd.Process == nil || p.cmd.ProcessState != nil {
		return
	}
	p.stdin.Close()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// startPeer re-executes the test binary as a kfake peer.
func startPeer(t testing.TB, kind string) *proc {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), peerEnv+"="+kind)
	return startProc(t, cmd, "listening on ")
}

func buildSluice(t testing.TB) string {
	t.Helper()
	bin, err := testproc.BuildSluice()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func freePort(t testing.TB) string { t.Helper(); return testproc.FreePort(t) }

// startSluice runs a single node (the README's first command) with data
// under dir and the given --set keys.
func startSluice(t testing.TB, dir string, sets ...string) *proc {
	args := []string{"serve", "--data-dir", dir, "--listen", freePort(t)}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return startProc(t, exec.Command(buildSluice(t), args...), "serving Kafka clients on ")
}

// startCluster runs three combined broker+controller nodes on loopback,
// formatted with one cluster id; it returns them once each serves.
func startCluster(t testing.TB, root string) []*proc {
	bin := buildSluice(t)
	var clients, controllers []string
	for range 3 {
		clients, controllers = append(clients, freePort(t)), append(controllers, freePort(t))
	}
	confs, err := verify.FormatCluster(bin, root, clients, controllers, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The nodes wait for their quorum before serving: start all, then wait.
	procs := make([]*proc, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, conf := range confs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs[i], errs[i] = launch(exec.Command(bin, "serve", "--config", conf), "serving Kafka clients on ")
		}()
	}
	wg.Wait()
	for i, p := range procs {
		if p != nil {
			t.Cleanup(p.stop)
		}
		if errs[i] != nil {
			t.Fatalf("cluster node %d: %v", i+1, errs[i])
		}
	}
	waitBrokers(t, procs[0].addr, 3)
	return procs
}

// waitBrokers waits until the metadata at addr lists n brokers.
func waitBrokers(t testing.TB, addr string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		cancel()
		if err == nil && len(resp.Brokers) == n {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s does not list %d brokers", addr, n)
}

// deleteTopic deletes a measured topic to free the target's memory and
// disk before the next one.
func deleteTopic(t testing.TB, addr, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDeleteTopicsRequest()
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.Topic = kmsg.StringPtr(topic)
	req.Topics, req.TopicNames, req.TimeoutMillis = append(req.Topics, dt), []string{topic}, 30000
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("delete %s: %v", topic, err)
	}
	if code := resp.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("delete %s: %v", topic, kerr.ErrorForCode(code))
	}
}

// rss is a process's resident set in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

// cpuTime is the CPU time (user and system) a process has used, from
// /proc/PID/stat (fields 14 and 15, in USER_HZ ticks of 10 ms on Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is parenthesised and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu time of %d: malformed stat", pid)
	}
	f := strings.Fields(string(b[i+1:])) // from field 3
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time of %d: short stat", pid)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cpu time of %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// busyTime is how long the machine's CPUs have been busy, summed: every
// field of /proc/stat's cpu line but idle and iowait (guest time is
// already counted in user), and, of that, the steal time: how long the
// host ran something else while the guest's CPUs had work.
func busyTime() (busy, steal time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("busy time: malformed /proc/stat")
	}
	var ticks, stolen int64
	for i, s := range f[1:9] { // user nice system idle iowait irq softirq steal
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("busy time: %w", err)
		}
		ticks += n
		if i == 7 {
			stolen = n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond, time.Duration(stolen) * 10 * time.Millisecond, nil
}

// key names a topic by id, or by name before Produce v13 (an id of
// zeros).
func key(name string, id [16]byte) [16]byte {
	if id == ([16]byte{}) {
		copy(id[:], name)
	}
	return id
}
