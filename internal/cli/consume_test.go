package cli

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConsumeOffsetsAndCount checks where a consumer without a group
// starts and where it stops.
func TestConsumeOffsetsAndCount(t *testing.T) {
	b := startNode(t)
	produceTestTopic(t, b, "log", 2)
	produceTestMust(t, "a\nb\nc\nd\ne\n", "produce", "log", "--partition", "0", "-b", b)
	produceTestMust(t, "x|y|z", "produce", "log", "--partition", "1", "--delimiter", "|", "-b", b)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--partition", "0"}, "a\nb\nc\nd\ne\n"},
		{[]string{"--partition", "1", "--offset", "earliest"}, "x\ny\nz\n"},
		{[]string{"--partition", "0", "--offset", "2"}, "c\nd\ne\n"},
		{[]string{"--partition", "0", "--offset", "-2"}, "d\ne\n"},
		{[]string{"--partition", "0", "--offset", "-9"}, "a\nb\nc\nd\ne\n"},
		{[]string{"--partition", "0", "--offset", "99"}, ""},
		{[]string{"--partition", "0,1", "--offset", "latest"}, ""},
		{[]string{"--partition", "1", "--partition", "0", "--offset", "4", "--format", "%p:%v "}, "0:e "},
		{[]string{"--partition", "1", "--count", "2"}, "x\ny\n"},
		{[]string{"--partition", "1", "--count", "9"}, "x\ny\nz\n"},
	} {
		args := append([]string{"consume", "log", "-e", "-b", b}, c.args...)
		if got := produceTestMust(t, "", args...); got != c.want {
			t.Errorf("%q: %q, want %q", args, got, c.want)
		}
	}

	// --count alone stops a consumer that would otherwise wait for more.
	if got := produceTestMust(t, "", "consume", "log", "--partition", "0", "--offset", "1", "--count", "3", "-b", b); got != "b\nc\nd\n" {
		t.Errorf("--count 3 without -e: %q", got)
	}
	// Two topics, every partition: all eight records, each once.
	produceTestTopic(t, b, "other", 1)
	produceTestMust(t, "o\n", "produce", "other", "-b", b)
	got := strings.Fields(produceTestMust(t, "", "consume", "log", "other", "-e", "--format", `%t:%v\n`, "-b", b))
	slices.Sort(got)
	if want := []string{"log:a", "log:b", "log:c", "log:d", "log:e", "log:x", "log:y", "log:z", "other:o"}; !slices.Equal(got, want) {
		t.Errorf("two topics: %q, want %q", got, want)
	}
}

