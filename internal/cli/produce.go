package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-mq/sluice/internal/admin"
)

const produceUsage = `usage: sluice produce TOPIC [flags] < input

Reads records from stdin, one per line, writes them to TOPIC (acks=all and
idempotent by default) and flushes. Input stops at the first malformed line,
which is reported with its number; the lines before it have been written.
Exit 1 if any record fails.

  --format line|json     line (default): each line is a value, or key SEP value
                         with --key-separator; json: each line is an object
                         {"key": "k", "value": "v", "headers": {"h": "v"}, "partition": 0}
                         (key, value and header values may be null; headers may
                         also be [{"key": "h", "value": "v"}]; "key_encoding" or
                         "value_encoding": "base64" for binary; topic, offset and
                         timestamp are ignored, so consume --format json output can
                         be fed back); blank lines are skipped
  --key-separator SEP    each line is key SEP value (line format only)
  --delimiter SEP        separates records instead of a newline
  --header k=v           a header on every record (repeatable)
  --partition N          write to partition N (default: the key's murmur2 hash,
                         as Kafka's clients do; records without a key are spread)
  --acks all|1|0         default all
  --compression none|gzip|snappy|lz4|zstd   default none
  --max-line-bytes N     a longer line is an error (default 1048576)
  -v                     print a summary line: records and partitions
  --json                 print the summary as JSON
  -b/--bootstrap-server host:port[,host:port]  default 127.0.0.1:9092
  --timeout              how long to wait for the cluster and for each record (default 15s)

SEP, the delimiter and header values take the escapes \t \n \r \0 \\.
`

// produceOptions is a parsed `sluice produce` command line.
type produceOptions struct {
	adminFlags
	topic        string
	format       string
	keySep       []byte
	delim        []byte
	headers      []kgo.RecordHeader
	partition    int32 // -1: the partitioner chooses
	acks         string
	compression  string
	maxLineBytes int
	verbose      bool
}

// produceSummary is what -v and --json report.
type produceSummary struct {
	Topic      string          `json:"topic"`
	Records    int64           `json:"records"`
	Failed     int64           `json:"failed"`
	Partitions map[int32]int64 `json:"partitions"`
}

// runProduce runs `sluice produce TOPIC`.
func runProduce(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, code := produceParse(args, stderr)
	if code != 0 {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	sum, err := produceRun(ctx, stop, o, stdin)
	if o.json {
		b, _ := json.Marshal(sum)
		fmt.Fprintf(stdout, "%s\n", b)
	} else if o.verbose {
		fmt.Fprintln(stdout, produceDescribe(sum))
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice produce: %v\n", err)
		return 1
	}
	return 0
}

func produceParse(args []string, stderr io.Writer) (*produceOptions, int) {
	fs := commandFlags("produce", produceUsage, stderr)
	o := &produceOptions{}
	o.adminFlags.register(fs)
	var keySep, delim string
	var headers listFlag
	partition := fs.Int("partition", -1, "")
	fs.StringVar(&o.format, "format", "line", "")
	fs.StringVar(&keySep, "key-separator", "", "")
	fs.StringVar(&delim, "delimiter", `\n`, "")
	fs.Var(&headers, "header", "")
	fs.StringVar(&o.acks, "acks", "all", "")
	fs.StringVar(&o.compression, "compression", "none", "")
	fs.IntVar(&o.maxLineBytes, "max-line-bytes", 1<<20, "")
	fs.BoolVar(&o.verbose, "v", false, "")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, 2
	}
	usageErr := func(format string, args ...any) (*produceOptions, int) {
		return nil, usageFailure(stderr, "produce", produceUsage, format, args...)
	}
	if len(pos) != 1 {
		return usageErr("want one topic, have %d", len(pos))
	}
	o.topic = pos[0]
	switch {
	case o.format != "line" && o.format != "json":
		return usageErr("--format %q: want line or json", o.format)
	case o.format == "json" && keySep != "":
		return usageErr("--key-separator applies to --format line only")
	case *partition < -1 || *partition > 1<<31-1:
		return usageErr("--partition %d: want a partition number", *partition)
	case !slices.Contains([]string{"all", "-1", "1", "0"}, o.acks):
		return usageErr("--acks %q: want all, 1 or 0", o.acks)
	case !slices.Contains([]string{"none", "gzip", "snappy", "lz4", "zstd"}, o.compression):
		return usageErr("--compression %q: want none, gzip, snappy, lz4 or zstd", o.compression)
	case o.maxLineBytes <= 0:
		return usageErr("--max-line-bytes must be positive")
	}
	o.partition = int32(*partition)
	for _, s := range []struct {
		name string
		in   string
		out  *[]byte
	}{{"--key-separator", keySep, &o.keySep}, {"--delimiter", delim, &o.delim}} {
		v, err := recFmtUnescape(s.in)
		if err != nil {
			return usageErr("%s: %v", s.name, err)
		}
		*s.out = []byte(v)
	}
	if len(o.delim) == 0 {
		return usageErr("--delimiter must not be empty")
	}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			return usageErr("--header %q: want key=value", h)
		}
		v, err := recFmtUnescape(v)
		if err != nil {
			return usageErr("--header: %v", err)
		}
		o.headers = append(o.headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return o, 0
}

