package controller

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// ConfigOp is an IncrementalAlterConfigs operation, with Kafka's ids.
type ConfigOp int8

const (
	ConfigSet      ConfigOp = 0
	ConfigDelete   ConfigOp = 1
	ConfigAppend   ConfigOp = 2
	ConfigSubtract ConfigOp = 3
)

// ConfigChange is one operation on one key. Value is ignored by
// ConfigDelete and required by the others; for ConfigAppend and
// ConfigSubtract it is a comma-separated list.
type ConfigChange struct {
	Key   string
	Op    ConfigOp
	Value *string
}

// IncrementalAlterConfigsResource is one resource of an
// IncrementalAlterConfigs request.
type IncrementalAlterConfigsResource struct {
	Type    metadata.ResourceType
	Name    string
	Changes []ConfigChange
}

// AlterConfigsResource is one resource of a legacy AlterConfigs request:
// Configs replaces the resource's whole configuration (a nil value
// deletes the key, as does leaving it out).
type AlterConfigsResource struct {
	Type    metadata.ResourceType
	Name    string
	Configs map[string]*string
}

// AlterConfigsResult is the outcome for one resource.
type AlterConfigsResult struct {
	Type metadata.ResourceType
	Name string
	Err  *CommandError
}

// IncrementalAlterConfigs applies operations to topic configurations; the
// reply is []AlterConfigsResult in request order. Each resource's changes
// apply all or nothing; records are written only for keys whose value
// changes. Broker resources (dynamic broker configs: "" for the
// cluster-wide default, or a broker id) take only dynamic keys (see
// config.Dynamic).
func IncrementalAlterConfigs(resources []IncrementalAlterConfigsResource, validateOnly bool) Command {
	return newCommand(opIncrementalAlterConfigs, incrementalAlterConfigsArgs{resources, validateOnly},
		alterEach(resources, validateOnly, func(r IncrementalAlterConfigsResource) (metadata.ResourceType, string) {
			return r.Type, r.Name
		}, incrementalAlter))
}

// AlterConfigs replaces topic configurations (the legacy AlterConfigs
// API); the reply is []AlterConfigsResult in request order.
func AlterConfigs(resources []AlterConfigsResource, validateOnly bool) Command {
	return newCommand(opAlterConfigs, alterConfigsArgs{resources, validateOnly},
		alterEach(resources, validateOnly, func(r AlterConfigsResource) (metadata.ResourceType, string) {
			return r.Type, r.Name
		}, legacyAlter))
}

// alterEach runs alter on every resource, collecting one result each; a
// resource that fails leaves the others unaffected.
func alterEach[R any](resources []R, validateOnly bool, id func(R) (metadata.ResourceType, string),
	alter func(*metadata.Image, R) ([]metadata.Record, *CommandError)) func(*metadata.Image) ([]metadata.Record, any, error) {
	return func(img *metadata.Image) ([]metadata.Record, any, error) {
		results := make([]AlterConfigsResult, len(resources))
		var recs []metadata.Record
		for i, r := range resources {
			results[i].Type, results[i].Name = id(r)
			rs, err := alter(img, r)
			if err != nil {
				results[i].Err = err
				continue
			}
			if !validateOnly {
				recs = append(recs, rs...)
			}
		}
		return recs, results, nil
	}
}

// checkResource admits existing topics and broker resources (dynamic
// broker configs); other resource types have no configs here.
func checkResource(img *metadata.Image, typ metadata.ResourceType, name string) *CommandError {
	switch typ {
	case metadata.ResourceTopic:
		// As Kafka's controller: the name is checked before it is looked up.
		if name == "" {
			return cmdErr(protocol.ErrInvalidRequest, "Default topic resources are not allowed.")
		}
		if err := ValidTopicName(name); err != nil {
			return cmdErr(protocol.ErrInvalidTopicException, "%s", err.Error())
		}
		if img.TopicByName(name) == nil {
			return cmdErr(protocol.ErrUnknownTopicOrPartition, "The topic %q does not exist.", name)
		}
		return nil
	case metadata.ResourceBroker:
		// The cluster-wide default ("") or one broker, registered or not
		// (as Kafka allows, so that a broker starts with its configs).
		if name == "" {
			return nil
		}
		if id, err := strconv.ParseInt(name, 10, 32); err != nil || id < 0 {
			return cmdErr(protocol.ErrInvalidRequest, "Invalid broker name %s", name)
		}
		return nil
	default:
		return cmdErr(protocol.ErrInvalidRequest, "unsupported resource type %v", typ)
	}
}

