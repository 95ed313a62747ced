package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-mq/sluice/internal/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testVersions serves ApiVersions 0-3 (so that clients asking for more go
// through KIP-511) and Metadata 1-12.
func testVersions(key protocol.APIKey) (int16, int16, bool) {
	switch key {
	case protocol.KeyApiVersions:
		return 0, 3, true
	case protocol.KeyMetadata:
		return 1, 12, true
	}
	return 0, 0, false
}

// fakeHandler answers ApiVersions from testVersions and Metadata with a
// canned response. hook, when set, may replace the response.
type fakeHandler struct {
	metadata *protocol.MetadataResponse
	hook     func(c *Conn, h *protocol.RequestHeader, req protocol.Message) (Response, bool)
}

func (f *fakeHandler) Handle(_ context.Context, c *Conn, h *protocol.RequestHeader, req protocol.Message) Response {
	if f.hook != nil {
		if r, ok := f.hook(c, h, req); ok {
			return r
		}
	}
	switch req.(type) {
	case *protocol.ApiVersionsRequest:
		resp := protocol.NewResponse(protocol.KeyApiVersions).(*protocol.ApiVersionsResponse)
		resp.ApiKeys = APIVersions(testVersions)
		return Response{Msg: resp}
	case *protocol.MetadataRequest:
		return Response{Msg: f.metadata}
	}
	panic(fmt.Sprintf("fakeHandler: unexpected %T", req))
}

// cannedMetadata describes one broker at addr and topics named topic-i.
func cannedMetadata(addr string, topics int) *protocol.MetadataResponse {
	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	m := protocol.NewResponse(protocol.KeyMetadata).(*protocol.MetadataResponse)
	cluster := "sluice-test"
	m.ClusterID = &cluster
	m.ControllerID = 1
	m.Brokers = []protocol.MetadataResponseMetadataResponseBroker{{NodeID: 1, Host: host, Port: int32(port)}}
	for i := range topics {
		name := fmt.Sprintf("topic-%06d-padding-padding-padding-padding", i)
		m.Topics = append(m.Topics, protocol.MetadataResponseMetadataResponseTopic{
			Name:       &name,
			TopicID:    protocol.UUID{1, byte(i >> 8), byte(i)},
			Partitions: []protocol.MetadataResponseMetadataResponsePartition{{LeaderID: 1, ReplicaNodes: []int32{1}, IsrNodes: []int32{1}}},
		})
	}
	return m
}

type testServer struct {
	*Server
	addr    string
	handler *fakeHandler
	served  chan error
}

// startServer starts a server on a loopback port; cfg's Listener, Handler
// and Versions are filled in when empty. The server is closed at cleanup.
func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	if cfg.Listener == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Listener = ln
	}
	ts := &testServer{addr: cfg.Listener.Addr().String(), served: make(chan error, 1)}
	if cfg.Handler == nil {
		ts.handler = &fakeHandler{metadata: cannedMetadata(ts.addr, 2)}
		cfg.Handler = ts.handler
	}
	if cfg.Versions == nil {
		cfg.Versions = testVersions
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ts.Server = New(cfg)
	go func() { ts.served <- ts.Serve() }()
	t.Cleanup(func() {
		if err := ts.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-ts.served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ts
}

// testLogger logs to the test when -v and SLUICE_TEST_LOG are set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SLUICE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// rawClient speaks the protocol over a plain connection.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &rawClient{t: t, nc: nc, br: bufio.NewReader(nc)}
}

var testClientID = "raw-client"

func (c *rawClient) send(m protocol.Message, version int16, corr int32) {
	c.t.Helper()
	if _, err := c.nc.Write(protocol.AppendRequest(nil, m, version, corr, &testClientID)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// recvFrame reads one response frame (without its size).
func (c *rawClient) recvFrame() ([]byte, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var sz [4]byte
	if _, err := io.ReadFull(c.br, sz[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(sz[:]))
	_, err := io.ReadFull(c.br, b)
	return b, err
}

// recv reads a response to key at version and returns its correlation id.
func (c *rawClient) recv(key protocol.APIKey, version int16) (protocol.Message, int32) {
	c.t.Helper()
	b, err := c.recvFrame()
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	corr, body, err := protocol.ParseResponseHeader(b, protocol.ResponseHeaderVersion(key, version))
	if err != nil {
		c.t.Fatalf("response header: %v", err)
	}
	m := protocol.NewResponse(key)
	if err := m.Decode(body, version); err != nil {
		c.t.Fatalf("decode %s v%d response: %v", key, version, err)
	}
	return m, corr
}

// expectClosed asserts that the server closes the connection without
// sending anything more.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, c.br)
	if err != nil && !isReset(err) {
		c.t.Fatalf("want the server to close the connection, got %v", err)
	}
	if n != 0 {
		c.t.Fatalf("want the server to close the connection, got %d more bytes", n)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// roundTrip sends an ApiVersions v3 and a Metadata v12 request and checks
// the answers.
func (c *rawClient) roundTrip(corr int32) {
	c.t.Helper()
	c.send(&protocol.ApiVersionsRequest{ClientSoftwareName: "raw", ClientSoftwareVersion: "1"}, 3, corr)
	m, got := c.recv(protocol.KeyApiVersions, 3)
	if got != corr || m.(*protocol.ApiVersionsResponse).ErrorCode != 0 {
		c.t.Fatalf("ApiVersions: corr %d (want %d), error %d", got, corr, m.(*protocol.ApiVersionsResponse).ErrorCode)
	}
	c.send(protocol.NewRequest(protocol.KeyMetadata), 12, corr+1)
	m, got = c.recv(protocol.KeyMetadata, 12)
	if got != corr+1 || len(m.(*protocol.MetadataResponse).Brokers) != 1 {
		c.t.Fatalf("Metadata: corr %d (want %d), %d brokers", got, corr+1, len(m.(*protocol.MetadataResponse).Brokers))
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// frame builds a raw request frame: size, key, version, correlation id,
// then rest.
func frame(key, version int16, corr int32, rest []byte) []byte {
	b := make([]byte, 12, 12+len(rest))
	binary.BigEndian.PutUint32(b, uint32(8+len(rest)))
	binary.BigEndian.PutUint16(b[4:], uint16(key))
	binary.BigEndian.PutUint16(b[6:], uint16(version))
	binary.BigEndian.PutUint32(b[8:], uint32(corr))
	return append(b, rest...)
}

// pipeListener is a net.Listener over net.Pipe, for fuzzing.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial returns the client end of a new connection.
func (l *pipeListener) dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
