package config

import (
	"net"
	"strconv"
	"strings"
)

// SecurityProtocol is a listener's security protocol. Sluice implements
// PLAINTEXT only; the others are parsed so that they can be rejected by
// name.
type SecurityProtocol string

const (
	ProtocolPlaintext     SecurityProtocol = "PLAINTEXT"
	ProtocolSSL           SecurityProtocol = "SSL"
	ProtocolSASLPlaintext SecurityProtocol = "SASL_PLAINTEXT"
	ProtocolSASLSSL       SecurityProtocol = "SASL_SSL"
)

func parseSecurityProtocol(s string) (SecurityProtocol, error) {
	switch p := SecurityProtocol(strings.ToUpper(strings.TrimSpace(s))); p {
	case ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL:
		return p, nil
	}
	return "", invalidf("unknown security protocol %q (Kafka's are PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL)", s)
}

// protocolFeature names the feature a protocol other than PLAINTEXT
// needs.
func protocolFeature(p SecurityProtocol) string {
	r := rejSASL
	if p == ProtocolSSL {
		r = rejSSL
	}
	return strings.TrimPrefix(r, "not supported: ")
}

// Listener is one endpoint of listeners or advertised.listeners.
type Listener struct {
	// Name is the listener name, upper-cased as Kafka normalizes it.
	Name string
	// Host is empty for all interfaces (Kafka's "PLAINTEXT://:9092"); an
	// IPv6 address is kept without its brackets.
	Host string
	// Port 0 asks the operating system for a free port.
	Port int
	// Protocol is the listener's security protocol, from
	// listener.security.protocol.map; ParseListeners leaves it empty.
	Protocol SecurityProtocol
}

// Addr is the host:port to listen on or connect to.
func (l Listener) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// String renders the listener as Kafka spells it: NAME://host:port.
func (l Listener) String() string { return l.Name + "://" + l.Addr() }

func isListenerName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// isHost accepts the characters Kafka's listener pattern allows in a
// host: letters, digits, '-', '%', '.', '_' and ':' (IPv6).
func isHost(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '%' || c == '.' || c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// splitHostPort splits "host:port" or "[ipv6]:port"; an unbracketed IPv6
// host is split at its last colon, as Kafka's pattern does.
func splitHostPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || !strings.HasPrefix(s[end+1:], ":") {
			return "", "", false
		}
		return s[1:end], s[end+2:], true
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

func parsePort(s string, min int) (int, bool) {
	p, err := strconv.Atoi(s)
	if err != nil || p < min || p > 65535 || strings.HasPrefix(s, "+") {
		return 0, false
	}
	return p, true
}

// ParseListeners parses a listeners or advertised.listeners value:
// comma-separated NAME://host:port entries, with IPv6 hosts in brackets
// and an empty host for all interfaces. Names must be distinct. The
// protocols are left empty: they come from listener.security.protocol.map.
func ParseListeners(s string) ([]Listener, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []Listener
	seen := map[string]bool{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		name, rest, ok := strings.Cut(entry, "://")
		if !ok {
			return nil, invalidf("listener %q must be NAME://host:port", entry)
		}
		if !isListenerName(name) {
			return nil, invalidf("listener %q: name %q must be letters, digits and underscores", entry, name)
		}
		host, portStr, ok := splitHostPort(rest)
		if !ok {
			return nil, invalidf("listener %q must be NAME://host:port (an IPv6 host in brackets)", entry)
		}
		if !isHost(host) {
			return nil, invalidf("listener %q: %q is not a host name or address", entry, host)
		}
		port, ok := parsePort(portStr, 0)
		if !ok {
			return nil, invalidf("listener %q: port %q must be a number from 0 to 65535", entry, portStr)
		}
		l := Listener{Name: strings.ToUpper(name), Host: host, Port: port}
		if seen[l.Name] {
			return nil, invalidf("listener name %s is used twice; each listener needs its own name", l.Name)
		}
		seen[l.Name] = true
		out = append(out, l)
	}
	return out, nil
}

// parseProtocolMap parses listener.security.protocol.map: NAME:PROTOCOL
// pairs, comma-separated; names are upper-cased.
func parseProtocolMap(s string) (map[string]SecurityProtocol, error) {
	m := map[string]SecurityProtocol{}
	s = strings.TrimSpace(s)
	if s == "" {
		return m, nil
	}
	for _, entry := range strings.Split(s, ",") {
		name, proto, ok := strings.Cut(strings.TrimSpace(entry), ":")
		name, proto = strings.TrimSpace(name), strings.TrimSpace(proto)
		if !ok || strings.Contains(proto, ":") || !isListenerName(name) {
			return nil, invalidf("entry %q must be LISTENER_NAME:PROTOCOL", strings.TrimSpace(entry))
		}
		p, err := parseSecurityProtocol(proto)
		if err != nil {
			return nil, err
		}
		name = strings.ToUpper(name)
		if _, dup := m[name]; dup {
			return nil, invalidf("listener %s is mapped twice", name)
		}
		m[name] = p
	}
	return m, nil
}

// Voter is one member of controller.quorum.voters.
type Voter struct {
	ID   int32
	Host string
	Port int
}

// Addr is the voter's host:port.
func (v Voter) Addr() string { return net.JoinHostPort(v.Host, strconv.Itoa(v.Port)) }

// String renders the voter as Kafka spells it: id@host:port.
func (v Voter) String() string { return strconv.Itoa(int(v.ID)) + "@" + v.Addr() }

// ParseVoters parses controller.quorum.voters: comma-separated
// id@host:port entries (an IPv6 host in brackets). Ids must be distinct
// and non-negative, hosts routable (not 0.0.0.0), ports 1 to 65535.
func ParseVoters(s string) ([]Voter, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []Voter
	seen := map[int32]bool{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		idStr, addr, ok := strings.Cut(entry, "@")
		if !ok || strings.Contains(addr, "@") {
			return nil, invalidf("voter %q must be id@host:port", entry)
		}
		id, err := strconv.ParseInt(idStr, 10, 32)
		if err != nil || id < 0 {
			return nil, invalidf("voter %q: id %q must be a non-negative 32-bit integer", entry, idStr)
		}
		host, portStr, ok := splitHostPort(addr)
		if !ok || host == "" || !isHost(host) {
			return nil, invalidf("voter %q must be id@host:port (an IPv6 host in brackets)", entry)
		}
		if host == "0.0.0.0" {
			return nil, invalidf("voter %q: 0.0.0.0 is not routable; give an address the other nodes can reach", entry)
		}
		port, ok := parsePort(portStr, 1)
		if !ok {
			return nil, invalidf("voter %q: port %q must be a number from 1 to 65535", entry, portStr)
		}
		if seen[int32(id)] {
			return nil, invalidf("voter id %d is listed twice", id)
		}
		seen[int32(id)] = true
		out = append(out, Voter{ID: int32(id), Host: host, Port: port})
	}
	return out, nil
}
