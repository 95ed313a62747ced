package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/README-config.md")

// documentedKeys are the keys the README must list: every ignored and
// rejected key and every key whose default Sluice changes.
func documentedKeys() (ignored, rejected, differences, own []string) {
	for _, e := range Keys() {
		if e.Own != "" {
			own = append(own, e.Name)
		}
		switch e.Kind {
		case Ignored:
			ignored = append(ignored, e.Name)
		case Rejected:
			rejected = append(rejected, e.Name)
		}
		if e.HasSluiceDefault() {
			differences = append(differences, e.Name)
		}
	}
	for _, o := range ProfileSingleNode.Overrides() {
		differences = append(differences, o.Key)
	}
	return ignored, rejected, differences, own
}

func TestMarkdownTables(t *testing.T) {
	ignored, rejected, differences, own := documentedKeys()
	for _, c := range []struct {
		table string
		keys  []string
	}{
		{MarkdownTable(Ignored), ignored},
		{MarkdownTable(Rejected), rejected},
		{MarkdownDifferences(), differences},
		{MarkdownOwn(), own},
	} {
		for _, k := range c.keys {
			if !strings.Contains(c.table, "`"+k+"`") {
				t.Errorf("table lacks %s:\n%s", k, c.table)
			}
		}
		for i, line := range strings.Split(strings.TrimSpace(c.table), "\n") {
			if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || strings.Count(line, " | ") < 1 && !strings.HasPrefix(line, "|---") {
				t.Errorf("line %d is not a table row: %q", i+1, line)
			}
		}
	}
	rej := MarkdownTable(Rejected)
	for _, want := range []string{"`compression.type` = any value but producer", "`listener.name.*`", "`log.dirs` = more than one directory"} {
		if !strings.Contains(rej, want) {
			t.Errorf("rejected table lacks %q", want)
		}
	}
	impl := MarkdownTable(Implemented)
	if !strings.Contains(impl, "| `log.flush.interval.messages` | broker | 1 (Kafka: 9223372036854775807) |") {
		t.Errorf("implemented table:\n%s", impl)
	}
}

// TestREADMEConfigFile keeps testdata/README-config.md, the tables the
// README's Configuration section is pasted from, up to date.
func TestREADMEConfigFile(t *testing.T) {
	const path = "testdata/README-config.md"
	want := MarkdownREADME()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is stale; run go test ./internal/config -run TestREADMEConfigFile -update", path)
	}
}

// TestREADMEListsIgnoredKeys checks the README's Configuration section
// lists every ignored key, every rejected key and every default Sluice
// changes (the tables of testdata/README-config.md).
func TestREADMEListsIgnoredKeys(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	start := strings.Index(readme, "\n## Configuration\n")
	if start < 0 {
		t.Skip("README.md has no \"## Configuration\" section yet: paste internal/config/testdata/README-config.md into one")
	}
	section := readme[start+1:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+1]
	}
	ignored, rejected, differences, own := documentedKeys()
	for _, c := range []struct {
		what string
		keys []string
	}{{"ignored", ignored}, {"rejected", rejected}, {"Sluice default", differences}, {"Sluice's own", own}} {
		for _, k := range c.keys {
			if !strings.Contains(section, "`"+k+"`") {
				t.Errorf("README's Configuration section does not list the %s key %s", c.what, k)
			}
		}
	}
}
