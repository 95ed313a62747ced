package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/protocol"
)

func TestKgoClient(t *testing.T) {
	ts := startServer(t, Config{})
	cl, err := kgo.NewClient(kgo.SeedBrokers(ts.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// kgo opens with ApiVersions above our v3, is told UNSUPPORTED_VERSION
	// (KIP-511) and continues with what we advertise.
	resp, err := cl.Request(ctx, kmsg.NewPtrApiVersionsRequest())
	if err != nil {
		t.Fatalf("ApiVersions: %v", err)
	}
	av := resp.(*kmsg.ApiVersionsResponse)
	if av.ErrorCode != 0 {
		t.Fatalf("ApiVersions error %d", av.ErrorCode)
	}
	if av.Version != 3 {
		t.Errorf("ApiVersions answered at v%d, want v3 (our max)", av.Version)
	}
	want := APIVersions(testVersions)
	if len(av.ApiKeys) != len(want) {
		t.Fatalf("advertised %d keys, want %d", len(av.ApiKeys), len(want))
	}
	for i, k := range av.ApiKeys {
		if k.ApiKey != want[i].ApiKey || k.MinVersion != want[i].MinVersion || k.MaxVersion != want[i].MaxVersion {
			t.Errorf("key %d: %d %d-%d, want %+v", i, k.ApiKey, k.MinVersion, k.MaxVersion, want[i])
		}
	}

	resp, err = cl.Request(ctx, kmsg.NewPtrMetadataRequest())
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	md := resp.(*kmsg.MetadataResponse)
	if md.Version != 12 {
		t.Errorf("Metadata answered at v%d, want v12", md.Version)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].NodeID != 1 || len(md.Topics) != 2 || *md.Topics[1].Topic != *ts.handler.metadata.Topics[1].Name {
		t.Errorf("unexpected metadata %+v", md)
	}
	// A request counts as handled once its response is written, which can
	// be just after the client has read it.
	waitFor(t, "three requests handled", func() bool { return ts.Stats().RequestsHandled >= 3 })
	if s := ts.Stats(); s.ClosedBadFrame+s.ClosedUnsupported != 0 || s.RequestsHandled < 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestRawRequests(t *testing.T) {
	ts := startServer(t, Config{})
	c := dial(t, ts.addr)
	// Every version we serve, flexible (response header v1 for Metadata
	// 9+, v0 always for ApiVersions) and not.
	corr := int32(100)
	for v := int16(0); v <= 3; v++ {
		c.send(&protocol.ApiVersionsRequest{}, v, corr)
		m, got := c.recv(protocol.KeyApiVersions, v)
		if got != corr || len(m.(*protocol.ApiVersionsResponse).ApiKeys) != 2 {
			t.Fatalf("ApiVersions v%d: corr %d, %+v", v, got, m)
		}
		corr++
	}
	for v := int16(1); v <= 12; v++ {
		c.send(protocol.NewRequest(protocol.KeyMetadata), v, corr)
		m, got := c.recv(protocol.KeyMetadata, v)
		if got != corr || len(m.(*protocol.MetadataResponse).Topics) != 2 {
			t.Fatalf("Metadata v%d: corr %d, %+v", v, got, m)
		}
		corr++
	}
}

func TestConnAccessors(t *testing.T) {
	seen := make(chan string, 2) // roundTrip sends two requests
	ts := startServer(t, Config{})
	ts.handler.hook = func(c *Conn, h *protocol.RequestHeader, _ protocol.Message) (Response, bool) {
		if c.ClientID() != *h.ClientID || c.RemoteAddr() == nil || c.LocalAddr().String() != ts.addr || c.ID() == 0 || c.Context().Err() != nil {
			seen <- "bad accessors"
		} else {
			seen <- c.ClientID()
		}
		return Response{}, false
	}
	c := dial(t, ts.addr)
	c.roundTrip(1)
	if got := <-seen; got != testClientID {
		t.Fatalf("handler saw %q", got)
	}
}

// TestPipelining sends 20 requests without reading. The first five answers
// wait until the handler has seen the last request: processing runs ahead
// of slow responses, and responses still come back in request order.
func TestPipelining(t *testing.T) {
	const n = 20
	allHandled := make(chan struct{})
	ts := startServer(t, Config{})
	ts.handler.hook = func(_ *Conn, h *protocol.RequestHeader, _ protocol.Message) (Response, bool) {
		md := cannedMetadata(ts.addr, 1)
		md.ThrottleTimeMs = h.CorrelationID
		switch {
		case h.CorrelationID == n-1:
			close(allHandled)
		case h.CorrelationID < 5:
			return Response{Wait: func(ctx context.Context) protocol.Message {
				select {
				case <-allHandled:
				case <-ctx.Done():
				}
				time.Sleep(time.Duration(5-h.CorrelationID) * time.Millisecond) // earlier waits longer
				return md
			}}, true
		}
		return Response{Msg: md}, true
	}
	c := dial(t, ts.addr)
	var batch []byte
	for i := range int32(n) {
		batch = protocol.AppendRequest(batch, protocol.NewRequest(protocol.KeyMetadata), 9, i, nil)
	}
	if _, err := c.nc.Write(batch); err != nil {
		t.Fatal(err)
	}
	for i := range int32(n) {
		m, corr := c.recv(protocol.KeyMetadata, 9)
		if corr != i || m.(*protocol.MetadataResponse).ThrottleTimeMs != i {
			t.Fatalf("response %d: correlation id %d, body of %d", i, corr, m.(*protocol.MetadataResponse).ThrottleTimeMs)
		}
	}
}

// TestHandleSequential checks that Handle is never called concurrently on
// one connection, while connections do run in parallel.
func TestHandleSequential(t *testing.T) {
	var mu sync.Mutex
	active := map[uint64]*atomic.Int32{}
	var overlaps, calls atomic.Int32
	ts := startServer(t, Config{})
	ts.handler.hook = func(c *Conn, _ *protocol.RequestHeader, _ protocol.Message) (Response, bool) {
		mu.Lock()
		a := active[c.ID()]
		if a == nil {
			a = new(atomic.Int32)
			active[c.ID()] = a
		}
		mu.Unlock()
		if a.Add(1) != 1 {
			overlaps.Add(1)
		}
		calls.Add(1)
		time.Sleep(50 * time.Microsecond) // widen the window for an overlap
		a.Add(-1)
		return Response{}, false
	}
	const conns, perConn = 4, 200
	var wg sync.WaitGroup
	for range conns {
		c := dial(t, ts.addr)
		wg.Go(func() {
			var batch []byte
			for i := range int32(perConn) {
				batch = protocol.AppendRequest(batch, &protocol.ApiVersionsRequest{}, 0, i, nil)
			}
			if _, err := c.nc.Write(batch); err != nil {
				t.Error(err)
				return
			}
			for i := range int32(perConn) {
				b, err := c.recvFrame()
				if err != nil || int32(binary.BigEndian.Uint32(b)) != i {
					t.Errorf("response %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if overlaps.Load() != 0 || calls.Load() != conns*perConn {
		t.Fatalf("%d overlapping Handle calls of %d", overlaps.Load(), calls.Load())
	}
}

// TestApiVersionsUnsupportedVersion: KIP-511.
func TestApiVersionsUnsupportedVersion(t *testing.T) {
	ts := startServer(t, Config{})
	c := dial(t, ts.addr)
	// v99 with a body we could not decode: a flexible header (v2) whose
	// tagged fields are followed by junk.
	clientID := "x"
	req := protocol.AppendRequestHeader(nil, protocol.KeyApiVersions, 99, 77, &clientID)
	req = append(req, 0xde, 0xad, 0xbe, 0xef)
	fr := binary.BigEndian.AppendUint32(nil, uint32(len(req)))
	if _, err := c.nc.Write(append(fr, req...)); err != nil {
		t.Fatal(err)
	}
	b, err := c.recvFrame()
	if err != nil {
		t.Fatal(err)
	}
	// Header v0 (correlation id only), body v0; cross-check with kmsg.
	if corr := int32(binary.BigEndian.Uint32(b)); corr != 77 {
		t.Fatalf("correlation id %d", corr)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	if err := resp.ReadFrom(b[4:]); err != nil {
		t.Fatalf("kmsg decode v0: %v", err)
	}
	if resp.ErrorCode != int16(protocol.ErrUnsupportedVersion) || protocol.ErrUnsupportedVersion != 35 {
		t.Fatalf("error code %d, want 35", resp.ErrorCode)
	}
	want := APIVersions(testVersions)
	if len(resp.ApiKeys) != len(want) {
		t.Fatalf("%d ranges, want %d", len(resp.ApiKeys), len(want))
	}
	for i, k := range resp.ApiKeys {
		if k.ApiKey != want[i].ApiKey || k.MinVersion != want[i].MinVersion || k.MaxVersion != want[i].MaxVersion {
			t.Errorf("range %d: %+v, want %+v", i, k, want[i])
		}
	}
	// v4 is in the codec but above what we serve: same answer. The
	// connection stays usable.
	c.send(&protocol.ApiVersionsRequest{}, 4, 78)
	m, corr := c.recv(protocol.KeyApiVersions, 0)
	if corr != 78 || m.(*protocol.ApiVersionsResponse).ErrorCode != 35 {
		t.Fatalf("v4: corr %d, %+v", corr, m)
	}
	c.roundTrip(79)
	if s := ts.Stats(); s.ClosedUnsupported != 0 || s.ClosedBadFrame != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestUnsupportedClosesConnection(t *testing.T) {
	for _, tc := range []struct {
		name         string
		key, version int16
	}{
		{"unknown key", 9999, 0},
		{"negative key", -1, 0},
		{"key not served", int16(protocol.KeyProduce), 9},
		{"version above range", int16(protocol.KeyMetadata), 13},
		{"version below range", int16(protocol.KeyMetadata), 0},
		{"negative version", int16(protocol.KeyMetadata), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{})
			c := dial(t, ts.addr)
			c.roundTrip(1)
			if _, err := c.nc.Write(frame(tc.key, tc.version, 3, []byte{0, 0})); err != nil {
				t.Fatal(err)
			}
			c.expectClosed()
			waitFor(t, "connection closed", func() bool { return ts.Stats().ConnectionsOpen == 0 })
			if s := ts.Stats(); s.ClosedUnsupported != 1 || s.ClosedBadFrame != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestBadFrames(t *testing.T) {
	metadata := func() []byte {
		return protocol.AppendRequest(nil, protocol.NewRequest(protocol.KeyMetadata), 12, 5, nil)
	}
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"too large", binary.BigEndian.AppendUint32(nil, 4097)},
		{"max int32", binary.BigEndian.AppendUint32(nil, 1<<31-1)},
		{"negative", binary.BigEndian.AppendUint32(nil, 0xffffffff)},
		{"zero", binary.BigEndian.AppendUint32(nil, 0)},
		{"shorter than a header", append(binary.BigEndian.AppendUint32(nil, 7), 0, 3, 0, 12, 0, 0, 0)},
		{"malformed header", frame(int16(protocol.KeyMetadata), 12, 1, []byte{0x00, 0x05, 'a'})}, // client id longer than the frame
		{"malformed body", frame(int16(protocol.KeyMetadata), 12, 1, []byte{0xff, 0xff, 0, 0x07, 0xff})},
		{"trailing bytes", func() []byte {
			b := append(metadata(), 0)
			binary.BigEndian.PutUint32(b, uint32(len(b)-4))
			return b
		}()},
		{"truncated frame", metadata()[:10]},
		{"truncated size", []byte{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{MaxFrameBytes: 4096})
			good := dial(t, ts.addr)
			good.roundTrip(1)
			bad := dial(t, ts.addr)
			if _, err := bad.nc.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			if tc.name == "truncated frame" || tc.name == "truncated size" {
				_ = bad.nc.(*net.TCPConn).CloseWrite()
			}
			bad.expectClosed()
			good.roundTrip(3) // the other connection is unaffected
			waitFor(t, "bad connection closed", func() bool { return ts.Stats().ConnectionsOpen == 1 })
			if s := ts.Stats(); s.ClosedBadFrame != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestLargeFrameAtLimit: a frame of exactly MaxFrameBytes, above the
// pooled size, is read (growing as it arrives) and handled.
func TestLargeFrameAtLimit(t *testing.T) {
	const limit = 3 << 20
	ts := startServer(t, Config{MaxFrameBytes: limit})
	c := dial(t, ts.addr)
	req := protocol.NewRequest(protocol.KeyMetadata).(*protocol.MetadataRequest)
	name := string(bytes.Repeat([]byte{'t'}, 30000))
	for range limit/30100 - 1 { // each topic costs ~30 KB
		req.Topics = append(req.Topics, protocol.MetadataRequestMetadataRequestTopic{Name: &name})
	}
	if n := len(protocol.AppendRequest(nil, req, 12, 1, nil)); n <= firstChunkBytes || n > limit+4 {
		t.Fatalf("request of %d bytes, want more than %d and at most %d", n, firstChunkBytes, limit+4)
	}
	got := make(chan int, 1)
	ts.handler.hook = func(_ *Conn, _ *protocol.RequestHeader, m protocol.Message) (Response, bool) {
		got <- len(m.(*protocol.MetadataRequest).Topics)
		return Response{}, false
	}
	c.send(req, 12, 1)
	c.recv(protocol.KeyMetadata, 12)
	if n := <-got; n != len(req.Topics) {
		t.Fatalf("handler saw %d topics, want %d", n, len(req.Topics))
	}
}

// TestGarbage: 1000 connections of random bytes from 8 goroutines while a
// well-behaved client keeps getting answers.
func TestGarbage(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	ts := startServer(t, Config{MaxFrameBytes: 1 << 16})
	stop := make(chan struct{})
	var good sync.WaitGroup
	good.Go(func() {
		c := dial(t, ts.addr)
		for i := int32(0); ; i += 2 {
			select {
			case <-stop:
				return
			default:
			}
			c.roundTrip(i)
		}
	})
	var wg sync.WaitGroup
	const workers, rounds = 8, 125
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for range rounds {
				garbageRound(t, ts.addr, rng)
			}
		})
	}
	wg.Wait()
	close(stop)
	good.Wait()
	waitFor(t, "garbage connections closed", func() bool { return ts.Stats().ConnectionsOpen == 1 })
	if s := ts.Stats(); s.ConnectionsAccepted != workers*rounds+1 || s.HandlerPanics != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// garbageRound sends random bytes, sometimes behind a plausible size and
// header, then half-closes and expects the server to close.
func garbageRound(t *testing.T, addr string, rng *rand.Rand) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return
	}
	defer nc.Close()
	junk := make([]byte, rng.IntN(300))
	for i := range junk {
		junk[i] = byte(rng.Uint32())
	}
	var b []byte
	switch rng.IntN(4) {
	case 0: // pure noise
		b = junk
	case 1: // plausible size, random header
		b = append(binary.BigEndian.AppendUint32(nil, uint32(len(junk))), junk...)
	case 2: // served key and version, random body
		key := []int16{int16(protocol.KeyApiVersions), int16(protocol.KeyMetadata)}[rng.IntN(2)]
		b = frame(key, int16(rng.IntN(14)), rng.Int32(), junk)
	case 3: // a valid request followed by noise
		b = append(protocol.AppendRequest(nil, &protocol.ApiVersionsRequest{}, 1, 1, nil), junk...)
	}
	if _, err := nc.Write(b); err != nil && !isReset(err) {
		t.Error(err)
		return
	}
	_ = nc.(*net.TCPConn).CloseWrite()
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, nc); err != nil && !isReset(err) {
		t.Errorf("server did not close a garbage connection: %v (input %x)", err, b)
	}
}

// TestBackpressure: a client that writes 10,000 requests and never reads
// stalls once MaxInFlight requests are pending; the server stops reading.
func TestBackpressure(t *testing.T) {
	const maxInFlight = 8
	ts := startServer(t, Config{MaxInFlight: maxInFlight})
	big := cannedMetadata(ts.addr, 1000) // ~60 KB per response
	ts.handler.hook = func(*Conn, *protocol.RequestHeader, protocol.Message) (Response, bool) {
		return Response{Msg: big}, true
	}
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	const n = 10000
	var batch []byte
	for i := range int32(n) {
		batch = protocol.AppendRequest(batch, protocol.NewRequest(protocol.KeyMetadata), 12, i, nil)
	}
	wrote := make(chan error, 1)
	go func() { // stopped by closing nc
		_, err := nc.Write(batch)
		wrote <- err
	}()

	// Wait until the server stalls: nothing handled for 200 ms.
	var last uint64
	stable := 0
	waitFor(t, "server to stall", func() bool {
		time.Sleep(10 * time.Millisecond)
		s := ts.Stats()
		if s.InFlight > maxInFlight || s.PeakInFlight > maxInFlight {
			t.Fatalf("in flight %d (peak %d), limit %d", s.InFlight, s.PeakInFlight, maxInFlight)
		}
		if s.RequestsHandled == last && s.InFlight == maxInFlight {
			stable++
		} else {
			stable = 0
		}
		last = s.RequestsHandled
		return stable >= 20
	})
	s := ts.Stats()
	if s.RequestsHandled >= n/2 || s.BytesIn >= uint64(len(batch)) {
		t.Fatalf("server kept reading: %+v", s)
	}
	if s.PeakInFlight != maxInFlight {
		t.Fatalf("peak in flight %d, want %d", s.PeakInFlight, maxInFlight)
	}
	t.Logf("stalled after %d requests, %d bytes in, %d bytes out", s.RequestsHandled, s.BytesIn, s.BytesOut)
	_ = nc.Close()
	<-wrote // completes into socket buffers, or fails on Close
	waitFor(t, "connection closed", func() bool { s := ts.Stats(); return s.ConnectionsOpen == 0 && s.InFlight == 0 })
}

func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, Config{IdleTimeout: 100 * time.Millisecond})
	c := dial(t, ts.addr)
	c.roundTrip(1)
	start := time.Now()
	c.expectClosed()
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("closed after %v, before the idle timeout", d)
	}
	if s := ts.Stats(); s.ClosedIdle != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestIdleTimeoutSparesInFlight: a request whose answer takes longer than
// the idle timeout keeps its connection open.
func TestIdleTimeoutSparesInFlight(t *testing.T) {
	ts := startServer(t, Config{IdleTimeout: 50 * time.Millisecond})
	ts.handler.hook = func(_ *Conn, h *protocol.RequestHeader, _ protocol.Message) (Response, bool) {
		if h.CorrelationID != 7 {
			return Response{}, false
		}
		return Response{Wait: func(ctx context.Context) protocol.Message {
			time.Sleep(200 * time.Millisecond)
			return ts.handler.metadata
		}}, true
	}
	c := dial(t, ts.addr)
	c.send(protocol.NewRequest(protocol.KeyMetadata), 12, 7)
	if _, corr := c.recv(protocol.KeyMetadata, 12); corr != 7 {
		t.Fatalf("corr %d", corr)
	}
	c.roundTrip(8) // still open right after
	if s := ts.Stats(); s.ClosedIdle != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMaxConnections(t *testing.T) {
	ts := startServer(t, Config{MaxConnections: 2})
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	a.roundTrip(1)
	b.roundTrip(1)
	c := dial(t, ts.addr)
	c.expectClosed()
	if s := ts.Stats(); s.ConnectionsRejected != 1 || s.ConnectionsOpen != 2 {
		t.Fatalf("stats %+v", s)
	}
	_ = a.nc.Close()
	waitFor(t, "a to close", func() bool { return ts.Stats().ConnectionsOpen == 1 })
	d := dial(t, ts.addr)
	d.roundTrip(1)
	b.roundTrip(3)
}

func TestHandlerPanic(t *testing.T) {
	ts := startServer(t, Config{})
	ts.handler.hook = func(_ *Conn, h *protocol.RequestHeader, _ protocol.Message) (Response, bool) {
		switch h.CorrelationID {
		case 666:
			panic("handler bug")
		case 667:
			return Response{Wait: func(context.Context) protocol.Message { panic("wait bug") }}, true
		case 668:
			return Response{}, true // no response at all: a bug
		case 669:
			return Response{Msg: &protocol.ProduceResponse{}}, true // wrong API
		}
		return Response{}, false
	}
	other := dial(t, ts.addr)
	for i, corr := range []int32{666, 667, 668, 669} {
		c := dial(t, ts.addr)
		c.roundTrip(1)
		c.send(&protocol.ApiVersionsRequest{}, 0, corr)
		c.expectClosed()
		other.roundTrip(int32(10 * i))
	}
	if s := ts.Stats(); s.HandlerPanics != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestResponseNoneAndClose(t *testing.T) {
	ts := startServer(t, Config{})
	var handled atomic.Int32
	ts.handler.hook = func(_ *Conn, h *protocol.RequestHeader, _ protocol.Message) (Response, bool) {
		handled.Add(1)
		switch h.CorrelationID {
		case 1:
			return Response{None: true}, true
		case 2:
			return Response{Msg: ts.handler.metadata, Close: true}, true
		case 3:
			return Response{None: true, Close: true}, true
		}
		return Response{}, false
	}
	c := dial(t, ts.addr)
	c.send(protocol.NewRequest(protocol.KeyMetadata), 12, 1) // no answer
	c.send(protocol.NewRequest(protocol.KeyMetadata), 12, 2) // answer, then close
	c.send(protocol.NewRequest(protocol.KeyMetadata), 12, 9) // never handled
	if _, corr := c.recv(protocol.KeyMetadata, 12); corr != 2 {
		t.Fatalf("corr %d, want 2", corr)
	}
	c.expectClosed()
	if n := handled.Load(); n != 2 {
		t.Fatalf("%d requests handled, want 2: none after Close", n)
	}

	c = dial(t, ts.addr)
	c.send(protocol.NewRequest(protocol.KeyMetadata), 12, 3) // failed acks=0
	c.expectClosed()
}

func TestShutdownWaitsForInFlight(t *testing.T) {
	release := make(chan struct{})
	inHandler := make(chan struct{})
	ts := startServer(t, Config{})
	ts.handler.hook = func(_ *Conn, h *protocol.RequestHeader, _ protocol.Message) (Response, bool) {
		if h.CorrelationID != 5 {
			return Response{}, false
		}
		close(inHandler)
		return Response{Wait: func(context.Context) protocol.Message {
			<-release
			return ts.handler.metadata
		}}, true
	}
	idle := dial(t, ts.addr)
	idle.roundTrip(1)
	c := dial(t, ts.addr)
	c.send(protocol.NewRequest(protocol.KeyMetadata), 12, 5)
	<-inHandler

	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(context.Background()) }()
	idle.expectClosed() // nothing in flight: closed at once
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a response in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		// The listener is closed; a refused dial is the expected outcome.
		t.Log("dial after Shutdown succeeded (port reused?)")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, corr := c.recv(protocol.KeyMetadata, 12); corr != 5 {
		t.Fatalf("corr %d", corr)
	}
	c.expectClosed()
}

func TestShutdownDeadline(t *testing.T) {
	ts := startServer(t, Config{})
	waiting := make(chan struct{})
	ts.handler.hook = func(*Conn, *protocol.RequestHeader, protocol.Message) (Response, bool) {
		return Response{Wait: func(ctx context.Context) protocol.Message {
			close(waiting)
			<-ctx.Done() // never answers until the connection closes
			return nil
		}}, true
	}
	c := dial(t, ts.addr)
	c.send(protocol.NewRequest(protocol.KeyMetadata), 12, 1)
	<-waiting
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	c.expectClosed()
	if s := ts.Stats(); s.ConnectionsOpen != 0 || s.InFlight != 0 {
		t.Fatalf("stats after Shutdown %+v", s)
	}
}

// TestCloseUnblocks closes a server with connections in every state: idle,
// mid-frame, waiting on a response, backpressured. goleak (TestMain)
// checks that no goroutine is left.
func TestCloseUnblocks(t *testing.T) {
	ts := startServer(t, Config{MaxInFlight: 2})
	waiting := make(chan struct{}, 10)
	ts.handler.hook = func(_ *Conn, h *protocol.RequestHeader, _ protocol.Message) (Response, bool) {
		if h.CorrelationID < 100 {
			return Response{}, false
		}
		return Response{Wait: func(ctx context.Context) protocol.Message {
			waiting <- struct{}{}
			<-ctx.Done()
			return nil
		}}, true
	}
	idle := dial(t, ts.addr)
	idle.roundTrip(1)
	mid := dial(t, ts.addr)
	if _, err := mid.nc.Write(binary.BigEndian.AppendUint32(nil, 1000)); err != nil {
		t.Fatal(err)
	}
	blocked := dial(t, ts.addr)
	var batch []byte
	for i := range int32(10) {
		batch = protocol.AppendRequest(batch, protocol.NewRequest(protocol.KeyMetadata), 12, 100+i, nil)
	}
	if _, err := blocked.nc.Write(batch); err != nil {
		t.Fatal(err)
	}
	<-waiting
	waitFor(t, "all connections", func() bool { return ts.Stats().ConnectionsOpen == 3 })

	done := make(chan struct{})
	go func() {
		_ = ts.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	for _, c := range []*rawClient{idle, mid, blocked} {
		c.expectClosed()
	}
	if s := ts.Stats(); s.ConnectionsOpen != 0 || s.InFlight != 0 {
		t.Fatalf("stats after Close %+v", s)
	}
	if err := ts.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

func TestServeAfterClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Listener: ln, Handler: &fakeHandler{}})
	_ = s.Close()
	if err := s.Serve(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Close: %v", err)
	}
	if err := New(Config{Handler: &fakeHandler{}}).Serve(); err == nil {
		t.Fatal("Serve without a listener succeeded")
	}
}

func TestDefaultVersions(t *testing.T) {
	keys := APIVersions(nil)
	if len(keys) == 0 {
		t.Fatal("no default APIs")
	}
	find := func(k protocol.APIKey) bool {
		return slices.ContainsFunc(keys, func(v protocol.ApiVersionsResponseApiVersion) bool { return v.ApiKey == int16(k) })
	}
	if !find(protocol.KeyProduce) || !find(protocol.KeyApiVersions) || find(protocol.KeyVote) {
		t.Fatalf("default versions %+v", keys)
	}
	// A Versions table wider than the codec is clamped to it.
	wide := func(protocol.APIKey) (int16, int16, bool) { return -5, 1000, true }
	for _, v := range APIVersions(wide) {
		info, _ := protocol.LookupAPI(protocol.APIKey(v.ApiKey))
		if v.MinVersion != info.MinVersion || v.MaxVersion != info.MaxVersion {
			t.Fatalf("%+v not clamped to %+v", v, info)
		}
	}
}

func TestFramePool(t *testing.T) {
	for _, n := range []int{1, 8, 511, 512, 513, 4096, firstChunkBytes, 3<<20 + 5} {
		p := getFrame(n)
		if len(*p) != n || cap(*p) < n || cap(*p)&(cap(*p)-1) != 0 {
			t.Fatalf("getFrame(%d): len %d cap %d", n, len(*p), cap(*p))
		}
		putFrame(p)
	}
	odd := make([]byte, 100, 1000)
	putFrame(&odd) // not a pool size: ignored
}

// TestReadBodyGrows reads bodies around the first chunk's size whole, and
// a truncated large one as an error.
func TestReadBodyGrows(t *testing.T) {
	for _, n := range []int{firstChunkBytes - 1, firstChunkBytes, firstChunkBytes + 1, 5<<20 + 3} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i * 7)
		}
		p, pooled, err := readBody(bytes.NewReader(src), n)
		if err != nil || !pooled || !bytes.Equal(*p, src) {
			t.Fatalf("readBody(%d): err %v pooled %v equal %v", n, err, pooled, err == nil && bytes.Equal(*p, src))
		}
		putFrame(p)
	}
	if _, _, err := readBody(bytes.NewReader(make([]byte, 3<<20)), 4<<20); err == nil {
		t.Fatal("truncated body read without an error")
	}
}

// TestReadBodyTakesPooledWhole reads a large body straight into a pooled
// buffer of its size when there is one, instead of growing one as the
// bytes arrive.
func TestReadBodyTakesPooledWhole(t *testing.T) {
	const n = 5<<20 + 3
	src := make([]byte, n)
	for i := range src {
		src[i] = byte(i * 13)
	}
	for try := 0; try < 20; try++ { // the race detector drops pooled items at random
		b := make([]byte, 8<<20)
		putFrame(&b)
		r := &firstReadLen{r: bytes.NewReader(src)}
		p, pooled, err := readBody(r, n)
		if err != nil || !pooled || !bytes.Equal(*p, src) {
			t.Fatalf("readBody: err %v pooled %v equal %v", err, pooled, err == nil && bytes.Equal(*p, src))
		}
		putFrame(p)
		if r.first == n {
			return
		}
	}
	t.Fatal("a pooled buffer of the body's size was never read into whole")
}

// firstReadLen records the length of the first Read's buffer.
type firstReadLen struct {
	r     io.Reader
	first int
}

func (f *firstReadLen) Read(p []byte) (int, error) {
	if f.first == 0 {
		f.first = len(p)
	}
	return f.r.Read(p)
}
