// Command kafkakeys lists every configuration key an Apache Kafka broker
// accepts, and every topic-level key, with its type, default and validator,
// by reading the ConfigDef definitions in Kafka's Java source as text. It
// writes the list that internal/config's completeness test checks the
// registry against (testdata/kafka-keys.txt).
//
// It reads a git directory (a bare clone or mirror of apache/kafka) and
// never builds or runs anything from it:
//
//	go run ./internal/config/testdata/kafkakeys -git-dir /path/to/kafka.git > internal/config/testdata/kafka-keys.txt
//
// The broker key set is AbstractKafkaConfig.CONFIG_DEF (what KafkaConfig
// validates against): the ConfigDefs named in defs below. The topic key
// set is LogConfig's topic ConfigDef. Default expressions are evaluated
// with a small Java constant-expression evaluator; the few it cannot
// evaluate (method calls on enums) come from the manual table, each checked
// against the source by hand. An expression that is neither evaluable nor
// in the table is a fatal error, so nothing is silently missed.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path"
	"sort"
	"strconv"
	"strings"
)

// defs are the ConfigDefs whose keys are listed: the class, the field or
// method that holds the definition chain, and the scope of its keys.
var defs = []struct{ class, field, scope string }{
	// AbstractKafkaConfig.CONFIG_DEF merges these (in this order).
	{"RemoteLogManagerConfig", "configDef()", "broker"},
	{"ZkConfigs", "CONFIG_DEF", "broker"},
	{"ServerConfigs", "CONFIG_DEF", "broker"},
	{"KRaftConfigs", "CONFIG_DEF", "broker"},
	{"SocketServerConfigs", "CONFIG_DEF", "broker"},
	{"ReplicationConfigs", "CONFIG_DEF", "broker"},
	{"GroupCoordinatorConfig", "GROUP_COORDINATOR_CONFIG_DEF", "broker"},
	{"GroupCoordinatorConfig", "NEW_GROUP_CONFIG_DEF", "broker"},
	{"GroupCoordinatorConfig", "OFFSET_MANAGEMENT_CONFIG_DEF", "broker"},
	{"GroupCoordinatorConfig", "CONSUMER_GROUP_CONFIG_DEF", "broker"},
	{"GroupCoordinatorConfig", "SHARE_GROUP_CONFIG_DEF", "broker"},
	{"CleanerConfig", "CONFIG_DEF", "broker"},
	{"LogConfig", "SERVER_CONFIG_DEF", "broker"},
	{"ShareGroupConfig", "CONFIG_DEF", "broker"},
	{"ShareCoordinatorConfig", "CONFIG_DEF", "broker"},
	{"TransactionLogConfig", "CONFIG_DEF", "broker"},
	{"TransactionStateManagerConfig", "CONFIG_DEF", "broker"},
	{"QuorumConfig", "CONFIG_DEF", "broker"},
	{"MetricConfigs", "CONFIG_DEF", "broker"},
	{"QuotaConfig", "CONFIG_DEF", "broker"},
	{"BrokerSecurityConfigs", "CONFIG_DEF", "broker"},
	{"DelegationTokenManagerConfigs", "CONFIG_DEF", "broker"},
	{"PasswordEncoderConfigs", "CONFIG_DEF", "broker"},
	// Broker keys that can only be set dynamically (DynamicConfig.Broker
	// adds these to the dynamic subset of the keys above).
	{"QuotaConfig", "brokerQuotaConfigs()", "broker"},
	// LogConfig's topic-level ConfigDef, filled in a static block.
	{"LogConfig", "CONFIG.", "topic"},
}

