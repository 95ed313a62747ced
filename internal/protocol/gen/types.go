package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// structDef is a struct type to emit: a message's top level, an inline
// struct or a common struct.
type structDef struct {
	goName string
	fields []*field
	spec   *spec
	top    bool
}

var primitives = map[string]string{
	"bool": "bool", "int8": "int8", "int16": "int16", "uint16": "uint16",
	"int32": "int32", "uint32": "uint32", "int64": "int64", "float64": "float64",
	"string": "string", "uuid": "UUID", "bytes": "[]byte", "records": "[]byte",
}

// readers and writers of fixed-size primitives, keyed by Kafka type.
var fixedRead = map[string]string{
	"bool": "Bool", "int8": "Int8", "int16": "Int16", "uint16": "Uint16", "int32": "Int32",
	"uint32": "Uint32", "int64": "Int64", "float64": "Float64", "uuid": "UUID",
}

var fixedAppend = map[string]string{
	"bool": "appendBool", "int8": "appendInt8", "int16": "appendInt16", "uint16": "appendUint16",
	"int32": "appendInt32", "uint32": "appendUint32", "int64": "appendInt64",
	"float64": "appendFloat64", "uuid": "appendUUID",
}

func isArray(t string) bool    { return strings.HasPrefix(t, "[]") }
func elemType(t string) string { return strings.TrimPrefix(t, "[]") }
func isStructType(t string) bool {
	t = elemType(t)
	_, prim := primitives[t]
	return !prim
}

// goFieldName turns a Kafka field name into a Go one, with Go's initialisms.
func goFieldName(name string) string {
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	s := string(r)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.HasPrefix(s[i:], "Id") {
			rest := s[i+2:]
			if rest == "" || unicode.IsUpper(rune(rest[0])) || rest == "s" || (rest[0] == 's' && len(rest) > 1 && unicode.IsUpper(rune(rest[1]))) {
				b.WriteString("ID")
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// gen holds the state of generating one spec file.
type gen struct {
	s       *spec
	structs map[string]*structDef // by Kafka struct name
	order   []*structDef
}

func newGen(s *spec) (*gen, error) {
	g := &gen{s: s, structs: map[string]*structDef{}}
	top := &structDef{goName: s.Name, fields: s.Fields, spec: s, top: true}
	g.order = append(g.order, top)
	common := map[string]*field{}
	for _, cs := range s.CommonStructs {
		common[cs.Name] = cs
	}
	var walk func(fs []*field) error
	walk = func(fs []*field) error {
		for _, f := range fs {
			if !isStructType(f.Type) {
				continue
			}
			name := elemType(f.Type)
			fields := f.Fields
			if len(fields) == 0 {
				cs, ok := common[name]
				if !ok {
					return fmt.Errorf("field %s: unknown struct type %s", f.Name, name)
				}
				fields = cs.Fields
			}
			if prev, ok := g.structs[name]; ok {
				if len(f.Fields) > 0 && len(prev.fields) > 0 && &prev.fields[0] != &fields[0] && !sameFields(prev.fields, fields) {
					return fmt.Errorf("struct %s defined twice", name)
				}
				continue
			}
			sd := &structDef{goName: s.Name + name, fields: fields, spec: s}
			g.structs[name] = sd
			g.order = append(g.order, sd)
			if err := walk(fields); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(s.Fields); err != nil {
		return nil, err
	}
	return g, nil
}

func sameFields(a, b []*field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Type != b[i].Type || a[i].Versions != b[i].Versions {
			return false
		}
	}
	return true
}

// goType is the Go type of a field.
func (g *gen) goType(f *field) string {
	t := f.Type
	if isArray(t) {
		et := elemType(t)
		if isStructType(et) {
			return "[]" + g.structs[et].goName
		}
		if et == "string" {
			return "[]string"
		}
		return "[]" + primitives[et]
	}
	if isStructType(t) {
		if !f.nullable.empty() {
			return "*" + g.structs[t].goName
		}
		return g.structs[t].goName
	}
	if t == "string" && !f.nullable.empty() {
		return "*string"
	}
	return primitives[t]
}

// defaultLiteral is the Go expression for a scalar field's default, or ""
// when the default is the Go zero value.
func defaultLiteral(f *field) (string, error) {
	if f.Default == nil {
		return "", nil
	}
	var s string
	switch d := f.Default.(type) {
	case string:
		s = d
	case float64:
		s = strconv.FormatFloat(d, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(d)
	default:
		return "", fmt.Errorf("field %s: unsupported default %v", f.Name, f.Default)
	}
	switch f.Type {
	case "bool":
		switch strings.ToLower(s) {
		case "true":
			return "true", nil
		case "false", "":
			return "", nil
		}
		return "", fmt.Errorf("field %s: bad bool default %q", f.Name, s)
	case "int8", "int16", "uint16", "int32", "uint32", "int64":
		n, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return "", fmt.Errorf("field %s: bad default %q: %w", f.Name, s, err)
		}
		if !fitsInt(f.Type, n) {
			return "", fmt.Errorf("field %s: default %q out of range", f.Name, s)
		}
		if n == 0 {
			return "", nil
		}
		return strconv.FormatInt(n, 10), nil
	case "float64":
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "", fmt.Errorf("field %s: bad default %q: %w", f.Name, s, err)
		}
		if v == 0 {
			return "", nil
		}
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case "string":
		if s == "null" {
			return "", nil
		}
		return strconv.Quote(s), nil
	}
	if s == "null" || s == "" {
		return "", nil
	}
	return "", fmt.Errorf("field %s: unsupported default %q for type %s", f.Name, s, f.Type)
}

func fitsInt(t string, n int64) bool {
	switch t {
	case "int8":
		return n >= math.MinInt8 && n <= math.MaxInt8
	case "int16":
		return n >= math.MinInt16 && n <= math.MaxInt16
	case "uint16":
		return n >= 0 && n <= math.MaxUint16
	case "int32":
		return n >= math.MinInt32 && n <= math.MaxInt32
	case "uint32":
		return n >= 0 && n <= math.MaxUint32
	}
	return true
}

// defaultIsNull reports whether a nullable field defaults to null.
func defaultIsNull(f *field) bool {
	s, ok := f.Default.(string)
	return ok && s == "null"
}

// versionCond renders a condition that version lies in v, given that it
// lies in the message's valid range.
func versionCond(v, valid versions) string {
	if v.empty() {
		return "false"
	}
	var parts []string
	if v.lo > valid.lo {
		parts = append(parts, fmt.Sprintf("version >= %d", v.lo))
	}
	if v.hi < valid.hi {
		parts = append(parts, fmt.Sprintf("version <= %d", v.hi))
	}
	if len(parts) == 0 {
		return "true"
	}
	return strings.Join(parts, " && ")
}