// TestConsumeErrors checks exit 1 for what the cluster refuses and 2 for
// a command line that cannot work.
func TestConsumeErrors(t *testing.T) {
	b := startNode(t)
	produceTestTopic(t, b, "t", 2)
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"nope", "-e"}, 1, "topic nope: UNKNOWN_TOPIC_OR_PARTITION"},
		{[]string{"t", "--partition", "5", "-e"}, 1, "topic t has no partition 5 (it has 2)"},
		{[]string{"t", "-e", "-b", "127.0.0.1:1", "--timeout", "1s"}, 1, "cannot reach the cluster at 127.0.0.1:1"},
		{[]string{}, 2, "name at least one topic"},
		{[]string{"t", "--group", "g", "--partition", "0"}, 2, "--partition cannot be used with --group"},
		{[]string{"t", "--group", "g", "--offset", "3"}, 2, "--offset 3 cannot be used with --group"},
		{[]string{"t", "--offset", "first"}, 2, `--offset "first": want earliest, latest, N or -N`},
		{[]string{"t", "--partition", "0,x"}, 2, `--partition "0,x": want partition numbers`},
		{[]string{"t", "--partition", "-1"}, 2, `--partition "-1": want partition numbers`},
		{[]string{"t", "--count", "-1"}, 2, "--count -1"},
		{[]string{"t", "--format", "yaml"}, 2, `format "yaml": want value, kv, json or a template`},
		{[]string{"t", "--format", "%v %q"}, 2, "unknown verb %q"},
		{[]string{"t", "--format", "%v %"}, 2, "ends in a lone %"},
		{[]string{"t", "--json", "--format", "kv"}, 2, "--json and --format kv disagree"},
		{[]string{"t", "--key-separator", `\`}, 2, "lone backslash"},
		{[]string{"t", "--bogus"}, 2, "flag provided but not defined: -bogus"},
	} {
		args := append([]string{"consume", "-b", b, "--timeout", "5s"}, c.args...)
		code, out, errs := runIn("", args...)
		if code != c.code || !strings.Contains(errs, c.err) || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d and %q", args, code, out, errs, c.code, c.err)
		}
		if c.code == 2 && !strings.Contains(errs, "usage: sluice consume") {
			t.Errorf("%q: stderr %q lacks the usage", args, errs)
		}
	}
}

// consumeTestNotify is a stdout that reports its first write.
type consumeTestNotify struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	once  sync.Once
	wrote chan struct{}
}

func (w *consumeTestNotify) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.once.Do(func() { close(w.wrote) })
	return w.buf.Write(p)
}

// TestConsumeStopsOnSignal runs a consumer with no end and interrupts it
// once it has printed: it stops cleanly with exit 0.
func TestConsumeStopsOnSignal(t *testing.T) {
	b := startNode(t)
	produceTestTopic(t, b, "s", 1)
	produceTestMust(t, "one\ntwo\n", "produce", "s", "-b", b)
	out := &consumeTestNotify{wrote: make(chan struct{})}
	var errb bytes.Buffer
	done := make(chan int)
	go func() { done <- Main([]string{"consume", "s", "-b", b}, strings.NewReader(""), out, &errb) }()
	select {
	case <-out.wrote: // the consumer's signal handler is in place before it prints
	case code := <-done:
		t.Fatalf("consume ended on its own: exit %d, stderr %q", code, errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("consume printed nothing in 10s")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 || out.buf.String() != "one\ntwo\n" || errb.Len() != 0 {
			t.Errorf("after SIGINT: exit %d, stdout %q, stderr %q", code, out.buf.String(), errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("consume did not stop on SIGINT")
	}
}

// consumeTestCommitted returns the group's committed offsets of the
// topic's partitions (-1: none) and the partitions' end offsets.
func consumeTestCommitted(t *testing.T, b, group, topic string, partitions int32) (committed, ends []int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	for p := range partitions {
		c := int64(-1)
		if o, ok := offs.Lookup(topic, p); ok {
			c = o.At
		}
		e, _ := listed.Lookup(topic, p)
		committed, ends = append(committed, c), append(ends, e.Offset)
	}
	return committed, ends
}

// TestConsumeGroupCommits checks that a group consumer commits what it
// printed, no more: after -e the commits equal the end offsets, after
// --count they stop at the last record printed, and the next run
// resumes there.
func TestConsumeGroupCommits(t *testing.T) {
	b := startNode(t, "group.initial.rebalance.delay.ms=0") // a new group rebalances at once
	produceTestTopic(t, b, "gt", 2)
	produceTestMust(t, "a\nb\nc\n", "produce", "gt", "--partition", "0", "-b", b)
	produceTestMust(t, "x\ny\n", "produce", "gt", "--partition", "1", "-b", b)

	consume := func(args ...string) []string {
		t.Helper()
		lines := strings.Fields(produceTestMust(t, "", append([]string{"consume", "gt", "--group", "G", "-b", b}, args...)...))
		slices.Sort(lines)
		return lines
	}
	check := func(what string, want []int64) {
		t.Helper()
		committed, _ := consumeTestCommitted(t, b, "G", "gt", 2)
		if !slices.Equal(committed, want) {
			t.Errorf("%s: committed %v, want %v", what, committed, want)
		}
	}
	if got := consume("-e"); !slices.Equal(got, []string{"a", "b", "c", "x", "y"}) {
		t.Errorf("first run: %q", got)
	}
	committed, ends := consumeTestCommitted(t, b, "G", "gt", 2)
	if !slices.Equal(committed, ends) || !slices.Equal(ends, []int64{3, 2}) {
		t.Errorf("after -e: committed %v, end offsets %v; want both [3 2]", committed, ends)
	}
	if got := consume("-e"); len(got) != 0 {
		t.Errorf("a second run with nothing new printed %q", got)
	}

	produceTestMust(t, "d\ne\n", "produce", "gt", "--partition", "0", "-b", b)
	if got := consume("--count", "1"); !slices.Equal(got, []string{"d"}) {
		t.Errorf("--count 1: %q", got)
	}
	check("after --count 1", []int64{4, 2})
	if got := consume("-e", "--format", "%p/%o:%v\n"); !slices.Equal(got, []string{"0/4:e"}) {
		t.Errorf("resumed run: %q", got)
	}
	check("after the resumed run", []int64{5, 2})

	// A new group starting at the end reads nothing and so commits nothing.
	if code, out, errs := runIn("", "consume", "gt", "--group", "H", "--offset", "latest", "-e", "-b", b); code != 0 || out != "" {
		t.Errorf("--offset latest: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if committed, _ := consumeTestCommitted(t, b, "H", "gt", 2); !slices.Equal(committed, []int64{-1, -1}) {
		t.Errorf("group H committed %v, want nothing", committed)
	}
}
