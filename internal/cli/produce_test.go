package cli

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// produceTestMust runs the command line and fails the test unless it
// exits 0; it returns stdout.
func produceTestMust(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errs := runIn(stdin, args...)
	if code != 0 {
		t.Fatalf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
	}
	return out
}

func produceTestTopic(t *testing.T, b, name string, partitions int) {
	t.Helper()
	produceTestMust(t, "", "topic", "create", name, "--partitions", fmt.Sprint(partitions), "-b", b)
}

// produceTestMurmur2 is Kafka's murmur2 (Utils.murmur2), written out
// here as the oracle for where a keyed record must land.
func produceTestMurmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
	)
	n := len(data)
	h := seed ^ uint32(n)
	for i := 0; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> 24
		k *= m
		h *= m
		h ^= k
	}
	tail := n &^ 3
	switch n % 4 {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// produceTestKeyPartition is Kafka's default partition for a key.
func produceTestKeyPartition(key string, partitions int32) int32 {
	return (produceTestMurmur2([]byte(key)) & 0x7fffffff) % partitions
}

func TestProduceMurmur2Oracle(t *testing.T) {
	// Vectors from Kafka's UtilsTest.testMurmur2.
	for in, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := produceTestMurmur2([]byte(in)); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

// produceTestJSON parses consume --format json output.
func produceTestJSON(t *testing.T, out string) []recFmtJSONRecord {
	t.Helper()
	var recs []recFmtJSONRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var r recFmtJSONRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("consume json line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func produceTestHeads(r recFmtJSONRecord) string {
	var hs []string
	for _, h := range r.Headers {
		v := "<null>"
		if h.Value != nil {
			v = *h.Value
		}
		hs = append(hs, h.Key+"="+v+h.ValueEncoding)
	}
	return strings.Join(hs, ",")
}

// TestProduceKeysAndHeaders writes keyed lines with headers to a
// three-partition topic and checks where they land (Kafka's murmur2 of
// the key), what the summary says and what comes back.
func TestProduceKeysAndHeaders(t *testing.T) {
	b := startNode(t)
	produceTestTopic(t, b, "orders", 3)
	in := "alice\tbook\ndave\tpen\nalice\tlamp\ncarol\t\n\tno key\n"
	out := produceTestMust(t, in, "produce", "orders", "--key-separator", `\t`, "--header", "src=cli", "--header", "trace=a=b", "-b", b)
	if out != "" {
		t.Fatalf("produce printed %q on success; want nothing", out)
	}

	recs := produceTestJSON(t, produceTestMust(t, "", "consume", "orders", "-e", "--format", "json", "-b", b))
	if len(recs) != 5 {
		t.Fatalf("consumed %d records, want 5: %+v", len(recs), recs)
	}
	// Where each line must land: murmur2 picks the partition, and each
	// partition takes its lines in input order from offset 0.
	var want []string
	next := map[int32]int64{}
	for _, kv := range [][2]string{{"alice", "book"}, {"dave", "pen"}, {"alice", "lamp"}, {"carol", ""}, {"", "no key"}} {
		p := produceTestKeyPartition(kv[0], 3)
		want = append(want, fmt.Sprintf("p%d o%d %q=%q [src=cli,trace=a=b]", p, next[p], kv[0], kv[1]))
		next[p]++
	}
	var got []string
	for _, r := range recs {
		if r.Topic != "orders" || r.Key == nil || r.Value == nil || r.KeyEncoding != "" || r.ValueEncoding != "" {
			t.Fatalf("record %+v", r)
		}
		got = append(got, fmt.Sprintf("p%d o%d %q=%q [%s]", *r.Partition, *r.Offset, *r.Key, *r.Value, produceTestHeads(r)))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("consumed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if produceTestKeyPartition("alice", 3) == produceTestKeyPartition("dave", 3) {
		t.Fatal("the test wants alice and dave on different partitions")
	}

	// The summary names the partitions murmur2 chose.
	counts := map[int32]int{}
	for _, k := range []string{"dave", "erin", "dave"} {
		counts[produceTestKeyPartition(k, 3)]++
	}
	var parts []string
	for _, p := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("partition %d: %d", p, counts[p]))
	}
	summary := "produced 3 records to orders (" + strings.Join(parts, ", ") + ")\n"
	if got := produceTestMust(t, "dave:1\nerin:2\ndave:3\n", "produce", "orders", "--key-separator", ":", "-v", "-b", b); got != summary {
		t.Errorf("-v: %q, want %q", got, summary)
	}
	var sum produceSummary
	js := produceTestMust(t, "x\ny\n", "produce", "orders", "--partition", "2", "--json", "-b", b)
	if err := json.Unmarshal([]byte(js), &sum); err != nil || sum.Records != 2 || sum.Failed != 0 || len(sum.Partitions) != 1 || sum.Partitions[2] != 2 {
		t.Errorf("--json summary %q: %+v %v", js, sum, err)
	}
}

// TestProduceConsumeFormats checks every consume format byte for byte.
func TestProduceConsumeFormats(t *testing.T) {
	b := startNode(t)
	produceTestTopic(t, b, "fmt", 1)
	before := time.Now().Truncate(time.Millisecond)
	produceTestMust(t, "a:1\nb:2%\n", "produce", "fmt", "--key-separator", ":", "--header", "h=v", "--compression", "zstd", "-b", b)
	produceTestMust(t, `{"value":"/w==","value_encoding":"base64","headers":[{"key":"x","value":null},{"key":"x","value":"y"}]}`+"\n",
		"produce", "fmt", "--format", "json", "-b", b)
	after := time.Now()

	consume := func(args ...string) string {
		t.Helper()
		return produceTestMust(t, "", append([]string{"consume", "fmt", "-e", "-b", b}, args...)...)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "1\n2%\n\xff\n"},
		{[]string{"--format", "kv"}, "a\t1\nb\t2%\n\t\xff\n"},
		{[]string{"--format", "kv", "--key-separator", " => "}, "a => 1\nb => 2%\n => \xff\n"},
		{[]string{"--format", `%t/%p/%o %k=%v [%h] 100%%\n`}, "fmt/0/0 a=1 [h=v] 100%\nfmt/0/1 b=2% [h=v] 100%\nfmt/0/2 =\xff [x=,x=y] 100%\n"},
		{[]string{"--format", `%o\t`}, "0\t1\t2\t"},
	} {
		if got := consume(c.args...); got != c.want {
			t.Errorf("consume %q:\n got %q\nwant %q", c.args, got, c.want)
		}
	}

	stamps := strings.Fields(consume("--format", `%T\n`))
	if len(stamps) != 3 {
		t.Fatalf("%%T: %q", stamps)
	}
	for _, s := range stamps {
		var ms int64
		fmt.Sscan(s, &ms)
		if ts := time.UnixMilli(ms); ts.Before(before) || ts.After(after) {
			t.Errorf("%%T %s is outside [%v, %v]", s, before, after)
		}
	}

	out := consume("--json")
	stamp := regexp.MustCompile(`"timestamp":"([^"]+)"`)
	for _, m := range stamp.FindAllStringSubmatch(out, -1) {
		ts, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil || ts.Location() != time.UTC || ts.Before(before) || ts.After(after) {
			t.Errorf("timestamp %q: %v; want RFC 3339 in UTC within [%v, %v]", m[1], err, before, after)
		}
	}
	want := `{"topic":"fmt","partition":0,"offset":0,"timestamp":"T","key":"a","value":"1","headers":[{"key":"h","value":"v"}]}
{"topic":"fmt","partition":0,"offset":1,"timestamp":"T","key":"b","value":"2%","headers":[{"key":"h","value":"v"}]}
{"topic":"fmt","partition":0,"offset":2,"timestamp":"T","key":null,"value":"/w==","value_encoding":"base64","headers":[{"key":"x","value":null},{"key":"x","value":"y"}]}
`
	if got := stamp.ReplaceAllString(out, `"timestamp":"T"`); got != want {
		t.Errorf("consume --json:\n%s\nwant:\n%s", got, want)
	}
}

// TestProduceJSONInput checks the object form of headers, null keys and
// values, base64 and explicit partitions, then feeds the topic's JSON
// output back to produce and checks the copy.
func TestProduceJSONInput(t *testing.T) {
	b := startNode(t)
	produceTestTopic(t, b, "src", 2)
	produceTestTopic(t, b, "dst", 2)
	in := `{"key":"k1","value":"v1","headers":{"b":"2","a":"1"},"partition":1}

{"key":null,"value":null,"partition":0,"timestamp":"2024-05-06T07:08:09.01Z","offset":7,"topic":"elsewhere"}
{"key":"/wA=","key_encoding":"base64","value":"v3","headers":[{"key":"z","value":"AP8=","value_encoding":"base64"}],"partition":1}
`
	produceTestMust(t, in, "produce", "src", "--format", "json", "-b", b)
	src := produceTestMust(t, "", "consume", "src", "-e", "--json", "-b", b)
	produceTestMust(t, src, "produce", "dst", "--format", "json", "-b", b)
	dst := produceTestMust(t, "", "consume", "dst", "-e", "--json", "-b", b)

	for name, out := range map[string]string{"src": src, "dst": dst} {
		recs := produceTestJSON(t, out)
		slices.SortFunc(recs, func(x, y recFmtJSONRecord) int {
			return cmp.Or(cmp.Compare(*x.Partition, *y.Partition), cmp.Compare(*x.Offset, *y.Offset))
		})
		var got []string
		for _, r := range recs {
			k, v := "<null>", "<null>"
			if r.Key != nil {
				k = *r.Key + r.KeyEncoding
			}
			if r.Value != nil {
				v = *r.Value + r.ValueEncoding
			}
			got = append(got, fmt.Sprintf("%s p%d o%d %s=%s [%s]", r.Topic, *r.Partition, *r.Offset, k, v, produceTestHeads(r)))
		}
		want := []string{
			name + " p0 o0 <null>=<null> []",
			name + " p1 o0 k1=v1 [b=2,a=1]",
			name + " p1 o1 /wA=base64=v3 [z=AP8=base64]",
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
		if ts, err := time.Parse(time.RFC3339Nano, recs[0].Timestamp); err != nil || time.Since(ts) > time.Minute {
			t.Errorf("%s: timestamp %q (%v); want the time of writing, not the input's", name, recs[0].Timestamp, err)
		}
	}
}

// TestProduceErrors checks the exit codes and that each failure is
// named: a malformed line by its number.
func TestProduceErrors(t *testing.T) {
	b := startNode(t)
	produceTestTopic(t, b, "e", 1)
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		err   string
	}{
		{"k:v\nno separator\nk:w\n", []string{"--key-separator", ":"}, 1, `line 2: no key separator ":"`},
		{"abcd\nabcde\n", []string{"--max-line-bytes", "4"}, 1, "line 2: longer than --max-line-bytes (4)"},
		{"abcd\n" + strings.Repeat("x", 100) + "\n", []string{"--max-line-bytes", "4"}, 1, "line 2: longer than --max-line-bytes (4)"},
		{"abcd|abcde", []string{"--max-line-bytes", "4", "--delimiter", "|"}, 1, "line 2: longer than --max-line-bytes (4)"},
		{"{\"value\":\"a\"}\n{\"value\":\"b\",\"vale\":1}\n", []string{"--format", "json"}, 1, `line 2: json: json: unknown field "vale"`},
		{"{\"value\":\"a\"} {}\n", []string{"--format", "json"}, 1, "line 1: json: more than one value"},
		{"{\"value\":\"%%\",\"value_encoding\":\"hex\"}\n", []string{"--format", "json"}, 1, `line 1: value: encoding "hex"`},
		{"{\"value\":\"a\",\"headers\":7}\n", []string{"--format", "json"}, 1, "line 1: json: headers: want an object or an array"},
		{"x\n", []string{"--partition", "5"}, 1, "1 of 1 records failed; the first, line 1: partition 5:"},
		{"x\n", []string{"-b", "127.0.0.1:1", "--timeout", "1s"}, 1, "cannot reach the cluster at 127.0.0.1:1"},
		{"", []string{"--acks", "2"}, 2, `--acks "2": want all, 1 or 0`},
		{"", []string{"--compression", "brotli"}, 2, `--compression "brotli"`},
		{"", []string{"--format", "csv"}, 2, `--format "csv": want line or json`},
		{"", []string{"--format", "json", "--key-separator", ":"}, 2, "--key-separator applies to --format line only"},
		{"", []string{"--header", "novalue"}, 2, `--header "novalue": want key=value`},
		{"", []string{"--key-separator", `\q`}, 2, `unknown escape \q`},
		{"", []string{"--max-line-bytes", "0"}, 2, "--max-line-bytes must be positive"},
		{"", []string{"--partition", "-2"}, 2, "--partition -2"},
		{"", []string{"e2"}, 2, "want one topic, have 2"},
		{"", []string{"--bogus"}, 2, "flag provided but not defined: -bogus"},
	} {
		args := append([]string{"produce", "e", "-b", b, "--timeout", "5s"}, c.args...)
		code, out, errs := runIn(c.stdin, args...)
		if code != c.code || !strings.Contains(errs, c.err) || out != "" {
			t.Errorf("%q < %q: exit %d, stdout %q, stderr %q; want %d and %q", args, c.stdin, code, out, errs, c.code, c.err)
		}
	}
	code, _, errs := runIn("", "produce")
	if code != 2 || !strings.Contains(errs, "want one topic, have 0") || !strings.Contains(errs, "usage: sluice produce") {
		t.Errorf("produce without a topic: exit %d, stderr %q", code, errs)
	}
	// The lines before a malformed one were written; the max-line-bytes
	// boundary (a 4-byte line under a limit of 4) was accepted.
	if got, want := produceTestMust(t, "", "consume", "e", "-e", "--format", "kv", "--key-separator", ":", "-b", b), "k:v\n:abcd\n:abcd\n:abcd\n:a\n"; got != want {
		t.Errorf("after the errors the topic holds %q, want %q", got, want)
	}
}

// TestProduceAcksAndCompression writes one record with each setting
// and reads them all back.
func TestProduceAcksAndCompression(t *testing.T) {
	b := startNode(t)
	produceTestTopic(t, b, "c", 1)
	var want []string
	for _, acks := range []string{"all", "1", "0"} {
		for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
			v := acks + "/" + codec
			produceTestMust(t, v+"\n", "produce", "c", "--acks", acks, "--compression", codec, "-b", b)
			want = append(want, v)
		}
	}
	// An acks=0 write is not known to be in the log, nor in order with
	// later writes, when produce returns: wait for the count instead of
	// stopping at the end.
	done := make(chan string, 1)
	go func() {
		_, out, _ := runIn("", "consume", "c", "--count", fmt.Sprint(len(want)), "-b", b)
		done <- out
	}()
	select {
	case out := <-done:
		got := strings.Fields(out)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("consume: %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("consume --count %d did not finish in 10s", len(want))
	}
}
