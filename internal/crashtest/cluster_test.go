package crashtest

import (
	"bufio"
	"context"
	"fmt"
	"github.com/sluice-mq/sluice/internal/verify"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// clusterProc is one `sluice serve` process of a three-node cluster.
type clusterProc struct {
	id       int
	conf     string // its properties file
	client   string // client listener host:port
	cmd      *exec.Cmd
	stderr   *syncBuffer
	leaderRe *regexp.Regexp
}

// writeClusterConfigs writes the properties of three combined nodes on
// loopback, as the README's three-node example does, and formats their
// data directories with `sluice format`.
func writeClusterConfigs(t *testing.T, bin string, extra ...string) []*clusterProc {
	t.Helper()
	var clients, controllers []string
	for range 3 {
		clients, controllers = append(clients, freePort(t)), append(controllers, freePort(t))
	}
	confs, err := verify.FormatCluster(bin, t.TempDir(), clients, controllers, extra)
	if err != nil {
		t.Fatal(err)
	}
	var procs []*clusterProc
	for i, conf := range confs {
		procs = append(procs, &clusterProc{id: i + 1, client: clients[i], conf: conf,
			leaderRe: regexp.MustCompile(`msg="metadata leader changed"[^\n]* leader=(\d+)`)})
	}
	return procs
}

// start runs the process; ready is closed once it serves clients.
func (p *clusterProc) start(t *testing.T, bin string) (ready chan struct{}) {
	t.Helper()
	p.stderr = &syncBuffer{}
	p.cmd = exec.Command(bin, "serve", "--config", p.conf)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready = make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving Kafka clients") {
				close(ready)
			}
		}
	}()
	return ready
}

func (p *clusterProc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
		p.cmd = nil
	}
}

// leader is the active controller the process last logged, 0 if none.
func (p *clusterProc) leader() int {
	m := p.leaderRe.FindAllStringSubmatch(p.stderr.String(), -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestThreeProcessCluster is the README's three-node example with real
// processes: the cluster forms and kcat -L against any node lists three
// brokers and the leaders of a replicated topic; killing the active
// controller (SIGKILL) elects another within 5 s and topics can still be
// created; the killed broker is fenced within the session timeout + 2 s
// and its leaderships move; it restarts from its data directory.
func TestThreeProcessCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed")
	}
	bin, err := buildSluice()
	if err != nil {
		t.Fatal(err)
	}
	const session = 6 * time.Second
	procs := writeClusterConfigs(t, bin, fmt.Sprintf("broker.session.timeout.ms=%d", session.Milliseconds()), "broker.heartbeat.interval.ms=1000")
	var readies []chan struct{}
	for _, p := range procs {
		readies = append(readies, p.start(t, bin))
		defer p.kill()
	}
	for i, r := range readies {
		select {
		case <-r:
		case <-time.After(30 * time.Second):
			t.Fatalf("node %d did not start:\n%s", i+1, procs[i].stderr.String())
		}
	}
	kcatList := func(p *clusterProc) string {
		t.Helper()
		out, err := exec.Command(kcat, "-b", p.client, "-L", "-m", "10").CombinedOutput()
		if err != nil {
			t.Fatalf("kcat -L against node %d: %v\n%s", p.id, err, out)
		}
		return string(out)
	}
	for _, p := range procs {
		waitUntil(t, 10*time.Second, fmt.Sprintf("node %d to list 3 brokers", p.id), func() bool {
			return strings.Contains(kcatList(p), " 3 brokers:")
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	create := func(p *clusterProc, name string) {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(p.client))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 6, 3
		req.Topics, req.TimeoutMillis = append(req.Topics, rt), 10000
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.Topics[0].ErrorCode != 0 {
			t.Fatalf("create %s via node %d: %v %+v", name, p.id, err, resp)
		}
	}
	create(procs[0], "replicated")
	leaderRe := regexp.MustCompile(`partition (\d+), leader (-?\d+), replicas: ([\d,]+), isrs: ([\d,]*)`)
	leadersOf := func(p *clusterProc) map[int]int {
		out := kcatList(p)
		i := strings.Index(out, `topic "replicated"`)
		if i < 0 {
			return nil
		}
		got := map[int]int{}
		for _, m := range leaderRe.FindAllStringSubmatch(out[i:], 6) {
			part, _ := strconv.Atoi(m[1])
			l, _ := strconv.Atoi(m[2])
			got[part] = l
		}
		return got
	}
	for _, p := range procs {
		waitUntil(t, 10*time.Second, fmt.Sprintf("node %d to list the leaders of the 6 partitions", p.id), func() bool {
			ls := leadersOf(p)
			if len(ls) != 6 {
				return false
			}
			for _, l := range ls {
				if l < 1 || l > 3 {
					return false
				}
			}
			return true
		})
	}

	// Kill the active controller.
	var ctlID int
	defer func() {
		if t.Failed() {
			for _, p := range procs {
				t.Logf("node %d log:\n%s", p.id, p.stderr.String())
			}
		}
	}()
	waitUntil(t, 5*time.Second, "a known active controller", func() bool {
		ctlID = procs[0].leader()
		return ctlID != 0 && procs[1].leader() == ctlID && procs[2].leader() == ctlID
	})
	victim := procs[ctlID-1]
	victim.kill()
	killed := time.Now()
	survivors := []*clusterProc{}
	for _, p := range procs {
		if p != victim {
			survivors = append(survivors, p)
		}
	}
	took := waitUntil(t, 5*time.Second, "another active controller", func() bool {
		l := survivors[0].leader()
		return l != 0 && l != ctlID && survivors[1].leader() == l
	})
	t.Logf("node %d killed; node %d active controller after %v", ctlID, survivors[0].leader(), took)
	for _, p := range survivors {
		create(p, fmt.Sprintf("after-kill-via-%d", p.id))
	}
	// The killed broker is fenced, its leaderships moved.
	took = waitUntil(t, session+2*time.Second, "the killed broker fenced and its leaderships moved", func() bool {
		out := kcatList(survivors[0])
		if !strings.Contains(out, " 2 brokers:") {
			return false
		}
		for _, l := range leadersOf(survivors[0]) {
			if l == ctlID {
				return false
			}
		}
		return true
	})
	t.Logf("broker %d fenced, leaderships moved, %v after the new controller, %v after the kill", ctlID, took, time.Since(killed).Round(time.Millisecond))
	if since := time.Since(killed); since > session+2*time.Second {
		t.Fatalf("fenced %v after the kill, beyond the session timeout + 2 s", since)
	}

	// Every node restarts from its data directory.
	r := victim.start(t, bin)
	select {
	case <-r:
	case <-time.After(30 * time.Second):
		t.Fatalf("node %d did not restart:\n%s", victim.id, victim.stderr.String())
	}
	waitUntil(t, 10*time.Second, "3 brokers again", func() bool { return strings.Contains(kcatList(survivors[1]), " 3 brokers:") })
	for _, p := range survivors {
		p.kill()
		r := p.start(t, bin)
		select {
		case <-r:
		case <-time.After(30 * time.Second):
			t.Fatalf("node %d did not restart:\n%s", p.id, p.stderr.String())
		}
	}
	for _, p := range procs {
		waitUntil(t, 10*time.Second, fmt.Sprintf("node %d to list 3 brokers after the restarts", p.id), func() bool {
			return strings.Contains(kcatList(p), " 3 brokers:")
		})
	}
}
