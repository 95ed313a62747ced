package config

import (
	"errors"
	"fmt"
	"strings"
)

// The kinds of configuration error; every *Error matches one of them with
// errors.Is.
var (
	// ErrUnknownKey: the key is neither Kafka's nor Sluice's.
	ErrUnknownKey = errors.New("unknown key")
	// ErrNotSupported: the key, or this value of it, asks for a feature
	// Sluice does not have.
	ErrNotSupported = errors.New("not supported")
	// ErrInvalidValue: the value is not valid for the key (wrong type,
	// out of range, inconsistent with another key, missing).
	ErrInvalidValue = errors.New("invalid value")
)

// Origin is where a value came from, most overridden first.
type Origin uint8

const (
	OriginKafkaDefault  Origin = iota + 1 // Kafka's default
	OriginSluiceDefault                   // Entry.SluiceDefault
	OriginProfile                         // the Profile's overrides
	OriginFile                            // the properties file
	OriginFlag                            // a --set key=value
	OriginRequest                         // a topic config of a request (ValidateTopicConfig)
)

func (o Origin) String() string {
	switch o {
	case OriginKafkaDefault:
		return "Kafka default"
	case OriginSluiceDefault:
		return "Sluice default"
	case OriginProfile:
		return "profile"
	case OriginFile:
		return "file"
	case OriginFlag:
		return "--set"
	case OriginRequest:
		return "request"
	}
	return "?"
}

// Error is one configuration error. It names the key, and where the value
// came from: the file and line, a --set flag, or a default (for errors
// between keys, such as a missing node.id).
type Error struct {
	Key   string
	Value string // as given; empty when the key is missing
	// Origin, File and Line say where Value came from (File and Line for
	// OriginFile only).
	Origin Origin
	File   string
	Line   int
	// Err is the detail: a message wrapping ErrUnknownKey,
	// ErrNotSupported or ErrInvalidValue.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Origin == OriginFile && e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.Origin == OriginFile && e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Origin == OriginFile && e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	case e.Origin == OriginFlag:
		b.WriteString("--set ")
	}
	b.WriteString(e.Key)
	if e.Value != "" {
		fmt.Fprintf(&b, "=%s", quoteIfNeeded(e.Value))
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n\f\"") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// Errors is every error of one Load, in the order the values were given
// (file lines, then --set flags, then checks between keys).
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap lets errors.Is and errors.As see each error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// kindError attaches a kind to a message without repeating the kind's
// words when the message already says them.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func invalidf(format string, a ...any) error {
	return &kindError{kind: ErrInvalidValue, msg: fmt.Sprintf(format, a...)}
}

// notSupportedf builds an ErrNotSupported error; the message should start
// "not supported".
func notSupportedf(format string, a ...any) error {
	return &kindError{kind: ErrNotSupported, msg: fmt.Sprintf(format, a...)}
}

func unknownf(format string, a ...any) error {
	return &kindError{kind: ErrUnknownKey, msg: fmt.Sprintf(format, a...)}
}

// asKind makes err an ErrInvalidValue error unless it already has a kind.
func asKind(err error) error {
	if errors.Is(err, ErrInvalidValue) || errors.Is(err, ErrNotSupported) || errors.Is(err, ErrUnknownKey) {
		return err
	}
	return &kindError{kind: ErrInvalidValue, msg: err.Error()}
}

// unknownKey describes an unknown key of scope, suggesting the nearest
// known key when it is close, or the synonym in the other scope.
func unknownKey(name string, scope Scope) error {
	if strings.HasPrefix(name, listenerPrefix) && scope.Broker() {
		return notSupportedf("%s", rejListenerPrefix)
	}
	if (name == configProvidersKey || strings.HasPrefix(name, configProvidersKey+".")) && scope.Broker() {
		return notSupportedf("%s", rejConfigProviders)
	}
	if e, ok := byName[name]; ok {
		// known, but in the other scope
		if scope == ScopeBroker {
			if syn := brokerSynonym(e.Name); syn != "" {
				return unknownf("unknown broker key: %s is a topic key; its broker default is %s", name, syn)
			}
			return unknownf("unknown broker key: %s is a topic key", name)
		}
		if t := topicKeyFor(name); t != "" {
			return unknownf("unknown topic key: %s is a broker key; the topic key is %s", name, t)
		}
		return unknownf("unknown topic key: %s is a broker key", name)
	}
	what := "unknown key"
	if scope == ScopeTopic {
		what = "unknown topic key"
	}
	if s := suggest(name, scope); s != "" {
		return unknownf("%s (did you mean %s?)", what, s)
	}
	return unknownf("%s", what)
}

// suggest returns the known key of scope nearest to name by edit
// distance, if it is near enough to be a likely typo.
func suggest(name string, scope Scope) string {
	lower := strings.ToLower(name)
	best, bestD := "", -1
	for i := range registry {
		e := &registry[i]
		if (scope == ScopeBroker && !e.Scope.Broker()) || (scope == ScopeTopic && !e.Scope.Topic()) {
			continue
		}
		d := editDistance(lower, e.Name)
		if bestD < 0 || d < bestD || d == bestD && e.Name < best {
			best, bestD = e.Name, d
		}
	}
	limit := len(name) / 5
	if limit < 2 {
		limit = 2
	}
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