// manual holds the values of default expressions the evaluator cannot
// compute, each read from the named source.
var manual = map[string]value{
	// Records.LOG_OVERHEAD = OFFSET_LENGTH (8) + SIZE_LENGTH (4).
	"Records.LOG_OVERHEAD": intv(12),
	// LegacyRecord.RECORD_OVERHEAD_V0 = 14.
	"LegacyRecord.RECORD_OVERHEAD_V0": intv(14),
	// BrokerCompressionType.PRODUCER is constructed with name "producer".
	"BrokerCompressionType.PRODUCER.name": strv("producer"),
	// CompressionType.GZIP: GzipCompression.DEFAULT_LEVEL =
	// Deflater.DEFAULT_COMPRESSION (-1); LZ4Compression.DEFAULT_LEVEL = 9;
	// ZstdCompression.DEFAULT_LEVEL = Zstd.defaultCompressionLevel() (3).
	"CompressionType.GZIP.defaultLevel()": intv(-1),
	"CompressionType.LZ4.defaultLevel()":  intv(9),
	"CompressionType.ZSTD.defaultLevel()": intv(3),
	// MetadataVersion.IBP_3_0_IV1 is "3.0-IV1".
	"IBP_3_0_IV1.version()": strv("3.0-IV1"),
	// MetadataVersion.LATEST_PRODUCTION is IBP_4_0_IV0 at this commit.
	"MetadataVersion.latestProduction().version()": strv("4.0-IV0"),
	// Built from a HashMap of every SecurityProtocol; Kafka's generated
	// documentation shows this order.
	"SocketServerConfigs.LISTENER_SECURITY_PROTOCOL_MAP_DEFAULT": strv("SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"),
	// SecurityProtocol.PLAINTEXT.toString() is the enum name.
	"ReplicationConfigs.INTER_BROKER_SECURITY_PROTOCOL_DEFAULT": strv("PLAINTEXT"),
	// Group.GroupType.CLASSIC/CONSUMER.toString() are "classic", "consumer".
	"GroupCoordinatorConfig.GROUP_COORDINATOR_REBALANCE_PROTOCOLS_DEFAULT": {k: kList, list: []value{strv("classic"), strv("consumer")}},
	// UniformAssignor.class.getName(), RangeAssignor.class.getName().
	"GroupCoordinatorConfig.CONSUMER_GROUP_ASSIGNORS_DEFAULT": {k: kList, list: []value{
		strv("org.apache.kafka.coordinator.group.assignor.UniformAssignor"),
		strv("org.apache.kafka.coordinator.group.assignor.RangeAssignor")}},
	// ConsumerGroupMigrationPolicy.BIDIRECTIONAL's name.
	"GroupCoordinatorConfig.CONSUMER_GROUP_MIGRATION_POLICY_DEFAULT": strv("bidirectional"),
	// CompressionType.NONE.id is 0.
	"(int) OFFSETS_TOPIC_COMPRESSION_CODEC_DEFAULT.id": intv(0),
	"(int) STATE_TOPIC_COMPRESSION_CODEC_DEFAULT.id":   intv(0),
	// JmxReporter.class.getName().
	"MetricConfigs.METRIC_REPORTER_CLASSES_DEFAULT": strv("org.apache.kafka.common.metrics.JmxReporter"),
	// DefaultKafkaPrincipalBuilder.class.
	"BrokerSecurityConfigs.PRINCIPAL_BUILDER_CLASS_DEFAULT": strv("org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder"),
	// SslClientAuth.NONE.toString() lower-cases the name.
	"BrokerSecurityConfigs.SSL_CLIENT_AUTH_DEFAULT": strv("none"),
	// The JVM's KeyManagerFactory/TrustManagerFactory defaults (OpenJDK).
	"SslConfigs.DEFAULT_SSL_KEYMANGER_ALGORITHM":    strv("SunX509"),
	"SslConfigs.DEFAULT_SSL_TRUSTMANAGER_ALGORITHM": strv("PKIX"),
	// SecurityProtocol.PLAINTEXT.name = "PLAINTEXT".
	"SecurityProtocol.PLAINTEXT.name": strv("PLAINTEXT"),
	// GroupType.CLASSIC / CONSUMER .toString() are "classic", "consumer".
	"Group.GroupType.CLASSIC.toString()":  strv("classic"),
	"Group.GroupType.CONSUMER.toString()": strv("consumer"),
	"GroupType.CLASSIC.toString()":        strv("classic"),
	"GroupType.CONSUMER.toString()":       strv("consumer"),
	// Sensor.RecordingLevel.INFO.toString() = "INFO".
	"Sensor.RecordingLevel.INFO.toString()": strv("INFO"),
	// SslClientAuth.NONE.name().toLowerCase(Locale.ROOT) = "none".
	"SslClientAuth.NONE.name().toLowerCase(Locale.ROOT)": strv("none"),
	// ClientDnsLookup.USE_ALL_DNS_IPS.toString() = "use_all_dns_ips".
	"ClientDnsLookup.USE_ALL_DNS_IPS.toString()": strv("use_all_dns_ips"),
}

type kind int

const (
	kNull kind = iota
	kStr
	kInt
	kFloat
	kBool
	kList
	kNoDefault
)

type value struct {
	k    kind
	s    string
	i    int64
	f    float64
	b    bool
	list []value
}

func intv(i int64) value  { return value{k: kInt, i: i} }
func strv(s string) value { return value{k: kStr, s: s} }

// render writes v as the keys file spells defaults: null, a number, true or
// false, or a Go-quoted string (lists comma-joined, as Kafka's docs show).
func (v value) render() string {
	switch v.k {
	case kNull:
		return "null"
	case kNoDefault:
		return "required"
	case kStr:
		return strconv.Quote(v.s)
	case kInt:
		return strconv.FormatInt(v.i, 10)
	case kFloat:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	case kBool:
		return strconv.FormatBool(v.b)
	case kList:
		var parts []string
		for _, e := range v.list {
			parts = append(parts, e.plain())
		}
		return strconv.Quote(strings.Join(parts, ","))
	}
	return "?"
}

