package controller

import (
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestDynamicBrokerConfigs alters the cluster-wide default and one
// broker's dynamic configuration: dynamic keys are stored normalized,
// static keys and bad values refuse the whole resource with
// INVALID_REQUEST, and APPEND works on a list key.
func TestDynamicBrokerConfigs(t *testing.T) {
	tc := newTestController(t)
	tc.brokers(1)
	alter := func(name string, changes ...ConfigChange) *CommandError {
		t.Helper()
		r := tc.submit(IncrementalAlterConfigs([]IncrementalAlterConfigsResource{{Type: metadata.ResourceBroker, Name: name, Changes: changes}}, false)).([]AlterConfigsResult)
		return r[0].Err
	}
	def := func() map[string]string {
		return tc.img().Configs.Resource(metadata.ConfigResource{Type: metadata.ResourceBroker})
	}

	wantCode(t, "default", alter("", ConfigChange{Key: "log.retention.ms", Op: ConfigSet, Value: str(" 5000 ")},
		ConfigChange{Key: "num.io.threads", Op: ConfigSet, Value: str("4")}), protocol.ErrNone)
	if got := def(); got["log.retention.ms"] != "5000" || got["num.io.threads"] != "4" || len(got) != 2 {
		t.Fatalf("cluster default: %v", got)
	}
	wantCode(t, "broker", alter("1", ConfigChange{Key: "min.insync.replicas", Op: ConfigSet, Value: str("2")}), protocol.ErrNone)
	if got := tc.img().BrokerConfigs(1); got["min.insync.replicas"] != "2" {
		t.Fatalf("broker 1: %v", got)
	}
	wantCode(t, "append", alter("1", ConfigChange{Key: "log.cleanup.policy", Op: ConfigAppend, Value: str("compact")}), protocol.ErrNone)
	if got := tc.img().BrokerConfigs(1); got["log.cleanup.policy"] != "delete,compact" {
		t.Fatalf("append to the default delete: %v", got)
	}

	before := tc.img().Offset
	for _, c := range []struct {
		name   string
		change ConfigChange
		msg    string
	}{
		{"", ConfigChange{Key: "log.dirs", Op: ConfigSet, Value: str("/x")}, "Cannot update these configs dynamically: Set(log.dirs)"},
		{"1", ConfigChange{Key: "num.replica.fetchers", Op: ConfigSet, Value: str("5")}, "Set(num.replica.fetchers)"},
		{"1", ConfigChange{Key: "max.connections", Op: ConfigSet, Value: str("-1")}, "max.connections"},
		{"1", ConfigChange{Key: "no.such.key", Op: ConfigSet, Value: str("5")}, "Set(no.such.key)"},
		{"1", ConfigChange{Key: "log.segment.bytes", Op: ConfigSet, Value: str("10")}, "log.segment.bytes"},
		{"1", ConfigChange{Key: "retention.ms", Op: ConfigSet, Value: str("10")}, "Set(retention.ms)"},
		{"x", ConfigChange{Key: "log.retention.ms", Op: ConfigSet, Value: str("1")}, "Invalid broker name x"},
		{"1", ConfigChange{Key: "log.dirs", Op: ConfigAppend, Value: str("/y")}, "Set(log.dirs)"},
	} {
		err := alter(c.name, c.change)
		wantCode(t, c.change.Key, err, protocol.ErrInvalidRequest)
		if !strings.Contains(err.Message, c.msg) {
			t.Errorf("%s on %q: message %q lacks %q", c.change.Key, c.name, err.Message, c.msg)
		}
	}
	if tc.img().Offset != before {
		t.Fatal("refused changes wrote records")
	}

	// The legacy API replaces the resource's whole configuration.
	r := tc.submit(AlterConfigs([]AlterConfigsResource{{Type: metadata.ResourceBroker, Name: "",
		Configs: map[string]*string{"log.segment.bytes": str("1048576")}}}, false)).([]AlterConfigsResult)
	wantCode(t, "legacy", r[0].Err, protocol.ErrNone)
	if got := def(); len(got) != 1 || got["log.segment.bytes"] != "1048576" {
		t.Fatalf("legacy replace: %v", got)
	}
	wantCode(t, "delete", alter("", ConfigChange{Key: "log.segment.bytes", Op: ConfigDelete}), protocol.ErrNone)
	if got := def(); got != nil {
		t.Fatalf("after delete: %v", got)
	}
}
