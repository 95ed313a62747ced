package replica

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// listOffsetsVersion is the ListOffsets version a follower sends to find
// the leader's log end: flexible, with the current leader epoch (4+).
// maxListOffsetsFrame bounds its response, a few bytes a partition.
const (
	listOffsetsVersion  = 7
	maxListOffsetsFrame = 1 << 20
)

// roundTrip sends a Fetch and reads its response into the fetcher's
// frame buffer, which the next fetch reuses.
func (f *fetcher) roundTrip(req *protocol.FetchRequest) (*protocol.FetchResponse, error) {
	resp := &protocol.FetchResponse{}
	// One buffer serves every response: what a response carries is
	// appended (copied into the log) before the next fetch is sent.
	if err := f.exchange(req, resp, fetchVersion, f.m.o.FetchWaitMax+f.m.o.SocketTimeout, maxResponseFrame, &f.frame); err != nil {
		return nil, err
	}
	return resp, nil
}

// leaderEnds asks the leader for the log end of each partition of items
// (ListOffsets LATEST as a replica, which the leader answers with its log
// end rather than its high watermark), as Kafka's follower does when told
// it fetched out of range. An offset is -1 where the leader gave none.
func (f *fetcher) leaderEnds(items []*fetchItem) (map[*fetchItem]int64, error) {
	req := &protocol.ListOffsetsRequest{}
	req.Default()
	req.ReplicaID = f.m.nodeID
	type key struct {
		topic     string
		partition int32
	}
	byTopic := map[string]int{}
	asked := map[key]*fetchItem{}
	ends := make(map[*fetchItem]int64, len(items))
	for _, it := range items {
		ends[it] = -1
		it.p.mu.Lock()
		epoch := it.fs.leaderEpoch
		it.p.mu.Unlock()
		ti, ok := byTopic[it.p.TP.Topic]
		if !ok {
			ti = len(req.Topics)
			byTopic[it.p.TP.Topic] = ti
			req.Topics = append(req.Topics, protocol.ListOffsetsRequestListOffsetsTopic{Name: it.p.TP.Topic})
		}
		lp := protocol.ListOffsetsRequestListOffsetsPartition{}
		lp.Default()
		lp.PartitionIndex, lp.CurrentLeaderEpoch, lp.Timestamp = it.p.TP.Partition, epoch, -1
		req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, lp)
		asked[key{it.p.TP.Topic, it.p.TP.Partition}] = it
	}
	resp := &protocol.ListOffsetsResponse{}
	var frame []byte // not the fetch's buffer: the fetch response's records are still in use
	if err := f.exchange(req, resp, listOffsetsVersion, f.m.o.SocketTimeout, maxListOffsetsFrame, &frame); err != nil {
		return nil, err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if it, ok := asked[key{t.Name, p.PartitionIndex}]; ok && p.ErrorCode == 0 && p.Offset >= 0 {
				ends[it] = p.Offset
			}
		}
	}
	return ends, nil
}

// exchange sends req at version over the connection to the leader,
// connecting first if need be, and decodes the response into resp; the
// response frame, of at most maxFrame bytes, is read into *frame, grown
// as need be. The exchange must end within timeout.
func (f *fetcher) exchange(req, resp protocol.Message, version int16, timeout time.Duration, maxFrame uint32, frame *[]byte) error {
	key := req.APIKey()
	if f.conn == nil {
		if err := f.connect(); err != nil {
			return err
		}
	}
	f.corr++
	f.buf = protocol.AppendRequest(f.buf[:0], req, version, f.corr, &f.m.o.clientID)
	conn := f.conn
	conn.SetDeadline(time.Now().Add(timeout))
	// Stop unblocks the read. The callback holds its own copy of the
	// connection: it may run after exchange has returned and the caller
	// has dropped f.conn.
	stop := context.AfterFunc(f.ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := f.conn.Write(f.buf); err != nil {
		return fmt.Errorf("send %s to broker %d: %w", key, f.key.leader, err)
	}
	var size [4]byte
	if _, err := io.ReadFull(f.rd, size[:]); err != nil {
		return fmt.Errorf("read %s response from broker %d: %w", key, f.key.leader, err)
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > maxFrame || n < 4 {
		return fmt.Errorf("%s response from broker %d: frame of %d bytes", key, f.key.leader, n)
	}
	if cap(*frame) < int(n) {
		*frame = make([]byte, n)
	}
	buf := (*frame)[:n]
	if _, err := io.ReadFull(f.rd, buf); err != nil {
		return fmt.Errorf("read %s response from broker %d: %w", key, f.key.leader, err)
	}
	corr, body, err := protocol.ParseResponseHeader(buf, protocol.ResponseHeaderVersion(key, version))
	if err != nil {
		return err
	}
	if corr != f.corr {
		return fmt.Errorf("%s response from broker %d: correlation id %d, want %d", key, f.key.leader, corr, f.corr)
	}
	if err := resp.Decode(body, version); err != nil {
		return fmt.Errorf("%s response from broker %d: %w", key, f.key.leader, err)
	}
	return nil
}

// connect dials the leader's endpoint as the latest image gives it.
func (f *fetcher) connect() error {
	b, ok := f.m.Image().Broker(f.key.leader)
	if !ok || len(b.Endpoints) == 0 {
		return fmt.Errorf("broker %d has no endpoint in the metadata", f.key.leader)
	}
	ep := b.Endpoints[0]
	for _, e := range b.Endpoints {
		if e.Name == f.m.o.Listener {
			ep = e
		}
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
	ctx, cancel := context.WithTimeout(f.ctx, f.m.o.SocketTimeout)
	defer cancel()
	conn, err := f.m.o.Dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to broker %d at %s: %w", f.key.leader, addr, err)
	}
	f.conn, f.rd = conn, bufio.NewReaderSize(conn, 64<<10)
	return nil
}

func (f *fetcher) closeConn() {
	if f.conn != nil {
		f.conn.Close()
		f.conn, f.rd = nil, nil
	}
}
