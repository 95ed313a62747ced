package handler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

type configEntry = protocol.DescribeConfigsResponseDescribeConfigsResourceResult

// configsFixture is a broker whose configuration sets log.retention.hours,
// with topic "plain" (no overrides) and "custom" (retention.ms=60000).
func configsFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, false)
	b, err := config.Load(map[string]string{"log.retention.hours": "48"}, nil, config.ProfileSingleNode)
	if err != nil {
		t.Fatal(err)
	}
	f.h.SetConfigs(b)
	f.createTopic(t, "plain", 1)
	resp := f.h.CreateTopics(context.Background(), &protocol.CreateTopicsRequest{TimeoutMs: 5000, Topics: []protocol.CreateTopicsRequestCreatableTopic{
		{Name: "custom", NumPartitions: 1, ReplicationFactor: 1, Configs: []protocol.CreateTopicsRequestCreatableTopicConfig{{Name: "retention.ms", Value: str("60000")}}},
	}}, 7)
	if resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create custom: %+v", resp.Topics[0])
	}
	return f
}

func (f *fixture) describe(t *testing.T, version int16, synonyms bool, typ int8, name string, keys []string) protocol.DescribeConfigsResponseDescribeConfigsResult {
	t.Helper()
	resp := f.h.DescribeConfigs(context.Background(), &protocol.DescribeConfigsRequest{IncludeSynonyms: synonyms, IncludeDocumentation: true,
		Resources: []protocol.DescribeConfigsRequestDescribeConfigsResource{{ResourceType: typ, ResourceName: name, ConfigurationKeys: keys}}}, version)
	if len(resp.Results) != 1 || resp.Results[0].ResourceName != name || resp.Results[0].ResourceType != typ {
		t.Fatalf("results %+v", resp.Results)
	}
	return resp.Results[0]
}

// topicConfig describes one key of a topic (v4, with synonyms).
func (f *fixture) topicConfig(t *testing.T, topic, key string) configEntry {
	t.Helper()
	r := f.describe(t, 4, true, 2, topic, []string{key})
	if r.ErrorCode != 0 || len(r.Configs) != 1 {
		t.Fatalf("describe %s %s: %+v", topic, key, r)
	}
	return r.Configs[0]
}

