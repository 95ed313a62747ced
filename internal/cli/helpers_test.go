package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/node"
)

// startNode starts an in-process single-node broker with the extra
// settings (key=value) and returns its client address.
func startNode(t *testing.T, extra ...string) string {
	t.Helper()
	props := append([]string{"log.dir=" + t.TempDir(), "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:9093"}, extra...)
	cfg, err := config.Load(nil, props, config.ProfileSingleNode)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Kill() })
	return n.Addr().String()
}

// runIn runs the command line with stdin and returns its exit code,
// stdout and stderr.
func runIn(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// run runs the command line with an empty stdin.
func run(args ...string) (int, string, string) { return runIn("", args...) }

// mustOn returns a runner of command lines against the broker at b that
// fails the test unless one exits 0 with want in its stdout, which it
// returns.
func mustOn(t *testing.T, b string) func(want string, args ...string) string {
	return func(want string, args ...string) string {
		t.Helper()
		code, out, errs := run(append(args, "-b", b)...)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("%q: exit %d, stdout %q, stderr %q; want %q", args, code, out, errs, want)
		}
		return out
	}
}
