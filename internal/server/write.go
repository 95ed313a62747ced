package server

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// writer is the writer goroutine's state: its reusable buffers.
type writer struct {
	enc  []byte // the encoded frame (without file bytes)
	copy []byte // the copy path's buffer
	// raw is the socket for sendfile; nil when the connection has none
	// or Config.NoSendfile is set.
	raw syscall.RawConn
}

// writeLoop writes responses in request order.
func (c *Conn) writeLoop() {
	defer c.exit()
	w := writer{raw: c.sendfileConn()}
	for {
		var r *request
		select {
		case r0, ok := <-c.toWrite:
			if !ok {
				c.abort(slog.LevelDebug, "connection drained")
				return
			}
			r = r0
		case <-c.ctx.Done():
			return
		}
		ok := c.respond(&w, r)
		r.release()
		c.releaseSlot()
		if !ok {
			return
		}
		c.s.stats.handled.Add(1)
		if cap(w.enc) > maxKeptWriteBuffer {
			w.enc = nil
		}
		if r.resp.Close {
			c.abort(slog.LevelDebug, "closing connection after response as the handler asked")
			return
		}
	}
}

// respond gets r's response, encodes it and writes it. ok=false means the
// connection was aborted. The response's file records are released.
func (c *Conn) respond(w *writer, r *request) (ok bool) {
	if r.resp.None {
		c.observe(r, nil)
		return true
	}
	key, version := protocol.APIKey(r.hdr.RequestApiKey), r.hdr.RequestApiVersion
	var msg protocol.Message
	switch {
	case r.early != nil:
		msg, version = r.early, 0
	case r.resp.Msg != nil:
		msg = r.resp.Msg
	case r.resp.Wait != nil:
		var panicked bool
		msg, panicked = c.wait(r)
		if panicked {
			return false
		}
	}
	if msg == nil {
		c.abort(slog.LevelError, "closing connection: handler produced no response",
			"api_key", int16(key), "api_version", version)
		return false
	}
	defer protocol.ReleaseFiles(msg)
	if msg.APIKey() != key || !msg.IsResponse() {
		c.abort(slog.LevelError, "closing connection: handler produced the wrong response",
			"api_key", int16(key), "api_version", version, "response_api_key", int16(msg.APIKey()))
		return false
	}
	frame, files, ok := c.encode(w.enc[:0], msg, version, r.hdr.CorrelationID)
	if !ok {
		return false
	}
	w.enc = frame
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.IdleTimeout)); err != nil {
		c.abort(slog.LevelDebug, "write failed", "err", err)
		return false
	}
	var err error
	if len(files) == 0 {
		err = c.write(frame)
	} else {
		err = c.writeWithFiles(w, frame, files)
	}
	if err != nil {
		c.abort(slog.LevelInfo, "write failed", "api_key", int16(key), "err", err)
		return false
	}
	c.touch()
	c.observe(r, msg)
	return true
}

// observe tells the server's Observer, if any, of r answered with msg.
func (c *Conn) observe(r *request, msg protocol.Message) {
	if o := c.s.cfg.Observer; o != nil && r.early == nil {
		o.ObserveRequest(protocol.APIKey(r.hdr.RequestApiKey), time.Since(r.start), msg)
	}
}

// write writes b whole.
func (c *Conn) write(b []byte) error {
	n, err := c.nc.Write(b)
	c.s.stats.bytesOut.Add(uint64(n))
	return err
}

// writeWithFiles writes frame with the bytes of files sent from their
// files at their offsets: with sendfile where both the file and the
// socket have descriptors (unless Config.NoSendfile), else read and
// written in chunks through one reused buffer. Either way the frame is
// never assembled in memory.
func (c *Conn) writeWithFiles(w *writer, frame []byte, files []*protocol.FileRecords) error {
	if w.raw != nil {
		cork(w.raw, true)
		defer cork(w.raw, false)
	}
	prev := 0
	for _, f := range files {
		if err := c.write(frame[prev:f.Offset()]); err != nil {
			return err
		}
		prev = f.Offset()
		if w.raw == nil || f.OS == nil {
			if err := c.copyFile(w, f); err != nil {
				return err
			}
			continue
		}
		n, err := sendfile(w.raw, f.OS, f.Pos, int64(f.Len))
		c.s.stats.bytesOut.Add(uint64(n))
		c.s.stats.bytesSendfile.Add(uint64(n))
		if err != nil && n == 0 && sendfileUnsupported(err) {
			// A file system whose files cannot be spliced: copy, from now
			// on, on this connection.
			c.log.Info("sendfile unsupported, copying fetched records", "err", err)
			w.raw = nil
			if err := c.copyFile(w, f); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("sendfile %d bytes at %d: %w", f.Len, f.Pos, err)
		}
	}
	return c.write(frame[prev:])
}

// copyChunk is the buffer of the copy path.
const copyChunk = 256 << 10

// copyFile writes f's bytes by reading them into w.copy, a chunk at a
// time.
func (c *Conn) copyFile(w *writer, f *protocol.FileRecords) error {
	if cap(w.copy) < copyChunk {
		w.copy = make([]byte, copyChunk)
	}
	buf := w.copy[:copyChunk]
	for off := int64(0); off < int64(f.Len); {
		n := min(int64(len(buf)), int64(f.Len)-off)
		if err := f.ReadAt(buf[:n], off); err != nil {
			return err
		}
		if err := c.write(buf[:n]); err != nil {
			return err
		}
		off += n
	}
	return nil
}

func (c *Conn) wait(r *request) (msg protocol.Message, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			c.s.stats.panics.Add(1)
			c.abort(slog.LevelError, "response wait panicked, closing connection",
				"api_key", r.hdr.RequestApiKey, "api_version", r.hdr.RequestApiVersion,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			msg, panicked = nil, true
		}
	}()
	return r.resp.Wait(c.ctx), false
}

func (c *Conn) encode(buf []byte, msg protocol.Message, version int16, correlationID int32) (_ []byte, _ []*protocol.FileRecords, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.s.stats.panics.Add(1)
			c.abort(slog.LevelError, "encoding response panicked, closing connection",
				"api_key", int16(msg.APIKey()), "api_version", version,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			ok = false
		}
	}()
	frame, files := protocol.EncodeResponse(buf, msg, version, correlationID)
	return frame, files, true
}

// sendfileConn returns the socket for sendfile, or nil.
func (c *Conn) sendfileConn() syscall.RawConn {
	if c.s.cfg.NoSendfile || !sendfileSupported {
		return nil
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
