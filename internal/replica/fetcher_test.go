package replica

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// fakeLeader answers one follower connection: a Fetch above offset end
// is out of range (the response carrying only the high watermark hw),
// any other Fetch is answered empty; ListOffsets answers end. It reports
// each fetch offset on fetches and each ListOffsets on lists.
type fakeLeader struct {
	hw, end int64
	fetches chan int64
	lists   chan *protocol.ListOffsetsRequest
}

func (l *fakeLeader) serve(t *testing.T, conn net.Conn) {
	defer conn.Close()
	rd := bufio.NewReader(conn)
	var out []byte
	for {
		var size [4]byte
		if _, err := io.ReadFull(rd, size[:]); err != nil {
			return
		}
		frame := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(rd, frame); err != nil {
			return
		}
		h, msg, err := protocol.DecodeRequest(frame)
		if err != nil {
			t.Errorf("fake leader: %v", err)
			return
		}
		var resp protocol.Message
		switch req := msg.(type) {
		case *protocol.FetchRequest:
			fp := req.Topics[0].Partitions[0]
			pd := protocol.FetchResponsePartitionData{}
			pd.Default()
			pd.PartitionIndex, pd.HighWatermark, pd.LogStartOffset, pd.Records = fp.Partition, l.hw, 0, []byte{}
			if fp.FetchOffset > l.end {
				pd.ErrorCode = int16(protocol.ErrOffsetOutOfRange)
			}
			resp = &protocol.FetchResponse{Responses: []protocol.FetchResponseFetchableTopicResponse{{TopicID: req.Topics[0].TopicID,
				Partitions: []protocol.FetchResponsePartitionData{pd}}}}
			l.fetches <- fp.FetchOffset
		case *protocol.ListOffsetsRequest:
			lp := req.Topics[0].Partitions[0]
			resp = &protocol.ListOffsetsResponse{Topics: []protocol.ListOffsetsResponseListOffsetsTopicResponse{{Name: req.Topics[0].Name,
				Partitions: []protocol.ListOffsetsResponseListOffsetsPartitionResponse{{PartitionIndex: lp.PartitionIndex, Timestamp: -1,
					Offset: l.end, LeaderEpoch: lp.CurrentLeaderEpoch}}}}}
			l.lists <- req
		default:
			t.Errorf("fake leader: unexpected %s", protocol.APIKey(h.RequestApiKey))
			return
		}
		out = protocol.AppendResponse(out[:0], resp, h.RequestApiVersion, h.CorrelationID)
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

// TestOutOfRangeFollowerTruncatesToLeaderEnd: a follower whose log runs
// past the leader's is told it fetched out of range. The fetch response
// gives the leader's high watermark (10), below its log end (30); the
// follower asks the leader's end with ListOffsets as a replica and cuts
// its log there, keeping offsets 10..29, instead of cutting to the high
// watermark and fetching them again.
func TestOutOfRangeFollowerTruncatesToLeaderEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	leader := &fakeLeader{hw: 10, end: 30, fetches: make(chan int64, 100), lists: make(chan *protocol.ListOffsetsRequest, 10)}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go leader.serve(t, conn)
		}
	}()

	f := newFixture(t)
	e2 := f.submit(controller.RegisterBroker(controller.BrokerRegistration{ID: 2, IncarnationID: protocol.UUID{2},
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(ln.Addr().(*net.TCPAddr).Port)}}})).(int64)
	f.submit(controller.UnfenceBroker(2, e2))
	res := f.submit(controller.CreateTopics([]controller.CreateTopic{{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {2, 1}}}}, false, controller.TopicDefaults{NumPartitions: 1, ReplicationFactor: 1})).([]controller.CreateTopicResult)
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	img := f.ctl.Image()
	topic := img.Topics.ByName("t")
	state, _ := topic.Partition(0)
	// The follower's log: 50 records of epoch 0, 20 more than the leader.
	l, err := f.logs.GetOrCreate(storage.TopicPartition{Topic: "t"}, [16]byte(topic.ID()), storage.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	appendLed(t, l, 0, 50, "v")

	m := NewManager(1, f.logs, nil, nil)
	m.StartReplication(ReplicationOptions{FetchWaitMax: 10 * time.Millisecond, FetchBackoff: 10 * time.Millisecond, BrokerEpoch: func() int64 { return 1 }})
	defer m.Close()
	if err := m.Apply(img); err != nil {
		t.Fatal(err)
	}

	deadline := time.After(10 * time.Second)
	for first := true; ; first = false {
		select {
		case off := <-leader.fetches:
			if first && off != 50 {
				t.Fatalf("first fetch at %d, want the log end 50", off)
			}
			if off > leader.end {
				continue
			}
			if off != leader.end {
				t.Fatalf("follower fetches at %d after the out-of-range answer, want the leader's end %d", off, leader.end)
			}
			if end := l.EndOffset(); end != leader.end {
				t.Fatalf("follower log ends at %d, want %d", end, leader.end)
			}
			select {
			case req := <-leader.lists:
				lp := req.Topics[0].Partitions[0]
				if req.ReplicaID != 1 || lp.Timestamp != -1 || lp.CurrentLeaderEpoch != state.LeaderEpoch {
					t.Fatalf("ListOffsets: replica %d timestamp %d epoch %d, want replica 1, latest, epoch %d",
						req.ReplicaID, lp.Timestamp, lp.CurrentLeaderEpoch, state.LeaderEpoch)
				}
			default:
				t.Fatal("follower truncated without asking the leader's end")
			}
			return
		case <-deadline:
			t.Fatalf("follower never fetched at the leader's end; its log ends at %d", l.EndOffset())
		}
	}
}
