package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A small evaluator for the Java constant expressions Kafka uses as key
// names and defaults: literals, + - * / on numbers, string concatenation,
// casts, references to static final fields (resolved across classes),
// Long/Integer/Short.MAX_VALUE, TimeUnit conversions, and list builders.

// failures collects the expressions eval could not compute; main reports
// them all and exits non-zero.
var failures []string

type token struct {
	kind byte // 's' string, 'n' number, 'i' identifier chain, 'p' punctuation
	text string
}

func tokenize(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, token{'s', s[i : j+1]})
			i = j + 1
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (isIdent(s[j]) || s[j] == '.') {
				j++
			}
			out = append(out, token{'n', s[i:j]})
			i = j
		case isIdent(c):
			// an identifier chain: a.b.c, with call parentheses kept apart
			j := i
			for j < len(s) && (isIdent(s[j]) || s[j] == '.' && j+1 < len(s) && isIdent(s[j+1])) {
				j++
			}
			out = append(out, token{'i', s[i:j]})
			i = j
		default:
			out = append(out, token{'p', string(c)})
			i++
		}
	}
	return out
}

type parser struct {
	c    *class
	toks []token
	pos  int
	src  string
	ok   bool
}

func (p *parser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{}
}

func (p *parser) next() token {
	t := p.peek()
	p.pos++
	return t
}

// eval evaluates expr in the scope of class c, falling back to the manual
// table for the whole expression; it is fatal when neither works.
func eval(c *class, expr string) value {
	expr = strings.TrimSpace(expr)
	if v, ok := manual[expr]; ok {
		return v
	}
	p := &parser{c: c, toks: tokenize(expr), src: expr, ok: true}
	v := p.additive()
	if !p.ok || p.pos != len(p.toks) {
		failures = append(failures, fmt.Sprintf("%s: cannot evaluate %q (add it to the manual table)", c.name, expr))
		return value{k: kStr, s: "?"}
	}
	return v
}

func (p *parser) fail() value { p.ok = false; return value{} }

func (p *parser) additive() value {
	v := p.multiplicative()
	for p.ok {
		t := p.peek()
		if t.kind != 'p' || (t.text != "+" && t.text != "-") {
			return v
		}
		p.next()
		r := p.multiplicative()
		switch {
		case t.text == "+" && (v.k == kStr || r.k == kStr):
			v = strv(v.plain() + r.plain())
		case v.k == kInt && r.k == kInt:
			if t.text == "+" {
				v = intv(v.i + r.i)
			} else {
				v = intv(v.i - r.i)
			}
		case (v.k == kInt || v.k == kFloat) && (r.k == kInt || r.k == kFloat):
			a, b := num(v), num(r)
			if t.text == "+" {
				v = value{k: kFloat, f: a + b}
			} else {
				v = value{k: kFloat, f: a - b}
			}
		default:
			return p.fail()
		}
	}
	return v
}

func num(v value) float64 {
	if v.k == kInt {
		return float64(v.i)
	}
	return v.f
}

func (p *parser) multiplicative() value {
	v := p.unary()
	for p.ok {
		t := p.peek()
		if t.kind != 'p' || (t.text != "*" && t.text != "/") {
			return v
		}
		p.next()
		r := p.unary()
		switch {
		case v.k == kInt && r.k == kInt:
			if t.text == "*" {
				v = intv(v.i * r.i)
			} else {
				v = intv(v.i / r.i)
			}
		case (v.k == kInt || v.k == kFloat) && (r.k == kInt || r.k == kFloat):
			if t.text == "*" {
				v = value{k: kFloat, f: num(v) * num(r)}
			} else {
				v = value{k: kFloat, f: num(v) / num(r)}
			}
		default:
			return p.fail()
		}
	}
	return v
}

func (p *parser) unary() value {
	t := p.peek()
	if t.kind == 'p' && t.text == "-" {
		p.next()
		v := p.unary()
		switch v.k {
		case kInt:
			return intv(-v.i)
		case kFloat:
			return value{k: kFloat, f: -v.f}
		}
		return p.fail()
	}
	// a cast: (int) x, (long) x, (double) x, (short) x
	if t.kind == 'p' && t.text == "(" && p.pos+2 < len(p.toks) && p.toks[p.pos+2].text == ")" {
		switch p.toks[p.pos+1].text {
		case "int", "long", "short":
			p.pos += 3
			v := p.unary()
			if v.k == kFloat {
				return intv(int64(v.f))
			}
			return v
		case "double":
			p.pos += 3
			v := p.unary()
			return value{k: kFloat, f: num(v)}
		}
	}
	return p.primary()
}

