package embedded

import (
	"context"
	"os"
	"testing"
)

func TestPersistentDataDir(t *testing.T) {
	dir := t.TempDir()
	b, err := Start(Config{DataDir: dir, Settings: map[string]string{"num.partitions": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic(context.Background(), "kept", -1, map[string]string{"retention.ms": "60000"}); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic(context.Background(), "kept", 1, nil); err == nil {
		t.Fatal("creating an existing topic succeeded")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + "/kept-3"); err != nil {
		t.Fatalf("partition 3 of kept (num.partitions=4) not on disk: %v", err)
	}
	// Started again on the same directory, the topic is still there.
	b, err = Start(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CreateTopic(context.Background(), "kept", 1, nil); err == nil {
		t.Fatal("the topic did not survive a restart")
	}
}

func TestTempDirRemovedAndBadSettingsRefused(t *testing.T) {
	b, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := b.tempDir
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temporary data dir %s left behind: %v", dir, err)
	}
	if _, err := Start(Config{Settings: map[string]string{"sasl.enabled.mechanisms": "PLAIN"}}); err == nil {
		t.Fatal("a rejected setting was accepted")
	}
}
