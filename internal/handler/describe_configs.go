package handler

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// ConfigSource is what DescribeConfigs needs of the broker's static
// configuration; *config.Broker implements it.
type ConfigSource interface {
	// Describe returns the broker keys Sluice implements or ignores, with
	// their values and sources.
	Describe() []config.Row
	// DescribeTopicDefaults returns the topic defaults derived from the
	// broker keys: the configuration of a topic that overrides nothing.
	DescribeTopicDefaults() []config.Row
	// StaticCleaner returns the log cleaner's settings in the static
	// configuration, which dynamic changes are checked against.
	StaticCleaner() config.Cleaner
}

// SetConfigs sets the broker configuration DescribeConfigs reports (the
// broker's keys, and the topic defaults topics fall back on). Until it is
// called, DescribeConfigs reports the registry's defaults.
func (h *Handler) SetConfigs(src ConfigSource) { h.configs = src }

func (h *Handler) configSource() ConfigSource {
	if h.configs != nil {
		return h.configs
	}
	return cfgRegistryDefaults{}
}

// cfgRegistryDefaults describes every key at its default, for a Handler
// without SetConfigs.
type cfgRegistryDefaults struct{}

func (cfgRegistryDefaults) Describe() []config.Row {
	return cfgDefaultRows(func(e config.Entry) bool { return e.Scope.Broker() }, true)
}

func (cfgRegistryDefaults) StaticCleaner() config.Cleaner { return config.DefaultCleaner() }

func (cfgRegistryDefaults) DescribeTopicDefaults() []config.Row {
	return cfgDefaultRows(func(e config.Entry) bool { return e.Scope.Topic() }, false)
}

func cfgDefaultRows(keep func(config.Entry) bool, readOnly bool) []config.Row {
	var rows []config.Row
	for _, e := range config.Keys() {
		if !keep(e) || e.Kind == config.Rejected {
			continue
		}
		v, null := e.EffectiveDefault()
		sensitive := e.Type == config.TypePassword
		if sensitive {
			v = ""
		}
		rows = append(rows, config.Row{Name: e.Name, Value: v, Null: null, Source: config.SourceDefaultConfig,
			Origin: config.OriginKafkaDefault, Kind: e.Kind, Sensitive: sensitive,
			ReadOnly: readOnly && config.Dynamic(e.Name) == config.NotDynamic})
	}
	return rows
}

// DescribeConfigs describes topic and broker configurations (versions
// 0-4). Topics report their effective values: the topic's override, else
// the broker's topic default, dynamic (this broker's, then the
// cluster-wide default's) over static. The broker reports its
// configuration, dynamic values over static ones, read-only unless the
// key is dynamic (config.Dynamic); its name must be this broker's id, or
// "" for the cluster-wide dynamic defaults, which lists only the keys
// set there. Only keys Sluice implements or ignores are listed (rejected
// keys can only hold Kafka's default), plus any key a topic overrides.
func (h *Handler) DescribeConfigs(ctx context.Context, req *protocol.DescribeConfigsRequest, version int16) *protocol.DescribeConfigsResponse {
	resp := &protocol.DescribeConfigsResponse{Results: make([]protocol.DescribeConfigsResponseDescribeConfigsResult, 0, len(req.Resources))}
	d := h.newConfigDescriber(version)
	d.synonyms = version >= 1 && req.IncludeSynonyms
	d.documents = version >= 3 && req.IncludeDocumentation
	for _, r := range req.Resources {
		out := protocol.DescribeConfigsResponseDescribeConfigsResult{ResourceType: r.ResourceType, ResourceName: r.ResourceName}
		var code protocol.ErrorCode
		var msg string
		switch metadata.ResourceType(r.ResourceType) {
		case metadata.ResourceTopic:
			out.Configs, code, msg = d.topic(r.ResourceName, r.ConfigurationKeys)
		case metadata.ResourceBroker:
			out.Configs, code, msg = d.broker(h.cfg.NodeID, r.ResourceName, r.ConfigurationKeys)
		default:
			code, msg = protocol.ErrInvalidRequest, "Unsupported resource type: "+metadata.ResourceType(r.ResourceType).String()
		}
		if code != protocol.ErrNone {
			out.ErrorCode, out.ErrorMessage, out.Configs = int16(code), &msg, nil
		}
		if out.Configs == nil {
			out.Configs = []protocol.DescribeConfigsResponseDescribeConfigsResourceResult{}
		}
		resp.Results = append(resp.Results, out)
	}
	return resp
}

type configDescriber struct {
	img                 *metadata.Image // the image described
	src                 ConfigSource
	version             int16
	synonyms, documents bool
	brokerRows          map[string]config.Row // src.Describe by name, loaded on first use
	// The dynamic broker configs: the cluster-wide default's and this
	// broker's own.
	dynDefault, dynOwn map[string]string
}

