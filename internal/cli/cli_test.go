package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/internal/storage"
	"github.com/sluice-mq/sluice/internal/vfs"
)

func TestMainCommands(t *testing.T) {
	cases := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{args: nil, code: 2, inStderr: "usage: sluice"},
		{args: []string{"version"}, code: 0, inStdout: "sluice " + Version},
		{args: []string{"bogus"}, code: 2, inStderr: `unknown command "bogus"`},
		{args: []string{"help"}, code: 0, inStdout: "commands:"},
		{args: []string{"verify", "--faults", "partition"}, code: 2, inStderr: "the partition fault needs a cluster"},
		{args: []string{"verify", "--nodes", "0"}, code: 2, inStderr: "--nodes must be at least 1"},
		{args: []string{"verify", "--faults", "flood"}, code: 2, inStderr: `unknown fault "flood"`},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := Main(c.args, strings.NewReader(""), &out, &errb)
		if code != c.code {
			t.Errorf("Main(%q) = %d, want %d", c.args, code, c.code)
		}
		if c.inStdout != "" && !strings.Contains(out.String(), c.inStdout) {
			t.Errorf("Main(%q) stdout %q lacks %q", c.args, out.String(), c.inStdout)
		}
		if c.inStderr != "" && !strings.Contains(errb.String(), c.inStderr) {
			t.Errorf("Main(%q) stderr %q lacks %q", c.args, errb.String(), c.inStderr)
		}
	}
}

func TestFormat(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main([]string{"random-cluster-id"}, nil, &out, &errb); code != 0 {
		t.Fatalf("random-cluster-id: %d %s", code, errb.String())
	}
	id := strings.TrimSpace(out.String())
	if len(id) != 22 {
		t.Fatalf("cluster id %q", id)
	}
	args := []string{"format", "--cluster-id", id, "--data-dir", dir, "--node-id", "3"}
	out.Reset()
	if code := Main(args, nil, &out, &errb); code != 0 {
		t.Fatalf("format: %d %s", code, errb.String())
	}
	mp, err := storage.ReadMetaProperties(vfs.Default, dir)
	if err != nil || mp.ClusterID != id || mp.NodeID != 3 || mp.Version != 1 {
		t.Fatalf("meta.properties: %+v %v", mp, err)
	}
	errb.Reset()
	if code := Main(args, nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "refusing to overwrite") {
		t.Fatalf("second format: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := Main([]string{"format", "--data-dir", dir}, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--cluster-id is required") {
		t.Fatalf("format without id: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := Main([]string{"format", "--cluster-id", "nope", "--data-dir", t.TempDir()}, nil, &out, &errb); code != 2 {
		t.Fatalf("format with a bad id: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := Main([]string{"format", "--cluster-id", id, "--data-dir", t.TempDir(), "--set", "sasl.enabled.mechanisms=PLAIN"}, nil, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "sasl.enabled.mechanisms") {
		t.Fatalf("format with a rejected key: %d %q", code, errb.String())
	}
}
