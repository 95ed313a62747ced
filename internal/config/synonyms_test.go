package config

import (
	"slices"
	"testing"
)

// TestTopicSynonyms checks the exported view of the synonym table: real
// keys, in priority order.
func TestTopicSynonyms(t *testing.T) {
	if got := TopicSynonyms("retention.ms"); !slices.Equal(got, []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}) {
		t.Fatalf("retention.ms synonyms %v", got)
	}
	if TopicSynonyms("no.such.key") != nil {
		t.Fatal("an unknown key has synonyms")
	}
	for topicKey := range topicSynonyms {
		if e, ok := Lookup(topicKey); !ok || !e.Scope.Topic() {
			t.Errorf("%s is not a topic key", topicKey)
		}
		for _, k := range TopicSynonyms(topicKey) {
			if e, ok := Lookup(k); !ok || !e.Scope.Broker() {
				t.Errorf("%s (for %s) is not a broker key", k, topicKey)
			}
		}
	}
}
