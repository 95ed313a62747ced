package server

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// fetchVersions serves Fetch 4-17 besides testVersions.
func fetchVersions(key protocol.APIKey) (int16, int16, bool) {
	if key == protocol.KeyFetch {
		return 4, 17, true
	}
	return testVersions(key)
}

// segmentFile writes n random bytes to a temporary file and returns it
// open, with its contents.
func segmentFile(t *testing.T, n int) (*os.File, []byte) {
	t.Helper()
	data := make([]byte, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	name := filepath.Join(t.TempDir(), "00000000000000000000.log")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f, data
}

// fileRange is one partition's records: a range of the segment file,
// read through its descriptor or without one, or bytes in memory.
type fileRange struct {
	pos, n int
	noFD   bool
	memory bool
}

// fetchAnswer builds the fetch response of ranges, with file records
// whose releases are counted, and the same response in memory.
func fetchAnswer(f *os.File, data []byte, ranges []fileRange, released *atomic.Int64) (withFiles, inMemory *protocol.FetchResponse) {
	build := func(files bool) *protocol.FetchResponse {
		resp := &protocol.FetchResponse{}
		var topic protocol.FetchResponseFetchableTopicResponse
		topic.Default()
		topic.Topic = "events"
		for i, r := range ranges {
			var p protocol.FetchResponsePartitionData
			p.Default()
			p.PartitionIndex = int32(i)
			p.HighWatermark = int64(i * 1000)
			p.Records = data[r.pos : r.pos+r.n]
			if files && !r.memory {
				p.Records = nil
				p.RecordsFile = &protocol.FileRecords{File: f, Pos: int64(r.pos), Len: int32(r.n),
					Release: func() { released.Add(1) }}
				if !r.noFD {
					p.RecordsFile.OS = f
				}
			}
			topic.Partitions = append(topic.Partitions, p)
		}
		resp.Responses = append(resp.Responses, topic)
		return resp
	}
	return build(true), build(false)
}

// TestFetchSendfileMatchesCopyPath serves the same fetch responses with
// sendfile and with the copy path and checks that clients receive the
// very bytes of the response encoded in memory; that sendfile carried
// exactly the ranges with a descriptor, and the copy path none; and that
// every file range was released once.
func TestFetchSendfileMatchesCopyPath(t *testing.T) {
	f, data := segmentFile(t, 6<<20)
	ranges := []fileRange{
		{pos: 0, n: 61},
		{pos: 100, n: 4 << 20}, // larger than the socket buffers: sendfile must wait
		{pos: 5 << 20, n: 1, noFD: true},
		{pos: 7, n: 300, memory: true},
		{pos: 6<<20 - 1000, n: 1000},
	}
	wantSendfile := uint64(61 + 4<<20 + 1000)
	for _, noSendfile := range []bool{false, true} {
		var released atomic.Int64
		h := &fakeHandler{hook: func(_ *Conn, _ *protocol.RequestHeader, req protocol.Message) (Response, bool) {
			if _, ok := req.(*protocol.FetchRequest); !ok {
				return Response{}, false
			}
			resp, _ := fetchAnswer(f, data, ranges, &released)
			return Response{Msg: resp}, true
		}}
		ts := startServer(t, Config{Handler: h, Versions: fetchVersions, NoSendfile: noSendfile})
		c := dial(t, ts.addr)
		for i, v := range []int16{4, 11, 12, 17} {
			corr := int32(100 + i)
			c.send(&protocol.FetchRequest{ReplicaID: -1, MaxBytes: 1 << 30}, v, corr)
			got, err := c.recvFrame()
			if err != nil {
				t.Fatalf("sendfile=%v v%d: %v", !noSendfile, v, err)
			}
			_, want := fetchAnswer(f, data, ranges, &released)
			wantFrame := protocol.AppendResponse(nil, want, v, corr)[4:]
			if !bytes.Equal(got, wantFrame) {
				t.Fatalf("sendfile=%v v%d: response differs from the in-memory encoding (%d bytes, want %d)",
					!noSendfile, v, len(got), len(wantFrame))
			}
		}
		st := ts.Stats()
		if noSendfile && st.BytesSendfile != 0 {
			t.Fatalf("copy path: %d bytes sent with sendfile", st.BytesSendfile)
		}
		if !noSendfile && st.BytesSendfile != 4*wantSendfile {
			t.Fatalf("sendfile path: %d bytes sent with sendfile, want %d", st.BytesSendfile, 4*wantSendfile)
		}
		if st.BytesOut < 4*wantSendfile {
			t.Fatalf("BytesOut %d does not count the file bytes (%d)", st.BytesOut, 4*wantSendfile)
		}
		waitFor(t, "releases", func() bool { return released.Load() == 4*4 })
	}
}

// TestFileRecordsReleasedOnClose checks that responses never written, a
// waiting one and those queued behind it, release their files when the
// connection is closed.
func TestFileRecordsReleasedOnClose(t *testing.T) {
	f, data := segmentFile(t, 4096)
	ranges := []fileRange{{pos: 0, n: 100}, {pos: 200, n: 50}}
	var released, handled atomic.Int64
	waiting := make(chan struct{})
	h := &fakeHandler{hook: func(_ *Conn, hdr *protocol.RequestHeader, req protocol.Message) (Response, bool) {
		if _, ok := req.(*protocol.FetchRequest); !ok {
			return Response{}, false
		}
		handled.Add(1)
		resp, _ := fetchAnswer(f, data, ranges, &released)
		if hdr.CorrelationID == 1 {
			return Response{Wait: func(ctx context.Context) protocol.Message {
				close(waiting)
				<-ctx.Done()
				return resp
			}}, true
		}
		return Response{Msg: resp}, true
	}}
	ts := startServer(t, Config{Handler: h, Versions: fetchVersions})
	c := dial(t, ts.addr)
	for corr := int32(1); corr <= 5; corr++ {
		c.send(&protocol.FetchRequest{ReplicaID: -1, MaxBytes: 1 << 20}, 12, corr)
	}
	<-waiting
	waitFor(t, "requests handled", func() bool { return handled.Load() == 5 })
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every file released", func() bool { return released.Load() == 5*2 })
}

// TestSendfileShortFileClosesConnection: a range past the end of its file
// (truncated since the read) cannot be sent; the connection is closed
// rather than left with a frame shorter than its size.
func TestSendfileShortFileClosesConnection(t *testing.T) {
	f, data := segmentFile(t, 4096)
	for _, noSendfile := range []bool{false, true} {
		var released atomic.Int64
		h := &fakeHandler{hook: func(_ *Conn, _ *protocol.RequestHeader, req protocol.Message) (Response, bool) {
			if _, ok := req.(*protocol.FetchRequest); !ok {
				return Response{}, false
			}
			resp, _ := fetchAnswer(f, data, []fileRange{{pos: 0, n: 10}}, &released)
			resp.Responses[0].Partitions[0].RecordsFile.Len = 5000 // beyond the end
			return Response{Msg: resp}, true
		}}
		ts := startServer(t, Config{Handler: h, Versions: fetchVersions, NoSendfile: noSendfile})
		c := dial(t, ts.addr)
		c.send(&protocol.FetchRequest{ReplicaID: -1, MaxBytes: 1 << 20}, 12, 1)
		_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.recvFrame(); err == nil {
			t.Fatalf("sendfile=%v: a whole frame arrived for a truncated file", !noSendfile)
		}
		waitFor(t, "release", func() bool { return released.Load() == 1 })
	}
}