func (v value) plain() string {
	if v.k == kStr {
		return v.s
	}
	if v.k == kList {
		s, _ := strconv.Unquote(v.render())
		return s
	}
	return v.render()
}

var gitDir string

func git(args ...string) []byte {
	cmd := exec.Command("git", append([]string{"--git-dir=" + gitDir}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		fatalf("git %v: %v", args, err)
	}
	return out
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "kafkakeys: "+format+"\n", a...)
	os.Exit(1)
}

// classPaths maps a class name to the main-source files declaring it.
var classPaths = map[string][]string{}

type class struct {
	name   string
	src    string // comments stripped
	consts map[string]string
}

var classes = map[string]*class{}

func loadClass(name string) *class {
	if c, ok := classes[name]; ok {
		return c
	}
	paths := classPaths[name]
	if len(paths) == 0 {
		classes[name] = nil
		return nil
	}
	// Prefer the one under a /main/ tree; several modules rarely share a
	// class name, and those that do are not config holders.
	sort.Strings(paths)
	src := stripComments(string(git("show", "HEAD:"+paths[0])))
	c := &class{name: name, src: src, consts: constants(src)}
	classes[name] = c
	return c
}

func stripComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			b.WriteString(s[i : j+1])
			i = j
		case s[i] == '\'':
			j := i + 1
			for j < len(s) && s[j] != '\'' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			b.WriteString(s[i : j+1])
			i = j
		case strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
			b.WriteByte('\n')
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			i += 2 + end + 1
			b.WriteByte(' ')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// scanTo returns the index of the first byte at depth 0 (outside strings,
// parentheses, brackets and braces) that is one of stops.
func scanTo(s string, start int, stops string) int {
	depth := 0
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
		case c == '\'':
			i++
			for i < len(s) && s[i] != '\'' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
		case c == '(' || c == '[' || c == '{':
			depth++
		case (c == ')' || c == ']' || c == '}') && depth > 0:
			depth--
		case depth == 0 && strings.IndexByte(stops, c) >= 0:
			return i
		}
	}
	return -1
}

// constants finds "static final <type> NAME = expr;" declarations.
func constants(src string) map[string]string {
	m := map[string]string{}
	rest := src
	off := 0
	for {
		i := strings.Index(rest[off:], "static final ")
		if i < 0 {
			break
		}
		i += off + len("static final ")
		eq := scanTo(rest, i, "=;")
		if eq < 0 {
			break
		}
		if rest[eq] == ';' {
			off = eq + 1
			continue
		}
		decl := strings.Fields(strings.TrimSpace(rest[i:eq]))
		end := scanTo(rest, eq+1, ";")
		if end < 0 {
			break
		}
		if len(decl) >= 2 {
			m[decl[len(decl)-1]] = strings.TrimSpace(rest[eq+1 : end])
		}
		off = end + 1
	}
	return m
}

// splitArgs splits a parenthesised argument list at depth-0 commas.
func splitArgs(s string) []string {
	var out []string
	for {
		i := scanTo(s, 0, ",")
		if i < 0 {
			if t := strings.TrimSpace(s); t != "" {
				out = append(out, t)
			}
			return out
		}
		out = append(out, strings.TrimSpace(s[:i]))
		s = s[i+1:]
	}
}

type key struct {
	scope, name, typ, def, validator, source string
	internal                                 bool
}