func findConfig(cs []configEntry, name string) *configEntry {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func val(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

type syn struct {
	name, value string
	source      config.ConfigSource
}

func checkEntry(t *testing.T, c *configEntry, value string, source config.ConfigSource, synonyms ...syn) {
	t.Helper()
	if c == nil {
		t.Fatal("entry missing")
	}
	if val(c.Value) != value || c.ConfigSource != int8(source) {
		t.Errorf("%s = %s (source %d), want %s (%d)", c.Name, val(c.Value), c.ConfigSource, value, source)
	}
	if len(c.Synonyms) != len(synonyms) {
		t.Fatalf("%s synonyms %+v, want %v", c.Name, c.Synonyms, synonyms)
	}
	for i, s := range synonyms {
		got := c.Synonyms[i]
		if got.Name != s.name || val(got.Value) != s.value || got.Source != int8(s.source) {
			t.Errorf("%s synonym %d = %s=%s (%d), want %v", c.Name, i, got.Name, val(got.Value), got.Source, s)
		}
	}
}

func TestDescribeTopicConfigs(t *testing.T) {
	f := configsFixture(t)

	plain := f.describe(t, 4, true, 2, "plain", nil)
	if plain.ErrorCode != 0 || plain.ErrorMessage != nil {
		t.Fatalf("plain: %d %v", plain.ErrorCode, plain.ErrorMessage)
	}
	// An empty key list asks for every key, as a null one does (Kafka
	// reads both so).
	if empty := f.describe(t, 4, true, 2, "plain", []string{}); len(empty.Configs) != len(plain.Configs) {
		t.Fatalf("an empty key list described %d keys, a null one %d", len(empty.Configs), len(plain.Configs))
	}
	// retention.ms comes from log.retention.hours in the file, converted.
	checkEntry(t, findConfig(plain.Configs, "retention.ms"), "172800000", config.SourceStaticBrokerConfig,
		syn{"log.retention.hours", "48", config.SourceStaticBrokerConfig})
	// segment.bytes is the broker key's Kafka default.
	checkEntry(t, findConfig(plain.Configs, "segment.bytes"), "1073741824", config.SourceDefaultConfig,
		syn{"log.segment.bytes", "1073741824", config.SourceDefaultConfig})
	rm := findConfig(plain.Configs, "retention.ms")
	if rm.ReadOnly || rm.IsSensitive || rm.ConfigType != 5 || rm.Documentation != nil {
		t.Errorf("retention.ms entry %+v", rm)
	}
	if cp := findConfig(plain.Configs, "cleanup.policy"); cp == nil || cp.ConfigType != 7 {
		t.Errorf("cleanup.policy %+v", cp)
	}
	// Ignored keys are listed (documented as such), rejected ones not.
	if p := findConfig(plain.Configs, "preallocate"); p == nil || p.Documentation == nil || !strings.Contains(*p.Documentation, "Ignored") {
		t.Errorf("preallocate %+v", p)
	}
	if findConfig(plain.Configs, "remote.storage.enable") != nil {
		t.Error("a rejected key is listed")
	}
	for i := 1; i < len(plain.Configs); i++ {
		if plain.Configs[i-1].Name >= plain.Configs[i].Name {
			t.Fatalf("not sorted: %s, %s", plain.Configs[i-1].Name, plain.Configs[i].Name)
		}
	}

	custom := f.describe(t, 4, true, 2, "custom", nil)
	checkEntry(t, findConfig(custom.Configs, "retention.ms"), "60000", config.SourceDynamicTopicConfig,
		syn{"retention.ms", "60000", config.SourceDynamicTopicConfig}, syn{"log.retention.hours", "48", config.SourceStaticBrokerConfig})
	if len(custom.Configs) != len(plain.Configs) {
		t.Errorf("custom lists %d keys, plain %d", len(custom.Configs), len(plain.Configs))
	}

	// Without synonyms (or before v1) none are sent; v0 sets IsDefault.
	if c := findConfig(f.describe(t, 2, false, 2, "custom", nil).Configs, "retention.ms"); len(c.Synonyms) != 0 || c.ConfigType != 0 {
		t.Errorf("v2 without synonyms: %+v", c)
	}
	v0 := f.describe(t, 0, true, 2, "plain", nil).Configs
	if c := findConfig(v0, "segment.bytes"); !c.IsDefault || len(c.Synonyms) != 0 {
		t.Errorf("v0 segment.bytes %+v", c)
	}
	if c := findConfig(v0, "retention.ms"); c.IsDefault {
		t.Errorf("v0 retention.ms (from the file) is default: %+v", c)
	}

	// Selected keys: unknown names are left out.
	sel := f.describe(t, 4, false, 2, "custom", []string{"retention.ms", "no.such.key", "cleanup.policy"})
	if len(sel.Configs) != 2 || sel.Configs[0].Name != "cleanup.policy" || sel.Configs[1].Name != "retention.ms" {
		t.Fatalf("selected %+v", sel.Configs)
	}

	// Unknown topic.
	un := f.describe(t, 4, false, 2, "nope", nil)
	if protocol.ErrorCode(un.ErrorCode) != protocol.ErrUnknownTopicOrPartition || un.ErrorMessage == nil || len(un.Configs) != 0 {
		t.Fatalf("unknown topic %+v", un)
	}
	// An illegal name, as Kafka validates it first.
	if bad := f.describe(t, 4, false, 2, "bad name!", nil); protocol.ErrorCode(bad.ErrorCode) != protocol.ErrInvalidTopicException || bad.ErrorMessage == nil {
		t.Fatalf("illegal topic name %+v", bad)
	}
}

func TestDescribeConfigsRegistryDefaults(t *testing.T) {
	// Without SetConfigs every key is at its default.
	f := newFixture(t, false)
	f.createTopic(t, "t", 1)
	checkEntry(t, func() *configEntry { c := f.topicConfig(t, "t", "retention.ms"); return &c }(), "604800000", config.SourceDefaultConfig,
		syn{"log.retention.hours", "168", config.SourceDefaultConfig})
}

func TestDescribeBrokerConfigs(t *testing.T) {
	f := configsFixture(t)
	b := f.describe(t, 4, true, 4, "1", nil)
	if b.ErrorCode != 0 {
		t.Fatalf("broker: %+v", b)
	}
	lrh := findConfig(b.Configs, "log.retention.hours")
	checkEntry(t, lrh, "48", config.SourceStaticBrokerConfig, syn{"log.retention.hours", "48", config.SourceStaticBrokerConfig})
	if !lrh.ReadOnly || lrh.ConfigType != 3 {
		t.Errorf("log.retention.hours %+v", lrh)
	}
	if c := findConfig(b.Configs, "log.retention.ms"); c == nil || c.Value != nil || len(c.Synonyms) != 0 {
		t.Errorf("unset log.retention.ms %+v", c)
	}
	if sel := f.describe(t, 1, false, 4, "1", []string{"log.segment.bytes"}); len(sel.Configs) != 1 || val(sel.Configs[0].Value) != "1073741824" {
		t.Errorf("selected broker key %+v", sel.Configs)
	}
	// "" is the cluster-wide dynamic defaults: none.
	if d := f.describe(t, 4, false, 4, "", nil); d.ErrorCode != 0 || len(d.Configs) != 0 {
		t.Errorf("default broker %+v", d)
	}
	for _, r := range []struct {
		typ  int8
		name string
	}{{4, "2"}, {4, "x"}, {8, "1"}, {0, "t"}} {
		if got := f.describe(t, 4, false, r.typ, r.name, nil); protocol.ErrorCode(got.ErrorCode) != protocol.ErrInvalidRequest || got.ErrorMessage == nil {
			t.Errorf("%d/%s: %+v", r.typ, r.name, got)
		}
	}
}

func (f *fixture) incremental(t *testing.T, validateOnly bool, topic string, cs ...protocol.IncrementalAlterConfigsRequestAlterableConfig) protocol.IncrementalAlterConfigsResponseAlterConfigsResourceResponse {
	t.Helper()
	resp := f.h.IncrementalAlterConfigs(context.Background(), &protocol.IncrementalAlterConfigsRequest{ValidateOnly: validateOnly,
		Resources: []protocol.IncrementalAlterConfigsRequestAlterConfigsResource{{ResourceType: 2, ResourceName: topic, Configs: cs}}}, 1)
	if len(resp.Responses) != 1 || resp.Responses[0].ResourceName != topic || resp.Responses[0].ResourceType != 2 {
		t.Fatalf("responses %+v", resp.Responses)
	}
	return resp.Responses[0]
}

func op(name string, o int8, value *string) protocol.IncrementalAlterConfigsRequestAlterableConfig {
	return protocol.IncrementalAlterConfigsRequestAlterableConfig{Name: name, ConfigOperation: o, Value: value}
}

func (f *fixture) logConfig(t *testing.T, topic string) storage.Config {
	t.Helper()
	p, ok := f.reps.Partition(storage.TopicPartition{Topic: topic, Partition: 0})
	if !ok {
		t.Fatalf("%s-0 not hosted", topic)
	}
	return p.Log.Config()
}

func TestIncrementalAlterConfigs(t *testing.T) {
	f := configsFixture(t)
	ok := func(r protocol.IncrementalAlterConfigsResponseAlterConfigsResourceResponse) {
		t.Helper()
		if r.ErrorCode != 0 {
			t.Fatalf("error %d %s", r.ErrorCode, val(r.ErrorMessage))
		}
	}

	ok(f.incremental(t, false, "plain", op("retention.ms", 0, str("120000")), op("cleanup.policy", 2, str("compact"))))
	c := f.topicConfig(t, "plain", "retention.ms")
	checkEntry(t, &c, "120000", config.SourceDynamicTopicConfig,
		syn{"retention.ms", "120000", config.SourceDynamicTopicConfig}, syn{"log.retention.hours", "48", config.SourceStaticBrokerConfig})
	if got := f.topicConfig(t, "plain", "cleanup.policy"); val(got.Value) != "delete,compact" {
		t.Errorf("appended cleanup.policy %s", val(got.Value))
	}
	lc := f.logConfig(t, "plain")
	if lc.RetentionAge != 2*time.Minute {
		t.Errorf("log retention %v", lc.RetentionAge)
	}

	ok(f.incremental(t, false, "plain", op("cleanup.policy", 3, str("delete")), op("retention.ms", 1, nil)))
	if got := f.topicConfig(t, "plain", "cleanup.policy"); val(got.Value) != "compact" || got.ConfigSource != int8(config.SourceDynamicTopicConfig) {
		t.Errorf("subtracted cleanup.policy %+v", got)
	}
	if got := f.topicConfig(t, "plain", "retention.ms"); val(got.Value) != "172800000" || got.ConfigSource != int8(config.SourceStaticBrokerConfig) {
		t.Errorf("deleted retention.ms %+v", got)
	}
	// The fixture's replica manager has no broker topic defaults: storage's.
	if got := f.logConfig(t, "plain").RetentionAge; got != storage.DefaultConfig().RetentionAge {
		t.Errorf("log retention after delete %v", got)
	}

	// Invalid values and keys: INVALID_CONFIG naming the key, nothing applied.
	for _, bad := range []protocol.IncrementalAlterConfigsRequestAlterableConfig{
		op("retention.ms", 0, str("soon")),
		op("retention.msec", 0, str("1000")),
		op("segment.bytes", 2, str("1")),
	} {
		r := f.incremental(t, false, "plain", op("max.message.bytes", 0, str("1000")), bad)
		if protocol.ErrorCode(r.ErrorCode) != protocol.ErrInvalidConfig || !strings.Contains(val(r.ErrorMessage), bad.Name) {
			t.Errorf("%s: %d %s", bad.Name, r.ErrorCode, val(r.ErrorMessage))
		}
	}
	if got := f.topicConfig(t, "plain", "max.message.bytes"); got.ConfigSource == int8(config.SourceDynamicTopicConfig) {
		t.Errorf("a failed request applied a change: %+v", got)
	}

	// validateOnly checks and changes nothing.
	ok(f.incremental(t, true, "custom", op("retention.ms", 0, str("999"))))
	if got := f.topicConfig(t, "custom", "retention.ms"); val(got.Value) != "60000" {
		t.Errorf("validateOnly changed retention.ms to %s", val(got.Value))
	}
	if got := f.logConfig(t, "custom").RetentionAge; got != time.Minute {
		t.Errorf("validateOnly changed the log: %v", got)
	}
	if r := f.incremental(t, true, "custom", op("retention.ms", 0, str("x"))); protocol.ErrorCode(r.ErrorCode) != protocol.ErrInvalidConfig {
		t.Errorf("validateOnly of a bad value: %d", r.ErrorCode)
	}

	// Several resources: unknown topic, broker, duplicates, each on its own.
	resp := f.h.IncrementalAlterConfigs(context.Background(), &protocol.IncrementalAlterConfigsRequest{Resources: []protocol.IncrementalAlterConfigsRequestAlterConfigsResource{
		{ResourceType: 2, ResourceName: "nope", Configs: []protocol.IncrementalAlterConfigsRequestAlterableConfig{op("retention.ms", 0, str("1000"))}},
		{ResourceType: 4, ResourceName: "1", Configs: []protocol.IncrementalAlterConfigsRequestAlterableConfig{op("log.retention.hours", 0, str("1"))}},
		{ResourceType: 2, ResourceName: "custom", Configs: []protocol.IncrementalAlterConfigsRequestAlterableConfig{op("retention.ms", 0, str("1000"))}},
		{ResourceType: 2, ResourceName: "custom", Configs: []protocol.IncrementalAlterConfigsRequestAlterableConfig{op("retention.ms", 0, str("2000"))}},
		{ResourceType: 2, ResourceName: "plain", Configs: []protocol.IncrementalAlterConfigsRequestAlterableConfig{op("retention.ms", 0, str("3000"))}},
		{ResourceType: 2, ResourceName: "bad name!", Configs: []protocol.IncrementalAlterConfigsRequestAlterableConfig{op("retention.ms", 0, str("3000"))}},
	}}, 0)
	want := []protocol.ErrorCode{protocol.ErrUnknownTopicOrPartition, protocol.ErrInvalidRequest, protocol.ErrInvalidRequest, protocol.ErrInvalidRequest, protocol.ErrNone, protocol.ErrInvalidTopicException}
	for i, r := range resp.Responses {
		if protocol.ErrorCode(r.ErrorCode) != want[i] {
			t.Errorf("resource %d (%s): %d %s, want %d", i, r.ResourceName, r.ErrorCode, val(r.ErrorMessage), want[i])
		}
	}
	if !strings.Contains(val(resp.Responses[1].ErrorMessage), "Cannot update these configs dynamically: Set(log.retention.hours)") {
		t.Errorf("broker message %s", val(resp.Responses[1].ErrorMessage))
	}
	if got := f.logConfig(t, "plain").RetentionAge; got != 3*time.Second {
		t.Errorf("plain retention %v", got)
	}
	if got := f.logConfig(t, "custom").RetentionAge; got != time.Minute {
		t.Errorf("custom (duplicated) retention %v", got)
	}
}

func TestAlterConfigsLegacy(t *testing.T) {
	f := configsFixture(t)
	alter := func(validateOnly bool, topic string, cs ...protocol.AlterConfigsRequestAlterableConfig) protocol.AlterConfigsResponseAlterConfigsResourceResponse {
		t.Helper()
		resp := f.h.AlterConfigs(context.Background(), &protocol.AlterConfigsRequest{ValidateOnly: validateOnly,
			Resources: []protocol.AlterConfigsRequestAlterConfigsResource{{ResourceType: 2, ResourceName: topic, Configs: cs}}}, 2)
		if len(resp.Responses) != 1 || resp.Responses[0].ResourceName != topic {
			t.Fatalf("responses %+v", resp.Responses)
		}
		return resp.Responses[0]
	}
	kv := func(k string, v *string) protocol.AlterConfigsRequestAlterableConfig {
		return protocol.AlterConfigsRequestAlterableConfig{Name: k, Value: v}
	}

	// The listed keys replace the whole configuration: retention.ms goes.
	if r := alter(false, "custom", kv("segment.ms", str("3600000")), kv("cleanup.policy", str("compact"))); r.ErrorCode != 0 {
		t.Fatalf("alter: %d %s", r.ErrorCode, val(r.ErrorMessage))
	}
	all := f.describe(t, 4, false, 2, "custom", nil).Configs
	if c := findConfig(all, "segment.ms"); val(c.Value) != "3600000" || c.ConfigSource != int8(config.SourceDynamicTopicConfig) {
		t.Errorf("segment.ms %+v", c)
	}
	if c := findConfig(all, "retention.ms"); val(c.Value) != "172800000" || c.ConfigSource != int8(config.SourceStaticBrokerConfig) {
		t.Errorf("retention.ms not reset: %+v", c)
	}
	lc := f.logConfig(t, "custom")
	if lc.SegmentAge != time.Hour || lc.RetentionAge != storage.DefaultConfig().RetentionAge {
		t.Errorf("log config segment %v retention %v", lc.SegmentAge, lc.RetentionAge)
	}

	// Invalid value, unknown key, duplicate key; validateOnly.
	if r := alter(false, "custom", kv("retention.ms", str("later"))); protocol.ErrorCode(r.ErrorCode) != protocol.ErrInvalidConfig || !strings.Contains(val(r.ErrorMessage), "retention.ms") {
		t.Errorf("bad value: %d %s", r.ErrorCode, val(r.ErrorMessage))
	}
	if r := alter(false, "custom", kv("no.such.key", str("1"))); protocol.ErrorCode(r.ErrorCode) != protocol.ErrInvalidConfig || !strings.Contains(val(r.ErrorMessage), "no.such.key") {
		t.Errorf("unknown key: %d %s", r.ErrorCode, val(r.ErrorMessage))
	}
	if r := alter(false, "custom", kv("retention.ms", str("1")), kv("retention.ms", str("2"))); protocol.ErrorCode(r.ErrorCode) != protocol.ErrInvalidRequest {
		t.Errorf("duplicate key: %d %s", r.ErrorCode, val(r.ErrorMessage))
	}
	if r := alter(true, "custom", kv("retention.ms", str("5000"))); r.ErrorCode != 0 {
		t.Errorf("validateOnly: %d %s", r.ErrorCode, val(r.ErrorMessage))
	}
	if c := f.topicConfig(t, "custom", "segment.ms"); val(c.Value) != "3600000" {
		t.Errorf("failed or validate-only requests changed segment.ms: %+v", c)
	}
	if c := f.topicConfig(t, "custom", "retention.ms"); c.ConfigSource != int8(config.SourceStaticBrokerConfig) {
		t.Errorf("validateOnly set retention.ms: %+v", c)
	}
	// A null value is refused, as Kafka refuses it (leaving the key out
	// deletes it).
	if r := alter(false, "custom", kv("segment.ms", nil), kv("retention.ms", str("5000")), kv("flush.ms", nil)); protocol.ErrorCode(r.ErrorCode) != protocol.ErrInvalidRequest ||
		val(r.ErrorMessage) != "Null value not supported for : segment.ms, flush.ms" {
		t.Fatalf("null values: %d %s", r.ErrorCode, val(r.ErrorMessage))
	}
	if c := f.topicConfig(t, "custom", "segment.ms"); val(c.Value) != "3600000" {
		t.Errorf("a refused request changed segment.ms: %+v", c)
	}
	if r := alter(false, "custom", kv("retention.ms", str("5000"))); r.ErrorCode != 0 {
		t.Fatalf("segment.ms left out: %d %s", r.ErrorCode, val(r.ErrorMessage))
	}
	if c := f.topicConfig(t, "custom", "segment.ms"); c.ConfigSource == int8(config.SourceDynamicTopicConfig) {
		t.Errorf("segment.ms, left out, not deleted: %+v", c)
	}
	// Broker resources are refused.
	resp := f.h.AlterConfigs(context.Background(), &protocol.AlterConfigsRequest{Resources: []protocol.AlterConfigsRequestAlterConfigsResource{
		{ResourceType: 4, ResourceName: "1", Configs: []protocol.AlterConfigsRequestAlterableConfig{kv("log.retention.hours", str("1"))}}}}, 0)
	if protocol.ErrorCode(resp.Responses[0].ErrorCode) != protocol.ErrInvalidRequest || resp.Responses[0].ResourceType != 4 {
		t.Errorf("broker: %+v", resp.Responses[0])
	}
	// The broker checks a broker resource before the controller does, as
	// Kafka's does: the resource must name it, and a cleaner change must
	// suit the cleaner it runs (one thread by default).
	resp = f.h.AlterConfigs(context.Background(), &protocol.AlterConfigsRequest{Resources: []protocol.AlterConfigsRequestAlterConfigsResource{
		{ResourceType: 4, ResourceName: "2", Configs: []protocol.AlterConfigsRequestAlterableConfig{kv("log.cleaner.threads", str("2"))}},
		{ResourceType: 4, ResourceName: "x", Configs: []protocol.AlterConfigsRequestAlterableConfig{kv("log.cleaner.threads", str("2"))}},
		{ResourceType: 4, ResourceName: "", Configs: []protocol.AlterConfigsRequestAlterableConfig{kv("log.cleaner.threads", str("3"))}},
		{ResourceType: 4, ResourceName: "1", Configs: []protocol.AlterConfigsRequestAlterableConfig{kv("log.cleaner.threads", str(" 2 "))}},
	}}, 0)
	for i, want := range []string{
		"Unexpected broker id, expected 1, but received 2",
		"Node id must be an integer, but it is: x",
		"Log cleaner threads cannot be increased to more than double the current value 1",
		"",
	} {
		r := resp.Responses[i]
		if want == "" && (r.ErrorCode != 0 || r.ErrorMessage != nil) || want != "" && (r.ErrorCode != 42 || val(r.ErrorMessage) != want) {
			t.Errorf("broker resource %q: %d %q, want %q", r.ResourceName, r.ErrorCode, val(r.ErrorMessage), want)
		}
	}
}
