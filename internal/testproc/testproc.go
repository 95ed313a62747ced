// Package testproc helps tests that run the sluice binary as real
// processes: it builds the binary once per test binary and hands out
// free loopback ports. Only tests import it.
package testproc

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// FreePort returns a loopback host:port that was free a moment ago.
func FreePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
