package config

import (
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// normalize parses raw as the key's type, as Kafka's ConfigDef does, and
// returns it in canonical form: surrounding blanks trimmed, booleans
// lower-case, numbers in decimal, list elements trimmed and comma-joined.
func normalize(e *Entry, raw string) (string, error) {
	v := strings.TrimSpace(raw)
	switch e.Type {
	case TypeBoolean:
		switch strings.ToLower(v) {
		case "true":
			return "true", nil
		case "false":
			return "false", nil
		}
		return "", invalidf("must be true or false")
	case TypeShort, TypeInt, TypeLong:
		bits, what := 64, "a 64-bit integer (long)"
		switch e.Type {
		case TypeShort:
			bits, what = 16, "a 16-bit integer (short)"
		case TypeInt:
			bits, what = 32, "a 32-bit integer (int)"
		}
		n, err := strconv.ParseInt(v, 10, bits)
		if err != nil {
			return "", invalidf("must be %s", what)
		}
		return strconv.FormatInt(n, 10), nil
	case TypeDouble:
		// Java's Double.parseDouble also takes a d or f suffix.
		f, err := strconv.ParseFloat(strings.TrimRight(v, "dDfF"), 64)
		if err != nil || math.IsNaN(f) || v == "" {
			return "", invalidf("must be a number")
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case TypeList:
		if v == "" {
			return "", nil
		}
		parts := strings.Split(v, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return strings.Join(parts, ","), nil
	}
	return v, nil
}

// splitList splits a normalized list value.
func splitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// isDefault reports whether a normalized value equals the key's Kafka
// default (an empty value equals a null default).
func isDefault(e *Entry, v string) bool {
	if e.Null {
		return v == ""
	}
	d, err := normalize(e, e.Default)
	return err == nil && d == v
}

// Validators of implemented keys; each gets a value already normalized for
// the key's type.

func number(v string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

func fmtBound(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func atLeast(lo float64) func(string) error {
	return func(v string) error {
		if number(v) < lo {
			return invalidf("must be at least %s", fmtBound(lo))
		}
		return nil
	}
}

func between(lo, hi float64) func(string) error {
	return func(v string) error {
		if f := number(v); f < lo || f > hi {
			return invalidf("must be between %s and %s", fmtBound(lo), fmtBound(hi))
		}
		return nil
	}
}

// hostPort accepts host:port with a numeric port (an empty host listens
// on every address).
func hostPort(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return invalidf("want host:port: %v", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return invalidf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

func nonEmpty(v string) error {
	if v == "" {
		return invalidf("must not be empty")
	}
	return nil
}

func validListeners(v string) error {
	_, err := ParseListeners(v)
	return err
}

func validListenerName(v string) error {
	if v == "" {
		return invalidf("must not be empty")
	}
	if !isListenerName(v) {
		return invalidf("listener name %q must be letters, digits and underscores", v)
	}
	return nil
}

func validListenerNames(v string) error {
	names := splitList(v)
	if len(names) == 0 {
		return invalidf("must name at least one listener")
	}
	seen := map[string]bool{}
	for _, n := range names {
		if err := validListenerName(n); err != nil {
			return err
		}
		if seen[strings.ToUpper(n)] {
			return invalidf("listener %s named twice", n)
		}
		seen[strings.ToUpper(n)] = true
	}
	return nil
}

func validProtocolMap(v string) error {
	_, err := parseProtocolMap(v)
	return err
}

func validInterBrokerProtocol(v string) error {
	p, err := parseSecurityProtocol(v)
	if err != nil {
		return err
	}
	if p != ProtocolPlaintext {
		return notSupportedf("not supported: %s, which needs %s; only PLAINTEXT", p, protocolFeature(p))
	}
	return nil
}

func validProcessRoles(v string) error {
	roles := splitList(v)
	if len(roles) == 0 {
		return notSupportedf("not supported: an empty process.roles is ZooKeeper mode; set broker, controller or broker,controller")
	}
	seen := map[string]bool{}
	for _, r := range roles {
		if r != "broker" && r != "controller" {
			return invalidf("role %q must be broker or controller", r)
		}
		if seen[r] {
			return invalidf("role %s named twice", r)
		}
		seen[r] = true
	}
	return nil
}

func validVoters(v string) error {
	_, err := ParseVoters(v)
	return err
}

func validLogDirs(v string) error {
	dirs := splitList(v)
	for _, d := range dirs {
		if d == "" {
			return invalidf("must name one directory, with no empty entries")
		}
	}
	if len(dirs) > 1 {
		return notSupportedf("not supported: %d log directories; multiple log directories (JBOD) are out of scope, give exactly one", len(dirs))
	}
	return nil
}

// ValidThrottledReplicas checks a *.replication.throttled.replicas value:
// empty, "*" (every replica) or partition:broker pairs.
func ValidThrottledReplicas(v string) error {
	_, _, err := ParseThrottledReplicas(v)
	return err
}

// ParseThrottledReplicas parses a *.replication.throttled.replicas value
// into the throttled partition:broker pairs, or all for "*".
func ParseThrottledReplicas(v string) (pairs map[[2]int32]bool, all bool, err error) {
	items := splitList(v)
	if len(items) == 1 && items[0] == "*" {
		return nil, true, nil
	}
	pairs = map[[2]int32]bool{}
	for _, it := range items {
		p, b, ok := strings.Cut(it, ":")
		pi, err1 := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		bi, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 32)
		if !ok || err1 != nil || err2 != nil || pi < 0 || bi < 0 {
			return nil, false, invalidf("%q is not partition:broker (the list is \"*\" or partition:broker pairs)", it)
		}
		pairs[[2]int32{int32(pi), int32(bi)}] = true
	}
	return pairs, false, nil
}

func validCleanupPolicy(v string) error {
	// An empty list is valid, as in Kafka: neither deleted by retention
	// nor compacted, the log is kept whole.
	for _, p := range splitList(v) {
		if p != "delete" && p != "compact" {
			return invalidf("policy %q must be delete or compact", p)
		}
	}
	return nil
}

func validTimestampType(v string) error {
	switch v {
	case "CreateTime", "LogAppendTime":
		return nil
	}
	return invalidf("must be CreateTime or LogAppendTime")
}

// compressionTypes are Kafka's BrokerCompressionType names.
var compressionTypes = []string{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}

func validCompressionType(v string) error {
	if v == "producer" {
		return nil
	}
	for _, c := range compressionTypes {
		if v == c {
			return notSupportedf("not supported: compression.type=%s; only producer (batches are stored as the producer compressed them, never recompressed)", v)
		}
	}
	return invalidf("must be one of %s", strings.Join(compressionTypes, ", "))
}

// Kafka's replica selectors (replica.selector.class).
const (
	RackAwareReplicaSelector = "org.apache.kafka.common.replica.RackAwareReplicaSelector"
	LeaderSelector           = "org.apache.kafka.common.replica.LeaderSelector"
)

func validReplicaSelector(v string) error {
	switch v {
	case "", RackAwareReplicaSelector, LeaderSelector:
		return nil
	}
	return notSupportedf("not supported: custom replica selectors (%s); only %s and %s", v, RackAwareReplicaSelector, LeaderSelector)
}

func validRebalanceProtocols(v string) error {
	protocols := splitList(v)
	if len(protocols) == 0 {
		return invalidf("must include classic")
	}
	for _, p := range protocols {
		switch p {
		case "classic":
		case "consumer":
			return notSupportedf("not supported: the consumer group protocol of KIP-848; only classic")
		case "share":
			return notSupportedf("not supported: share groups (KIP-932); only classic")
		default:
			return invalidf("protocol %q must be classic", p)
		}
	}
	return nil
}

// validCompressionCodec checks offsets.topic.compression.codec: Kafka's
// CompressionType ids 0 (none), 1 (gzip), 2 (snappy), 3 (lz4), 4 (zstd).
func validCompressionCodec(v string) error {
	if n := number(v); n < 0 || n > 4 {
		return invalidf("must be a compression codec id: 0 (none), 1 (gzip), 2 (snappy), 3 (lz4) or 4 (zstd)")
	}
	return nil
}

// checkValue parses and validates a value given for e (from a file, a
// flag or a request): it returns the normalized value, or an error whose
// kind says whether the key or value is unsupported or invalid.
//
// An empty value for a key whose Kafka default is null means null: the
// key is left unset.
func checkValue(e *Entry, raw string) (string, error) {
	if e.Null && strings.TrimSpace(raw) == "" {
		return "", nil
	}
	v, err := normalize(e, raw)
	switch e.Kind {
	case Rejected:
		if err == nil && isDefault(e, v) {
			return v, nil
		}
		return "", notSupportedf("%s", e.Reason)
	case Ignored:
		if err != nil {
			return "", err
		}
		return v, nil
	}
	if err != nil {
		return "", err
	}
	if e.Validate != nil {
		if err := e.Validate(v); err != nil {
			return "", asKind(err)
		}
	}
	return v, nil
}

// durationOf converts a value counted in u to a Duration, saturating at
// ±Forever.
func durationOf(n int64, u Unit) time.Duration {
	var per int64
	switch u {
	case UnitSeconds:
		per = int64(1e9)
	case UnitMinutes:
		per = int64(60e9)
	case UnitHours:
		per = int64(3600e9)
	default:
		per = int64(1e6)
	}
	if n > math.MaxInt64/per {
		return Forever
	}
	if n < -math.MaxInt64/per {
		return -Forever
	}
	return time.Duration(n * per)
}