// newConfigDescriber describes configs as DescribeConfigs version does,
// from the broker's current image.
func (h *Handler) newConfigDescriber(version int16) configDescriber {
	img := h.image()
	return configDescriber{img: img, src: h.configSource(), version: version,
		dynDefault: img.BrokerDefaultConfigs(), dynOwn: img.BrokerConfigs(h.cfg.NodeID)}
}

// dynamicLayers returns the dynamic values of broker keys (synonyms of one
// key, in priority order), as Kafka lists them: every per-broker value,
// then every cluster-default one.
func (d *configDescriber) dynamicLayers(keys ...string) []protocol.DescribeConfigsResponseDescribeConfigsSynonym {
	var out []protocol.DescribeConfigsResponseDescribeConfigsSynonym
	for _, layer := range []struct {
		m   map[string]string
		src config.ConfigSource
	}{{d.dynOwn, config.SourceDynamicBrokerConfig}, {d.dynDefault, config.SourceDynamicDefaultBrokerConfig}} {
		for _, k := range keys {
			if v, ok := layer.m[k]; ok {
				out = append(out, cfgSynonym(k, v, false, layer.src, false))
			}
		}
	}
	return out
}

// cfgWanted reports whether key is asked for: no keys (null or an empty
// list, as Kafka reads both) asks for all.
func cfgWanted(keys []string, key string) bool { return len(keys) == 0 || slices.Contains(keys, key) }

func (d *configDescriber) brokerRow(name string) (config.Row, bool) {
	if d.brokerRows == nil {
		d.brokerRows = map[string]config.Row{}
		for _, r := range d.src.Describe() {
			d.brokerRows[r.Name] = r
		}
	}
	r, ok := d.brokerRows[name]
	return r, ok
}

func (d *configDescriber) topic(name string, keys []string) ([]protocol.DescribeConfigsResponseDescribeConfigsResourceResult, protocol.ErrorCode, string) {
	if err := controller.ValidTopicName(name); err != nil {
		return nil, protocol.ErrInvalidTopicException, err.Error()
	}
	if d.img.TopicByName(name) == nil {
		return nil, protocol.ErrUnknownTopicOrPartition, "The topic " + strconv.Quote(name) + " does not exist."
	}
	return d.topicRows(d.img.TopicConfigs(name), keys), protocol.ErrNone, ""
}

