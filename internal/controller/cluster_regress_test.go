package controller

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// TestReRegistrationMovesLeadership: a broker that registers again with
// the same incarnation (its heartbeat found its epoch stale) is fenced,
// so it must lead nothing, even if it then dies and sends nothing more.
func TestReRegistrationMovesLeadership(t *testing.T) {
	tc := newTestControllerWith(t, func(c *Config) { c.SessionTimeout = 100 * time.Millisecond })
	c, run := tc.c, tc.submit
	tc.brokers(2)
	run(CreateTopics([]CreateTopic{{Name: "t", Assignments: map[int32][]int32{0: {2, 1}}, NumPartitions: -1, ReplicationFactor: -1}}, false, TopicDefaults{}))
	run(RegisterBroker(registration(2, 1)))
	b, _ := c.Image().Broker(2)
	p, _ := c.Image().TopicByName("t").Partition(0)
	if !b.Fenced || p.Leader != 1 || len(p.ISR) != 1 || p.ISR[0] != 1 {
		t.Fatalf("after re-registration: broker 2 fenced %v, leader %d, ISR %v", b.Fenced, p.Leader, p.ISR)
	}
}

// TestObserverAvoidsACutOffVoter: voter 1 is reachable by an observer but
// cut off from voters 2 and 3; the observer's commands and image must
// still get through, from the two others.
func TestObserverAvoidsACutOffVoter(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	nodes, _, addrs := tcpVoters(t, []uint64{1, 2, 3}, func(from, to uint64, addr string) string {
		if (from == 1) != (to == 1) {
			return deadAddr // the link between voter 1 and the others is cut
		}
		return addr
	})
	waitFor(t, "a leader", 10*time.Second, func() bool { return nodes[1].IsLeader() || nodes[2].IsLeader() })
	obs := NewObserver(addrs, nil)
	defer obs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	off, _, err := obs.Execute(ctx, RegisterBroker(registration(10, 1)))
	if err != nil {
		t.Fatalf("the observer's command did not get through: %v", err)
	}
	if err := obs.WaitFor(ctx, off); err != nil {
		t.Fatalf("the observer's image did not reach the command's offset: %v", err)
	}
}

// TestStoppingVoterSendsCommandsElsewhere: a voter that stops answers a
// forwarded command as one that does not lead, so the sender tries
// another rather than failing the request.
func TestStoppingVoterSendsCommandsElsewhere(t *testing.T) {
	c, err := Open(Config{NodeID: 1, Voters: []uint64{1}, FS: vfs.NewMem(), Dir: "/meta", TickInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	req, err := EncodeCommand(RegisterBroker(registration(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = decodeAnswer(RegisterBroker(registration(1, 1)), c.serveForwarded(context.Background(), req), "1")
	if !errors.Is(err, ErrNotController) {
		t.Fatalf("a stopped voter answered %v", err)
	}
}
