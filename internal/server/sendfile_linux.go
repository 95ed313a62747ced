package server

import (
	"errors"
	"os"
	"syscall"

	"github.com/sluice-mq/sluice/internal/protocol"
)

const sendfileSupported = true

// maxSendfileChunk bounds one sendfile call (Linux moves at most about
// 2 GiB per call anyway).
const maxSendfileChunk = 1 << 30

// sendfile sends n bytes of f from pos to the socket raw, without moving
// f's offset (segments are appended through it). It waits for the socket
// as a Write would, honouring its write deadline, and returns the bytes
// sent.
func sendfile(raw syscall.RawConn, f *os.File, pos, n int64) (int64, error) {
	fraw, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var sent int64
	var serr error
	cerr := fraw.Control(func(ffd uintptr) {
		werr := raw.Write(func(sfd uintptr) bool {
			for sent < n {
				off := pos + sent
				m, err := syscall.Sendfile(int(sfd), int(ffd), &off, int(min(n-sent, maxSendfileChunk)))
				if m > 0 {
					sent += int64(m)
				}
				switch {
				case errors.Is(err, syscall.EAGAIN):
					return false // wait until the socket is writable
				case errors.Is(err, syscall.EINTR):
				case err != nil:
					serr = err
					return true
				case m == 0:
					serr = protocol.ErrShortFile // the file ends before pos+n
					return true
				}
			}
			return true
		})
		if serr == nil {
			serr = werr
		}
	})
	if serr == nil {
		serr = cerr
	}
	return sent, serr
}

// cork holds back partial packets while on (TCP_CORK), so that a
// response written as header pieces and sendfile ranges leaves in full
// packets; turning it off flushes.
func cork(raw syscall.RawConn, on bool) {
	v := 0
	if on {
		v = 1
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, v)
	})
}

// sendfileUnsupported reports errors of a file that cannot be sent with
// sendfile at all (some FUSE and network file systems), as opposed to a
// failing socket.
func sendfileUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP)
}