func incrementalAlter(img *metadata.Image, r IncrementalAlterConfigsResource) ([]metadata.Record, *CommandError) {
	if err := checkResource(img, r.Type, r.Name); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, c := range r.Changes {
		if seen[c.Key] {
			return nil, cmdErr(protocol.ErrInvalidRequest, "Error due to duplicate config keys")
		}
		seen[c.Key] = true
	}
	res := metadata.ConfigResource{Type: r.Type, Name: r.Name}
	current := img.Configs.Resource(res)
	next, err := NextConfigs(current, r)
	if err != nil {
		return nil, err
	}
	return configRecords(img, res, current, next)
}

// NextConfigs returns resource r's configuration once its changes apply
// to current (which is not modified), or the error that refuses them.
func NextConfigs(current map[string]string, r IncrementalAlterConfigsResource) (map[string]string, *CommandError) {
	next := maps.Clone(current)
	if next == nil {
		next = map[string]string{}
	}
	for _, c := range r.Changes {
		if c.Op != ConfigDelete && c.Value == nil {
			return nil, cmdErr(protocol.ErrInvalidRequest, "Null value not supported for : %s", c.Key)
		}
		switch c.Op {
		case ConfigSet:
			next[c.Key] = *c.Value
		case ConfigDelete:
			delete(next, c.Key)
		case ConfigAppend, ConfigSubtract:
			e, ok := config.Lookup(c.Key)
			switch {
			case r.Type == metadata.ResourceBroker && (!ok || config.Dynamic(c.Key) == config.NotDynamic):
				return nil, cmdErr(protocol.ErrInvalidRequest, "Cannot update these configs dynamically: Set(%s)", c.Key)
			case r.Type == metadata.ResourceTopic && (!ok || !e.Scope.Topic()):
				return nil, cmdErr(protocol.ErrInvalidConfig, "%v", config.ValidateTopicConfig(c.Key, *c.Value))
			}
			if e.Type != config.TypeList {
				verb := "APPEND"
				if c.Op == ConfigSubtract {
					verb = "SUBTRACT"
				}
				return nil, cmdErr(protocol.ErrInvalidConfig,
					"Can't %s to key %s because its type is not LIST.", verb, c.Key)
			}
			old, set := next[c.Key]
			if !set {
				old, _ = e.EffectiveDefault()
			}
			next[c.Key] = editList(old, *c.Value, c.Op == ConfigAppend)
		default:
			return nil, cmdErr(protocol.ErrInvalidRequest, "Unknown operation type %d for key %s.", c.Op, c.Key)
		}
	}
	return next, nil
}

// editList appends the elements of change missing from list, or removes
// those present, keeping list's order.
func editList(list, change string, add bool) string {
	elems := splitElems(list)
	for _, c := range splitElems(change) {
		i := slices.Index(elems, c)
		switch {
		case add && i < 0:
			elems = append(elems, c)
		case !add && i >= 0:
			elems = slices.DeleteFunc(elems, func(e string) bool { return e == c })
		}
	}
	return strings.Join(elems, ",")
}

func splitElems(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func legacyAlter(img *metadata.Image, r AlterConfigsResource) ([]metadata.Record, *CommandError) {
	if err := checkResource(img, r.Type, r.Name); err != nil {
		return nil, err
	}
	res := metadata.ConfigResource{Type: r.Type, Name: r.Name}
	next := map[string]string{}
	for k, v := range r.Configs {
		if v != nil {
			next[k] = *v
		}
	}
	return configRecords(img, res, img.Configs.Resource(res), next)
}

// configRecords validates a resource's new configuration and returns the
// records that turn current into next.
// A broker resource's keys must be dynamic (INVALID_REQUEST otherwise,
// as Kafka answers) and are stored normalized.
func configRecords(img *metadata.Image, res metadata.ConfigResource, current, next map[string]string) ([]metadata.Record, *CommandError) {
	if res.Type == metadata.ResourceBroker {
		checked, err := config.CheckDynamicBrokerConfigs(next)
		if err != nil {
			return nil, cmdErr(protocol.ErrInvalidRequest, "%v", err)
		}
		next = checked
	}
	var recs []metadata.Record
	for _, k := range slices.Sorted(maps.Keys(next)) {
		v := next[k]
		if old, ok := current[k]; ok && old == v {
			continue
		}
		if res.Type == metadata.ResourceTopic {
			if err := config.ValidateTopicConfig(k, v); err != nil {
				return nil, cmdErr(protocol.ErrInvalidConfig, "%v", err)
			}
		}
		recs = append(recs, metadata.NewRecord(&protocol.ConfigRecord{
			ResourceType: int8(res.Type), ResourceName: res.Name, Name: k, Value: &v,
		}))
	}
	if res.Type == metadata.ResourceTopic {
		if err := checkCompactionLags(img, next); err != nil {
			return nil, err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(current)) {
		if _, ok := next[k]; !ok {
			recs = append(recs, metadata.NewRecord(&protocol.ConfigRecord{
				ResourceType: int8(res.Type), ResourceName: res.Name, Name: k, Value: nil,
			}))
		}
	}
	return recs, nil
}
