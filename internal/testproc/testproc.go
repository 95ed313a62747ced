// Package testproc helps tests that run the sluice binary as real
// processes: it builds the binary once per test binary and hands out
// free loopback ports; and it reads the test process's own CPU time for
// benchmarks. Only tests import it.
package testproc

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// moduleRoot is the repository root, two directories above this file.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// BuildSluice compiles cmd/sluice once per test binary and returns its
// path. It first stats every Go file of the module: go test's cache
// records the files a test touches, so a change to any source the binary
// is built from reruns the tests instead of replaying a cached pass.
var BuildSluice = sync.OnceValues(func() (string, error) {
	root := moduleRoot()
	if err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			_, err = os.Stat(path)
		}
		return err
	}); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "sluice-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "sluice")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/sluice")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// FreePort returns a loopback host:port that was free a moment ago. It
// is drawn from below the kernel's ephemeral range, so that the outgoing
// connections of tests running in parallel (which take ephemeral ports)
// cannot take it before the process it is meant for binds it.
func FreePort(tb testing.TB) string {
	tb.Helper()
	lo := ephemeralLow() - 1
	for range 100 {
		port := 10000 + rand.IntN(lo-10000)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			ln.Close()
			return ln.Addr().String()
		}
	}
	tb.Fatal("no free loopback port below the ephemeral range")
	return ""
}

// ephemeralLow is the low end of the kernel's ephemeral port range
// (Linux's default, 32768, when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if f := strings.Fields(string(b)); err == nil && len(f) == 2 {
		if lo, err := strconv.Atoi(f[0]); err == nil && lo > 11000 {
			return lo
		}
	}
	return 32768
}