// produceLine is one parsed input record, or the error that ends the
// input.
type produceLine struct {
	rec  *kgo.Record
	line int
	err  error
}

// produceRun writes stdin's records and waits for every answer. A
// signal stops the reading; what was read is still flushed (a second
// signal, after stop, ends the process).
func produceRun(ctx context.Context, stop func(), o *produceOptions, stdin io.Reader) (*produceSummary, error) {
	sum := &produceSummary{Topic: o.topic, Partitions: map[int32]int64{}}
	opts := append(admin.ClientOpts(o.brokers(), o.timeout),
		kgo.DefaultProduceTopic(o.topic),
		kgo.AllowAutoTopicCreation(), // as Kafka's producers do, when the broker allows it
		kgo.RecordPartitioner(producePartitioner{kgo.UniformBytesPartitioner(64<<10, true, true, nil)}),
		kgo.RecordDeliveryTimeout(o.timeout),
		kgo.MaxBufferedBytes(64<<20),
	)
	popts, err := admin.ProducerOpts(o.acks, o.compression) // checked by produceParse
	if err != nil {
		return sum, err
	}
	cl, err := kgo.NewClient(append(opts, popts...)...)
	if err != nil {
		return sum, fmt.Errorf("client: %w", err)
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, o.timeout)
	err = cl.Ping(pctx)
	cancel()
	if err != nil {
		return sum, admin.Reach(o.brokers(), err)
	}

	var (
		mu       sync.Mutex
		firstErr error
	)
	lines := make(chan produceLine)
	quit := make(chan struct{})
	defer close(quit)
	go produceRead(o, stdin, lines, quit)
	var inputErr error
read:
	for {
		select {
		case <-ctx.Done():
			break read
		case l, ok := <-lines:
			if !ok {
				break read
			}
			if l.err != nil {
				inputErr = fmt.Errorf("line %d: %w", l.line, l.err)
				break read
			}
			named := l.rec.Partition // kgo sets the field once it has placed the record
			cl.Produce(context.Background(), l.rec, func(r *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					sum.Failed++
					if firstErr == nil && named >= 0 {
						firstErr = fmt.Errorf("line %d: partition %d: %w", l.line, named, admin.Reach(o.brokers(), err))
					} else if firstErr == nil {
						firstErr = fmt.Errorf("line %d: %w", l.line, admin.Reach(o.brokers(), err))
					}
					return
				}
				sum.Records++
				sum.Partitions[r.Partition]++
			})
		}
	}
	stop()
	cl.Flush(context.Background()) // bounded by the delivery timeout
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		firstErr = fmt.Errorf("%d of %d records failed; the first, %w", sum.Failed, sum.Failed+sum.Records, firstErr)
	}
	return sum, errors.Join(firstErr, inputErr)
}

