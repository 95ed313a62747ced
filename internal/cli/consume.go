package cli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-mq/sluice/internal/admin"
)

const consumeUsage = `usage: sluice consume TOPIC… [flags]

Writes the topics' records to stdout until --count, --exit-at-end, or
SIGINT/SIGTERM (exit 0 in each case).

  --group G            consume as a member of group G; what is printed is
                       committed as it goes and once more on exit; where G has
                       no committed offset, start at --offset earliest|latest
  --partition N        only partition N of each topic (repeatable, or a comma
                       list; default all; not with --group)
  --offset O           where to start: earliest (the default, from the beginning,
                       as kcat does), latest (only new records), N (offset N,
                       clamped to the log) or -N (N records before the end)
  --count N            stop after N records
  -e, --exit-at-end    stop once every assigned partition has reached the end
                       offset it had at start (with --group: once assigned)
  --format F           value (default): the value and a newline
                       kv: key, --key-separator, value, newline
                       json: an object a line: topic, partition, offset,
                         timestamp (RFC 3339, UTC), key, value and headers
                         ([{"key": "h", "value": "v"}], in record order); a null
                         key or value is null; one that is not UTF-8 is base64,
                         marked "key_encoding"/"value_encoding": "base64"
                       a template: %t topic, %p partition, %o offset, %k key,
                         %v value, %h headers (k=v,k=v), %T timestamp (ms),
                         %% a percent sign; no newline is added:
                         --format '%p/%o %k=%v\n'
  --json               short for --format json
  --key-separator SEP  between key and value in kv (default \t)
  -b/--bootstrap-server host:port[,host:port]  default 127.0.0.1:9092
  --timeout            how long to wait for the cluster (default 15s)

In value, kv and template output a null key or value prints as nothing.
SEP and templates take the escapes \t \n \r \0 \\.
`

// consumeOptions is a parsed `sluice consume` command line.
type consumeOptions struct {
	adminFlags
	topics     []string
	group      string
	partitions []int32 // nil: all
	start      string  // earliest, latest, or a number (negative: before the end)
	count      int64
	exitAtEnd  bool
	out        *recFmtWriter
}

// runConsume runs `sluice consume TOPIC…`.
func runConsume(args []string, stdout, stderr io.Writer) int {
	o, code := consumeParse(args, stderr)
	if code != 0 {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := consumeRun(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "sluice consume: %v\n", err)
		return 1
	}
	return 0
}

func consumeParse(args []string, stderr io.Writer) (*consumeOptions, int) {
	fs := commandFlags("consume", consumeUsage, stderr)
	o := &consumeOptions{}
	o.adminFlags.register(fs)
	var (
		parts          listFlag
		format, keySep string
	)
	fs.StringVar(&o.group, "group", "", "")
	fs.Var(&parts, "partition", "")
	fs.StringVar(&o.start, "offset", "earliest", "")
	fs.Int64Var(&o.count, "count", 0, "")
	fs.BoolVar(&o.exitAtEnd, "exit-at-end", false, "")
	fs.BoolVar(&o.exitAtEnd, "e", false, "")
	fs.StringVar(&format, "format", "value", "")
	fs.StringVar(&keySep, "key-separator", `\t`, "")
	topics, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, 2
	}
	usageErr := func(format string, args ...any) (*consumeOptions, int) {
		return nil, usageFailure(stderr, "consume", consumeUsage, format, args...)
	}
	if len(topics) == 0 {
		return usageErr("name at least one topic")
	}
	o.topics = topics
	if o.count < 0 {
		return usageErr("--count %d: want a positive count", o.count)
	}
	for _, list := range parts {
		for _, s := range strings.Split(list, ",") {
			p, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
			if err != nil || p < 0 {
				return usageErr("--partition %q: want partition numbers", list)
			}
			o.partitions = append(o.partitions, int32(p))
		}
	}
	if o.start != "earliest" && o.start != "latest" {
		if _, err := strconv.ParseInt(o.start, 10, 64); err != nil {
			return usageErr("--offset %q: want earliest, latest, N or -N", o.start)
		}
	}
	if o.group != "" && o.partitions != nil {
		return usageErr("--partition cannot be used with --group (the group assigns partitions)")
	}
	if o.group != "" && o.start != "earliest" && o.start != "latest" {
		return usageErr("--offset %s cannot be used with --group (earliest or latest: where the group has no committed offset)", o.start)
	}
	if o.json {
		if format != "value" && format != "json" {
			return usageErr("--json and --format %s disagree", format)
		}
		format = "json"
	}
	sep, err := recFmtUnescape(keySep)
	if err != nil {
		return usageErr("--key-separator: %v", err)
	}
	if o.out, err = newRecFmtWriter(format, sep); err != nil {
		return usageErr("%v", err)
	}
	return o, 0
}