func (p *parser) args() []value {
	var out []value
	if t := p.next(); t.text != "(" {
		p.fail()
		return nil
	}
	if p.peek().text == ")" {
		p.next()
		return out
	}
	for p.ok {
		out = append(out, p.additive())
		t := p.next()
		if t.text == ")" {
			return out
		}
		if t.text != "," {
			p.fail()
			return nil
		}
	}
	return nil
}

func (p *parser) primary() value {
	t := p.next()
	switch t.kind {
	case 's':
		s, err := strconv.Unquote(t.text)
		if err != nil {
			return p.fail()
		}
		return strv(s)
	case 'n':
		return number(p, t.text)
	case 'p':
		if t.text == "(" {
			v := p.additive()
			if p.next().text != ")" {
				return p.fail()
			}
			return v
		}
		return p.fail()
	case 'i':
		return p.ident(t.text)
	}
	return p.fail()
}

func number(p *parser, s string) value {
	s = strings.ReplaceAll(s, "_", "")
	low := strings.ToLower(s)
	if strings.ContainsAny(low, ".e") && !strings.HasPrefix(low, "0x") || strings.HasSuffix(low, "d") || strings.HasSuffix(low, "f") {
		f, err := strconv.ParseFloat(strings.TrimRight(low, "df"), 64)
		if err != nil {
			return p.fail()
		}
		return value{k: kFloat, f: f}
	}
	i, err := strconv.ParseInt(strings.TrimSuffix(low, "l"), 0, 64)
	if err != nil {
		return p.fail()
	}
	return intv(i)
}

// serverSynonyms is ServerTopicConfigSynonyms.TOPIC_CONFIG_SYNONYMS: each
// topic key's highest-priority broker key.
var serverSynonyms = map[string]string{
	"segment.bytes":                       "log.segment.bytes",
	"segment.ms":                          "log.roll.ms",
	"segment.jitter.ms":                   "log.roll.jitter.ms",
	"segment.index.bytes":                 "log.index.size.max.bytes",
	"flush.messages":                      "log.flush.interval.messages",
	"flush.ms":                            "log.flush.interval.ms",
	"retention.bytes":                     "log.retention.bytes",
	"retention.ms":                        "log.retention.ms",
	"max.message.bytes":                   "message.max.bytes",
	"index.interval.bytes":                "log.index.interval.bytes",
	"delete.retention.ms":                 "log.cleaner.delete.retention.ms",
	"min.compaction.lag.ms":               "log.cleaner.min.compaction.lag.ms",
	"max.compaction.lag.ms":               "log.cleaner.max.compaction.lag.ms",
	"file.delete.delay.ms":                "log.segment.delete.delay.ms",
	"min.cleanable.dirty.ratio":           "log.cleaner.min.cleanable.ratio",
	"cleanup.policy":                      "log.cleanup.policy",
	"unclean.leader.election.enable":      "unclean.leader.election.enable",
	"min.insync.replicas":                 "min.insync.replicas",
	"compression.type":                    "compression.type",
	"compression.gzip.level":              "compression.gzip.level",
	"compression.lz4.level":               "compression.lz4.level",
	"compression.zstd.level":              "compression.zstd.level",
	"preallocate":                         "log.preallocate",
	"message.format.version":              "log.message.format.version",
	"message.timestamp.type":              "log.message.timestamp.type",
	"message.timestamp.difference.max.ms": "log.message.timestamp.difference.max.ms",
	"message.timestamp.before.max.ms":     "log.message.timestamp.before.max.ms",
	"message.timestamp.after.max.ms":      "log.message.timestamp.after.max.ms",
	"message.downconversion.enable":       "log.message.downconversion.enable",
	"local.retention.ms":                  "log.local.retention.ms",
	"local.retention.bytes":               "log.local.retention.bytes",
}

var timeUnits = map[string]int64{
	"NANOSECONDS": 1, "MICROSECONDS": 1e3, "MILLISECONDS": 1e6, "SECONDS": 1e9,
	"MINUTES": 60e9, "HOURS": 3600e9, "DAYS": 86400e9,
}

var conversions = map[string]int64{
	"toNanos": 1, "toMicros": 1e3, "toMillis": 1e6, "toSeconds": 1e9,
	"toMinutes": 60e9, "toHours": 3600e9, "toDays": 86400e9,
}

