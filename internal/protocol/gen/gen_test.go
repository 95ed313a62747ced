package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// specDirs is where the specifications sit relative to this package: the
// shared/ folder beside the repository.
const specDirs = "../../../../shared/kafka/messages,../../../../shared/kafka/metadata-records," +
	"../../../../shared/kafka/coordinator-records,../../../../shared/kafka/storage-records"

// TestGeneratedCodeIsFresh regenerates the codec in memory and compares it
// with the committed files, so a change to the generator or the specs
// without `go generate` fails here.
func TestGeneratedCodeIsFresh(t *testing.T) {
	for _, dir := range strings.Split(specDirs, ",") {
		if _, err := os.Stat(dir); err != nil {
			t.Skipf("Kafka specs not found at %s (%v); cannot check the generated code", dir, err)
		}
	}
	files, err := generate(specDirs, "protocol")
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob("../zz_*.go")
	if err != nil {
		t.Fatal(err)
	}
	onDisk := map[string]bool{}
	for _, p := range committed {
		onDisk[filepath.Base(p)] = true
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		cur, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Errorf("%s: not committed (run go generate ./internal/protocol): %v", name, err)
			continue
		}
		if !bytes.Equal(cur, files[name]) {
			t.Errorf("%s: stale (run go generate ./internal/protocol)", name)
		}
		delete(onDisk, name)
	}
	for name := range onDisk {
		t.Errorf("%s: no longer generated; remove it (go generate does)", name)
	}
	if len(files) < 150 {
		t.Errorf("only %d files generated", len(files))
	}
}

func TestParseVersions(t *testing.T) {
	cases := []struct {
		in   string
		want versions
		err  bool
	}{
		{"0+", versions{0, 32767}, false},
		{"3", versions{3, 3}, false},
		{"1-4", versions{1, 4}, false},
		{"none", noVersions, false},
		{"", noVersions, false},
		{"4-1", noVersions, true},
		{"x+", noVersions, true},
	}
	for _, c := range cases {
		got, err := parseVersions(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("parseVersions(%q) = %v, %v; want %v, err=%t", c.in, got, err, c.want, c.err)
		}
	}
}

func TestStripComments(t *testing.T) {
	in := "{ // a comment\n \"a\": \"http://x//y\", // another\n \"b\": 1 }"
	want := "{ \n \"a\": \"http://x//y\", \n \"b\": 1 }"
	if got := string(stripComments([]byte(in))); got != want {
		t.Fatalf("stripComments = %q, want %q", got, want)
	}
}

func TestGoFieldName(t *testing.T) {
	for in, want := range map[string]string{
		"TopicId": "TopicID", "ProducerIds": "ProducerIDs", "Idempotent": "Idempotent",
		"isKRaftController": "IsKRaftController", "IdsAndNames": "IDsAndNames", "Identity": "Identity",
	} {
		if got := goFieldName(in); got != want {
			t.Errorf("goFieldName(%q) = %q, want %q", in, got, want)
		}
	}
}
