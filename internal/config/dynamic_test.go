package config

import (
	"errors"
	"strings"
	"testing"
)

func TestDynamicModes(t *testing.T) {
	for name, want := range map[string]DynamicMode{
		"log.retention.ms":                    DynamicApplied,
		"log.segment.bytes":                   DynamicApplied,
		"message.max.bytes":                   DynamicApplied,
		"min.insync.replicas":                 DynamicApplied,
		"log.cleanup.policy":                  DynamicApplied,
		"log.retention.hours":                 NotDynamic, // not the primary synonym: Kafka keeps it static
		"log.message.format.version":          NotDynamic,
		"num.io.threads":                      DynamicIgnored,
		"log.cleaner.threads":                 DynamicRead,
		"log.cleaner.io.max.bytes.per.second": DynamicRead,
		"log.cleaner.backoff.ms":              DynamicRead,
		"log.cleaner.enable":                  NotDynamic, // static in Kafka too
		"log.cleaner.min.cleanable.ratio":     DynamicApplied,
		"max.connections":                     DynamicRead,
		"producer.id.expiration.ms":           DynamicRead,
		"log.dirs":                            NotDynamic,
		"broker.id":                           NotDynamic,
		"ssl.keystore.location":               NotDynamic,
		"no.such.key":                         NotDynamic,
		"retention.ms":                        NotDynamic, // a topic key
		"log.retention.check.interval.ms":     NotDynamic,
	} {
		if got := Dynamic(name); got != want {
			t.Errorf("Dynamic(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestCheckDynamicBrokerConfigs(t *testing.T) {
	got, err := CheckDynamicBrokerConfigs(map[string]string{"log.retention.ms": " 1000 ", "num.io.threads": "4"})
	if err != nil || got["log.retention.ms"] != "1000" || got["num.io.threads"] != "4" {
		t.Fatalf("valid configs: %v, %v", got, err)
	}
	_, err = CheckDynamicBrokerConfigs(map[string]string{"log.dirs": "/x", "log.retention.ms": "1", "broker.id": "3"})
	if err == nil || err.Error() != "Cannot update these configs dynamically: Set(broker.id, log.dirs)" {
		t.Fatalf("static keys: %v", err)
	}
	_, err = CheckDynamicBrokerConfigs(map[string]string{"log.segment.bytes": "10"})
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "log.segment.bytes" || !strings.Contains(err.Error(), "log.segment.bytes") {
		t.Fatalf("invalid value: %v", err)
	}
}

func TestOverlayDynamic(t *testing.T) {
	static := map[string]string{"retention.ms": "604800000", "segment.bytes": "1073741824", "min.insync.replicas": "1"}
	got := OverlayDynamic(static,
		map[string]string{"log.retention.ms": "-5", "min.insync.replicas": "2", "num.io.threads": "3"},
		map[string]string{"min.insync.replicas": "3"})
	if got["retention.ms"] != "-1" || got["min.insync.replicas"] != "3" || got["segment.bytes"] != "1073741824" {
		t.Fatalf("overlay: %v", got)
	}
	if _, ok := got["num.io.threads"]; ok || static["retention.ms"] != "604800000" {
		t.Fatalf("overlay leaked a broker key or changed its input: %v %v", got, static)
	}
}