// topicRows describes the keys asked for of a topic with overrides: every
// topic key, by name.
func (d *configDescriber) topicRows(overrides map[string]string, keys []string) []protocol.DescribeConfigsResponseDescribeConfigsResourceResult {
	var out []protocol.DescribeConfigsResponseDescribeConfigsResourceResult
	listed := map[string]bool{}
	for _, row := range d.src.DescribeTopicDefaults() {
		listed[row.Name] = true
		if !cfgWanted(keys, row.Name) {
			continue
		}
		v, set := overrides[row.Name]
		out = append(out, d.topicEntry(row.Name, v, set, row))
	}
	// Keys a topic overrides outside the described ones (a rejected key
	// set to Kafka's default): the topic holds them, so list them.
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		if listed[k] || !cfgWanted(keys, k) {
			continue
		}
		out = append(out, d.topicEntry(k, overrides[k], true, config.Row{Name: k, Null: true, Source: config.SourceDefaultConfig}))
	}
	slices.SortFunc(out, func(a, b protocol.DescribeConfigsResponseDescribeConfigsResourceResult) int {
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// topicEntry describes topic key name: its override when set, else its
// default row. Synonyms are the override, then the broker keys that
// supply the default in priority order (each with its own value and
// source), so that the first synonym is where the value comes from.
func (d *configDescriber) topicEntry(name, override string, set bool, def config.Row) protocol.DescribeConfigsResponseDescribeConfigsResourceResult {
	e, _ := config.Lookup(name)
	sensitive := e.Type == config.TypePassword
	value, null, source := def.Value, def.Null, def.Source
	dyn := d.dynamicLayers(config.TopicSynonyms(name)...)
	switch {
	case set:
		value, null, source = override, false, config.SourceDynamicTopicConfig
	case len(dyn) > 0:
		_, value, _ = config.DynamicTopicDefault(dyn[0].Name, *dyn[0].Value)
		null, source = false, config.ConfigSource(dyn[0].Source)
	}
	out := d.entry(name, e, value, null, source, sensitive, false)
	if d.synonyms {
		if set {
			out.Synonyms = append(out.Synonyms, cfgSynonym(name, override, false, config.SourceDynamicTopicConfig, sensitive))
		}
		out.Synonyms = append(out.Synonyms, dyn...)
		fromBroker := len(dyn) > 0
		for _, k := range config.TopicSynonyms(name) {
			r, ok := d.brokerRow(k)
			if !ok || r.Null {
				continue
			}
			fromBroker = true
			out.Synonyms = append(out.Synonyms, cfgSynonym(k, r.Value, false, r.Source, r.Sensitive))
		}
		if !fromBroker && !def.Null {
			// No broker key supplies it: the topic key's own default.
			out.Synonyms = append(out.Synonyms, cfgSynonym(name, def.Value, false, def.Source, sensitive))
		}
	}
	return out
}

func (d *configDescriber) broker(self int32, name string, keys []string) ([]protocol.DescribeConfigsResponseDescribeConfigsResourceResult, protocol.ErrorCode, string) {
	if name == "" {
		// The cluster-wide dynamic broker defaults: only the keys set.
		var out []protocol.DescribeConfigsResponseDescribeConfigsResourceResult
		for _, k := range slices.Sorted(maps.Keys(d.dynDefault)) {
			if !cfgWanted(keys, k) {
				continue
			}
			e, _ := config.Lookup(k)
			c := d.entry(k, e, d.dynDefault[k], false, config.SourceDynamicDefaultBrokerConfig, false, false)
			if d.synonyms {
				c.Synonyms = append(c.Synonyms, cfgSynonym(k, d.dynDefault[k], false, config.SourceDynamicDefaultBrokerConfig, false))
			}
			out = append(out, c)
		}
		return out, protocol.ErrNone, ""
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return nil, protocol.ErrInvalidRequest, "Broker id must be an integer, but it is: " + name
	}
	if int32(id) != self {
		return nil, protocol.ErrInvalidRequest, "Unexpected broker id, expected " + strconv.Itoa(int(self)) + " or empty string, but received " + name
	}
	var out []protocol.DescribeConfigsResponseDescribeConfigsResourceResult
	for _, r := range d.src.Describe() {
		if !cfgWanted(keys, r.Name) {
			continue
		}
		e, _ := config.Lookup(r.Name)
		value, null, source := r.Value, r.Null, r.Source
		dyn := d.dynamicLayers(r.Name)
		if len(dyn) > 0 {
			value, null, source = *dyn[0].Value, false, config.ConfigSource(dyn[0].Source)
		}
		c := d.entry(r.Name, e, value, null, source, r.Sensitive, r.ReadOnly)
		if d.synonyms {
			c.Synonyms = append(c.Synonyms, dyn...)
			if !r.Null {
				c.Synonyms = append(c.Synonyms, cfgSynonym(r.Name, r.Value, false, r.Source, r.Sensitive))
			}
		}
		out = append(out, c)
	}
	return out, protocol.ErrNone, ""
}

func (d *configDescriber) entry(name string, e config.Entry, value string, null bool, source config.ConfigSource, sensitive, readOnly bool) protocol.DescribeConfigsResponseDescribeConfigsResourceResult {
	out := protocol.DescribeConfigsResponseDescribeConfigsResourceResult{
		Name: name, ReadOnly: readOnly, ConfigSource: int8(source), IsSensitive: sensitive,
		Synonyms: []protocol.DescribeConfigsResponseDescribeConfigsSynonym{},
	}
	if !null && !sensitive {
		v := value
		out.Value = &v
	}
	if d.version == 0 {
		out.IsDefault = source == config.SourceDefaultConfig
	}
	if d.version >= 3 {
		out.ConfigType = kafkaConfigType(e.Type)
		if d.documents {
			out.Documentation = cfgDocumentation(e)
		}
	}
	return out
}

func cfgSynonym(name, value string, null bool, source config.ConfigSource, sensitive bool) protocol.DescribeConfigsResponseDescribeConfigsSynonym {
	s := protocol.DescribeConfigsResponseDescribeConfigsSynonym{Name: name, Source: int8(source)}
	if !null && !sensitive {
		v := value
		s.Value = &v
	}
	return s
}

// kafkaConfigType is Kafka's DescribeConfigs ConfigType id of t (0,
// UNKNOWN, for a key outside the registry).
func kafkaConfigType(t config.Type) int8 {
	switch t {
	case config.TypeBoolean:
		return 1
	case config.TypeString:
		return 2
	case config.TypeInt:
		return 3
	case config.TypeShort:
		return 4
	case config.TypeLong:
		return 5
	case config.TypeDouble:
		return 6
	case config.TypeList:
		return 7
	case config.TypeClass:
		return 8
	case config.TypePassword:
		return 9
	}
	return 0
}

// cfgDocumentation says what Sluice does differently with a key; null when
// it behaves as Kafka documents (the registry holds no documentation
// text of its own).
func cfgDocumentation(e config.Entry) *string {
	var s string
	switch {
	case e.Kind == config.Ignored:
		s = "Ignored by Sluice: " + e.Reason
	case e.Kind == config.Rejected:
		s = "Rejected by Sluice unless set to Kafka's default: " + e.Reason
	case e.Unsupported != "":
		s = "Sluice rejects " + e.Unsupported
	case e.HasSluiceDefault():
		s = "Sluice's default is " + e.SluiceDefault + " (Kafka's is " + e.KafkaDefault() + "): " + e.SluiceReason
	default:
		return nil
	}
	return &s
}
