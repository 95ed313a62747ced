// Command gen turns Kafka's JSON message specifications into Go types with
// version-aware encoders and bounded decoders.
//
// It reads every *.json file of the -specs directories (messages, metadata
// records, coordinator records, storage records) and writes one
// zz_<name>.go file per spec (requests and responses of one API share a
// file), zz_apis.go, the API key table, and zz_metadata_records.go, the
// metadata record registry, into -out. Files named zz_*.go in -out that
// it no longer writes are removed, so the output always mirrors the specs.
//
// Usage (from internal/protocol, through go generate):
//
//	go run ./gen -specs ../../../shared/kafka/messages,../../../shared/kafka/metadata-records,… -out .
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	specDir := flag.String("specs", "", "comma-separated directories of Kafka specs (*.json)")
	outDir := flag.String("out", ".", "output directory")
	pkg := flag.String("pkg", "protocol", "Go package name of the output")
	flag.Parse()
	if *specDir == "" {
		fmt.Fprintln(os.Stderr, "gen: -specs is required")
		os.Exit(2)
	}
	files, err := generate(*specDir, *pkg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := writeFiles(*outDir, files); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// writeFiles replaces the generated files in dir with files.
func writeFiles(dir string, files map[string][]byte) error {
	old, err := filepath.Glob(filepath.Join(dir, "zz_*.go"))
	if err != nil {
		return err
	}
	for _, p := range old {
		if _, keep := files[filepath.Base(p)]; !keep {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for name, src := range files {
		p := filepath.Join(dir, name)
		if cur, err := os.ReadFile(p); err == nil && string(cur) == string(src) {
			continue
		}
		if err := os.WriteFile(p, src, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fileName is the output file of a spec: zz_<api>.go for requests and
// responses, zz_<name>.go for everything else.
func fileName(s *spec) string {
	name := s.Name
	if s.Type == "request" || s.Type == "response" {
		name = apiName(s)
	}
	return "zz_" + snake(name) + ".go"
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && !(s[i-1] >= 'A' && s[i-1] <= 'Z') {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
