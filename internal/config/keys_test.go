package config

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// kafkaKey is one line of testdata/kafka-keys.txt.
type kafkaKey struct {
	scope, name, typ, def string
	null, internal        bool
}

func readKafkaKeys(t *testing.T) (commit string, keys []kafkaKey) {
	t.Helper()
	f, err := os.Open("testdata/kafka-keys.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "# kafka-commit "); ok {
			commit = c
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 7 {
			t.Fatalf("kafka-keys.txt: %d columns in %q", len(cols), line)
		}
		k := kafkaKey{scope: cols[0], name: cols[1], typ: cols[2], internal: cols[5] == "internal"}
		switch d := cols[3]; {
		case d == "null":
			k.null = true
		case strings.HasPrefix(d, `"`):
			if k.def, err = strconv.Unquote(d); err != nil {
				t.Fatalf("kafka-keys.txt: default of %s: %v", k.name, err)
			}
		default:
			k.def = d
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return commit, keys
}

// TestRegistryComplete checks the registry against the keys extracted from
// Kafka's source: every Kafka key is registered, in its scope, with
// Kafka's type and default; and nothing is registered that Kafka lacks.
func TestRegistryComplete(t *testing.T) {
	commit, keys := readKafkaKeys(t)
	if len(commit) != 40 {
		t.Errorf("kafka-keys.txt names no Kafka commit (got %q)", commit)
	}
	var broker, topic int
	inKafka := map[string]bool{}
	for _, k := range keys {
		inKafka[k.name] = true
		e, ok := byName[k.name]
		if !ok {
			t.Errorf("Kafka %s key %s is not in the registry", k.scope, k.name)
			continue
		}
		switch k.scope {
		case "broker":
			broker++
			if !e.Scope.Broker() {
				t.Errorf("%s: scope %s, but Kafka has it as a broker key", k.name, e.Scope)
			}
		case "topic":
			topic++
			if !e.Scope.Topic() {
				t.Errorf("%s: scope %s, but Kafka has it as a topic key", k.name, e.Scope)
			}
		}
		if e.Type.kafkaName() != k.typ {
			t.Errorf("%s: type %s, Kafka's is %s", k.name, e.Type.kafkaName(), k.typ)
		}
		if e.Null != k.null || e.Default != k.def {
			t.Errorf("%s: default %q (null %v), Kafka's is %q (null %v)", k.name, e.Default, e.Null, k.def, k.null)
		}
		if e.Internal != k.internal {
			t.Errorf("%s: internal %v, Kafka's %v", k.name, e.Internal, k.internal)
		}
	}
	for _, e := range registry {
		switch {
		case e.Own != "" && inKafka[e.Name]:
			t.Errorf("registry key %s is marked Sluice's own, but Kafka has it", e.Name)
		case e.Own == "" && !inKafka[e.Name]:
			t.Errorf("registry key %s is not one of Kafka's (kafka-keys.txt) and not marked Sluice's own", e.Name)
		}
		if e.Scope == ScopeBoth {
			// both scopes must be Kafka's: counted above from each line
			var n int
			for _, k := range keys {
				if k.name == e.Name {
					n++
				}
			}
			if n != 2 {
				t.Errorf("%s: ScopeBoth, but Kafka has it in %d scope(s)", e.Name, n)
			}
		}
	}
	// Guard against a truncated extraction.
	if broker < 300 || topic < 30 {
		t.Errorf("kafka-keys.txt has %d broker and %d topic keys; expected several hundred and about 40", broker, topic)
	}
	t.Logf("Kafka commit %s: %d broker keys, %d topic keys, %d registry entries", commit, broker, topic, len(registry))
}

// notGiven are the keys whose Kafka default means "not given" and is
// reported as missing by Load.
var notGiven = map[string]bool{"node.id": true, "process.roles": true}

// TestRegistryEntries checks each entry is well formed for its kind.
func TestRegistryEntries(t *testing.T) {
	for i := range registry {
		e := &registry[i]
		switch e.Kind {
		case Implemented:
			if e.Reason != "" {
				t.Errorf("%s: implemented, with a Reason", e.Name)
			}
			// The default Sluice starts from must pass the key's own
			// validation, except Kafka's "not given" sentinels, which
			// Load reports as missing.
			if v, null := e.EffectiveDefault(); !null && !notGiven[e.Name] {
				if _, err := checkValue(e, v); err != nil {
					t.Errorf("%s: default %q fails validation: %v", e.Name, v, err)
				}
			}
		case Rejected:
			if !strings.HasPrefix(e.Reason, "not supported") {
				t.Errorf("%s: rejected, reason %q does not start \"not supported\"", e.Name, e.Reason)
			}
			if e.Validate != nil || e.HasSluiceDefault() || e.Unsupported != "" {
				t.Errorf("%s: rejected, with a validator, Sluice default or Unsupported", e.Name)
			}
			// Kafka's default is accepted.
			if _, err := checkValue(e, e.Default); err != nil {
				t.Errorf("%s: Kafka's default %q is not accepted: %v", e.Name, e.Default, err)
			}
		case Ignored:
			if e.Reason == "" || strings.HasPrefix(e.Reason, "not supported") {
				t.Errorf("%s: ignored, reason %q", e.Name, e.Reason)
			}
			if e.Validate != nil || e.HasSluiceDefault() || e.Unsupported != "" {
				t.Errorf("%s: ignored, with a validator, Sluice default or Unsupported", e.Name)
			}
		default:
			t.Errorf("%s: no kind", e.Name)
		}
		if e.HasSluiceDefault() && e.SluiceDefault == e.Default {
			t.Errorf("%s: Sluice default equals Kafka's", e.Name)
		}
		if _, why, _ := strings.Cut(e.Unsupported, ": "); e.Unsupported != "" && !strings.HasPrefix(why, "not supported") {
			t.Errorf("%s: Unsupported %q is not \"values: not supported…\"", e.Name, e.Unsupported)
		}
	}
}

// TestProfileOverridesValid checks every profile override is a valid value
// of an implemented broker key.
func TestProfileOverridesValid(t *testing.T) {
	for _, p := range []Profile{ProfileKafka, ProfileSingleNode} {
		for _, o := range p.Overrides() {
			e, ok := byName[o.Key]
			if !ok || !e.Scope.Broker() || e.Kind != Implemented {
				t.Errorf("%s: override of %s, which is not an implemented broker key", p, o.Key)
				continue
			}
			if _, err := checkValue(e, o.Value); err != nil {
				t.Errorf("%s: override %s=%s: %v", p, o.Key, o.Value, err)
			}
			if o.Reason == "" {
				t.Errorf("%s: override %s has no reason", p, o.Key)
			}
		}
	}
}

func TestUnits(t *testing.T) {
	for name, want := range map[string]Unit{
		"log.retention.ms":                        UnitMillis,
		"log.retention.minutes":                   UnitMinutes,
		"log.retention.hours":                     UnitHours,
		"leader.imbalance.check.interval.seconds": UnitSeconds,
		"kafka.metrics.polling.interval.secs":     UnitSeconds,
		"log.segment.bytes":                       UnitNone,
		"log.dir":                                 UnitNone,
	} {
		if e, _ := Lookup(name); e.Unit != want {
			t.Errorf("%s: unit %v, want %v", name, e.Unit, want)
		}
	}
}

func TestLookupAndKeys(t *testing.T) {
	e, ok := Lookup("compression.type")
	if !ok || e.Scope != ScopeBoth || e.Kind != Implemented || e.Type != TypeString || e.Default != "producer" {
		t.Errorf("Lookup(compression.type) = %+v, %v", e, ok)
	}
	if _, ok := Lookup("no.such.key"); ok {
		t.Error("Lookup(no.such.key) found something")
	}
	keys := Keys()
	if len(keys) != len(registry) {
		t.Fatalf("Keys() has %d entries, registry %d", len(keys), len(registry))
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1].Name >= keys[i].Name {
			t.Fatalf("Keys() not sorted at %s, %s", keys[i-1].Name, keys[i].Name)
		}
	}
	counts := map[Kind]int{}
	for _, e := range keys {
		counts[e.Kind]++
	}
	t.Logf("implemented %d, rejected %d, ignored %d", counts[Implemented], counts[Rejected], counts[Ignored])
}
