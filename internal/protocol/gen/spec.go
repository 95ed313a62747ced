package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// spec is one Kafka message definition file.
type spec struct {
	file                  string
	APIKey                *int16   `json:"apiKey"`
	Type                  string   `json:"type"`
	Name                  string   `json:"name"`
	ValidVersions         string   `json:"validVersions"`
	FlexibleVersions      string   `json:"flexibleVersions"`
	DeprecatedVersions    string   `json:"deprecatedVersions"`
	LatestVersionUnstable bool     `json:"latestVersionUnstable"`
	Listeners             []string `json:"listeners"`
	Fields                []*field `json:"fields"`
	CommonStructs         []*field `json:"commonStructs"`

	valid    versions
	flexible versions
}

// field is one field of a message or struct.
type field struct {
	Name             string   `json:"name"`
	Type             string   `json:"type"`
	Versions         string   `json:"versions"`
	NullableVersions string   `json:"nullableVersions"`
	TaggedVersions   string   `json:"taggedVersions"`
	FlexibleVersions *string  `json:"flexibleVersions"`
	Tag              *tagNum  `json:"tag"`
	Default          any      `json:"default"`
	Ignorable        bool     `json:"ignorable"`
	MapKey           bool     `json:"mapKey"`
	EntityType       string   `json:"entityType"`
	About            string   `json:"about"`
	ZeroCopy         bool     `json:"zeroCopy"`
	Fields           []*field `json:"fields"`

	versions versions
	nullable versions
	tagged   versions
	// flexOverride, when set, replaces the message's flexible versions for
	// this field (RequestHeader's ClientId is never compact).
	flexOverride *versions
}

// tagNum is a tag number, written in the specs as a number or a string.
type tagNum int

func (t *tagNum) UnmarshalJSON(b []byte) error {
	n, err := strconv.Atoi(strings.Trim(string(b), `"`))
	if err != nil {
		return fmt.Errorf("bad tag %s: %w", b, err)
	}
	*t = tagNum(n)
	return nil
}

// versions is an inclusive range of versions; empty when lo > hi.
type versions struct{ lo, hi int }

var noVersions = versions{lo: 1, hi: 0}

func (v versions) empty() bool    { return v.lo > v.hi }
func (v versions) has(n int) bool { return n >= v.lo && n <= v.hi }
func (v versions) intersect(o versions) versions {
	r := versions{lo: max(v.lo, o.lo), hi: min(v.hi, o.hi)}
	if r.empty() {
		return noVersions
	}
	return r
}

// contains reports whether o lies entirely inside v.
func (v versions) contains(o versions) bool { return o.empty() || (o.lo >= v.lo && o.hi <= v.hi) }

func parseVersions(s string) (versions, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "none":
		return noVersions, nil
	case strings.HasSuffix(s, "+"):
		lo, err := strconv.Atoi(strings.TrimSuffix(s, "+"))
		if err != nil {
			return noVersions, fmt.Errorf("bad versions %q: %w", s, err)
		}
		return versions{lo: lo, hi: math.MaxInt16}, nil
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || lo > hi {
			return noVersions, fmt.Errorf("bad versions %q", s)
		}
		return versions{lo: lo, hi: hi}, nil
	default:
		n, err := strconv.Atoi(s)
		if err != nil {
			return noVersions, fmt.Errorf("bad versions %q: %w", s, err)
		}
		return versions{lo: n, hi: n}, nil
	}
}

// stripComments removes // comments that are outside JSON strings.
func stripComments(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			out = append(out, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		if c == '"' {
			inStr = true
			out = append(out, c)
			continue
		}
		if c == '/' && i+1 < len(b) && b[i+1] == '/' {
			for i < len(b) && b[i] != '\n' {
				i++
			}
			out = append(out, '\n')
			continue
		}
		out = append(out, c)
	}
	return out
}

func loadSpecs(dir string) ([]*spec, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no *.json specs in %s", dir)
	}
	sort.Strings(paths)
	var specs []*spec
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		s := &spec{file: filepath.Base(p)}
		if err := json.Unmarshal(stripComments(raw), s); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if err := s.resolve(); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		specs = append(specs, s)
	}
	return specs, nil
}

func (s *spec) resolve() error {
	var err error
	if s.valid, err = parseVersions(s.ValidVersions); err != nil {
		return err
	}
	if s.flexible, err = parseVersions(s.FlexibleVersions); err != nil {
		return err
	}
	var walk func(fs []*field) error
	walk = func(fs []*field) error {
		for _, f := range fs {
			if f.versions, err = parseVersions(f.Versions); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
			if f.nullable, err = parseVersions(f.NullableVersions); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
			if f.tagged, err = parseVersions(f.TaggedVersions); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
			if f.FlexibleVersions != nil {
				fv, err := parseVersions(*f.FlexibleVersions)
				if err != nil {
					return fmt.Errorf("field %s: %w", f.Name, err)
				}
				f.flexOverride = &fv
			}
			if (f.Tag == nil) != f.tagged.empty() {
				return fmt.Errorf("field %s: tag and taggedVersions must come together", f.Name)
			}
			if err := walk(f.Fields); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(s.Fields); err != nil {
		return err
	}
	return walk(s.CommonStructs)
}

// maxStable is the highest version that may be advertised.
func (s *spec) maxStable() int {
	if s.LatestVersionUnstable {
		return s.valid.hi - 1
	}
	return s.valid.hi
}
