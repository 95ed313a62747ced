//go:build !linux

package server

import (
	"errors"
	"os"
	"syscall"
)

const sendfileSupported = false

func sendfile(syscall.RawConn, *os.File, int64, int64) (int64, error) {
	return 0, errors.New("server: sendfile is not supported on this platform")
}

func cork(syscall.RawConn, bool) {}

func sendfileUnsupported(error) bool { return true }
