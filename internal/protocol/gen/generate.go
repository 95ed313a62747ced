package main

import (
	"fmt"
	"go/format"
	"sort"
	"strings"
)

// generate renders every spec in the comma-separated specDirs; the result
// maps file names to formatted Go source.
func generate(specDirs, pkg string) (map[string][]byte, error) {
	var specs []*spec
	names := map[string]string{}
	for _, dir := range strings.Split(specDirs, ",") {
		s, err := loadSpecs(dir)
		if err != nil {
			return nil, err
		}
		for _, sp := range s {
			if prev, dup := names[sp.Name]; dup {
				return nil, fmt.Errorf("%s is defined in %s and %s", sp.Name, prev, dir)
			}
			names[sp.Name] = dir
		}
		specs = append(specs, s...)
	}
	files := map[string][]byte{}
	raw := map[string][]byte{}
	for _, s := range specs {
		g, err := newGen(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.file, err)
		}
		src, err := g.emitFile(pkg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.file, err)
		}
		name := fileName(s)
		if prev, ok := raw[name]; ok {
			// Request and response of one API share a file; drop the
			// second header.
			_, body, _ := strings.Cut(string(src), "\npackage "+pkg+"\n")
			src = append(prev, body...)
		}
		raw[name] = src
	}
	apis, err := emitAPIs(specs, pkg)
	if err != nil {
		return nil, err
	}
	raw["zz_apis.go"] = apis
	raw["zz_fuzz_test.go"] = emitFuzz(specs, pkg)
	raw["zz_metadata_records.go"] = emitMetadataRegistry(specs, pkg)
	for name, src := range raw {
		out, err := format.Source(src)
		if err != nil {
			return nil, fmt.Errorf("format %s: %w", name, err)
		}
		files[name] = out
	}
	return files, nil
}

type apiPair struct {
	key       int16
	name      string
	req, resp *spec
}

// emitAPIs renders the API key table: keys, version ranges, header
// versions and constructors.
func emitAPIs(specs []*spec, pkg string) ([]byte, error) {
	byKey := map[int16]*apiPair{}
	for _, s := range specs {
		if s.APIKey == nil || (s.Type != "request" && s.Type != "response") {
			continue
		}
		p := byKey[*s.APIKey]
		if p == nil {
			p = &apiPair{key: *s.APIKey, name: apiName(s)}
			byKey[*s.APIKey] = p
		}
		switch s.Type {
		case "request":
			p.req = s
		case "response":
			p.resp = s
		default:
			return nil, fmt.Errorf("%s: api key on a %q", s.file, s.Type)
		}
	}
	var pairs []*apiPair
	for _, p := range byKey {
		if p.req == nil || p.resp == nil {
			return nil, fmt.Errorf("api %s: request or response missing", p.name)
		}
		if p.req.valid != p.resp.valid {
			return nil, fmt.Errorf("api %s: request and response versions differ", p.name)
		}
		pairs = append(pairs, p)
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].key < pairs[j].key })

	var b w
	b.p(header, "the request and response specs", pkg)
	b.p("// API keys.")
	b.p("const (")
	for _, p := range pairs {
		b.p("\t%s APIKey = %d", keyConst(p.req), p.key)
	}
	b.p(")")
	b.p("")
	b.p("// apiTable describes every API in the specs, indexed by key.")
	b.p("var apiTable = [...]APIInfo{")
	for _, p := range pairs {
		s := p.req
		flexMin := -1
		if f := s.flexible.intersect(s.valid); !f.empty() {
			flexMin = f.lo
		}
		b.p("\t%d: {Key: %s, Name: %q, MinVersion: %d, MaxVersion: %d, MaxStable: %d, FlexibleMin: %d, Listeners: %#v},",
			p.key, keyConst(s), p.name, s.valid.lo, s.valid.hi, s.maxStable(), flexMin, s.Listeners)
	}
	b.p("}")
	b.p("")
	b.p("// NewRequest returns a new, defaulted request for key, or nil.")
	b.p("func NewRequest(key APIKey) Message {")
	b.p("\tvar m interface {")
	b.p("\t\tMessage")
	b.p("\t\tDefault()")
	b.p("\t}")
	b.p("\tswitch key {")
	for _, p := range pairs {
		b.p("\tcase %s:", keyConst(p.req))
		b.p("\t\tm = new(%s)", p.req.Name)
	}
	b.p("\tdefault:")
	b.p("\t\treturn nil")
	b.p("\t}")
	b.p("\tm.Default()")
	b.p("\treturn m")
	b.p("}")
	b.p("")
	b.p("// NewResponse returns a new, defaulted response for key, or nil.")
	b.p("func NewResponse(key APIKey) Message {")
	b.p("\tvar m interface {")
	b.p("\t\tMessage")
	b.p("\t\tDefault()")
	b.p("\t}")
	b.p("\tswitch key {")
	for _, p := range pairs {
		b.p("\tcase %s:", keyConst(p.req))
		b.p("\t\tm = new(%s)", p.resp.Name)
	}
	b.p("\tdefault:")
	b.p("\t\treturn nil")
	b.p("\t}")
	b.p("\tm.Default()")
	b.p("\treturn m")
	b.p("}")
	return b.Bytes(), nil
}

// emitFuzz renders one fuzz target per request decoder; fuzzMessage, in
// the package's own tests, does the work.
func emitFuzz(specs []*spec, pkg string) []byte {
	var b w
	b.p(header, "the request specs", pkg)
	b.p("import \"testing\"")
	b.p("")
	for _, s := range specs {
		if s.APIKey == nil || s.Type != "request" {
			continue
		}
		b.p("func Fuzz%s(f *testing.F) { fuzzMessage(f, func() Message { return new(%s) }) }", s.Name, s.Name)
		b.p("")
	}
	return b.Bytes()
}

// emitMetadataRegistry renders the metadata record types' constructor.
func emitMetadataRegistry(specs []*spec, pkg string) []byte {
	var b w
	b.p(header, "the metadata record specs", pkg)
	b.p("// NewMetadataRecord returns a new, defaulted metadata record of the given")
	b.p("// type (the specs' apiKey), or nil.")
	b.p("func NewMetadataRecord(recordType int16) MetadataRecord {")
	b.p("\tvar m MetadataRecord")
	b.p("\tswitch recordType {")
	var ms []*spec
	for _, s := range specs {
		if s.Type == "metadata" && s.APIKey != nil {
			ms = append(ms, s)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return *ms[i].APIKey < *ms[j].APIKey })
	for _, s := range ms {
		b.p("\tcase %d:", *s.APIKey)
		b.p("\t\tm = new(%s)", s.Name)
	}
	b.p("\tdefault:")
	b.p("\t\treturn nil")
	b.p("\t}")
	b.p("\tm.Default()")
	b.p("\treturn m")
	b.p("}")
	return b.Bytes()
}
