package server

import (
	"context"
	"encoding/binary"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// trivialHandler answers every request with the zero response of its API.
type trivialHandler struct{}

func (trivialHandler) Handle(_ context.Context, _ *Conn, h *protocol.RequestHeader, _ protocol.Message) Response {
	return Response{Msg: protocol.NewResponse(protocol.APIKey(h.RequestApiKey))}
}

// FuzzConnection feeds arbitrary bytes through one connection (net.Pipe)
// of a server serving every API the codec knows: the server must not
// panic, and must answer or close.
func FuzzConnection(f *testing.F) {
	every := func(key protocol.APIKey) (int16, int16, bool) {
		info, ok := protocol.LookupAPI(key)
		return info.MinVersion, info.MaxVersion, ok
	}
	ln := newPipeListener()
	s := New(Config{Listener: ln, Handler: trivialHandler{}, Versions: every, MaxFrameBytes: 1 << 16, MaxInFlight: 4, Logger: testLogger(f)})
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	f.Cleanup(func() {
		_ = s.Close()
		<-served
		// Zero-value responses must encode: a panic here is a codec bug.
		if n := s.Stats().HandlerPanics; n != 0 {
			f.Errorf("%d panics encoding responses", n)
		}
	})

	f.Add(protocol.AppendRequest(nil, &protocol.ApiVersionsRequest{}, 3, 1, nil))
	f.Add(protocol.AppendRequest(protocol.AppendRequest(nil, protocol.NewRequest(protocol.KeyMetadata), 12, 1, nil), protocol.NewRequest(protocol.KeyFetch), 4, 2, nil))
	f.Add(frame(int16(protocol.KeyApiVersions), 99, 7, []byte{0xff}))
	f.Add(frame(9999, 0, 1, nil))
	f.Add(binary.BigEndian.AppendUint32(nil, 1<<20))
	f.Add([]byte{0, 0, 0, 3, 1, 2, 3})
	for _, info := range protocol.APIs() {
		f.Add(protocol.AppendRequest(nil, protocol.NewRequest(info.Key), info.MaxVersion, 9, nil))
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		nc, err := ln.dial()
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() { // read responses until the connection closes
			_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.Copy(io.Discard, nc)
		})
		_ = nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = nc.Write(in) // fails if the server closed first
		// net.Pipe has no half-close: closing makes the server see EOF,
		// drain and close its side.
		_ = nc.Close()
		wg.Wait()
		waitFor(t, "server to close the connection", func() bool { return s.Stats().ConnectionsOpen == 0 })
	})
}