// produceRead parses records from stdin until its end, the first
// malformed line, or quit.
func produceRead(o *produceOptions, stdin io.Reader, out chan<- produceLine, quit <-chan struct{}) {
	defer close(out)
	sc := bufio.NewScanner(stdin)
	limit := o.maxLineBytes + len(o.delim) + 1 // the delimiter must fit beside a longest line
	sc.Buffer(make([]byte, min(64<<10, limit)), limit)
	sc.Split(produceSplit(o.delim))
	send := func(l produceLine) bool {
		select {
		case out <- l:
			return l.err == nil
		case <-quit:
			return false
		}
	}
	n := 0
	for sc.Scan() {
		n++
		tok := sc.Bytes()
		if len(tok) > o.maxLineBytes {
			send(produceLine{line: n, err: fmt.Errorf("longer than --max-line-bytes (%d)", o.maxLineBytes)})
			return
		}
		if o.format == "json" && len(bytes.TrimSpace(tok)) == 0 {
			continue
		}
		r, err := produceParseLine(o, tok)
		if !send(produceLine{rec: r, line: n, err: err}) {
			return
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		send(produceLine{line: n + 1, err: fmt.Errorf("longer than --max-line-bytes (%d)", o.maxLineBytes)})
	} else if err != nil {
		send(produceLine{line: n + 1, err: fmt.Errorf("read stdin: %w", err)})
	}
}

// produceSplit splits input at delim; a last record needs no delimiter.
func produceSplit(delim []byte) bufio.SplitFunc {
	return func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.Index(data, delim); i >= 0 {
			return i + len(delim), data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	}
}

// produceParseLine builds a record from one line; line is reused by the
// scanner, so the record copies what it keeps.
func produceParseLine(o *produceOptions, line []byte) (*kgo.Record, error) {
	r := &kgo.Record{Partition: o.partition, Headers: o.headers}
	if o.format == "json" {
		return r, produceParseJSON(r, line)
	}
	if len(o.keySep) == 0 {
		r.Value = bytes.Clone(line)
		if r.Value == nil {
			r.Value = []byte{}
		}
		return r, nil
	}
	k, v, ok := bytes.Cut(line, o.keySep)
	if !ok {
		return nil, fmt.Errorf("no key separator %q", o.keySep)
	}
	r.Key, r.Value = append([]byte{}, k...), append([]byte{}, v...)
	return r, nil
}

func produceParseJSON(r *kgo.Record, line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var j recFmtJSONRecord
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("json: %w", err)
	}
	if dec.More() {
		return errors.New("json: more than one value on the line")
	}
	var err error
	if r.Key, err = recFmtDecode(j.Key, j.KeyEncoding); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if r.Value, err = recFmtDecode(j.Value, j.ValueEncoding); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	if j.Partition != nil {
		if *j.Partition < 0 {
			return fmt.Errorf("partition %d: want a partition number", *j.Partition)
		}
		r.Partition = *j.Partition
	}
	if len(j.Headers) > 0 {
		r.Headers = slices.Clone(r.Headers)
	}
	for _, h := range j.Headers {
		v, err := recFmtDecode(h.Value, h.ValueEncoding)
		if err != nil {
			return fmt.Errorf("header %s: %w", h.Key, err)
		}
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: v})
	}
	return nil
}

// produceDescribe is the -v summary line.
func produceDescribe(s *produceSummary) string {
	parts := make([]string, 0, len(s.Partitions))
	for _, p := range slices.Sorted(maps.Keys(s.Partitions)) {
		parts = append(parts, fmt.Sprintf("partition %d: %d", p, s.Partitions[p]))
	}
	msg := fmt.Sprintf("produced %d records to %s", s.Records, s.Topic)
	if len(parts) > 0 {
		msg += " (" + strings.Join(parts, ", ") + ")"
	}
	if s.Failed > 0 {
		msg += "; " + strconv.FormatInt(s.Failed, 10) + " failed"
	}
	return msg
}

// producePartitioner honours a record's own partition (>= 0) and hands
// the others to kgo's default partitioner: the key's murmur2 hash, as
// Kafka's Java client computes it, or sticky batches for records
// without a key.
type producePartitioner struct{ def kgo.Partitioner }

func (p producePartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &produceTopicPartitioner{p.def.ForTopic(topic).(kgo.TopicBackupPartitioner)}
}

type produceTopicPartitioner struct{ def kgo.TopicBackupPartitioner }

// RequiresConsistency makes kgo offer every partition, in order, when a
// record names one, so the index it returns is that partition.
func (p *produceTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return r.Partition >= 0 || p.def.RequiresConsistency(r)
}

func (p *produceTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Partition >= 0 {
		return int(r.Partition)
	}
	return p.def.Partition(r, n)
}

func (p *produceTopicPartitioner) PartitionByBackup(r *kgo.Record, n int, backup kgo.TopicBackupIter) int {
	if r.Partition >= 0 {
		return int(r.Partition)
	}
	return p.def.PartitionByBackup(r, n, backup)
}
