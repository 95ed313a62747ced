// Package interop drives a real in-process Sluice node with Kafka clients
// other than franz-go (which internal/node covers): kcat (librdkafka),
// kafka-python, confluent-kafka-python, sarama and segmentio/kafka-go.
//
// Each test creates a 3-partition topic, produces keyed records with
// acks=all (and headers where the client has them), reads every partition
// back from the beginning with assigned partitions (no consumer groups) and
// checks order, keys, values, headers, loss, duplicates and ListOffsets.
//
// A test whose client is not installed is skipped, except under CI=true,
// where it fails: .ci/run installs the Debian packages.
package interop

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/node"
)

const (
	partitions = 3
	// numKeys keys spread over the records: several records per key, so
	// a keyed partitioner must send each key to a single partition.
	numKeys = 97
)

// codecs are the compression codecs, named as kcat, librdkafka and
// kafka-python name them.
var allCodecs = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// systemPython is Debian's interpreter: the Debian packages of the Python
// clients import only under it, not under another python3 on PATH.
const systemPython = "/usr/bin/python3"

// needTool skips the test when a client is missing, unless CI=true, where
// a missing client is a failure.
func needTool(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true but unavailable: %v (.ci/run installs it)", what, err)
	}
	t.Skipf("%s not available, skipping: %v (install it, e.g. apt-get install -y kcat python3-kafka python3-confluent-kafka)", what, err)
}

// needPythonModule checks that Debian's python3 imports module.
func needPythonModule(t *testing.T, pkg, module string) {
	t.Helper()
	err := func() error {
		if _, err := os.Stat(systemPython); err != nil {
			return err
		}
		out, err := exec.Command(systemPython, "-c", "import "+module).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s -c 'import %s': %v: %s", systemPython, module, err, strings.TrimSpace(string(out)))
		}
		return nil
	}()
	needTool(t, pkg, err)
}

// startNode runs a single-node broker on a free loopback port with its
// data in a fresh temporary directory, shut down when the test ends;
// extra are more key=value settings.
func startNode(t *testing.T, extra ...string) string {
	t.Helper()
	args := append([]string{"log.dir=" + t.TempDir(), "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:9093"}, extra...)
	cfg, err := config.Load(nil, args, config.ProfileSingleNode)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := node.Start(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return n.Addr().String()
}

// createTopic creates a 3-partition topic with franz-go's CreateTopics.
func createTopic(t *testing.T, addr, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 10000
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = topic, partitions, 1
	req.Topics = append(req.Topics, ct)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("CreateTopics %s: %v", topic, err)
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("CreateTopics %s: %+v", topic, resp.Topics)
	}
}

// header is one record header.
type header struct{ Key, Value string }

// want is one record as produced.
type want struct {
	Key, Value string
	Headers    []header
	Codec      string
}

// got is one record as consumed.
type got struct {
	Partition int32
	Offset    int64
	Key       string
	Value     string
	Headers   []header
}

// makeRecords builds n records for client, split into equal consecutive
// runs, one per codec. Values are unique, carry no space, colon, comma or
// newline (kcat's line formats) and vary in length so batches compress.
// headers gives the headers of record i (nil for none).
func makeRecords(client string, n int, codecs []string, headers func(i int, codec string) []header) []want {
	recs := make([]want, n)
	per := (n + len(codecs) - 1) / len(codecs)
	for i := range recs {
		codec := codecs[i/per]
		recs[i] = want{
			Key:   fmt.Sprintf("key-%02d", i%numKeys),
			Value: fmt.Sprintf("%s.%s.%05d.%s", client, codec, i, strings.Repeat(string(rune('a'+i%26)), i%64)),
			Codec: codec,
		}
		if headers != nil {
			recs[i].Headers = headers(i, codec)
		}
	}
	return recs
}

// seqHeaders are the headers of the clients that set them per record.
func seqHeaders(client string) func(int, string) []header {
	return func(i int, codec string) []header {
		return []header{{"client", client}, {"seq", fmt.Sprint(i)}, {"codec", codec}}
	}
}