func main() {
	flag.StringVar(&gitDir, "git-dir", "", "git directory of an apache/kafka clone")
	flag.Parse()
	if gitDir == "" {
		fatalf("-git-dir is required")
	}
	for _, p := range strings.Split(string(git("ls-tree", "-r", "--name-only", "HEAD")), "\n") {
		if !strings.HasSuffix(p, ".java") || !strings.Contains(p, "/src/main/java/") {
			continue
		}
		n := strings.TrimSuffix(path.Base(p), ".java")
		classPaths[n] = append(classPaths[n], p)
	}
	commit := strings.TrimSpace(string(git("rev-parse", "HEAD")))
	date := strings.TrimSpace(string(git("show", "-s", "--format=%cs", "HEAD")))
	version := ""
	sc := bufio.NewScanner(bytes.NewReader(git("show", "HEAD:gradle.properties")))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "version="); ok {
			version = v
		}
	}

	var keys []key
	seen := map[string]bool{}
	for _, d := range defs {
		c := loadClass(d.class)
		if c == nil {
			fatalf("class %s not found", d.class)
		}
		chain := defChain(c, d.field)
		for _, call := range defineCalls(chain) {
			k := parseDefine(c, call)
			k.scope = d.scope
			k.source = d.class + "." + strings.TrimSuffix(d.field, ".")
			id := k.scope + " " + k.name
			if seen[id] {
				continue // mergeConfigs keeps the first definition
			}
			seen[id] = true
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].scope != keys[j].scope {
			return keys[i].scope < keys[j].scope
		}
		return keys[i].name < keys[j].name
	})
	if len(failures) > 0 {
		fatalf("%d expressions could not be evaluated:\n%s", len(failures), strings.Join(failures, "\n"))
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "# kafka-commit %s\n", commit)
	fmt.Fprintf(w, "# Apache Kafka %s, commit date %s.\n", version, date)
	fmt.Fprintf(w, "# Every broker key (AbstractKafkaConfig.CONFIG_DEF) and topic key (LogConfig's topic ConfigDef),\n")
	fmt.Fprintf(w, "# read from the Java source by testdata/kafkakeys. Regenerate with:\n")
	fmt.Fprintf(w, "#   go run ./internal/config/testdata/kafkakeys -git-dir <kafka.git> > internal/config/testdata/kafka-keys.txt\n")
	fmt.Fprintf(w, "# Columns (tab-separated): scope, name, Kafka type, default (null, required, a number,\n")
	fmt.Fprintf(w, "# a boolean or a quoted string; lists comma-joined), validator as written in the source\n")
	fmt.Fprintf(w, "# (- for none), internal (defineInternal) or public, and the ConfigDef it comes from.\n")
	for _, k := range keys {
		vis := "public"
		if k.internal {
			vis = "internal"
		}
		v := k.validator
		if v == "" || v == "null" {
			v = "-"
		}
		v = strings.Join(strings.Fields(v), " ")
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.scope, k.name, k.typ, k.def, v, vis, k.source)
	}
}

// defChain returns the text of the define chain held by field.
func defChain(c *class, field string) string {
	var start int
	switch {
	case strings.HasSuffix(field, "()"):
		i := strings.Index(c.src, " "+field)
		if i < 0 {
			fatalf("%s.%s not found", c.name, field)
		}
		start = i
	case strings.HasSuffix(field, "."):
		i := strings.Index(c.src, "\n        "+field)
		if i < 0 {
			i = strings.Index(c.src, field+"\n")
		}
		if i < 0 {
			fatalf("%s.%s not found", c.name, field)
		}
		start = i
	default:
		i := strings.Index(c.src, " "+field+" =")
		if i < 0 {
			fatalf("%s.%s not found", c.name, field)
		}
		start = i
	}
	end := scanTo(c.src, start, ";")
	if strings.HasSuffix(field, "()") {
		// skip the method's opening brace: the chain is its return statement
		open := strings.Index(c.src[start:], "{")
		end = scanTo(c.src, start+open+1, ";")
	}
	return c.src[start:end]
}

// defineCalls returns the argument text of each .define/.defineInternal
// call in chain (prefixed with "internal:" for the latter).
func defineCalls(chain string) []string {
	var out []string
	for i := 0; i < len(chain); {
		j := strings.Index(chain[i:], "define")
		if j < 0 {
			break
		}
		j += i
		internal := strings.HasPrefix(chain[j:], "defineInternal(")
		name := "define("
		if internal {
			name = "defineInternal("
		}
		if !strings.HasPrefix(chain[j:], name) || (j > 0 && isIdent(chain[j-1])) {
			i = j + 1
			continue
		}
		open := j + len(name)
		close := scanTo(chain, open, ")")
		args := chain[open:close]
		if internal {
			args = "internal:" + args
		}
		out = append(out, args)
		i = close + 1
	}
	return out
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isImportance(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "ConfigDef."), "Importance.")
	return s == "HIGH" || s == "MEDIUM" || s == "LOW"
}

func parseDefine(c *class, call string) key {
	var k key
	if rest, ok := strings.CutPrefix(call, "internal:"); ok {
		k.internal, call = true, rest
	}
	args := splitArgs(call)
	if len(args) < 3 {
		fatalf("%s: define with %d arguments: %s", c.name, len(args), call)
	}
	name := eval(c, args[0])
	if name.k != kStr {
		fatalf("%s: key name %q did not evaluate to a string", c.name, args[0])
	}
	k.name = name.s
	k.typ = strings.TrimPrefix(strings.TrimPrefix(args[1], "ConfigDef."), "Type.")
	if isImportance(args[2]) {
		k.def = value{k: kNoDefault}.render()
		return k
	}
	k.def = eval(c, args[2]).render()
	if len(args) > 3 && !isImportance(args[3]) {
		k.validator = args[3]
	}
	return k
}
