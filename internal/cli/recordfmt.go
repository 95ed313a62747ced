package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// This file holds what produce and consume share: the JSON shape of a
// record, the escapes accepted in separators and templates, and the
// diagnosis of a cluster that cannot be reached.

// recFmtJSONRecord is one record as `consume --format json` prints it
// and as `produce --format json` reads it (topic, offset and timestamp
// are ignored on input, so the output of one feeds the other; a record
// takes the time it is written, since kgo's delivery timeout, which
// --timeout sets, counts from a record's timestamp). A key or value that
// is not valid UTF-8 is base64 with its *_encoding field set to
// "base64"; a null key or value is JSON null.
type recFmtJSONRecord struct {
	Topic         string          `json:"topic,omitempty"`
	Partition     *int32          `json:"partition,omitempty"`
	Offset        *int64          `json:"offset,omitempty"`
	Timestamp     string          `json:"timestamp,omitempty"`
	Key           *string         `json:"key"`
	KeyEncoding   string          `json:"key_encoding,omitempty"`
	Value         *string         `json:"value"`
	ValueEncoding string          `json:"value_encoding,omitempty"`
	Headers       recFmtJSONHeads `json:"headers"`
}

// recFmtJSONHead is one header. Kafka headers are an ordered list whose
// keys may repeat, so the output is an array; the input also takes an
// object {"k": "v", …}, read in its written order.
type recFmtJSONHead struct {
	Key           string  `json:"key"`
	Value         *string `json:"value"`
	ValueEncoding string  `json:"value_encoding,omitempty"`
}

type recFmtJSONHeads []recFmtJSONHead

// UnmarshalJSON reads an array of {"key","value"} objects or an object
// of key: value pairs.
func (h *recFmtJSONHeads) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*h = nil
		return nil
	case len(b) > 0 && b[0] == '[':
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var list []recFmtJSONHead
		if err := dec.Decode(&list); err != nil {
			return fmt.Errorf("headers: %w", err)
		}
		*h = list
		return nil
	case len(b) > 0 && b[0] == '{':
		dec := json.NewDecoder(bytes.NewReader(b))
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("headers: %w", err)
		}
		var list []recFmtJSONHead
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("headers: %w", err)
			}
			var v *string
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("header %s: %w", tok, err)
			}
			list = append(list, recFmtJSONHead{Key: tok.(string), Value: v})
		}
		*h = list
		return nil
	}
	return errors.New("headers: want an object or an array")
}

// recFmtEncode returns b as a JSON string field: nil for null, text when
// it is valid UTF-8, otherwise base64 and the encoding "base64".
func recFmtEncode(b []byte) (*string, string) {
	if b == nil {
		return nil, ""
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, ""
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s, "base64"
}

// recFmtDecode reverses recFmtEncode.
func recFmtDecode(s *string, encoding string) ([]byte, error) {
	if s == nil {
		return nil, nil
	}
	switch encoding {
	case "":
		return []byte(*s), nil
	case "base64":
		return base64.StdEncoding.DecodeString(*s)
	}
	return nil, fmt.Errorf("encoding %q: want base64 or none", encoding)
}

// recFmtToJSON turns a fetched record into its JSON shape.
func recFmtToJSON(r *kgo.Record) recFmtJSONRecord {
	j := recFmtJSONRecord{
		Topic:     r.Topic,
		Partition: &r.Partition,
		Offset:    &r.Offset,
		Timestamp: r.Timestamp.UTC().Format(time.RFC3339Nano),
		Headers:   recFmtJSONHeads{},
	}
	j.Key, j.KeyEncoding = recFmtEncode(r.Key)
	j.Value, j.ValueEncoding = recFmtEncode(r.Value)
	for _, h := range r.Headers {
		v, enc := recFmtEncode(h.Value)
		j.Headers = append(j.Headers, recFmtJSONHead{Key: h.Key, Value: v, ValueEncoding: enc})
	}
	return j
}

// recFmtUnescape turns the escapes \t \n \r \0 and \\ in a separator
// or template into the bytes they name, so a tab need not be typed
// literally in a shell.
func recFmtUnescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("%q ends in a lone backslash", s)
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case '\\':
			b.WriteByte('\\')
		default:
			return "", fmt.Errorf("unknown escape \\%c in %q (known: \\t \\n \\r \\0 \\\\)", s[i], s)
		}
	}
	return b.String(), nil
}

