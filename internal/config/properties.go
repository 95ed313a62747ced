package config

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// Property is one key=value pair of a .properties file, with the line its
// logical line starts on (1-based).
type Property struct {
	Key   string
	Value string
	Line  int
}

// SyntaxError is a malformed line of a .properties file.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ParseProperties reads a Java .properties file (the format of Kafka's
// server.properties) and returns its keys and values; a key given twice
// keeps its last value, as java.util.Properties does. Errors are
// *SyntaxError values naming the line.
func ParseProperties(r io.Reader) (map[string]string, error) {
	props, err := ReadProperties(r)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(props))
	for _, p := range props {
		m[p.Key] = p.Value
	}
	return m, nil
}

// ReadProperties reads a Java .properties file and returns its pairs in
// file order, each with its line number. It follows java.util.Properties:
//
//   - lines end with \n, \r\n or \r;
//   - a line whose first non-blank character is # or ! is a comment, and
//     a line of only blanks (space, tab, form feed) is skipped;
//   - the key runs to the first unescaped '=', ':' or blank; blanks, then
//     one '=' or ':', then blanks separate it from the value, which keeps
//     its trailing blanks;
//   - a line ending in an odd number of backslashes continues on the next
//     line, whose leading blanks are dropped (a comment line never
//     continues);
//   - \t \n \r \f and \uXXXX are escapes, and a backslash before any
//     other character stands for that character.
//
// Unlike Properties.load(InputStream), which reads ISO-8859-1, the input
// is taken as UTF-8 (a leading byte-order mark is skipped). An empty key is an error, and so is a malformed
// \uXXXX escape.
func ReadProperties(r io.Reader) ([]Property, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	text := strings.TrimPrefix(string(data), "\ufeff") // a UTF-8 byte-order mark
	lines := splitLines(text)
	var out []Property
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		var logical strings.Builder
		for {
			if !continues(line) {
				logical.WriteString(line)
				break
			}
			logical.WriteString(line[:len(line)-1])
			if i+1 >= len(lines) {
				break // a continuation at end of input ends the line
			}
			i++
			line = strings.TrimLeft(lines[i], " \t\f")
		}
		rawKey, rawValue := splitKeyValue(logical.String())
		key, err := unescape(rawKey)
		if err != nil {
			return nil, &SyntaxError{Line: start, Msg: err.Error()}
		}
		value, err := unescape(rawValue)
		if err != nil {
			return nil, &SyntaxError{Line: start, Msg: err.Error()}
		}
		if key == "" {
			return nil, &SyntaxError{Line: start, Msg: "empty key"}
		}
		out = append(out, Property{Key: key, Value: value, Line: start})
	}
	return out, nil
}

// splitLines splits s at \n, \r\n and \r.
func splitLines(s string) []string {
	var lines []string
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
	return lines
}

// continues reports whether line ends in an odd number of backslashes.
func continues(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// splitKeyValue splits a logical line into its raw (still escaped) key
// and value.
func splitKeyValue(line string) (key, value string) {
	i := 0
	for i < len(line) {
		c := line[i]
		if c == '\\' {
			i += 2
			continue
		}
		if c == '=' || c == ':' || isBlank(c) {
			break
		}
		i++
	}
	if i > len(line) {
		i = len(line)
	}
	key = line[:i]
	j := i
	for j < len(line) && isBlank(line[j]) {
		j++
	}
	if j < len(line) && (line[j] == '=' || line[j] == ':') {
		j++
		for j < len(line) && isBlank(line[j]) {
			j++
		}
	}
	return key, line[j:]
}

// unescape resolves the escapes of a key or value.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	var units []uint16 // pending \u escapes, joined so surrogate pairs decode
	flush := func() {
		if len(units) > 0 {
			b.WriteString(string(utf16.Decode(units)))
			units = units[:0]
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			flush()
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break // a lone trailing backslash is dropped
		}
		switch s[i] {
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf(`malformed \uxxxx escape %q`, s[i-1:])
			}
			var v uint16
			for _, h := range []byte(s[i+1 : i+5]) {
				d, ok := hexDigit(h)
				if !ok {
					return "", fmt.Errorf(`malformed \uxxxx escape %q`, s[i-1:i+5])
				}
				v = v<<4 | uint16(d)
			}
			units = append(units, v)
			i += 4
			continue
		case 't':
			flush()
			b.WriteByte('\t')
		case 'n':
			flush()
			b.WriteByte('\n')
		case 'r':
			flush()
			b.WriteByte('\r')
		case 'f':
			flush()
			b.WriteByte('\f')
		default:
			flush()
			b.WriteByte(s[i])
		}
	}
	flush()
	return b.String(), nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