// byCodec splits records into their codec runs, in order.
func byCodec(recs []want) (codecs []string, runs [][]want) {
	for i, r := range recs {
		if i == 0 || r.Codec != recs[i-1].Codec {
			codecs = append(codecs, r.Codec)
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], r)
	}
	return codecs, runs
}

// listOffsets asks the broker, through franz-go's ListOffsets, for every
// partition's earliest and latest offsets.
func listOffsets(t *testing.T, addr, topic string) map[int32][2]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out := map[int32][2]int64{}
	for i, ts := range []int64{-2, -1} {
		req := kmsg.NewPtrListOffsetsRequest()
		req.ReplicaID = -1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for p := range int32(partitions) {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = p, ts, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("ListOffsets timestamp %d: %v", ts, err)
		}
		for _, tp := range resp.Topics {
			for _, pp := range tp.Partitions {
				if pp.ErrorCode != 0 {
					t.Fatalf("ListOffsets timestamp %d partition %d: error code %d", ts, pp.Partition, pp.ErrorCode)
				}
				o := out[pp.Partition]
				o[i] = pp.Offset
				out[pp.Partition] = o
			}
		}
	}
	return out
}

// verify checks what a client read back against what it produced:
// every record exactly once, each partition's offsets contiguous from 0
// in the order produced, keys, values and headers intact, each key in a
// single partition, all partitions used, and offsets[p] = {0, count of p}
// for every map of ListOffsets results given.
func verify(t *testing.T, label string, wants []want, gots []got, offsets ...map[int32][2]int64) {
	t.Helper()
	index := make(map[string]int, len(wants))
	for i, w := range wants {
		index[w.Value] = i
	}
	seen := make([]bool, len(wants))
	count := map[int32]int64{}
	last := map[int32]int{}
	keyPart := map[string]int32{}
	bad := 0
	fail := func(format string, args ...any) {
		bad++
		if bad <= 10 {
			t.Errorf(label+": "+format, args...)
		}
	}
	for _, g := range gots {
		i, ok := index[g.Value]
		switch {
		case !ok:
			fail("partition %d offset %d: unexpected value %q", g.Partition, g.Offset, g.Value)
			continue
		case seen[i]:
			fail("partition %d offset %d: duplicate of record %d", g.Partition, g.Offset, i)
			continue
		}
		seen[i] = true
		w := wants[i]
		if g.Partition < 0 || g.Partition >= partitions {
			fail("record %d in partition %d", i, g.Partition)
		}
		if g.Offset != count[g.Partition] {
			fail("partition %d: record %d at offset %d, want %d", g.Partition, i, g.Offset, count[g.Partition])
		}
		count[g.Partition]++
		if l, ok := last[g.Partition]; ok && i < l {
			fail("partition %d offset %d: record %d after record %d (out of order)", g.Partition, g.Offset, i, l)
		}
		last[g.Partition] = i
		if g.Key != w.Key {
			fail("record %d: key %q, want %q", i, g.Key, w.Key)
		}
		if !slices.Equal(g.Headers, w.Headers) && !(len(g.Headers) == 0 && len(w.Headers) == 0) {
			fail("record %d: headers %v, want %v", i, g.Headers, w.Headers)
		}
		if p, ok := keyPart[g.Key]; ok && p != g.Partition {
			fail("key %q in partitions %d and %d", g.Key, p, g.Partition)
		}
		keyPart[g.Key] = g.Partition
	}
	missing := 0
	for i, s := range seen {
		if !s {
			if missing < 5 {
				t.Errorf("%s: record %d (%q) was not read back", label, i, wants[i].Value)
			}
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%s: %d of %d records missing", label, missing, len(wants))
	}
	for p := range int32(partitions) {
		if count[p] == 0 {
			t.Errorf("%s: partition %d got no records", label, p)
		}
	}
	for j, offs := range offsets {
		for p := range int32(partitions) {
			o, ok := offs[p]
			if !ok || o != [2]int64{0, count[p]} {
				t.Errorf("%s: ListOffsets #%d partition %d: earliest/latest %v (present %v), want [0 %d]", label, j, p, o, ok, count[p])
			}
		}
	}
	if bad > 10 {
		t.Errorf("%s: %d problems in all", label, bad)
	}
	t.Logf("%s: %d records read back, partitions %d/%d/%d", label, len(gots), count[0], count[1], count[2])
}

// codecNames are the record batch attribute's compression codecs.
var codecNames = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// checkStoredCodecs fetches every partition raw, with franz-go's Fetch,
// and checks the codecs of the stored record batches: each is one the
// client was asked for (or none), and each codec asked for is used by
// some batch — proof that it reached the broker — except the codecs in
// mayDowngrade, which the client may have sent uncompressed (logged). It
// returns the number of batches per codec.
func checkStoredCodecs(t *testing.T, label, addr, topic string, codecs, mayDowngrade []string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	latest := listOffsets(t, addr, topic)
	// Fetch v13 and later name topics by id only.
	mreq := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	mreq.Topics = append(mreq.Topics, mt)
	mresp, err := mreq.RequestWith(ctx, cl)
	if err != nil || len(mresp.Topics) != 1 || mresp.Topics[0].ErrorCode != 0 {
		t.Fatalf("%s: Metadata %s: %v %+v", label, topic, err, mresp)
	}
	batches := map[string]int{}
	for p := range int32(partitions) {
		for off := int64(0); off < latest[p][1]; {
			req := kmsg.NewPtrFetchRequest()
			req.ReplicaID, req.MaxWaitMillis, req.MaxBytes = -1, 100, 64<<20
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = topic, mresp.Topics[0].TopicID
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LogStartOffset = p, off, 16<<20, -1, -1
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatalf("%s: raw Fetch partition %d offset %d: %v", label, p, off, err)
			}
			if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
				t.Fatalf("%s: raw Fetch partition %d offset %d: %+v", label, p, off, resp.Topics)
			}
			raw := resp.Topics[0].Partitions[0].RecordBatches
			start := off
			for len(raw) >= 61 {
				size := 12 + int(binary.BigEndian.Uint32(raw[8:12]))
				if size > len(raw) {
					break // a partial batch at the end of the response
				}
				var b kmsg.RecordBatch
				if err := b.ReadFrom(raw[:size]); err != nil {
					t.Fatalf("%s: partition %d: stored batch at offset %d: %v", label, p, off, err)
				}
				batches[codecNames[b.Attributes&7]]++
				off = b.FirstOffset + int64(b.LastOffsetDelta) + 1
				raw = raw[size:]
			}
			if off == start {
				t.Fatalf("%s: raw Fetch partition %d offset %d returned no whole batch", label, p, off)
			}
		}
	}
	for _, c := range codecs {
		switch {
		case batches[c] > 0:
		case slices.Contains(mayDowngrade, c):
			t.Logf("%s: the client sent %s uncompressed: no stored batch uses it", label, c)
		default:
			t.Errorf("%s: no stored batch uses %s (batches per codec %v)", label, c, batches)
		}
	}
	for c := range batches {
		if c != "none" && !slices.Contains(codecs, c) {
			t.Errorf("%s: %d stored batches use %s, not asked for (batches per codec %v)", label, batches[c], c, batches)
		}
	}
	return batches
}

// librdkafka 2.0.2 (kcat, confluent-kafka) compresses with a codec only
// when the broker's ApiVersions suits it: gzip, snappy and lz4 need Produce
// v0 listed (Sluice lists it and refuses v0-2 records, as Kafka 4.0 does:
// KAFKA-18659), and lz4 also needs FindCoordinator (rdkafka_feature.c).
// Sluice serves both, so every codec asked for must be stored.
