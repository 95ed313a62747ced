package interop

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKcat produces with kcat (librdkafka) from a file, one run per
// compression codec, with acks=all and headers, consumes every partition
// from the beginning, and queries the earliest and latest offsets with
// kcat -Q. Every codec asked for must be stored compressed with it.
func TestKcat(t *testing.T) { testKcat(t, nil) }

func testKcat(t *testing.T, mayDowngrade []string) {
	kcat, err := exec.LookPath("kcat")
	needTool(t, "kcat (Debian package kcat)", err)
	if out, err := exec.Command(kcat, "-V").CombinedOutput(); err == nil {
		for line := range strings.Lines(string(out)) {
			if strings.HasPrefix(line, "Version") {
				t.Logf("kcat %s", strings.TrimSpace(line))
			}
		}
	}
	addr := startNode(t)
	const topic = "kcat-interop"
	createTopic(t, addr, topic)

	const n = 10000
	wants := makeRecords("kcat", n, allCodecs, func(_ int, codec string) []header {
		return []header{{"client", "kcat"}, {"codec", codec}}
	})
	dir := t.TempDir()
	start := time.Now()
	codecs, runs := byCodec(wants)
	for ci, codec := range codecs {
		var buf bytes.Buffer
		for _, w := range runs[ci] {
			fmt.Fprintf(&buf, "%s:%s\n", w.Key, w.Value)
		}
		file := filepath.Join(dir, codec+".txt")
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		runTool(t, 60*time.Second, kcat, "-P", "-b", addr, "-t", topic, "-K:", "-z", codec,
			"-X", "request.required.acks=-1", "-X", "enable.idempotence=false",
			"-H", "client=kcat", "-H", "codec="+codec, "-l", file)
	}
	produced := time.Since(start)

	start = time.Now()
	out := runTool(t, 60*time.Second, kcat, "-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q",
		"-f", `%p %o %k %s %h\n`)
	var gots []got
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) != 5 {
			t.Fatalf("kcat -C printed %q, want 5 fields", line)
		}
		p, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("kcat -C printed %q", line)
		}
		g := got{Partition: int32(p), Offset: o, Key: f[2], Value: f[3]}
		for h := range strings.SplitSeq(f[4], ",") {
			k, v, _ := strings.Cut(h, "=")
			g.Headers = append(g.Headers, header{k, v})
		}
		gots = append(gots, g)
	}
	consumed := time.Since(start)

	// kcat -Q: timestamp -2 is the earliest offset, -1 the latest.
	query := map[int32][2]int64{}
	re := regexp.MustCompile(`(?m)^\S+ \[(\d+)\] offset (-?\d+)`)
	for i, ts := range []string{"-2", "-1"} {
		args := []string{"-Q", "-b", addr}
		for p := range partitions {
			args = append(args, "-t", fmt.Sprintf("%s:%d:%s", topic, p, ts))
		}
		out := runTool(t, 30*time.Second, kcat, args...)
		ms := re.FindAllStringSubmatch(string(out), -1)
		if len(ms) != partitions {
			t.Fatalf("kcat -Q %s printed %q", ts, out)
		}
		for _, m := range ms {
			p, _ := strconv.Atoi(m[1])
			o, _ := strconv.ParseInt(m[2], 10, 64)
			q := query[int32(p)]
			q[i] = o
			query[int32(p)] = q
		}
	}
	verify(t, "kcat", wants, gots, query, listOffsets(t, addr, topic))
	t.Logf("kcat: stored batches per codec %v", checkStoredCodecs(t, "kcat", addr, topic, codecs, mayDowngrade))
	t.Logf("kcat: %d records, codecs %v, produce %v, consume %v", n, codecs, produced.Round(time.Millisecond), consumed.Round(time.Millisecond))
}

// runTool runs a command with a time limit and returns its standard
// output, failing the test with its standard error if it fails.
func runTool(t *testing.T, limit time.Duration, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s %s: %v\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, lastLines(stderr.Bytes(), 40))
		}
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %s: still running after %v\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), limit, lastLines(stderr.Bytes(), 40))
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Logf("%s stderr:\n%s", filepath.Base(name), lastLines(stderr.Bytes(), 20))
	}
	return stdout.Bytes()
}

func lastLines(b []byte, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "")
}