// consumeTP names a partition.
type consumeTP struct {
	topic     string
	partition int32
}

// consumeTracker knows, for --exit-at-end, where each partition ended
// at start and how far the consumer has read. With a group it also
// tracks the assignment, which its callbacks change on kgo's goroutine.
type consumeTracker struct {
	mu       sync.Mutex
	logStart map[consumeTP]int64
	end      map[consumeTP]int64
	pos      map[consumeTP]int64
	assigned map[consumeTP]bool
	err      error  // from a group callback; ends the run
	latest   bool   // the group's reset: a partition without a commit starts at its end
	wake     func() // cancels the poll when the end is reached or err is set
}

// done reports whether every assigned partition has reached its end.
func (t *consumeTracker) done() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.doneLocked()
}

func (t *consumeTracker) doneLocked() bool {
	if len(t.assigned) == 0 {
		return false
	}
	for tp := range t.assigned {
		if t.pos[tp] < t.end[tp] {
			return false
		}
	}
	return true
}

func (t *consumeTracker) failed() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

func (t *consumeTracker) advance(r *kgo.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tp := consumeTP{r.Topic, r.Partition}
	t.pos[tp] = max(t.pos[tp], r.Offset+1)
}

// assign adds a group's partitions, reading where the group will resume
// each: its committed offset, or the reset offset where it has none (or
// one the log no longer holds).
func (t *consumeTracker) assign(ctx context.Context, cl *kgo.Client, group string, m map[string][]int32) {
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err == nil {
		err = offs.Error()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.err = fmt.Errorf("fetch the offsets of group %s: %w", group, err)
		t.wake()
		return
	}
	for topic, ps := range m {
		for _, p := range ps {
			tp := consumeTP{topic, p}
			at := t.logStart[tp]
			if t.latest {
				at = t.end[tp]
			}
			if o, ok := offs.Lookup(topic, p); ok && o.At >= t.logStart[tp] {
				at = o.At
			}
			t.pos[tp] = max(t.pos[tp], at)
			t.assigned[tp] = true
		}
	}
	if t.doneLocked() {
		t.wake()
	}
}

func (t *consumeTracker) unassign(m map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for topic, ps := range m {
		for _, p := range ps {
			delete(t.assigned, consumeTP{topic, p})
		}
	}
}

// consumeRun looks the topics up, then prints records until a stop.
func consumeRun(ctx context.Context, o *consumeOptions, stdout, stderr io.Writer) error {
	tr, err := consumeLookup(ctx, o)
	if err != nil {
		return err
	}
	pollCtx, cancelPoll := context.WithCancel(ctx)
	defer cancelPoll()
	tr.wake = cancelPoll
	opts := append(admin.ClientOpts(o.brokers(), o.timeout), kgo.KeepControlRecords())
	if o.group == "" {
		starts := map[string]map[int32]kgo.Offset{}
		for tp := range tr.assigned {
			if starts[tp.topic] == nil {
				starts[tp.topic] = map[int32]kgo.Offset{}
			}
			starts[tp.topic][tp.partition] = kgo.NewOffset().At(tr.pos[tp])
		}
		opts = append(opts, kgo.ConsumePartitions(starts))
	} else {
		reset := kgo.NewOffset().AtStart()
		if tr.latest {
			reset = kgo.NewOffset().AtEnd()
		}
		opts = append(opts, kgo.ConsumerGroup(o.group), kgo.ConsumeTopics(o.topics...),
			kgo.ConsumeResetOffset(reset), kgo.AutoCommitMarks(),
			kgo.OnPartitionsAssigned(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
				actx, cancel := context.WithTimeout(ctx, o.timeout)
				defer cancel()
				tr.assign(actx, cl, o.group, m)
			}),
			// Overriding the revoke callback drops kgo's commit in it.
			kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
				cl.CommitMarkedOffsets(ctx)
				tr.unassign(m)
			}),
			kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { tr.unassign(m) }),
		)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer cl.Close()
	err = consumeLoop(pollCtx, cl, o, tr, stdout, stderr)
	if o.group != "" {
		cctx, cancel := context.WithTimeout(context.Background(), o.timeout)
		defer cancel()
		if cerr := cl.CommitMarkedOffsets(cctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("commit the offsets of group %s: %w", o.group, admin.Reach(o.brokers(), cerr)))
		}
	}
	return err
}