func (p *parser) ident(chain string) value {
	switch chain {
	case "null":
		return value{k: kNull}
	case "true", "Boolean.TRUE":
		return value{k: kBool, b: true}
	case "false", "Boolean.FALSE":
		return value{k: kBool, b: false}
	case "Long.MAX_VALUE":
		return intv(math.MaxInt64)
	case "Integer.MAX_VALUE":
		return intv(math.MaxInt32)
	case "Double.MAX_VALUE":
		return value{k: kFloat, f: math.MaxFloat64}
	case "Short.MAX_VALUE":
		return intv(math.MaxInt16)
	case "Collections.emptyList", "List.of", "Arrays.asList", "Collections.singletonList", "Utils.mkList", "asList":
		return value{k: kList, list: p.args()}
	case "String.join":
		a := p.args()
		if len(a) < 1 {
			return p.fail()
		}
		var parts []string
		for _, e := range a[1:] {
			if e.k == kList {
				for _, x := range e.list {
					parts = append(parts, x.plain())
				}
			} else {
				parts = append(parts, e.plain())
			}
		}
		return strv(strings.Join(parts, a[0].plain()))
	}
	if chain == "ServerTopicConfigSynonyms.serverSynonym" {
		a := p.args()
		if len(a) != 1 || a[0].k != kStr || serverSynonyms[a[0].s] == "" {
			return p.fail()
		}
		return strv(serverSynonyms[a[0].s])
	}
	if parts := strings.Split(chain, "."); len(parts) == 3 && parts[0] == "TimeUnit" {
		from, ok1 := timeUnits[parts[1]]
		to, ok2 := conversions[parts[2]]
		a := p.args()
		if !ok1 || !ok2 || len(a) != 1 || a[0].k != kInt {
			return p.fail()
		}
		return intv(a[0].i * from / to)
	}
	// the rest of the expression may be a manual entry: try the chain
	// with its call suffix, e.g. CompressionType.GZIP.defaultLevel()
	if p.peek().text == "(" {
		start := p.pos
		depth := 0
		for p.pos < len(p.toks) {
			t := p.next()
			if t.text == "(" {
				depth++
			} else if t.text == ")" {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		text := chain
		for _, t := range p.toks[start:p.pos] {
			text += t.text
		}
		// a further .method() on the result is part of the same chain
		for p.peek().kind == 'i' && strings.HasPrefix(p.peek().text, ".") {
			text += p.next().text
		}
		if v, ok := manual[text]; ok {
			return v
		}
		return p.fail()
	}
	if v, ok := manual[chain]; ok {
		return v
	}
	v, ok := resolve(p.c, chain, 0)
	if !ok {
		return p.fail()
	}
	return v
}

// resolve looks a field reference up: NAME in c (or a class statically
// imported into it), or Class.NAME.
func resolve(c *class, chain string, depth int) (value, bool) {
	if depth > 20 {
		return value{}, false
	}
	parts := strings.Split(chain, ".")
	var owner *class
	var field string
	switch len(parts) {
	case 1:
		owner, field = c, parts[0]
		if _, ok := owner.consts[field]; !ok {
			owner = staticImport(c, field)
		}
	case 2:
		owner, field = loadClass(parts[0]), parts[1]
	default:
		// Outer.Inner.NAME: fall back to the innermost class name
		owner, field = loadClass(parts[len(parts)-2]), parts[len(parts)-1]
	}
	if owner == nil {
		return value{}, false
	}
	if v, ok := manual[owner.name+"."+field]; ok {
		return v, true
	}
	expr, ok := owner.consts[field]
	if !ok {
		return value{}, false
	}
	if v, ok := manual[expr]; ok {
		return v, true
	}
	p := &parser{c: owner, toks: tokenize(expr), src: expr, ok: true}
	v := p.additive()
	if !p.ok || p.pos != len(p.toks) {
		return value{}, false
	}
	return v, true
}

// staticImport finds the class a name is statically imported from.
func staticImport(c *class, field string) *class {
	src := string(git("show", "HEAD:"+classPaths[c.name][0]))
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "import static ")
		if !ok {
			continue
		}
		rest = strings.TrimSuffix(rest, ";")
		parts := strings.Split(rest, ".")
		if len(parts) < 2 {
			continue
		}
		last, cls := parts[len(parts)-1], parts[len(parts)-2]
		if last == field || last == "*" {
			if o := loadClass(cls); o != nil {
				if _, ok := o.consts[field]; ok {
					return o
				}
			}
		}
	}
	return nil
}