// recFmtWriter writes fetched records in one of consume's formats.
type recFmtWriter struct {
	kind   string // value, kv, json or template
	keySep []byte
	tmpl   []recFmtPiece
	enc    *json.Encoder
	buf    *bytes.Buffer
}

// recFmtPiece is a literal or, when verb is set, a field of the record.
type recFmtPiece struct {
	lit  string
	verb byte
}

// recFmtVerbs are the template's fields, after kcat's -f.
const recFmtVerbs = "tpokvhT"

// newRecFmtWriter parses a --format value: value, kv, json, or a
// template holding at least one %-verb.
func newRecFmtWriter(format, keySep string) (*recFmtWriter, error) {
	w := &recFmtWriter{kind: format, keySep: []byte(keySep), buf: new(bytes.Buffer)}
	switch format {
	case "value", "kv":
		return w, nil
	case "json":
		w.enc = json.NewEncoder(w.buf)
		w.enc.SetEscapeHTML(false)
		return w, nil
	}
	if !strings.Contains(format, "%") {
		return nil, fmt.Errorf("format %q: want value, kv, json or a template with %%-verbs", format)
	}
	s, err := recFmtUnescape(format)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	w.kind = "template"
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return nil, fmt.Errorf("format %q ends in a lone %%", format)
		}
		i++
		if s[i] == '%' {
			lit.WriteByte('%')
			continue
		}
		if !strings.Contains(recFmtVerbs, string(s[i])) {
			return nil, fmt.Errorf("format %q: unknown verb %%%c (known: %%t %%p %%o %%k %%v %%h %%T %%%%)", format, s[i])
		}
		if lit.Len() > 0 {
			w.tmpl = append(w.tmpl, recFmtPiece{lit: lit.String()})
			lit.Reset()
		}
		w.tmpl = append(w.tmpl, recFmtPiece{verb: s[i]})
	}
	if lit.Len() > 0 {
		w.tmpl = append(w.tmpl, recFmtPiece{lit: lit.String()})
	}
	return w, nil
}

// format returns r as its format prints it. The returned bytes are
// reused by the next call.
func (w *recFmtWriter) format(r *kgo.Record) []byte {
	w.buf.Reset()
	switch w.kind {
	case "value":
		w.buf.Write(r.Value)
		w.buf.WriteByte('\n')
	case "kv":
		w.buf.Write(r.Key)
		w.buf.Write(w.keySep)
		w.buf.Write(r.Value)
		w.buf.WriteByte('\n')
	case "json":
		w.enc.Encode(recFmtToJSON(r)) // cannot fail: strings and numbers only
	case "template":
		for _, p := range w.tmpl {
			w.writeVerb(p, r)
		}
	}
	return w.buf.Bytes()
}

func (w *recFmtWriter) writeVerb(p recFmtPiece, r *kgo.Record) {
	switch p.verb {
	case 0:
		w.buf.WriteString(p.lit)
	case 't':
		w.buf.WriteString(r.Topic)
	case 'p':
		w.buf.WriteString(strconv.Itoa(int(r.Partition)))
	case 'o':
		w.buf.WriteString(strconv.FormatInt(r.Offset, 10))
	case 'k':
		w.buf.Write(r.Key)
	case 'v':
		w.buf.Write(r.Value)
	case 'T':
		w.buf.WriteString(strconv.FormatInt(r.Timestamp.UnixMilli(), 10))
	case 'h':
		for i, h := range r.Headers {
			if i > 0 {
				w.buf.WriteByte(',')
			}
			w.buf.WriteString(h.Key)
			w.buf.WriteByte('=')
			w.buf.Write(h.Value)
		}
	}
}