// consumeLoop polls and prints until the count, the end, a signal or a
// fatal fetch error.
func consumeLoop(ctx context.Context, cl *kgo.Client, o *consumeOptions, tr *consumeTracker, stdout, stderr io.Writer) error {
	w := bufio.NewWriter(stdout)
	var printed int64
	for {
		if err := tr.failed(); err != nil {
			return err
		}
		if (o.exitAtEnd && tr.done()) || (o.count > 0 && printed >= o.count) || ctx.Err() != nil {
			return nil
		}
		fetches := cl.PollFetches(ctx)
		var fatal error
		fetches.EachError(func(topic string, p int32, err error) {
			var loss *kgo.ErrDataLoss
			switch {
			case errors.Is(err, context.Canceled), errors.Is(err, kgo.ErrClientClosed), kerr.IsRetriable(err):
			case errors.As(err, &loss):
				fmt.Fprintf(stderr, "sluice consume: warning: %v\n", err)
			case fatal == nil:
				fatal = fmt.Errorf("topic %s partition %d: %w", topic, p, err)
			}
		})
		for it := fetches.RecordIter(); !it.Done() && (o.count == 0 || printed < o.count); {
			r := it.Next()
			tr.advance(r)
			if o.group != "" {
				cl.MarkCommitRecords(r)
			}
			if r.Attrs.IsControl() {
				continue // a transaction marker: it holds an offset, not data
			}
			w.Write(o.out.format(r))
			printed++
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		if fatal != nil {
			return fatal
		}
	}
}

// consumeLookup checks the topics and partitions and reads each
// partition's log start and end, from which it sets where a consumer
// without a group starts.
func consumeLookup(ctx context.Context, o *consumeOptions) (*consumeTracker, error) {
	cl, err := kgo.NewClient(admin.ClientOpts(o.brokers(), o.timeout)...)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	details, err := adm.ListTopics(ctx, o.topics...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", admin.Reach(o.brokers(), err))
	}
	tr := &consumeTracker{logStart: map[consumeTP]int64{}, end: map[consumeTP]int64{}, pos: map[consumeTP]int64{},
		assigned: map[consumeTP]bool{}, latest: o.start == "latest"}
	for _, topic := range o.topics {
		d, ok := details[topic]
		if !ok || d.Err != nil {
			return nil, fmt.Errorf("topic %s: %w", topic, cmp.Or(d.Err, errors.New("no such topic")))
		}
		for _, p := range o.partitions {
			if _, ok := d.Partitions[p]; !ok {
				return nil, fmt.Errorf("topic %s has no partition %d (it has %d)", topic, p, len(d.Partitions))
			}
		}
	}
	starts, err := adm.ListStartOffsets(ctx, o.topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list log start offsets: %w", admin.Reach(o.brokers(), err))
	}
	ends, err := adm.ListEndOffsets(ctx, o.topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", admin.Reach(o.brokers(), err))
	}
	var n int64
	if o.start != "earliest" && o.start != "latest" {
		n, _ = strconv.ParseInt(o.start, 10, 64) // checked by consumeParse
	}
	ends.Each(func(l kadm.ListedOffset) {
		tp := consumeTP{l.Topic, l.Partition}
		s, _ := starts.Lookup(l.Topic, l.Partition)
		tr.logStart[tp], tr.end[tp] = s.Offset, l.Offset
		if o.group != "" {
			return
		}
		if o.partitions != nil && !slices.Contains(o.partitions, l.Partition) {
			return
		}
		tr.assigned[tp] = true
		switch {
		case o.start == "earliest":
			tr.pos[tp] = s.Offset
		case o.start == "latest":
			tr.pos[tp] = l.Offset
		case n < 0:
			tr.pos[tp] = max(s.Offset, l.Offset+n)
		default:
			tr.pos[tp] = min(max(s.Offset, n), l.Offset)
		}
	})
	return tr, nil
}
