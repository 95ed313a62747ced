package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestKafkaPython drives the broker with kafka-python (Debian's
// python3-kafka): KafkaProducer(acks='all') in every codec it can use
// (none and gzip always; snappy, lz4 and zstd only when their Python
// modules are installed), KafkaConsumer with assign() and
// seek_to_beginning, beginning_offsets and end_offsets.
func TestKafkaPython(t *testing.T) {
	needPythonModule(t, "kafka-python (Debian package python3-kafka)", "kafka")
	runPythonClient(t, "kafka-python", "kafka_python_client.py", 10000, nil)
}

// TestConfluentKafkaPython drives the broker with confluent-kafka-python
// (Debian's python3-confluent-kafka, on librdkafka): a Producer with
// acks=all and idempotence on (InitProducerId, sequence numbers) in every codec, a Consumer that assigns
// every partition at the beginning, get_watermark_offsets. Every codec
// asked for must be stored compressed with it.
func TestConfluentKafkaPython(t *testing.T) {
	needPythonModule(t, "confluent-kafka-python (Debian package python3-confluent-kafka)", "confluent_kafka")
	runPythonClient(t, "confluent-kafka", "confluent_kafka_client.py", 10000, nil)
}

// pyRecord is a record as the scripts read and print it.
type pyRecord struct {
	P int32      `json:"p"`
	O int64      `json:"o"`
	K string     `json:"k"`
	V string     `json:"v"`
	H [][]string `json:"h"`
	T int64      `json:"t"`
	// Null is set from V's raw JSON: a record without a value.
	Null bool `json:"-"`
	// The consume command's last line.
	Offsets map[string][2]int64 `json:"offsets"`
}

func runPythonClient(t *testing.T, client, script string, n int, mayDowngrade []string) {
	script, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Version    string   `json:"version"`
		Librdkafka string   `json:"librdkafka"`
		Codecs     []string `json:"codecs"`
	}
	if err := json.Unmarshal(runTool(t, 30*time.Second, systemPython, script, "codecs"), &info); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s %s, codecs %v", client, info.Version, info.Librdkafka, info.Codecs)

	addr := startNode(t)
	topic := client + "-interop"
	createTopic(t, addr, topic)
	wants := makeRecords(client, n, info.Codecs, seqHeaders(client))

	dir := t.TempDir()
	start := time.Now()
	codecs, runs := byCodec(wants)
	delivered := map[string][2]int64{}
	for ci, codec := range codecs {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, w := range runs[ci] {
			h := [][]string{}
			for _, hd := range w.Headers {
				h = append(h, []string{hd.Key, hd.Value})
			}
			if err := enc.Encode(map[string]any{"k": w.Key, "v": w.Value, "h": h}); err != nil {
				t.Fatal(err)
			}
		}
		file := filepath.Join(dir, codec+".jsonl")
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out := runTool(t, 90*time.Second, systemPython, script, "produce", addr, topic, codec, file)
		reports := parsePy(t, out)
		if len(reports) != len(runs[ci]) {
			t.Fatalf("%s produce %s: %d delivery reports for %d records", client, codec, len(reports), len(runs[ci]))
		}
		for i, r := range reports {
			delivered[runs[ci][i].Value] = [2]int64{int64(r.P), r.O}
		}
	}
	produced := time.Since(start)

	start = time.Now()
	out := parsePy(t, runTool(t, 90*time.Second, systemPython, script, "consume", addr, topic,
		strconv.Itoa(partitions), strconv.Itoa(n), "60"))
	consumed := time.Since(start)
	if len(out) == 0 || out[len(out)-1].Offsets == nil {
		t.Fatalf("%s consume printed no offsets", client)
	}
	native := map[int32][2]int64{}
	for p, o := range out[len(out)-1].Offsets {
		pi, _ := strconv.Atoi(p)
		native[int32(pi)] = o
	}
	var gots []got
	for _, r := range out[:len(out)-1] {
		g := got{Partition: r.P, Offset: r.O, Key: r.K, Value: r.V}
		for _, h := range r.H {
			g.Headers = append(g.Headers, header{h[0], h[1]})
		}
		gots = append(gots, g)
	}
	verify(t, client, wants, gots, native, listOffsets(t, addr, topic))
	verifyDelivered(t, client, delivered, gots)
	t.Logf("%s: stored batches per codec %v", client, checkStoredCodecs(t, client, addr, topic, codecs, mayDowngrade))
	t.Logf("%s: %d records, codecs %v, produce %v, consume %v", client, n, codecs, produced.Round(time.Millisecond), consumed.Round(time.Millisecond))
}

func parsePy(t *testing.T, out []byte) []pyRecord {
	t.Helper()
	var recs []pyRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r pyRecord
		var raw struct {
			V json.RawMessage `json:"v"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("script printed %q: %v", sc.Text(), err)
		}
		if err := json.Unmarshal(sc.Bytes(), &raw); err == nil {
			r.Null = string(raw.V) == "null"
		}
		recs = append(recs, r)
	}
	return recs
}

// verifyDelivered checks that the partition and offset a producer was
// told for each record are where the consumer found it.
func verifyDelivered(t *testing.T, label string, delivered map[string][2]int64, gots []got) {
	t.Helper()
	bad := 0
	for _, g := range gots {
		d, ok := delivered[g.Value]
		if !ok || d != [2]int64{int64(g.Partition), g.Offset} {
			if bad++; bad <= 5 {
				t.Errorf("%s: record %q read at partition %d offset %d, producer was told %v (known %v)", label, g.Value, g.Partition, g.Offset, d, ok)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d delivery reports differ from what was read", label, bad)
	}
}
