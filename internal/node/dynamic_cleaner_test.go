package node

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDynamicCleanerConfigs changes the log cleaner's keys at runtime, as
// kafka-configs.sh --entity-type brokers does: the cleaner takes them,
// Kafka's bounds on the thread count and the map memory refuse what the
// running cleaner cannot take, a named resource must be the broker the
// request reaches, and the settings hold across a restart.
func TestDynamicCleanerConfigs(t *testing.T) {
	dir := t.TempDir()
	n := startNodeWith(t, dir, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cl.Close() }()
	alter := func(name, key string, value *string) (int16, string) {
		t.Helper()
		return alterBrokerConfig(ctx, t, cl, name, key, value)
	}
	inForce := func(what string, ok func() bool) {
		t.Helper()
		waitFor(t, 10*time.Second, what, ok)
	}
	if o := n.logs.CleanerOptions(); o.Threads != 1 {
		t.Fatalf("static cleaner %+v", o)
	}

	if code, msg := alter("1", "log.cleaner.threads", kmsg.StringPtr("2")); code != 0 {
		t.Fatalf("threads 2: %d %s", code, msg)
	}
	if code, msg := alter("", "log.cleaner.io.max.bytes.per.second", kmsg.StringPtr("1048576")); code != 0 {
		t.Fatalf("default io.max.bytes.per.second: %d %s", code, msg)
	}
	inForce("the new cleaner settings", func() bool {
		o := n.logs.CleanerOptions()
		return o.Threads == 2 && o.MaxIOBytesPerSecond == 1<<20
	})

	for _, c := range []struct{ name, key, value, msg string }{
		{"1", "log.cleaner.threads", "5", "Log cleaner threads cannot be increased to more than double the current value 2"},
		{"1", "log.cleaner.threads", "0", "Log cleaner threads should be at least 1"},
		{"", "log.cleaner.dedupe.buffer.size", "2097151", "log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread."},
		{"1", "log.cleaner.enable", "false", "Cannot update these configs dynamically: Set(log.cleaner.enable)"},
	} {
		if code, msg := alter(c.name, c.key, kmsg.StringPtr(c.value)); code != 42 || msg != c.msg {
			t.Errorf("%q %s=%s: %d %q, want INVALID_REQUEST %q", c.name, c.key, c.value, code, msg, c.msg)
		}
	}
	// A named resource goes to its broker; one naming another is refused
	// there, as Kafka's broker refuses it.
	if code, msg := alterBrokerConfig(ctx, t, cl.Broker(1), "7", "log.cleaner.threads", kmsg.StringPtr("2")); code != 42 ||
		msg != "Unexpected broker id, expected 1, but received 7" {
		t.Fatalf("broker 7's resource sent to broker 1: %d %q", code, msg)
	}
	d := describeConfig(ctx, t, cl, kmsg.ConfigResourceTypeBroker, "1", "log.cleaner.threads")
	if d.Value == nil || *d.Value != "2" || d.ReadOnly || d.Source != kmsg.ConfigSourceDynamicBrokerConfig {
		t.Fatalf("described log.cleaner.threads %+v", d)
	}

	cl.Close()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	n = startNodeWith(t, dir, nil)
	defer n.Shutdown(context.Background())
	inForce("the dynamic cleaner settings after a restart", func() bool {
		o := n.logs.CleanerOptions()
		return o.Threads == 2 && o.MaxIOBytesPerSecond == 1<<20
	})
	cl, err = kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := alter("1", "log.cleaner.threads", nil); code != 0 {
		t.Fatalf("delete threads: %d %s", code, msg)
	}
	inForce("the static thread count again", func() bool { return n.logs.CleanerOptions().Threads == 1 })
}
